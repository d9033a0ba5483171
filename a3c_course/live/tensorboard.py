"""TensorBoard logs of a run: episode returns and every diagnostic, written by the parent.

``train(..., tensorboard="runs/tb")`` and ``a3c-course train --tensorboard runs/tb``
wrap the run's monitor in a :class:`TensorBoardLog`. Each run gets a subfolder of its
own (``runs/tb/a3c_CartPole-v1_1``, then ``_2``...), so that runs logged to the same
folder show side by side in ``tensorboard --logdir runs/tb``. The scalars, each
against the global step:

- ``episode/return``, ``episode/length``: every finished episode;
  ``episode/mean_return``: the mean of the last 20, as the dashboard draws it;
- ``diagnostics/<name>``: every row the workers report (see
  :mod:`a3c_course.runs.diagnostics`), averaged over the workers' rows of each
  monitor update;
- ``time/steps_per_second``: the speed since the previous write.

Only the parent writes (the workers never touch the files), from the monitor's
``update``, a few times a second; the writer itself sends the events to disk from a
thread of its own. It uses ``torch.utils.tensorboard``, which needs the ``tensorboard``
package: ``pip install "a3c-course[tensorboard]"`` (the dev install has it).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from ..errors import ConfigError
from ..runs.diagnostics import DIAGNOSTIC_NAMES
from .monitors import Monitor

WINDOW = 20
INSTALL_HINT = ('TensorBoard logs need the tensorboard package: pip install "a3c-course[tensorboard]" '
                "(or pip install tensorboard)")


def run_folder(root, run_name) -> Path:
    """The first free ``root/<run_name>_<n>``, n = 1, 2, ...; ``run_name`` made path-safe."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", run_name).strip("-") or "run"
    root = Path(root)
    n = 1
    while (root / f"{safe}_{n}").exists():
        n += 1
    return root / f"{safe}_{n}"


class TensorBoardLog(Monitor):
    """Writes the run to TensorBoard event files in a new subfolder of ``root``.

    It wraps another monitor (``inner``), which still shows the run as usual.

    Raises:
        ConfigError: the ``tensorboard`` package is missing, or ``root`` is a file.
    """

    def __init__(self, root, inner: Monitor | None = None, run_name="run"):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as err:
            raise ConfigError(INSTALL_HINT) from err
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise ConfigError(f"tensorboard={str(root)!r} is a file; give a folder for the logs")
        self.writer_class = SummaryWriter
        self.root = root
        self.run_name = run_name
        self.inner = inner if inner is not None else Monitor()
        self.folder = None
        self.writer = None
        self.table = None
        self.episodes_written = 0
        self.rows_written = 0
        self.last = None  # (elapsed_seconds, global_step) of the previous speed point

    @property
    def stop_requested(self):
        return self.inner.stop_requested

    def show_settings(self, report):
        if hasattr(self.inner, "show_settings"):
            self.inner.show_settings(report)

    def watch_diagnostics(self, table):
        self.table = table
        self.inner.watch_diagnostics(table)

    def start(self):
        self.folder = run_folder(self.root, self.run_name)
        self.writer = self.writer_class(log_dir=str(self.folder))
        self.inner.start()

    def update(self, global_step, episodes, elapsed_seconds):
        self.inner.update(global_step, episodes, elapsed_seconds)
        self._write(global_step, episodes, elapsed_seconds)

    def close(self, result):
        try:
            self.inner.close(result)
        finally:
            if self.writer is not None:
                if self.table is None:
                    self.table = result.diagnostics
                self._write(result.total_steps, result.episodes, result.wall_seconds)
                self.writer.close()
                self.writer = None

    def _write(self, global_step, episodes, elapsed_seconds):
        writer = self.writer
        if writer is None:
            return
        for i in range(self.episodes_written, len(episodes)):
            episode = episodes[i]
            writer.add_scalar("episode/return", episode.episode_return, episode.global_step)
            writer.add_scalar("episode/length", episode.episode_length, episode.global_step)
            tail = episodes[max(0, i + 1 - WINDOW): i + 1]
            writer.add_scalar("episode/mean_return",
                              sum(e.episode_return for e in tail) / len(tail), episode.global_step)
        self.episodes_written = len(episodes)
        rows = self.table.rows[self.rows_written:] if self.table is not None else []
        if rows:
            self.rows_written += len(rows)
            step = max(row.global_step for row in rows)
            for name in DIAGNOSTIC_NAMES:
                values = [getattr(row, name) for row in rows]
                values = [v for v in values if math.isfinite(v)]
                if values:
                    writer.add_scalar(f"diagnostics/{name}", sum(values) / len(values), step)
        if self.last is None:
            self.last = (elapsed_seconds, global_step)
        elif elapsed_seconds - self.last[0] >= 1.0:
            seconds, steps = self.last
            writer.add_scalar("time/steps_per_second",
                              (global_step - steps) / (elapsed_seconds - seconds), global_step)
            self.last = (elapsed_seconds, global_step)
