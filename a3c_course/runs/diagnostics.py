"""What the updates looked like: entropy, losses, gradient norm, explained variance, by global step.

The return curve says whether an agent learns; these numbers say why it does or does
not. Each worker averages them over its own updates and reports a row about twice a
second (:mod:`a3c_course.engine.diagnostics`); the parent keeps every row in a
:class:`DiagnosticsTable`, ``result.diagnostics``, saved as ``diagnostics.csv`` in the
run folder. The columns (:data:`DIAGNOSTIC_COLUMNS`), each a mean over the updates the
row covers, per step of the rollouts where it is a sum:

- ``global_step``, ``wall_seconds``: when the row was sent; ``worker``; ``updates``:
  how many updates it covers;
- ``entropy``: policy entropy :math:`H(\\pi(\\cdot \\mid s))` per step (A3C). Falls as the
  policy becomes sure of itself; near 0 early means the policy collapsed;
- ``policy_loss``: :math:`-\\log \\pi(a \\mid s) (R - V(s))` per step (A3C);
- ``value_loss``: :math:`(R - V(s))^2` per step (A3C), or the squared TD error
  :math:`(y - Q(s, a))^2` (value methods);
- ``explained_variance``: :math:`1 - \\mathrm{Var}(R - V) / \\mathrm{Var}(R)` over the
  row's steps: 1 when the value predicts the returns, 0 when it predicts no better
  than their mean, below 0 when worse (value methods: :math:`Q(s, a)` against the targets);
- ``grad_norm``: the gradient's global norm before clipping; ``clip_fraction``: the
  share of updates whose gradient was clipped to ``max_grad_norm``;
- ``lr``: the learning rate in effect (annealed linearly to 0);
- ``mean_value``: mean :math:`V(s)` (A3C); ``mean_q``: mean :math:`Q(s, a)` of the
  actions taken, and ``epsilon``: the worker's exploration rate (value methods);
- ``staleness``: how many updates other workers applied between this worker's copy of
  the weights and its own update, a mean over the row's updates (about ``n_workers - 1``
  when the workers take turns; see :mod:`a3c_course.runs.staleness`);
- ``reward_scale``: with ``scale_rewards``, the factor the rewards are multiplied by
  for learning, 1 / the spread of the discounted return (A3C's values, returns and
  value loss above are in these scaled units; see :mod:`a3c_course.paper.return_scale`).

A column that does not apply to the method holds NaN in memory and nothing in the CSV.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

DIAGNOSTICS_NAME = "diagnostics.csv"


class DiagnosticsRow(NamedTuple):
    """One report of one worker: means over its updates since the previous report."""

    global_step: int
    wall_seconds: float
    worker: int
    updates: int
    entropy: float
    policy_loss: float
    value_loss: float
    explained_variance: float
    grad_norm: float
    clip_fraction: float
    lr: float
    mean_value: float
    mean_q: float
    epsilon: float
    staleness: float = math.nan
    reward_scale: float = math.nan


DIAGNOSTIC_COLUMNS = DiagnosticsRow._fields
KEY_COLUMNS = ("global_step", "wall_seconds", "worker", "updates")
#: The diagnostics themselves, in the order the dashboard and the plots show them.
DIAGNOSTIC_NAMES = tuple(name for name in DIAGNOSTIC_COLUMNS if name not in KEY_COLUMNS)

LABELS = {
    "entropy": "policy entropy",
    "policy_loss": "policy loss",
    "value_loss": "value loss",
    "explained_variance": "explained variance",
    "grad_norm": "gradient norm (before clipping)",
    "clip_fraction": "updates clipped",
    "lr": "learning rate",
    "mean_value": "mean V(s)",
    "mean_q": "mean Q(s, a)",
    "epsilon": "epsilon",
    "staleness": "staleness (updates)",
    "reward_scale": "reward scale (x rewards)",
}
"""How the plots and the dashboard name each diagnostic."""


class DiagnosticsTable:
    """Every row the workers reported, in the order they arrived; grows while a run trains.

    ``table.column("entropy")`` is a NumPy array; ``table.names`` the diagnostics this
    run has (those of its method); ``table.to_dict()`` suits ``pandas.DataFrame``.
    """

    def __init__(self, rows=()):
        self.rows = [DiagnosticsRow(*row) for row in rows]

    def append(self, row) -> None:
        self.rows.append(row if isinstance(row, DiagnosticsRow) else DiagnosticsRow(*row))

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, index):
        return self.rows[index]

    def column(self, name: str) -> np.ndarray:
        if name not in DIAGNOSTIC_COLUMNS:
            raise KeyError(f"no diagnostic {name!r}; the columns are {', '.join(DIAGNOSTIC_COLUMNS)}")
        index = DIAGNOSTIC_COLUMNS.index(name)
        dtype = int if name in ("global_step", "worker", "updates") else float
        return np.array([row[index] for row in self.rows], dtype=dtype)

    @property
    def names(self) -> list:
        """The diagnostics with at least one value in this table (a method's own)."""
        return [name for name in DIAGNOSTIC_NAMES
                if any(math.isfinite(row[DIAGNOSTIC_COLUMNS.index(name)]) for row in self.rows)]

    def to_dict(self) -> dict:
        return {name: self.column(name) for name in DIAGNOSTIC_COLUMNS}

    def csv_text(self) -> str:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(DIAGNOSTIC_COLUMNS)
        writer.writerows([_csv_cell(value) for value in row] for row in self.rows)
        return text.getvalue()

    def __repr__(self):
        if not self.rows:
            return "DiagnosticsTable(no rows yet)"
        return (f"DiagnosticsTable({len(self.rows)} rows, global steps {self.rows[0].global_step:,}"
                f" to {self.rows[-1].global_step:,}: {', '.join(self.names)})")


def _csv_cell(value):
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(value)
    return value


def _number(text: str) -> float:
    return float(text) if text != "" else math.nan


def read_diagnostics(folder) -> DiagnosticsTable:
    """The table of ``folder/diagnostics.csv``; empty for a run folder without one."""
    path = Path(folder) / DIAGNOSTICS_NAME
    if not path.exists():
        return DiagnosticsTable()
    with open(path, newline="") as f:
        rows = csv.DictReader(f)
        return DiagnosticsTable(
            (int(r["global_step"]), float(r["wall_seconds"]), int(r["worker"]), int(r["updates"]),
             *(_number(r.get(name, "")) for name in DIAGNOSTIC_NAMES))
            for r in rows)
