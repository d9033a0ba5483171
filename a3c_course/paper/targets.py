"""The small pure functions the exercises ask for, in their reference form.

Every function here has a twin that the student writes in a notebook; the trainer
calls whichever it is given (``train(..., n_step_returns=my_fn)``) and the checkers in
:mod:`a3c_course.checks` hold the student's version against these.

Conventions, the same in every function:

- tensors in, tensors out (torch, float32); ``T`` is the length of one rollout,
  ``B`` a batch of transitions, ``A`` the number of actions;
- ``terminated`` means the environment reached a terminal state, whose value is 0
  by definition. An episode cut off by a time limit (``truncated``) is *not*
  terminated: the state still has a value, so we bootstrap from it;
- losses are **sums** over the steps of a rollout, as the paper accumulates the
  gradient of every step before it applies them.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def one_step_q_target(rewards, next_q_values, terminated, gamma):
    r"""One-step Q-learning targets, :math:`y = r + \gamma \max_{a'} Q(s', a'; \theta^-)`.

    Args:
        rewards: ``[B]`` rewards :math:`r`.
        next_q_values: ``[B, A]`` target-network action values of the next states.
        terminated: ``[B]`` bool; where true, :math:`s'` is terminal and :math:`y = r`.
        gamma: discount factor :math:`\gamma`.

    Returns:
        ``[B]`` targets, without gradient.
    """
    not_terminal = (~terminated.bool()).to(rewards.dtype)
    best_next = next_q_values.max(dim=1).values
    return (rewards + gamma * not_terminal * best_next).detach()


def sarsa_target(rewards, next_q_taken, terminated, gamma):
    r"""One-step Sarsa targets, :math:`y = r + \gamma Q(s', a'; \theta^-)`.

    Unlike Q-learning, :math:`a'` is the action the agent *actually takes* next
    (chosen epsilon-greedily), not the greedy one: Sarsa learns the value of the
    policy it follows (on-policy).

    Args:
        rewards: ``[B]`` rewards.
        next_q_taken: ``[B]`` target-network values :math:`Q(s', a')` of the next actions.
        terminated: ``[B]`` bool; where true, :math:`y = r`.
        gamma: discount factor.
    """
    not_terminal = (~terminated.bool()).to(rewards.dtype)
    return (rewards + gamma * not_terminal * next_q_taken).detach()


def n_step_returns(rewards, bootstrap_value, terminated, gamma):
    r"""Forward-view n-step returns of one rollout, computed backwards in time.

    .. math::
        R_t = r_t + \gamma r_{t+1} + \dots + \gamma^{n-1} r_{t+n-1} + \gamma^{n} V(s_{t+n})

    Start from :math:`R = V(s_{t+n})` (or 0 if the rollout ended in a terminal
    state) and walk back: :math:`R \leftarrow r_i + \gamma R`. Every state of the
    rollout gets its own target, the first one an n-step return, the last a
    one-step return.

    Args:
        rewards: ``[T]`` rewards :math:`r_t, \dots, r_{t+T-1}`.
        bootstrap_value: value of the state after the last step, a number or 0-d tensor.
        terminated: whether the last step reached a terminal state (then do not bootstrap).
        gamma: discount factor.

    Returns:
        ``[T]`` returns, in the same order as ``rewards``.
    """
    running = 0.0 if bool(terminated) else float(bootstrap_value)
    returns = [0.0] * len(rewards)
    for i, reward in zip(reversed(range(len(rewards))), reversed(rewards.tolist())):
        running = reward + gamma * running
        returns[i] = running
    return torch.tensor(returns, dtype=rewards.dtype)


def epsilon_greedy(q_values, epsilon, rng: np.random.Generator) -> int:
    """With probability ``epsilon`` a uniformly random action, else the greedy one.

    Args:
        q_values: ``[A]`` action values of the current state.
        epsilon: exploration rate in [0, 1].
        rng: a ``numpy.random.Generator``; draw with ``rng.random()`` and
            ``rng.integers(A)`` so that runs are reproducible.

    Returns:
        The action, an ``int``.
    """
    if rng.random() < epsilon:
        return int(rng.integers(q_values.shape[-1]))
    return int(torch.argmax(q_values))


def entropy(logits):
    r"""Entropy of the categorical policy in each row, :math:`H = -\sum_a \pi(a) \log \pi(a)`.

    Uses ``log_softmax`` rather than ``log(softmax)`` so that a very peaked policy
    gives 0, not ``0 * -inf = nan``.

    Args:
        logits: ``[T, A]`` unnormalised log-probabilities.

    Returns:
        ``[T]`` entropies, in nats.
    """
    log_probs = F.log_softmax(logits, dim=-1)
    return -(log_probs.exp() * log_probs).sum(dim=-1)


def actor_critic_loss(logits, values, actions, returns, entropy_beta, value_coef):
    r"""The A3C loss of one rollout.

    .. math::
        A_t = R_t - V(s_t) \quad \text{(held constant: no gradient flows through it)}

        L_\pi = -\sum_t \log \pi(a_t \mid s_t)\, A_t \qquad
        L_V = \sum_t (R_t - V(s_t))^2 \qquad
        H = \sum_t H(\pi(\cdot \mid s_t))

        L = L_\pi + c_V L_V - \beta H

    Args:
        logits: ``[T, A]`` policy logits.
        values: ``[T]`` value estimates :math:`V(s_t)`.
        actions: ``[T]`` int64 actions taken.
        returns: ``[T]`` n-step returns :math:`R_t`.
        entropy_beta: :math:`\beta`, weight of the entropy bonus.
        value_coef: :math:`c_V`, weight of the value loss. The paper's Algorithm S3 is
            :math:`c_V = 1`; the trainer's default, 0.5, is ours (the value's gradient is
            then the TD error itself).

    Returns:
        ``(total, policy_loss, value_loss, entropy)``, each a 0-d tensor.
    """
    log_probs = F.log_softmax(logits, dim=-1)
    taken = log_probs.gather(1, actions.long().unsqueeze(1)).squeeze(1)
    td_errors = returns - values
    advantages = td_errors.detach()
    policy_loss = -(taken * advantages).sum()
    value_loss = td_errors.pow(2).sum()
    policy_entropy = entropy(logits).sum()
    total = policy_loss + value_coef * value_loss - entropy_beta * policy_entropy
    return total, policy_loss, value_loss, policy_entropy


#: The exercise functions a student may replace, by the name ``train()`` accepts.
EXERCISE_FUNCTIONS = {
    "one_step_q_target": one_step_q_target,
    "sarsa_target": sarsa_target,
    "n_step_returns": n_step_returns,
    "epsilon_greedy": epsilon_greedy,
    "entropy": entropy,
    "actor_critic_loss": actor_critic_loss,
}


def gaussian_log_prob(mean, std, actions):
    r"""Log-density of ``actions`` under independent Gaussians, summed over action dimensions.

    .. math::
        \log \pi(a \mid s) = \sum_i -\frac{(a_i - \mu_i)^2}{2\sigma_i^2} - \log \sigma_i - \tfrac12 \log 2\pi

    Args:
        mean, std, actions: ``[T, action_dim]``.

    Returns:
        ``[T]`` log-densities.
    """
    z = (actions - mean) / std
    return (-0.5 * z.pow(2) - std.log() - 0.5 * math.log(2 * math.pi)).sum(dim=-1)


def gaussian_entropy(std):
    r"""Differential entropy of independent Gaussians, summed over action dimensions.

    .. math::
        H = \sum_i \tfrac12 \log(2 \pi e \sigma_i^2)

    It depends only on the spread: a wider Gaussian explores more.
    """
    return (0.5 * math.log(2 * math.pi * math.e) + std.log()).sum(dim=-1)
