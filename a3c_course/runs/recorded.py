"""Recorded learning curves over several seeds: the CSV files of ``notebooks/data/``.

A notebook's live run is one seed, and one seed of reinforcement learning is noisy:
two runs that differ only in their seed can differ more than two methods do. So the
comparisons the notebooks draw conclusions from are recorded beforehand over several
seeds (``benchmarks/seed_curves.py`` writes them) and plotted as a band: the median of
the seeds, shaded from the lowest to the highest.

A file holds one row per variant, seed and point of the curve::

    variant,seed,global_step,mean_return
    1 worker,0,2000,4.95

``mean_return`` is the mean return of the last ``window`` episodes finished by
``global_step`` (the window the file's writer chose, 20 by default). A comparison of
speed is recorded against the clock instead: its file has ``wall_seconds`` (seconds
since the run started) where the others have ``global_step``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COLUMNS = ("variant", "seed", "global_step", "mean_return")
#: What a curve's points can be counted in: agent steps, or seconds of the run's clock.
X_COLUMNS = ("global_step", "wall_seconds")
X_LABELS = {"global_step": "global step", "wall_seconds": "seconds since the start"}


@dataclass
class SeedCurves:
    """The curves of one variant: ``returns[i, j]`` is seed ``seeds[i]`` at ``steps[j]``."""

    variant: str
    seeds: list
    steps: np.ndarray
    returns: np.ndarray
    x: str = "global_step"
    """What ``steps`` counts: ``"global_step"``, or ``"wall_seconds"`` for a curve against
    the clock."""

    def median(self) -> np.ndarray:
        return np.median(self.returns, axis=0)

    def final(self) -> np.ndarray:
        """Each seed's last point."""
        return self.returns[:, -1]

    def first_reaching(self, score: float) -> np.ndarray:
        """Each seed's first point (a step, or seconds) at or above ``score``; NaN if never."""
        reached = self.returns >= score
        return np.where(reached.any(axis=1), self.steps[reached.argmax(axis=1)], np.nan)


def find_recorded(name: str, folders=None) -> Path:
    """The path of the recorded file ``name`` (e.g. ``"parallel_workers.csv"``).

    Looks in ``data/`` (the student notebooks' folder), ``../data/`` (the solutions'),
    then ``notebooks/data/`` of the repository this package was installed from.
    """
    repository = Path(__file__).resolve().parents[2] / "notebooks" / "data"
    candidates = [Path(f) for f in folders] if folders else [Path("data"), Path("../data"), repository]
    for folder in candidates:
        if (folder / name).is_file():
            return folder / name
    looked = ", ".join(str(folder) for folder in candidates)
    raise FileNotFoundError(f"no recorded file {name!r} in {looked}; run the notebook from "
                            "the course's notebooks/ folder")


def read_seed_curves(path) -> dict[str, SeedCurves]:
    """The curves of a recorded file, by variant, in the order the file lists them."""
    rows = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        fields = set(reader.fieldnames or ())
        x = next((name for name in X_COLUMNS if name in fields), "global_step")
        missing = {"variant", "seed", x, "mean_return"} - fields
        if missing:
            raise ValueError(f"{path} lacks the columns {sorted(missing)}")
        for row in reader:
            per_seed = rows.setdefault(row["variant"], {}).setdefault(int(row["seed"]), {})
            per_seed[float(row[x])] = float(row["mean_return"])
    curves = {}
    for variant, by_seed in rows.items():
        seeds = sorted(by_seed)
        steps = sorted(set.intersection(*(set(by_seed[s]) for s in seeds)))
        returns = np.array([[by_seed[s][step] for step in steps] for s in seeds])
        curves[variant] = SeedCurves(variant, seeds, np.array(steps), returns, x)
    return curves


def write_seed_curves(path, curves) -> None:
    """Write ``{variant: SeedCurves}`` in the format :func:`read_seed_curves` reads."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        x_columns = {curve.x for curve in curves.values()}
        if len(x_columns) != 1 or not x_columns <= set(X_COLUMNS):
            raise ValueError(f"one file holds curves against one of {X_COLUMNS}, not {sorted(x_columns)}")
        x = x_columns.pop()
        writer.writerow(("variant", "seed", x, "mean_return"))
        for curve in curves.values():
            for i, seed in enumerate(curve.seeds):
                for step, value in zip(curve.steps, curve.returns[i]):
                    point = int(step) if x == "global_step" else f"{step:g}"
                    writer.writerow([curve.variant, seed, point, f"{value:.3f}"])


def curve_at(result, steps, window: int = 20, x: str = "global_step") -> np.ndarray:
    """A run's mean return of the last ``window`` episodes at each of ``steps`` (NaN before any).

    ``x="wall_seconds"``: ``steps`` are seconds since the run started. After the run's
    last episode a curve keeps its last value (a run that stopped at its score holds it).
    """
    finished = result.column(x) if result.episodes else np.array([])
    returns = result.returns
    out = np.full(len(steps), np.nan)
    for j, step in enumerate(steps):
        count = int(np.searchsorted(finished, step, side="right"))
        if count:
            out[j] = returns[max(0, count - window):count].mean()
    return out


def plot_seed_curves(curves, ax=None, colors=None, ylabel="episode return (mean of 20)"):
    """Each variant's median over seeds, shaded from the lowest seed to the highest.

    Returns:
        The matplotlib ``Axes``.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    for index, curve in enumerate(curves.values()):
        color = (colors or {}).get(curve.variant, f"C{index}")
        ax.fill_between(curve.steps, curve.returns.min(axis=0), curve.returns.max(axis=0),
                        color=color, alpha=0.2, linewidth=0)
        ax.plot(curve.steps, curve.median(), color=color,
                label=f"{curve.variant} (median of {len(curve.seeds)} seeds)")
    ax.set_xlabel(X_LABELS[next(iter(curves.values())).x] if curves else "global step")
    ax.set_ylabel(ylabel)
    ax.legend(loc="best")
    return ax
