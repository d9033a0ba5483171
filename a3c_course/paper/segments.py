r"""The loss of several games' rollouts in one update (a worker with ``envs_per_worker > 1``).

A worker that plays K games collects ``t_max`` steps of each, and a game's steps
split into *segments* where its episode ends (or a life is lost, when that counts as
terminal): each segment is a :class:`~a3c_course.paper.algorithms.Rollout` exactly as a
worker with one game would have collected it, with its own n-step returns, its own
bootstrap state and its own ``terminated``. The update's loss is the sum of the
segments' losses, which is what the paper's worker does with the gradients of
consecutive rollouts, accumulated:

.. math::

    L = \sum_{\text{segments } j} L(\text{rollout}_j), \qquad
    R^{(j)}_i = r^{(j)}_i + \gamma R^{(j)}_{i+1}, \quad
    R^{(j)}_{T_j} = \begin{cases} 0 & \text{terminated} \\ V(s^{(j)}_{T_j}) & \text{else} \end{cases}

For A3C with a feed-forward model, every state of every segment (bootstrap states
included) goes through the network in **one** forward pass, which is where the speed
comes from; the returns are then computed per segment. Recurrent models and the value
methods sum the per-segment losses of :meth:`loss` (each its own forward pass: a
recurrent segment starts from its own game's LSTM state).
"""

from __future__ import annotations

import numpy as np
import torch

from .algorithms import A3C, LossTerms, Rollout


def batch_loss(method, model, target_model, segments: list[Rollout]) -> torch.Tensor:
    """The loss of ``segments`` in one update, and ``method.last_terms`` for all of them."""
    if len(segments) == 1:
        return method.loss(model, target_model, segments[0])
    if isinstance(method, A3C) and segments[0].initial_state is None:
        return _actor_critic_in_one_pass(method, model, segments)
    return _summed_loss(method, model, target_model, segments)


def _actor_critic_in_one_pass(method: A3C, model, segments) -> torch.Tensor:
    observations = np.stack([obs for segment in segments
                             for obs in (*segment.observations, segment.bootstrap_observation)])
    output, values, _ = model(torch.from_numpy(observations))
    rows, returns, start = [], [], 0
    for segment in segments:  # [s_0 .. s_{T-1}, bootstrap] of each segment, in order
        steps = len(segment)
        returns.append(method.fn["n_step_returns"](
            segment.reward_tensor(), values[start + steps].detach(), segment.terminated,
            method.hp.gamma))
        rows.extend(range(start, start + steps))
        start += steps + 1
    rows = torch.tensor(rows)
    output = tuple(part[rows] for part in output) if isinstance(output, tuple) else output[rows]
    actions = method.action_batch([action for segment in segments for action in segment.actions])
    return method.loss_of_steps(output, values[rows], actions, torch.cat(returns))


def _summed_loss(method, model, target_model, segments) -> torch.Tensor:
    total, terms = 0.0, []
    for segment in segments:
        total = total + method.loss(model, target_model, segment)
        terms.append(method.last_terms)
    method.last_terms = LossTerms(
        torch.cat([t.predictions for t in terms]), torch.cat([t.targets for t in terms]),
        _sum_or_none([t.policy_loss for t in terms]), _sum_or_none([t.entropy for t in terms]))
    return total


def _sum_or_none(values):
    return None if values[0] is None else sum(values[1:], values[0])
