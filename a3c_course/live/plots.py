"""Learning curves (episode returns against time or steps, with a moving average) and
the diagnostics of the updates (entropy, losses, gradient norm...) against steps."""

from __future__ import annotations

import math

import numpy as np

from ..runs.diagnostics import DIAGNOSTIC_NAMES, LABELS

SMOOTHING_WINDOW = 20


def moving_average(values, window=SMOOTHING_WINDOW):
    """Mean of the last ``window`` values at each point (fewer at the start)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return values
    sums = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return (sums[1:] - sums[np.maximum(np.arange(1, len(values) + 1) - window, 0)]) / counts


def plot_learning_curve(result, ax=None, x="global_step", label=None, per_worker=False,
                        window=SMOOTHING_WINDOW, show_episodes=True):
    """Plot episode returns of ``result`` (a RunResult) against ``x``.

    Args:
        x: ``"global_step"`` or ``"wall_seconds"``.
        per_worker: one curve per worker instead of one for the run.
        show_episodes: also draw every episode's return, faintly.

    Returns:
        The matplotlib ``Axes``.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    xs = result.column(x) if result.episodes else np.array([])
    returns = result.returns
    label = label or f"{result.algo}, {result.n_workers} worker{'s' * (result.n_workers > 1)}"
    if per_worker:
        workers = result.column("worker") if result.episodes else np.array([])
        for worker in sorted(set(workers.tolist())):
            mask = workers == worker
            ax.plot(xs[mask], moving_average(returns[mask], window), label=f"worker {worker}")
    else:
        if show_episodes and len(xs):
            ax.plot(xs, returns, ".", alpha=0.15, markersize=3)
        line, = ax.plot(xs, moving_average(returns, window), label=label)
    if result.stop_at_return is not None:
        ax.axhline(result.stop_at_return, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("global step" if x == "global_step" else "seconds")
    ax.set_ylabel(f"episode return (mean of {window})")
    ax.set_title(result.env_id)
    ax.legend(loc="best")
    return ax


DIAGNOSTICS_WINDOW = 10
"""Rows in the moving mean of a diagnostics plot (each row: about 0.5 s of one worker)."""


def smoothed_diagnostic(table, name, window=DIAGNOSTICS_WINDOW):
    """``(global_steps, values)`` of one diagnostic over all workers, in step order, a
    moving mean of ``window`` rows; rows without a value are left out."""
    steps, values = table.column("global_step").astype(float), table.column(name)
    order = np.argsort(steps, kind="stable")
    steps, values = steps[order], values[order]
    keep = np.isfinite(values)
    return steps[keep], moving_average(values[keep], window)


def _diagnostics_of(run):
    return run.diagnostics if hasattr(run, "diagnostics") else run


def plot_diagnostic(run, name, ax=None, label=None, window=DIAGNOSTICS_WINDOW, per_worker=False,
                    **style):
    """One diagnostic of ``run`` (a RunResult, or its ``diagnostics`` table) against global steps.

    Args:
        name: a column of :mod:`a3c_course.runs.diagnostics`, e.g. ``"entropy"``.
        per_worker: one line per worker instead of one for the run.
        window: rows in the moving mean.
        **style: passed to matplotlib's ``plot`` (``color``, ``linewidth``...).

    Returns:
        The matplotlib ``Axes``.
    """
    import matplotlib.pyplot as plt

    if name not in DIAGNOSTIC_NAMES:
        raise ValueError(f"no diagnostic {name!r}; choose one of {', '.join(DIAGNOSTIC_NAMES)}")
    table = _diagnostics_of(run)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    if per_worker:
        workers = table.column("worker")
        for worker in sorted(set(workers.tolist())):
            rows = [row for row in table if row.worker == worker]
            steps = np.array([row.global_step for row in rows], dtype=float)
            values = np.array([getattr(row, name) for row in rows], dtype=float)
            keep = np.isfinite(values)
            ax.plot(steps[keep], moving_average(values[keep], window), label=f"worker {worker}",
                    **style)
    else:
        if label is None and hasattr(run, "algo"):
            label = f"{run.algo}, {run.n_workers} worker{'s' * (run.n_workers > 1)}"
        ax.plot(*smoothed_diagnostic(table, name, window), label=label, **style)
    ax.set_xlabel("global step")
    ax.set_ylabel(LABELS[name])
    if per_worker or label:
        ax.legend(loc="best")
    return ax


def plot_diagnostics(run, names=None, columns=3, window=DIAGNOSTICS_WINDOW, label=None, axes=None):
    """Every diagnostic of ``run`` (or those in ``names``), one small plot each.

    Pass the ``axes`` a previous call returned to draw a second run on the same plots.

    Returns:
        The array of matplotlib ``Axes``.
    """
    import matplotlib.pyplot as plt

    table = _diagnostics_of(run)
    names = list(names) if names is not None else table.names
    if not names:
        raise ValueError("this run has no diagnostics (it was saved before they were "
                         "recorded, or stopped before the first update)")
    if axes is None:
        rows = math.ceil(len(names) / columns)
        _, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.8 * rows),
                               squeeze=False, constrained_layout=True)
        for ax in axes.flat[len(names):]:
            ax.set_visible(False)
    for i, (ax, name) in enumerate(zip(axes.flat, names)):
        plot_diagnostic(run, name, ax=ax, label=label, window=window)
        ax.set_title(LABELS[name], fontsize=10)
        ax.set_ylabel("")
        if i and ax.get_legend() is not None:
            ax.get_legend().remove()  # one legend is enough
    return axes
