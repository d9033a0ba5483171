"""The small pure functions the exercises ask for, in their reference form.

Every function here has a twin that the student writes in a notebook; the trainer
calls whichever it is given (``train(..., n_step_returns=my_fn)``) and the checkers in
:mod:`a3c_course.checks` hold the student's version against these.

The first six are the paper's methods (targets, returns, losses: notebooks 1 to 5); the
last six its asynchronous machinery (notebooks 6 to 9): the shared RMSProp step, the
Hogwild update, the Atari frame, the Gaussian policy's log-density and entropy, and
the recurrent state a worker carries.

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


# --------------------------------------------------------------------------- the machinery


def shared_rmsprop_step(params, grads, square_avgs, lr, alpha, eps):
    r"""One step of the paper's RMSProp, in place: the update every worker applies to the
    shared parameters and their shared statistics.

    .. math::
        g \leftarrow \alpha g + (1 - \alpha)\, \Delta\theta^2 \qquad
        \theta \leftarrow \theta - \eta \frac{\Delta\theta}{\sqrt{g + \epsilon}}

    element-wise, for each parameter :math:`\theta` with gradient :math:`\Delta\theta`
    and running average of squared gradients :math:`g`. The paper writes
    :math:`\epsilon` **inside** the root. ``torch.optim.RMSprop`` puts it outside,
    :math:`\sqrt{g} + \epsilon`: the two agree where :math:`g \gg \epsilon`, but where a
    weight's gradients have been small (:math:`g` near 0) the paper's form divides by
    :math:`\sqrt{\epsilon}` instead of :math:`\epsilon`, a far smaller step for the same
    ``eps`` (with ``eps`` = 1e-5, at most a 316th of the other).

    Called by the optimizer's ``step()``, under ``torch.no_grad()``.

    Args:
        params: the parameters :math:`\theta`, a list of tensors, changed in place.
        grads: their gradients :math:`\Delta\theta`, a list of tensors of the same shapes
            (read only).
        square_avgs: the statistics :math:`g`, a list of tensors of the same shapes,
            changed in place (they live in shared memory: every worker's step reads and
            updates the same ones).
        lr: the learning rate :math:`\eta`.
        alpha: the decay :math:`\alpha` of the average (0.99).
        eps: :math:`\epsilon`, added to :math:`g` under the root.

    Returns:
        None: the update is in the tensors.
    """
    for param, grad, square_avg in zip(params, grads, square_avgs):
        square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        param.addcdiv_(grad, square_avg.add(eps).sqrt_(), value=-lr)


def hogwild_update(local_model, shared_model, optimizer, loss, max_grad_norm):
    r"""A worker's update of the shared model from the loss of its rollout: Hogwild, no lock.

    1. zero the local model's gradients (``backward`` adds into them);
    2. backpropagate ``loss``, computed with the local model, into its gradients;
    3. clip them: if their global norm :math:`\lVert \nabla \rVert` (over all the
       parameters at once) exceeds ``max_grad_norm``, scale them all by
       ``max_grad_norm`` / :math:`\lVert \nabla \rVert`;
    4. hand them to the shared model: each shared parameter's ``.grad`` is the local
       parameter's gradient;
    5. ``optimizer.step()``: the optimizer holds the shared parameters, so this changes
       the weights every worker copies from.

    Args:
        local_model: this worker's copy of the network; ``loss`` was computed with it.
        shared_model: the network in shared memory, with the same architecture.
        optimizer: an optimizer over ``shared_model``'s parameters.
        loss: the rollout's loss, a 0-d tensor.
        max_grad_norm: the largest global gradient norm applied.

    Returns:
        The global norm of the gradients *before* clipping, a float (how hard this
        rollout pulled: a figure worth watching).
    """
    local_model.zero_grad()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(local_model.parameters(), max_grad_norm)
    for shared_param, local_param in zip(shared_model.parameters(), local_model.parameters()):
        shared_param.grad = local_param.grad
    optimizer.step()
    return float(norm)


#: The side of the square frame the Atari network reads.
ATARI_FRAME_SIZE = 84


def atari_frame(previous_frame, frame, size=ATARI_FRAME_SIZE):
    r"""The network's input frame from the last two emulator frames of an agent step.

    .. math::
        x = \operatorname{resize}_{84 \times 84}\big(\operatorname{grey}(\max(f_{k-1}, f_k))\big)

    1. the pixel-wise maximum of the two frames: the Atari draws some sprites only on
       every other frame, and the max shows everything either frame showed;
    2. grey: :math:`0.299 R + 0.587 G + 0.114 B` (``cv2.COLOR_RGB2GRAY``; the frames
       are RGB, not OpenCV's usual BGR);
    3. resized to 84 x 84 by area interpolation (``cv2.INTER_AREA``): each output
       pixel is the mean of the screen area it covers, so a one-pixel ball is dimmed,
       not dropped as a nearest-pixel resize may drop it.

    Args:
        previous_frame: the second-to-last frame, ``[210, 160, 3]`` uint8 RGB.
        frame: the last frame, ``[210, 160, 3]`` uint8 RGB.
        size: the side of the result (the library's option for other screen sizes;
            the exercise is the paper's 84).

    Returns:
        ``[84, 84]`` uint8.
    """
    import cv2  # here, not at the top: only Atari workers need it

    brightest = np.maximum(previous_frame, frame)
    grey = cv2.cvtColor(brightest, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)


def gaussian_log_prob(mean, std, actions):
    r"""Log-density of ``actions`` under independent Gaussians, summed over action dimensions.

    .. math::
        \log \pi(a \mid s) = \sum_i \Big( -\frac{(a_i - \mu_i)^2}{2\sigma_i^2} - \log \sigma_i
        - \tfrac12 \log 2\pi \Big)

    Args:
        mean: ``[T, D]`` means :math:`\mu`, one per action dimension.
        std: ``[T, D]`` standard deviations :math:`\sigma` (positive).
        actions: ``[T, D]`` the actions taken, :math:`a`.

    Returns:
        ``[T]`` log-densities, with gradient into ``mean`` and ``std``.
    """
    z = (actions - mean) / std
    return (-0.5 * z.pow(2) - std.log() - 0.5 * math.log(2 * math.pi)).sum(dim=-1)


def gaussian_entropy(std):
    r"""Differential entropy of independent Gaussians, summed over action dimensions.

    .. math::
        H = \sum_i \tfrac12 \log(2 \pi e \sigma_i^2)
          = \sum_i \Big(\log \sigma_i + \tfrac12 \log(2 \pi e)\Big)

    It depends only on the spread: a wider Gaussian explores more. Unlike a softmax's
    entropy it can be negative (below :math:`\sigma = 1/\sqrt{2 \pi e} \approx 0.24`).

    Args:
        std: ``[T, D]`` standard deviations.

    Returns:
        ``[T]`` entropies in nats, with gradient into ``std``.
    """
    return (0.5 * math.log(2 * math.pi * math.e) + std.log()).sum(dim=-1)


def next_lstm_state(state, episode_ended):
    r"""The recurrent state a worker carries into its next rollout.

    - If the episode ended, the next one starts from the initial state: zeros, of the
      same shapes, without gradient (nothing of one game may leak into the next).
    - Otherwise the same values, **detached**: the next rollout starts where this one
      stopped, but its loss backpropagates only to its own first step (truncated
      backpropagation through time), not into rollouts already learned from.

    ``state`` is what the model's ``initial_state()`` returns: ``(h, c)``, each
    ``[1, 256]``, or for the Gaussian policy a pair of such pairs (the policy's and the
    value's). Return the same nesting, as new tensors: the input may still be in use.

    Args:
        state: the LSTM state after the rollout's last step.
        episode_ended: whether that step ended the episode.

    Returns:
        The state to start the next rollout from.
    """
    if isinstance(state, torch.Tensor):
        return torch.zeros_like(state) if episode_ended else state.detach()
    return tuple(next_lstm_state(part, episode_ended) for part in state)


#: The exercise functions a student may replace, by the name ``train()`` accepts.
EXERCISE_FUNCTIONS = {
    "one_step_q_target": one_step_q_target,
    "sarsa_target": sarsa_target,
    "n_step_returns": n_step_returns,
    "epsilon_greedy": epsilon_greedy,
    "entropy": entropy,
    "actor_critic_loss": actor_critic_loss,
    "shared_rmsprop_step": shared_rmsprop_step,
    "hogwild_update": hogwild_update,
    "atari_frame": atari_frame,
    "gaussian_log_prob": gaussian_log_prob,
    "gaussian_entropy": gaussian_entropy,
    "next_lstm_state": next_lstm_state,
}
