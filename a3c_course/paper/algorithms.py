"""The paper's four asynchronous methods, each in a screenful.

Every method is a small class with the same two jobs, which the worker loop
(:mod:`a3c_course.engine.worker`) calls:

- ``act(model, obs, state)``: choose the action in one state, without gradients;
- ``loss(model, target_model, rollout)``: the loss of one rollout, computed in one
  batched forward pass; its gradient is what the worker applies to the shared
  parameters. It leaves the parts of that loss in ``last_terms`` (:class:`LossTerms`),
  from which the worker's diagnostics are computed at no extra forward pass.

A :class:`Rollout` holds up to ``t_max`` (n-step methods) or ``async_update``
(one-step methods) consecutive steps of one worker; it ends early when the episode
ends, exactly as the paper's pseudo-code updates "every t_max actions or when a
terminal state is reached".

The exercise functions (``n_step_returns``, ``one_step_q_target``, ...) are attributes
of each instance, so a student's version, passed to ``train()``, is the one used.

From the paper's pseudo-code to the code
----------------------------------------
Each line of the paper's algorithms (Algorithm 1 in the paper, S2 and S3 in its
supplementary material), and the code that does it. θ is the shared weights, θ' a
worker's copy, θ⁻ the target network, T the global step, t a worker's own count.

All four methods::

  global shared θ, θ⁻ and counter T        engine.shared.build_shared_state
  one actor-learner per thread             engine.worker.run_worker (one process each)
  synchronise θ' = θ                       WorkerLoop._sync_local_model
  act until terminal or t - t_start = t_max  WorkerLoop._collect_rollout -> a Rollout
  T <- T + 1                               WorkerLoop._train_once (a counter per worker)
  asynchronous update of θ using dθ        WorkerLoop._backward (zero, backward, clip) and
                                           WorkerLoop._update_shared_model (hand over, step)
  until T > T_max                          WorkerLoop.run (max_steps)

Algorithm 1, one-step Q-learning (and one-step Sarsa)::

  ε-greedy on Q(s, a; θ)                   ValueMethod.act -> acting.ActionChooser ->
                                           targets.epsilon_greedy
  each thread its own final ε              engine.plan.draw_final_epsilon, annealed_epsilon
  y = r + γ max_a' Q(s', a'; θ⁻), or r     targets.one_step_q_target in OneStepQ.loss
  (Sarsa: y = r + γ Q(s', a'; θ⁻), a' taken)  targets.sarsa_target in OneStepSarsa.loss
  dθ <- dθ + ∂(y - Q(s, a; θ))² / ∂θ       the loss sums the rollout's steps, one backward
  update every I_AsyncUpdate steps         a Rollout of async_update steps
  if T mod I_target = 0: θ⁻ <- θ           engine.shared.maybe_update_target

Algorithm S2, n-step Q-learning::

  R = max_a Q(s_t, a; θ⁻), or 0            NStepQ.loss (bootstraps from the target network)
  for i = t-1 .. t_start: R <- r_i + γR    targets.n_step_returns
  dθ <- dθ + ∂(R - Q(s_i, a_i; θ'))² / ∂θ'   NStepQ.loss

Algorithm S3, A3C::

  a_t ~ π(a_t | s_t; θ')                   A3C.act -> acting.ActionChooser
  R = V(s_t; θ'_v), or 0                   A3C.loss (values[-1].detach())
  for i = t-1 .. t_start: R <- r_i + γR    targets.n_step_returns
  dθ <- dθ + ∇ log π(a_i | s_i; θ') (R - V(s_i; θ'_v))
  dθ_v <- dθ_v + ∂(R - V(s_i; θ'_v))² / ∂θ'_v
  (and the entropy bonus β ∇H, Section 4)  targets.actor_critic_loss, in A3C.loss

Shared RMSProp (Section 4, Optimization)::

  g <- αg + (1 - α) Δθ²                    paper.optim.SharedRMSprop, whose statistics g
  θ <- θ - η Δθ / √(g + ε)                 live in shared memory, one for all workers

The same loop without the engine's speed-ups, in the paper's order, is
:mod:`a3c_course.paper.a3c_in_one_file`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch

from ..config import Hyperparameters
from . import targets
from .acting import ActionChooser


@dataclass
class Rollout:
    """Consecutive steps of one worker, and how they ended.

    ``observations[i]`` is :math:`s_{t+i}`, ``actions[i]`` the action taken in it and
    ``rewards[i]`` the reward that followed. ``bootstrap_observation`` is the state
    after the last step, :math:`s_{t+T}`: the one the n-step returns bootstrap from,
    unless ``terminated``.
    """

    observations: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    rewards: list = field(default_factory=list)
    bootstrap_observation: np.ndarray | None = None
    terminated: bool = False
    next_action: object = None
    """Sarsa only: the action a' already chosen in ``bootstrap_observation``."""
    initial_state: object = None
    """Recurrent models: the LSTM state before ``observations[0]`` (detached)."""

    def __len__(self):
        return len(self.rewards)

    def observation_batch(self) -> torch.Tensor:
        """``[T + 1, *obs_shape]``: every state of the rollout, then the bootstrap state."""
        return torch.from_numpy(np.stack(self.observations + [self.bootstrap_observation]))

    def reward_tensor(self) -> torch.Tensor:
        return torch.tensor(self.rewards, dtype=torch.float32)

    def action_tensor(self) -> torch.Tensor:
        return torch.as_tensor(np.asarray(self.actions))

    def terminated_per_step(self) -> torch.Tensor:
        """``[T]`` bool: whether each step reached a terminal state (only the last can)."""
        terminated = torch.zeros(len(self), dtype=torch.bool)
        terminated[-1] = self.terminated
        return terminated


class LossTerms(NamedTuple):
    """The parts of the last rollout's loss that the diagnostics report.

    ``predictions``: :math:`V(s_i)` (A3C) or :math:`Q(s_i, a_i)` (value methods), ``[T]``;
    ``targets``: what they were regressed to, :math:`R_i` or :math:`y_i`, ``[T]``;
    ``policy_loss`` and ``entropy``: the sums over the rollout (A3C), else ``None``.
    """

    predictions: torch.Tensor
    targets: torch.Tensor
    policy_loss: torch.Tensor | None = None
    entropy: torch.Tensor | None = None


def _exercise_functions(overrides):
    functions = dict(targets.EXERCISE_FUNCTIONS)
    functions.update(overrides or {})
    return functions


class ValueMethod:
    """What the three value-based methods share: a Q-network, a target network,
    and epsilon-greedy exploration with a final epsilon drawn per worker."""

    head = "q_network"
    uses_target_network = True
    needs_next_action = False

    def __init__(self, hp: Hyperparameters, functions=None, rng=None, final_epsilon=0.1):
        self.hp = hp
        self.fn = _exercise_functions(functions)
        self.rng = rng if rng is not None else np.random.default_rng()
        self.final_epsilon = final_epsilon
        self.epsilon = 1.0
        self.choose = ActionChooser("q_network", self.rng, self.fn["epsilon_greedy"])

    def set_global_step(self, global_step: int) -> None:
        """Anneal epsilon linearly from 1 to this worker's final value."""
        self.epsilon = annealed_epsilon(
            global_step, self.final_epsilon, self.hp.epsilon_anneal_steps
        )

    def act(self, model, obs, state):
        """Epsilon-greedy on :math:`Q(s, \\cdot; \\theta)`, with this worker's current epsilon."""
        return self.choose(model, obs, state, epsilon=self.epsilon)

    def act_batch(self, model, obs) -> list:
        """:meth:`act` in each of a batch of observations ``[B, ...]`` (feed-forward models)."""
        return self.choose.batch(model, obs, epsilon=self.epsilon)

    @staticmethod
    def taken_q_values(model, observations, actions):
        """:math:`Q(s_i, a_i; \\theta)` for every step, with gradient."""
        q_values, _, _ = model(observations)
        return q_values.gather(1, actions.long().unsqueeze(1)).squeeze(1)


def annealed_epsilon(global_step: int, final_epsilon: float, anneal_steps: int) -> float:
    """Epsilon after ``global_step`` steps: linear from 1.0 to ``final_epsilon``, then flat."""
    if anneal_steps <= 0:
        return final_epsilon
    fraction = min(global_step / anneal_steps, 1.0)
    return 1.0 + fraction * (final_epsilon - 1.0)


class OneStepQ(ValueMethod):
    r"""Asynchronous one-step Q-learning (the paper's Algorithm 1).

    Loss of each step: :math:`(r + \gamma \max_{a'} Q(s', a'; \theta^-) - Q(s, a; \theta))^2`,
    summed over the ``async_update`` steps of the rollout (the paper accumulates their
    gradients and applies them together).
    """

    name = "q"

    def rollout_length(self):
        return self.hp.async_update

    def loss(self, model, target_model, rollout: Rollout):
        observations = rollout.observation_batch()
        q_taken = self.taken_q_values(model, observations[:-1], rollout.action_tensor())
        with torch.no_grad():
            next_q_values, _, _ = target_model(observations[1:])
        terminated = rollout.terminated_per_step()
        y = self.fn["one_step_q_target"](
            rollout.reward_tensor(), next_q_values, terminated, self.hp.gamma
        )
        self.last_terms = LossTerms(q_taken, y)
        return (y - q_taken).pow(2).sum()


class OneStepSarsa(ValueMethod):
    r"""Asynchronous one-step Sarsa: as one-step Q, with the target
    :math:`r + \gamma Q(s', a'; \theta^-)` where :math:`a'` is the action taken next."""

    name = "sarsa"
    needs_next_action = True

    def rollout_length(self):
        return self.hp.async_update

    def loss(self, model, target_model, rollout: Rollout):
        observations = rollout.observation_batch()
        actions = rollout.action_tensor()
        q_taken = self.taken_q_values(model, observations[:-1], actions)
        # a' of step i is the action of step i + 1; the last one was chosen already.
        last = rollout.next_action if rollout.next_action is not None else 0
        next_actions = torch.cat([actions[1:], torch.tensor([last], dtype=actions.dtype)])
        with torch.no_grad():
            next_q_values, _, _ = target_model(observations[1:])
            next_q_taken = next_q_values.gather(1, next_actions.long().unsqueeze(1)).squeeze(1)
        terminated = rollout.terminated_per_step()
        y = self.fn["sarsa_target"](rollout.reward_tensor(), next_q_taken, terminated, self.hp.gamma)
        self.last_terms = LossTerms(q_taken, y)
        return (y - q_taken).pow(2).sum()


class NStepQ(ValueMethod):
    r"""Asynchronous n-step Q-learning (the paper's Algorithm S2).

    Each state of a rollout of up to ``t_max`` steps gets its own n-step return,
    bootstrapped from :math:`\max_a Q(s_{t+T}, a; \theta^-)`;
    loss :math:`\sum_i (R_i - Q(s_i, a_i; \theta))^2`.
    """

    name = "nstep-q"

    def rollout_length(self):
        return self.hp.t_max

    def loss(self, model, target_model, rollout: Rollout):
        observations = rollout.observation_batch()
        q_taken = self.taken_q_values(model, observations[:-1], rollout.action_tensor())
        with torch.no_grad():
            bootstrap_q, _, _ = target_model(observations[-1:])
        returns = self.fn["n_step_returns"](
            rollout.reward_tensor(), bootstrap_q.max(), rollout.terminated, self.hp.gamma
        )
        self.last_terms = LossTerms(q_taken, returns)
        return (returns - q_taken).pow(2).sum()


class A3C:
    r"""Asynchronous advantage actor-critic (the paper's Algorithm S3).

    For a rollout of up to ``t_max`` steps: n-step returns :math:`R_i` bootstrapped
    from :math:`V(s_{t+T})`, advantages :math:`R_i - V(s_i)`, and the loss
    :math:`L_\pi + c_V L_V - \beta H` (see :func:`~a3c_course.targets.actor_critic_loss`).
    """

    name = "a3c"
    head = "actor_critic"
    uses_target_network = False
    needs_next_action = False

    def __init__(self, hp: Hyperparameters, functions=None, rng=None, final_epsilon=None):
        self.hp = hp
        self.fn = _exercise_functions(functions)
        self.rng = rng if rng is not None else np.random.default_rng()
        self.choose = ActionChooser(self.head, self.rng)

    def rollout_length(self):
        return self.hp.t_max

    def set_global_step(self, global_step: int) -> None:
        pass

    def act(self, model, obs, state):
        """An action sampled from the policy :math:`\\pi(\\cdot \\mid s; \\theta)`."""
        return self.choose(model, obs, state)

    def act_batch(self, model, obs) -> list:
        """:meth:`act` in each of a batch of observations ``[B, ...]`` (feed-forward models)."""
        return self.choose.batch(model, obs)

    def loss(self, model, target_model, rollout: Rollout):
        # One forward pass over the rollout's states and the bootstrap state.
        logits, values, _ = model(rollout.observation_batch(), rollout.initial_state)
        returns = self.fn["n_step_returns"](
            rollout.reward_tensor(), values[-1].detach(), rollout.terminated, self.hp.gamma
        )
        return self.loss_of_steps(logits[:-1], values[:-1], rollout.action_tensor(), returns)

    @staticmethod
    def action_batch(actions) -> torch.Tensor:
        """The actions of a list of steps, as the loss takes them."""
        return torch.as_tensor(np.asarray(actions))

    def loss_of_steps(self, logits, values, actions, returns):
        """The loss, given the network's outputs at each step and the steps' n-step returns
        (one rollout's, or several games' rollouts one after the other: the loss sums)."""
        # A student's own ``entropy`` must be the one in the bonus, whichever
        # ``actor_critic_loss`` runs: then the loss gets beta = 0 and the bonus is added
        # here. Otherwise the loss's own entropy term carries it, computed once, not twice.
        own_entropy = self.fn["entropy"] is not targets.entropy
        total, policy_loss, _, policy_entropy = self.fn["actor_critic_loss"](
            logits, values, actions, returns,
            0.0 if own_entropy else self.hp.entropy_beta, self.hp.value_coef,
        )
        if own_entropy:
            policy_entropy = self.fn["entropy"](logits).sum()
            total = total - self.hp.entropy_beta * policy_entropy
        self.last_terms = LossTerms(values, returns, policy_loss, policy_entropy)
        return total


class GaussianA3C(A3C):
    r"""A3C for continuous actions: a Gaussian policy :math:`\mathcal N(\mu(s), \sigma^2(s))`.

    Actions are sampled unclipped, and learned from as sampled; the worker clips
    them to the action bounds only when it sends them to the environment.
    The entropy bonus is the Gaussian's differential entropy. The log-density and the
    entropy are the exercises ``gaussian_log_prob`` and ``gaussian_entropy`` (notebook 8):
    a student's versions, passed to ``train()``, are the ones used here.
    """

    head = "gaussian"

    def loss(self, model, target_model, rollout: Rollout):
        (mean, std), values, _ = model(rollout.observation_batch(), rollout.initial_state)
        returns = self.fn["n_step_returns"](
            rollout.reward_tensor(), values[-1].detach(), rollout.terminated, self.hp.gamma
        )
        return self.loss_of_steps((mean[:-1], std[:-1]), values[:-1],
                                  self.action_batch(rollout.actions), returns)

    @staticmethod
    def action_batch(actions) -> torch.Tensor:
        return torch.from_numpy(np.stack(actions)).float()

    def loss_of_steps(self, output, values, actions, returns):
        mean, std = output
        log_probs = self.fn["gaussian_log_prob"](mean, std, actions)
        td_errors = returns - values
        policy_loss = -(log_probs * td_errors.detach()).sum()
        value_loss = td_errors.pow(2).sum()
        policy_entropy = self.fn["gaussian_entropy"](std).sum()
        self.last_terms = LossTerms(values, returns, policy_loss, policy_entropy)
        return policy_loss + self.hp.value_coef * value_loss - self.hp.entropy_beta * policy_entropy


ALGORITHMS = {
    "a3c": A3C,
    "q": OneStepQ,
    "sarsa": OneStepSarsa,
    "nstep-q": NStepQ,
}


def algorithm_class(name: str, discrete_actions: bool):
    """The class that runs method ``name`` on a discrete or continuous action space."""
    if name == "a3c" and not discrete_actions:
        return GaussianA3C
    return ALGORITHMS[name]
