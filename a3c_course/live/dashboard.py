"""The live view of a training run in a notebook: progress, learning curve, diagnostics, Stop.

:class:`Dashboard` is the :class:`~a3c_course.live.monitors.Monitor` that
``train(live="auto")`` shows in a notebook. It draws, from the parent process only:

- a progress bar of the limit that will end the run, steps or time, and which one it
  is; the live steps per second (over the last few seconds, so the workers' start-up
  does not count), the episodes and the recent mean return;
- two panels, one at a time: the **learning curve** (mean of the last 20 episodes, and
  a thin line per worker, beside a table of the workers) and the **diagnostics** of the
  updates (entropy, losses, gradient norm, explained variance, learning rate...);
- a **Stop** button: training ends as if the budget were spent, the workers stop, and
  ``train()`` returns the result with ``stop_reason == "stopped"``;
- the run's settings, folded away.

The charts are SVG text (:mod:`~a3c_course.live.svg_chart`): sharp at any size, and
about a millisecond to draw, against 40 to 140 ms for a matplotlib PNG on a busy
2-core machine (``benchmarks/dashboard_draw.py``). They are redrawn when there is
something new to draw, at most every :data:`REDRAW_SECONDS`, and, however slow
drawing gets, at least every :data:`LONGEST_REDRAW_SECONDS` (:class:`RedrawClock`).
Nothing is drawn before the first episode: a sentence says what will appear.

The Stop button's and the panel switch's clicks reach Python while the cell is busy
through a kernel subshell: see :mod:`a3c_course.live.subshell`.
"""

from __future__ import annotations

import html
import time

from .monitors import Monitor, mean_text
from .panels import diagnostics_grid, returns_chart, settings_section, worker_table
from .plots import SMOOTHING_WINDOW
from .subshell import BusyStatusKeeper, route_clicks_while_busy

REDRAW_SECONDS = 1.0
"""Least time between two redraws of the charts."""

LONGEST_REDRAW_SECONDS = 2.5
"""Most time between two redraws while new data waits, however long drawing takes."""

DRAW_SHARE = 10
"""Between these bounds, redraws wait this many times as long as the last one took."""

STOP_TOOLTIP = "End training now; train() returns what was learned so far."
INTERRUPT_HINT = ("This kernel cannot take a click while the cell runs (that needs "
                  "ipykernel 7.4 or newer). To stop early, interrupt the kernel (the square "
                  "button, or I, I): train() still returns what was learned so far.")
PANELS = (("learning curve", "returns"), ("diagnostics", "diagnostics"))

_END_LABELS = {
    "solved": "Solved",
    "max_steps": "Budget spent",
    "time_limit": "Time limit",
    "stopped": "Stopped",
    "interrupted": "Interrupted",
    "error": "Failed",
}


class RedrawClock:
    """When the charts may be redrawn: a steady cadence that backs off when drawing is slow.

    After a draw that took ``took`` seconds, the next may come ``DRAW_SHARE * took``
    seconds later (drawing then uses at most a tenth of a core), but never sooner than
    ``least`` nor later than ``most`` seconds: a slow machine gets a slower chart, never
    a frozen one. The time spent setting up (the first draw) does not count.
    """

    def __init__(self, least=REDRAW_SECONDS, most=LONGEST_REDRAW_SECONDS, share=DRAW_SHARE):
        self.least, self.most, self.share = least, max(most, least), share
        self.next = float("-inf")

    def due(self, now) -> bool:
        return now >= self.next

    def drew(self, started, took) -> None:
        self.next = started + min(max(self.least, self.share * took), self.most)


def binding_limit(global_step, elapsed, rate, max_steps, start_step=0, time_limit=None):
    """``("steps" | "time", fraction done)``: the limit that will end the run first.

    With a time limit, the steps bind when the live rate would spend the rest of the
    budget before the time runs out; before the first steps (no rate yet), whichever
    is further along.
    """
    step_fraction = (global_step - start_step) / max(max_steps - start_step, 1)
    if time_limit is None:
        return "steps", min(step_fraction, 1.0)
    time_fraction = min(elapsed / time_limit, 1.0)
    if rate > 0:
        steps_first = elapsed + (max_steps - global_step) / rate < time_limit
    else:
        steps_first = step_fraction > time_fraction
    return ("steps", min(step_fraction, 1.0)) if steps_first else ("time", time_fraction)


class Dashboard(Monitor):
    """A live, cheap view of one training run; see the module docstring.

    Args:
        max_steps: the run's budget of global steps.
        start_step: where a resumed run starts.
        stop_at_return: drawn as a dotted line on the curve, when given.
        title: shown above the dashboard.
        time_limit: the run's time limit in seconds, when it has one.
        redraw_seconds: least time between redraws of the charts.
        clock: the time source of the redraw cadence (tests pass a fake one).
    """

    #: Imported by train() before the run starts, where an interrupt cannot cut them short.
    imports = ("matplotlib.figure", "matplotlib.backends.backend_agg")

    def __init__(self, max_steps, start_step=0, stop_at_return=None, title="training",
                 time_limit=None, redraw_seconds=REDRAW_SECONDS, clock=time.monotonic):
        import ipywidgets as widgets

        # Before any widget exists: see BusyStatusKeeper.
        self.status_keeper = BusyStatusKeeper()
        self.max_steps = int(max_steps)
        self.start_step = int(start_step)
        self.stop_at_return = stop_at_return
        self.time_limit = time_limit
        self.title = title
        self.stop_requested = False
        self.clock = clock
        self.redraws = RedrawClock(least=redraw_seconds,
                                   most=max(LONGEST_REDRAW_SECONDS, redraw_seconds))
        self.redraw_times = []  # clock() of each redraw, for tests and measurements
        self.diagnostics = None
        self.panel = "returns"
        self._drawn = None  # what the charts showed at the last redraw
        self._episodes, self._global_step = [], self.start_step
        self._rate = _RateMeter()
        self._closed = False
        self._output = None  # the display the view went to, updated when training ends

        self.heading = widgets.HTML(f"<b>{html.escape(title)}</b>")
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="steps",
                                              bar_style="info")
        self.numbers = widgets.HTML(self._numbers_text(self.start_step, [], 0.0, 0.0))
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="danger",
                                          tooltip=STOP_TOOLTIP)
        self.stop_button.on_click(self._on_stop)
        self.panel_switch = widgets.ToggleButtons(options=PANELS, value="returns",
                                                  style={"button_width": "auto"})
        self.panel_switch.observe(self._on_panel, names="value")
        self.chart = widgets.HTML(self._waiting_text(),
                                  layout=widgets.Layout(flex="1 1 auto", min_width="360px"))
        self.workers = widgets.HTML(layout=widgets.Layout(flex="0 0 auto"))
        self.settings = widgets.HTML()
        self.view = widgets.VBox([
            self.heading,
            widgets.HBox([self.progress, self.stop_button]),
            self.numbers,
            self.panel_switch,
            widgets.HBox([self.chart, self.workers]),
            self.settings,
        ])
        self.clicks_reach_python = route_clicks_while_busy(self.stop_button)
        route_clicks_while_busy(self.panel_switch)
        if not self.clicks_reach_python:
            self.stop_button.description = "Stop: use the kernel's ■"
            self.stop_button.disabled = True
            self.stop_button.tooltip = INTERRUPT_HINT
            self.stop_button.layout.width = "auto"

    # -- the Monitor interface -------------------------------------------------------
    def show_settings(self, report):
        """The run's settings, each with the layer it came from, in a folded section."""
        self.settings.value = settings_section(report)

    def watch_diagnostics(self, table):
        self.diagnostics = table

    def start(self):
        from IPython.display import display

        self._output = display(self.mimebundle(), raw=True, display_id=True)
        # JupyterLab showed the kernel "Idle" while it trained: see subshell.py.
        self.status_keeper.start()

    def update(self, global_step, episodes, elapsed_seconds):
        rate = self._rate.update(global_step, elapsed_seconds)
        self._episodes, self._global_step = episodes, int(global_step)
        self._show_progress(global_step, elapsed_seconds, rate)
        self.numbers.value = self._numbers_text(global_step, episodes, elapsed_seconds, rate)
        now = self.clock()
        if self.redraws.due(now) and self._news():
            self._redraw()
            self.redraws.drew(now, self.clock() - now)

    def close(self, result):
        self.status_keeper.stop()
        self._closed = True
        self._episodes, self._global_step = result.episodes, result.total_steps
        self.diagnostics = getattr(result, "diagnostics", self.diagnostics)
        self.progress.value = 1.0 if result.stop_reason in ("max_steps", "time_limit") else \
            self.progress.value
        self.progress.bar_style = "danger" if result.stop_reason == "error" else "success"
        self.numbers.value = self._final_text(result)
        self._redraw()
        self.stop_button.disabled = True
        self.stop_button.icon = ""
        self.stop_button.button_style = ""
        self.stop_button.description = _END_LABELS.get(result.stop_reason, "Finished")
        if self._output is not None:  # the static copy beside the widget, now final
            self._output.update(self.mimebundle(), raw=True)
        # The same line as the static view, for frontends that do not show widgets.
        print(f"{self.title}: {result.describe()}")

    # -- the static copy ---------------------------------------------------------------
    def mimebundle(self) -> dict:
        """The view's output: the live widget, and beside it its state as static HTML.

        A live frontend (JupyterLab, Notebook 7, VS Code) renders the widget, which it
        ranks first, and only the widget. A page built from the executed notebook, or a
        viewer without widgets, shows the HTML instead, which :meth:`close` updates to
        the run's final state: its curve, its workers and its diagnostics.
        """
        bundle = dict(self.view._repr_mimebundle_() or {})
        bundle["text/html"] = self.static_html()
        return bundle

    def static_html(self) -> str:
        """The dashboard as HTML: heading, numbers, the learning curve and the diagnostics."""
        parts = [f"<div class='a3c-dashboard'>{self.heading.value}",
                 f"<div>{self.numbers.value}</div>"]
        if self._episodes:
            parts.append("<div style='display:flex;flex-wrap:wrap;gap:1em'>"
                         f"<div>{returns_chart(self._episodes, self.x_range(), self.stop_at_return)}"
                         f"</div><div>{worker_table(self._episodes)}</div></div>")
            if self.diagnostics is not None and len(self.diagnostics):
                parts.append("<details><summary>diagnostics</summary>"
                             f"{diagnostics_grid(self.diagnostics, self.x_range())}</details>")
        else:
            parts.append(self._waiting_text())
        return "".join(parts) + "</div>"

    # -- clicks (they run in the kernel's input subshell while the cell is busy) ---------
    def _on_stop(self, _button=None):
        self.stop_requested = True  # only a flag: the trainer's loop reads it
        self.stop_button.description = "Stopping..."
        self.stop_button.disabled = True

    def _on_panel(self, change):
        self.panel = change["new"]
        self.redraws.next = float("-inf")  # show the other panel at the next update
        if self._closed:
            self._redraw()  # training is over: nobody else will

    # -- drawing ---------------------------------------------------------------------
    def x_range(self):
        """The steps the charts span: from the run's start to where it is now."""
        last = max([self._global_step] + [e.global_step for e in self._episodes[-1:]])
        return self.start_step, max(last, self.start_step + 1)

    def _news(self) -> bool:
        return self._state() != self._drawn

    def _state(self):
        if self.panel == "returns":
            return ("returns", len(self._episodes))
        return ("diagnostics", len(self.diagnostics) if self.diagnostics is not None else 0)

    def _redraw(self):
        state = self._state()
        self._drawn = state
        if state[1] == 0 and not self._closed:
            self.chart.value = self._waiting_text()
            return
        self.redraw_times.append(self.clock())
        if self.panel == "returns":
            self.chart.value = returns_chart(self._episodes, self.x_range(), self.stop_at_return)
            self.workers.value = worker_table(self._episodes)
            self.workers.layout.display = None
        else:
            self.chart.value = diagnostics_grid(self.diagnostics or [], self.x_range())
            self.workers.layout.display = "none"

    def _waiting_text(self):
        what = ("The learning curve appears with the first finished episode."
                if self.panel == "returns" else
                "The diagnostics appear with the workers' first reports.")
        return f"<div style='color:#777;padding:2em 1em'>{what}</div>"

    def _show_progress(self, global_step, elapsed, rate):
        which, fraction = binding_limit(global_step, elapsed, rate, self.max_steps,
                                        self.start_step, self.time_limit)
        self.progress.description = which
        self.progress.value = fraction

    def _numbers_text(self, global_step, episodes, elapsed, rate):
        which, _ = binding_limit(global_step, elapsed, rate, self.max_steps, self.start_step,
                                 self.time_limit)
        steps = f"{int(global_step):,} / {self.max_steps:,} steps"
        if self.time_limit is not None:
            clock = f"{elapsed:,.0f} / {self.time_limit:,.0f} s"
            limits = (f"<b>{clock}</b> (ends at the time limit) &middot; {steps}" if which == "time"
                      else f"<b>{steps}</b> (ends at the step budget) &middot; {clock}")
        else:
            limits = f"<b>{steps}</b>"
        speed = f"{rate:,.0f} steps/s" if rate > 0 else "workers starting..."
        goal = (f" &middot; stops early at a mean return of {self.stop_at_return:g}"
                if self.stop_at_return is not None else "")
        return (f"{limits} &middot; {speed} &middot; {len(episodes)} episodes &middot; mean "
                f"return of the last {SMOOTHING_WINDOW}: <b>{mean_text(episodes)}</b>{goal}")

    def _final_text(self, result):
        return html.escape(result.describe())


class _RateMeter:
    """Steps per second over the last few seconds (not since the start); 0 before the first steps."""

    def __init__(self, span_seconds=3.0):
        self.span = span_seconds
        self.points = []

    def update(self, global_step, elapsed):
        if len(self.points) == 1 and self.points[0][1] == global_step:
            self.points.clear()  # still starting: the rate counts from the last idle moment
        self.points.append((elapsed, global_step))
        while len(self.points) > 2 and self.points[-1][0] - self.points[1][0] >= self.span:
            self.points.pop(0)
        (t0, s0), (t1, s1) = self.points[0], self.points[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0


def worker_table_html(episodes, last=SMOOTHING_WINDOW) -> str:
    """The worker table (kept under its old name)."""
    return worker_table(episodes, last)


def settings_html(report) -> str:
    """The run's settings by the layer they came from, folded away until clicked."""
    return settings_section(report)
