"""Learning curves: episode returns against time or steps, with a moving average."""

from __future__ import annotations

import numpy as np

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
