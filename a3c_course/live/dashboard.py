"""The live view of a training run in a notebook: progress, learning curve, workers, Stop.

:class:`Dashboard` is the :class:`~a3c_course.progress.Monitor` that
``train(live="auto")`` shows in a notebook. It draws, from the parent process only:

- a progress bar of global steps, with steps per second and the recent mean return;
- the learning curve (mean of the last 20 episodes, and one thin line per worker),
  redrawn at most once a second and only when new episodes have arrived;
- a table of each worker's episodes and returns;
- a **Stop** button: training ends as if the budget were spent, the workers stop, and
  ``train()`` returns the result with ``stop_reason == "stopped"``.

The Stop button's clicks reach Python while the cell is busy through a kernel
subshell: see :mod:`a3c_course.live.subshell`.
"""

from __future__ import annotations

import html
import io
import math
import time

import numpy as np

from .monitors import Monitor, recent_mean
from .plots import SMOOTHING_WINDOW, moving_average
from .subshell import route_clicks_while_busy

REDRAW_SECONDS = 1.0
"""Least time between two redraws of the curve and the worker table."""

DRAW_SHARE = 20
"""Redraws wait at least this many times as long as the last one took."""

STOP_TOOLTIP = "End training now; train() returns what was learned so far."
INTERRUPT_HINT = ("This kernel cannot take a click while the cell runs (that needs "
                  "ipykernel 7.4 or newer). To stop early, interrupt the kernel (the square "
                  "button, or I, I): train() still returns what was learned so far.")

_END_LABELS = {
    "solved": "Solved",
    "max_steps": "Budget spent",
    "time_limit": "Time limit",
    "stopped": "Stopped",
    "interrupted": "Interrupted",
    "error": "Failed",
}


class Dashboard(Monitor):
    """A live, cheap view of one training run; see the module docstring.

    Args:
        max_steps: the run's budget of global steps (the progress bar's end).
        start_step: where a resumed run starts.
        stop_at_return: drawn as a dotted line on the curve, when given.
        title: shown above the dashboard.
        redraw_seconds: least time between redraws of the curve and the worker table.
    """

    def __init__(self, max_steps, start_step=0, stop_at_return=None, title="training",
                 redraw_seconds=REDRAW_SECONDS):
        import ipywidgets as widgets

        self.max_steps = int(max_steps)
        self.start_step = int(start_step)
        self.stop_at_return = stop_at_return
        self.title = title
        self.redraw_seconds = redraw_seconds
        self.stop_requested = False
        self._drawn_episodes = -1
        self._next_redraw = 0.0
        self._rate = _RateMeter()
        self._figure = None

        self.heading = widgets.HTML(f"<b>{html.escape(title)}</b>")
        self.progress = widgets.IntProgress(value=self.start_step, min=0, max=self.max_steps,
                                            description="steps", bar_style="info")
        self.numbers = widgets.HTML(self._numbers_text(self.start_step, 0, float("nan"), 0.0))
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="danger",
                                          tooltip=STOP_TOOLTIP)
        self.stop_button.on_click(self._on_stop)
        self.curve = widgets.Image(format="png", layout=widgets.Layout(width="560px"))
        self.workers = widgets.HTML()
        self.settings = widgets.HTML()
        self.view = widgets.VBox([
            self.heading,
            widgets.HBox([self.progress, self.stop_button]),
            self.numbers,
            widgets.HBox([self.curve, self.workers]),
            self.settings,
        ])
        self.clicks_reach_python = route_clicks_while_busy(self.stop_button)
        if not self.clicks_reach_python:
            self.stop_button.description = "Stop: use the kernel's ■"
            self.stop_button.disabled = True
            self.stop_button.tooltip = INTERRUPT_HINT
            self.stop_button.layout.width = "auto"

    # -- the Monitor interface -------------------------------------------------------
    def show_settings(self, report):
        self.settings.value = settings_html(report)

    def start(self):
        from IPython.display import display

        display(self.view)

    def update(self, global_step, episodes, elapsed_seconds):
        self.progress.value = min(int(global_step), self.max_steps)
        rate = self._rate.update(global_step, elapsed_seconds)
        self.numbers.value = self._numbers_text(global_step, len(episodes), recent_mean(episodes),
                                                rate)
        now = time.monotonic()
        if now >= self._next_redraw and len(episodes) != self._drawn_episodes:
            self._redraw(episodes)
            # Drawing takes CPU time the workers could use: never spend more than
            # about 1/DRAW_SHARE of one core on it, however slow the machine.
            took = time.monotonic() - now
            self._next_redraw = now + max(self.redraw_seconds, DRAW_SHARE * took)

    def close(self, result):
        self.progress.value = min(result.total_steps, self.max_steps)
        self.progress.bar_style = "danger" if result.stop_reason == "error" else "success"
        self.numbers.value = self._numbers_text(result.total_steps, len(result.episodes),
                                                result.mean_return(), result.steps_per_second,
                                                average=True)
        self._redraw(result.episodes)
        self.stop_button.disabled = True
        self.stop_button.icon = ""
        self.stop_button.button_style = ""
        self.stop_button.description = _END_LABELS.get(result.stop_reason, "Finished")
        self._figure = None
        # The same line as the static view, for frontends that do not show widgets.
        print(f"{self.title}: {result.total_steps:,} steps in {result.wall_seconds:.1f} s, "
              f"{len(result.episodes)} episodes, mean return of the last 20: "
              f"{result.mean_return():.1f} [{result.stop_reason}]")

    # -- the Stop button -------------------------------------------------------------
    def _on_stop(self, _button=None):
        # Runs in the kernel's input subshell while the cell is busy: only set a flag.
        self.stop_requested = True
        self.stop_button.description = "Stopping..."
        self.stop_button.disabled = True

    # -- drawing ---------------------------------------------------------------------
    def _numbers_text(self, global_step, n_episodes, mean_return, rate, average=False):
        mean = "-" if math.isnan(mean_return) else f"{mean_return:.1f}"
        speed = "steps/s on average" if average else "steps/s"
        return (f"{int(global_step):,} / {self.max_steps:,} steps &middot; {rate:,.0f} {speed} "
                f"&middot; {n_episodes} episodes &middot; mean return of the last "
                f"{SMOOTHING_WINDOW}: <b>{mean}</b>")

    def _redraw(self, episodes):
        self._drawn_episodes = len(episodes)
        self.curve.value = self._curve_png(episodes)
        self.workers.value = worker_table_html(episodes)

    def _curve_png(self, episodes) -> bytes:
        """The learning curve as PNG bytes, drawn on one reused figure (no pyplot state)."""
        if self._figure is None:
            self._figure = _CurveFigure(self.start_step, self.max_steps, self.stop_at_return)
        return self._figure.render(episodes)


class _CurveFigure:
    """One matplotlib figure kept for the whole run: each redraw only moves line data.

    A bare ``Figure`` (not pyplot's) is never displayed by the inline backend on its own,
    and reusing its axes and lines costs a fraction of building a new plot every time.
    """

    def __init__(self, start_step, max_steps, stop_at_return):
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(7, 3.2), dpi=72)
        self.ax = self.figure.add_subplot()
        self.ax.set_xlim(start_step, max(max_steps, start_step + 1))
        self.ax.set_xlabel("global step")
        self.ax.set_ylabel("episode return")
        if stop_at_return is not None:
            self.ax.axhline(stop_at_return, color="grey", linestyle=":", linewidth=1)
        self.worker_lines = {}
        (self.mean_line,) = self.ax.plot([], [], color="black", linewidth=2,
                                         label=f"all workers (mean of {SMOOTHING_WINDOW})")
        self.figure.subplots_adjust(left=0.11, right=0.98, bottom=0.15, top=0.96)

    def render(self, episodes) -> bytes:
        steps = np.array([e.global_step for e in episodes], dtype=float)
        returns = np.array([e.episode_return for e in episodes], dtype=float)
        workers = np.array([e.worker for e in episodes], dtype=int)
        new_worker = False
        for worker in np.unique(workers):
            if worker not in self.worker_lines:
                (self.worker_lines[worker],) = self.ax.plot(
                    [], [], linewidth=0.8, alpha=0.6, label=f"worker {worker}")
                new_worker = True
            mask = workers == worker
            self.worker_lines[worker].set_data(steps[mask], moving_average(returns[mask]))
        self.mean_line.set_data(steps, moving_average(returns))
        if new_worker:
            self.ax.legend(loc="upper left", fontsize=7, ncol=2)
        if len(returns):
            low, high = float(returns.min()), float(returns.max())
            margin = 0.05 * (high - low) or 1.0
            self.ax.set_ylim(low - margin, high + margin)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png")
        return buffer.getvalue()


class _RateMeter:
    """Steps per second over the last few seconds (not since the start)."""

    def __init__(self, span_seconds=3.0):
        self.span = span_seconds
        self.points = []

    def update(self, global_step, elapsed):
        self.points.append((elapsed, global_step))
        while len(self.points) > 2 and self.points[-1][0] - self.points[0][0] > self.span:
            self.points.pop(0)
        (t0, s0), (t1, s1) = self.points[0], self.points[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0


def worker_table_html(episodes, last=SMOOTHING_WINDOW) -> str:
    """A small HTML table: per worker, its episodes, last return and recent mean."""
    by_worker = {}
    for e in episodes:
        by_worker.setdefault(e.worker, []).append(e.episode_return)
    rows = "".join(
        f"<tr><td>{worker}</td><td>{len(returns)}</td><td>{returns[-1]:.1f}</td>"
        f"<td>{np.mean(returns[-last:]):.1f}</td></tr>"
        for worker, returns in sorted(by_worker.items())
    )
    style = "padding:1px 8px;text-align:right"
    return (f"<table style='font-size:90%'><tr><th style='{style}'>worker</th>"
            f"<th style='{style}'>episodes</th><th style='{style}'>last</th>"
            f"<th style='{style}'>mean of {last}</th></tr>"
            + rows.replace("<td>", f"<td style='{style}'>") + "</table>")


def settings_html(report) -> str:
    """The run's settings by the layer they came from, folded away until clicked."""
    rows = "".join(
        f"<tr><td style='padding:1px 8px'><i>{html.escape(source)}</i></td>"
        f"<td style='padding:1px 8px'>"
        + ", ".join(f"{html.escape(name)}={html.escape(repr(value))}" for name, value in items)
        + "</td></tr>"
        for source, items in report.grouped())
    return (f"<details><summary>settings of this run (where each came from)</summary>"
            f"<table style='font-size:90%'>{rows}</table></details>")
