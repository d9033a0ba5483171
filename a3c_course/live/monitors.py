"""How a run shows its progress: nothing, a text progress bar, or a notebook dashboard.

The trainer talks to a *monitor* through these members, from the parent process only:

- ``show_settings(report)`` once, first: every setting of the run and the layer it
  came from (a :class:`~a3c_course.config.SettingsReport`);
- ``watch_diagnostics(table)`` once, then: the run's
  :class:`~a3c_course.runs.diagnostics.DiagnosticsTable`, which fills as the workers
  report; a monitor that shows diagnostics reads it in ``update()``;
- ``start()`` once, before the workers start;
- ``update(global_step, episodes, elapsed_seconds)`` a few times a second
  (``episodes`` is the run's whole episode list so far, in order);
- ``close(result)`` once, at the end, even after an interrupt;
- ``stop_requested``: read by the trainer; a monitor with a Stop button sets it.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path


class Monitor:
    """Shows nothing; the base class of every monitor."""

    stop_requested = False

    def show_settings(self, report):
        pass

    def watch_diagnostics(self, table):
        pass

    def start(self):
        pass

    def update(self, global_step, episodes, elapsed_seconds):
        pass

    def close(self, result):
        pass


def recent_mean(episodes, last=20):
    tail = episodes[-last:]
    return sum(e.episode_return for e in tail) / len(tail) if tail else float("nan")


def mean_text(episodes, last=20) -> str:
    """The recent mean return for people: ``"-"`` before the first episode, never ``nan``."""
    return f"{recent_mean(episodes, last):.1f}" if episodes else "-"


class TextMonitor(Monitor):
    """A tqdm progress bar of global steps, with the recent mean return and steps/s
    (and the time spent of a time limit, when the run has one)."""

    def __init__(self, max_steps, start_step=0, title="training", stream=None, frames_per_step=1,
                 time_limit=None):
        self.max_steps = max_steps
        self.time_limit = time_limit
        self.start_step = start_step
        self.title = title
        self.stream = stream if stream is not None else sys.stderr
        self.frames_per_step = frames_per_step
        self.bar = None

    def show_settings(self, report):
        print(report, file=self.stream)

    def start(self):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.max_steps, initial=self.start_step, desc=self.title,
                        unit="step", unit_scale=True, file=self.stream, dynamic_ncols=True)

    def update(self, global_step, episodes, elapsed_seconds):
        if self.bar is None:
            return
        self.bar.update(max(0, min(global_step, self.max_steps) - self.bar.n))
        postfix = dict(episodes=len(episodes), mean_return=mean_text(episodes))
        if self.time_limit is not None:
            # The bar counts steps; a run may end at its time limit first.
            postfix["time"] = f"{elapsed_seconds:.0f}/{self.time_limit:.0f} s"
        if self.frames_per_step > 1 and elapsed_seconds > 0:
            # Atari: one agent step is several emulator frames; the paper counts frames.
            steps = global_step - self.start_step
            postfix["frames/s"] = f"{steps * self.frames_per_step / elapsed_seconds:,.0f}"
        self.bar.set_postfix(postfix, refresh=False)

    def close(self, result):
        if self.bar is not None:
            self.update(result.total_steps, result.episodes, result.wall_seconds)
            self.bar.close()
            self.bar = None


class StaticMonitor(Monitor):
    """For notebooks where widgets do not render (or under test): one summary at the end."""

    def __init__(self, title="training"):
        self.title = title

    def show_settings(self, report):
        print(report)

    def close(self, result):
        print(f"{self.title}: {result.describe()}")


PROGRESS_NAME = "progress.csv"
PROGRESS_COLUMNS = ("date", "session_seconds", "global_step", "steps_per_second",
                    "frames_per_second", "episodes", "mean_return")


class ProgressLog(Monitor):
    """Appends a line of progress to ``folder/progress.csv`` every ``every`` seconds.

    For long runs (Atari, hours): the file says how far the run got and how fast,
    even when nobody watched the terminal; a resumed run appends to the same file.
    Columns: ``date`` (local time), ``session_seconds`` (since this ``train()``
    started), ``global_step``, ``steps_per_second`` and ``frames_per_second`` (since
    the previous line), ``episodes`` (finished so far) and ``mean_return`` (of the
    last 20). With ``echo``, each line is also printed to ``echo`` (a stream), which
    suits a log file better than a progress bar.

    It wraps another monitor (``inner``), which still shows the run as usual.
    """

    def __init__(self, folder, inner: Monitor | None = None, every=30.0, frames_per_step=1,
                 echo=None):
        self.path = Path(folder) / PROGRESS_NAME
        self.inner = inner if inner is not None else Monitor()
        self.every = every
        self.frames_per_step = frames_per_step
        self.echo = echo
        self.last = None  # (elapsed_seconds, global_step) of the previous line
        self.last_step = 0

    @property
    def stop_requested(self):
        return self.inner.stop_requested

    def show_settings(self, report):
        self.inner.show_settings(report)
        if self.echo is not None:
            print(report, file=self.echo, flush=True)

    def watch_diagnostics(self, table):
        self.inner.watch_diagnostics(table)

    def start(self):
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                self.path.write_text(",".join(PROGRESS_COLUMNS) + "\n")
        except OSError as err:  # a full disk must not end the run before it starts
            self._write_failed = True
            print(f"could not write {self.path}: {err.strerror or err}", file=sys.stderr)
        self.inner.start()

    def update(self, global_step, episodes, elapsed_seconds):
        self.inner.update(global_step, episodes, elapsed_seconds)
        if self.last is None:
            self.last = (elapsed_seconds, global_step)
        elif elapsed_seconds - self.last[0] >= self.every:
            self._write(global_step, episodes, elapsed_seconds)

    def close(self, result):
        self.inner.close(result)
        if self.last is not None:
            seconds = result.wall_seconds if result.wall_seconds > self.last[0] else self.last[0]
            self._write(result.total_steps, result.episodes, seconds)

    def _write(self, global_step, episodes, elapsed_seconds):
        seconds, step = self.last
        rate = (global_step - step) / (elapsed_seconds - seconds) if elapsed_seconds > seconds else 0.0
        self.last = (elapsed_seconds, global_step)
        mean = recent_mean(episodes)
        values = (datetime.datetime.now().isoformat(timespec="seconds"), f"{elapsed_seconds:.1f}",
                  global_step, f"{rate:.1f}", f"{rate * self.frames_per_step:.1f}", len(episodes),
                  "" if mean != mean else f"{mean:.2f}")
        try:
            with open(self.path, "a") as f:
                f.write(",".join(str(v) for v in values) + "\n")
        except OSError as err:  # a full disk must not end the run; the run folder says more
            if not getattr(self, "_write_failed", False):
                self._write_failed = True
                print(f"could not write {self.path}: {err.strerror or err}", file=sys.stderr)
        if self.echo is not None:
            print(f"{values[0]}  step {global_step:,}  {rate:,.0f} steps/s "
                  f"({rate * self.frames_per_step:,.0f} frames/s)  {len(episodes)} episodes  "
                  f"mean return (last 20) {mean_text(episodes)}", file=self.echo, flush=True)
