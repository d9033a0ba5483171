"""A worker's diagnostics: summed over its updates, sent to the parent about twice a second.

A worker updates the shared model hundreds of times a second on CartPole. Sending a
message per update would slow the worker and flood the results queue, so each update
only adds a few numbers into running sums (a few microseconds, against the
milliseconds an update takes), and every :data:`SEND_SECONDS` the worker turns the sums
into one row of means (:class:`~a3c_course.runs.diagnostics.DiagnosticsRow`), puts it
on the queue as ``(DIAGNOSTICS, row)`` and starts again from zero.

What each column means is documented in :mod:`a3c_course.runs.diagnostics`. The
explained variance of a row pools all of its steps, which is steadier than a mean of
per-rollout values (a rollout of 5 steps says little about a variance):

.. math::

    \\mathrm{EV} = 1 - \\frac{\\mathrm{Var}(R - V)}{\\mathrm{Var}(R)}, \\qquad
    \\mathrm{Var}(x) = \\frac{1}{n}\\sum x^2 - \\Big(\\frac{1}{n}\\sum x\\Big)^2 .
"""

from __future__ import annotations

import math
import time

from ..runs.diagnostics import DiagnosticsRow

DIAGNOSTICS = "diagnostics"  # (DIAGNOSTICS, DiagnosticsRow)

SEND_SECONDS = 0.5
"""Least time between two rows of one worker."""

NAN = math.nan


class DiagnosticsAccumulator:
    """Running sums of one worker's updates, turned into a row every ``every`` seconds.

    Args:
        worker: the worker's index.
        queue: where rows go (the results queue); ``None`` keeps them in :attr:`sent`.
        optimizer: its learning rate in effect is reported.
        max_grad_norm: the clipping threshold, to count the updates it clipped.
        start_time: ``time.time()`` of the run's start (rows carry seconds since then).
        every: least seconds between two rows.
    """

    def __init__(self, worker, queue, optimizer, max_grad_norm, start_time, every=SEND_SECONDS):
        self.worker = worker
        self.queue = queue
        self.optimizer = optimizer
        self.max_grad_norm = max_grad_norm
        self.start_time = start_time
        self.every = every
        self.sent = []
        self.reward_scale = NAN  # set by the worker when it scales rewards (scale_rewards)
        self.next_send = time.monotonic() + every
        self._reset()

    def _reset(self):
        self.updates = self.steps = self.clipped = 0
        self.sum_target = self.sum_target_sq = self.sum_error = self.sum_error_sq = 0.0
        self.sum_prediction = self.grad_norm = 0.0
        self.policy_loss = self.entropy = 0.0
        self.staleness = 0.0
        self.staleness_updates = 0
        self.policy_terms = False

    def after_update(self, method, grad_norm, global_step, staleness=None) -> None:
        """Add one update: the method's ``last_terms``, the gradient norm before clipping,
        and how stale the update was (updates others applied since this worker's sync)."""
        terms = method.last_terms
        # .tolist() and .item() cost well under a microsecond each on rollouts this short;
        # plain Python sums over 5 to 20 numbers are cheaper than any tensor operation.
        predictions, targets = terms.predictions.tolist(), terms.targets.tolist()
        sum_target = sum_target_sq = sum_error = sum_error_sq = 0.0
        for prediction, target in zip(predictions, targets):
            error = target - prediction
            sum_target += target
            sum_target_sq += target * target
            sum_error += error
            sum_error_sq += error * error
        self.sum_target += sum_target
        self.sum_target_sq += sum_target_sq
        self.sum_error += sum_error
        self.sum_error_sq += sum_error_sq
        self.sum_prediction += sum(predictions)
        if terms.policy_loss is not None:
            self.policy_loss += _number(terms.policy_loss)
            self.entropy += _number(terms.entropy)
            self.policy_terms = True
        norm = _number(grad_norm)
        self.grad_norm += norm
        self.clipped += norm > self.max_grad_norm
        if staleness is not None:
            self.staleness += staleness
            self.staleness_updates += 1
        self.updates += 1
        self.steps += len(predictions)
        self.value_method = getattr(method, "epsilon", None) is not None
        self.epsilon = getattr(method, "epsilon", NAN)
        if time.monotonic() >= self.next_send:
            self.send(global_step)

    def row(self, global_step) -> DiagnosticsRow:
        """The means of the updates since the last row (see :mod:`a3c_course.runs.diagnostics`)."""
        n, updates = self.steps, self.updates
        mean_target = self.sum_target / n
        target_variance = self.sum_target_sq / n - mean_target ** 2
        error_variance = self.sum_error_sq / n - (self.sum_error / n) ** 2
        explained = (1.0 - error_variance / target_variance
                     if target_variance > 1e-12 * max(1.0, mean_target ** 2) else NAN)
        policy = self.policy_terms
        value_method = self.value_method
        return DiagnosticsRow(
            global_step=int(global_step),
            wall_seconds=time.time() - self.start_time,
            worker=self.worker,
            updates=updates,
            entropy=self.entropy / n if policy else NAN,
            policy_loss=self.policy_loss / n if policy else NAN,
            value_loss=self.sum_error_sq / n,
            explained_variance=explained,
            grad_norm=self.grad_norm / updates,
            clip_fraction=self.clipped / updates,
            lr=float(self.optimizer.param_groups[0]["lr"]) if self.optimizer is not None else NAN,
            mean_value=NAN if value_method else self.sum_prediction / n,
            mean_q=self.sum_prediction / n if value_method else NAN,
            epsilon=float(self.epsilon) if value_method else NAN,
            staleness=(self.staleness / self.staleness_updates if self.staleness_updates
                       else NAN),
            reward_scale=self.reward_scale,
        )

    def send(self, global_step) -> None:
        """Put the row of the updates so far on the queue (nothing when there were none)."""
        self.next_send = time.monotonic() + self.every
        if not self.steps:
            return
        row = self.row(global_step)
        self._reset()
        if self.queue is None:
            self.sent.append(row)
        else:
            self.queue.put((DIAGNOSTICS, row))


def _number(value) -> float:
    """A 0-d tensor (with or without a gradient) or a number, as a float."""
    return value.item() if hasattr(value, "item") else float(value)
