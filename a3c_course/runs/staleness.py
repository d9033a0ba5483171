r"""Staleness: how old the weights were that an update's gradient was computed on.

A worker copies the weights :math:`\theta` at the start of its rollout, computes a
gradient on them, and applies it. Meanwhile the other workers apply theirs: the
**staleness** of an update is how many updates were applied between the copy and the
update itself. With :math:`n` workers taking turns it is about :math:`n - 1`; a
gradient with staleness :math:`k` was computed on weights :math:`k` updates old.

Both backends measure it the same way, from a count of the updates applied so far
that the worker notes when it copies the weights: in shared memory the workers keep
that count themselves (without a lock, so approximately); on Ray the parameter server,
which applies every update, counts exactly (its *version*). A run's result keeps the
histogram over all its updates and this summary (``result.staleness``); the
``staleness`` column of ``result.diagnostics`` has its mean over time.
"""

from __future__ import annotations

import math


def summarize_staleness(histogram: dict) -> dict | None:
    """``updates``, ``mean``, ``median``, ``p90``, ``max`` and the ``histogram`` itself
    (``{staleness: updates}``, keys as ints), or ``None`` when no update was counted."""
    histogram = {int(k): int(v) for k, v in (histogram or {}).items() if int(v) > 0}
    updates = sum(histogram.values())
    if not updates:
        return None
    values = sorted(histogram)
    mean = sum(k * n for k, n in histogram.items()) / updates
    return {
        "updates": updates,
        "mean": mean,
        "median": _quantile(histogram, values, updates, 0.5),
        "p90": _quantile(histogram, values, updates, 0.9),
        "max": values[-1],
        "histogram": {k: histogram[k] for k in values},
    }


def _quantile(histogram, values, updates, q):
    """The smallest staleness with at least a share ``q`` of the updates at or below it."""
    needed = math.ceil(q * updates)
    seen = 0
    for value in values:
        seen += histogram[value]
        if seen >= needed:
            return value
    return values[-1]


def describe_staleness(summary: dict | None) -> str:
    """One line: ``staleness: mean 1.0, median 1, 90% <= 2, max 6 (12,345 updates)``."""
    if not summary:
        return "staleness: not measured"
    return (f"staleness: mean {summary['mean']:.2f}, median {summary['median']}, "
            f"90% <= {summary['p90']}, max {summary['max']} ({summary['updates']:,} updates)")
