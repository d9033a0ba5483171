"""What the dashboard's two panels draw: the learning curve, and the diagnostics of the updates.

Pure functions from a run's data to HTML text (SVG charts from
:mod:`~a3c_course.live.svg_chart`), so they can be tested, and timed, without a browser.
"""

from __future__ import annotations

import html

import numpy as np

from ..runs.diagnostics import LABELS
from .plots import SMOOTHING_WINDOW, moving_average, smoothed_diagnostic
from .svg_chart import PALETTE, Line, line_chart

DIAGNOSTICS_WINDOW = 5
"""Rows (about 0.5 s of one worker each) in the moving mean of a diagnostics chart."""

MAX_WORKER_LINES = 8
"""Beyond this many workers, the learning curve shows only the run's mean."""


def returns_chart(episodes, x_range, stop_at_return=None, width=680, height=300) -> str:
    """The learning curve: the mean of the last 20 episodes, and a thin line per worker."""
    steps = np.array([e.global_step for e in episodes], dtype=float)
    returns = np.array([e.episode_return for e in episodes], dtype=float)
    workers = np.array([e.worker for e in episodes], dtype=int)
    lines = []
    ids = np.unique(workers)
    if len(ids) <= MAX_WORKER_LINES:
        for i, worker in enumerate(ids):
            mask = workers == worker
            lines.append(Line(steps[mask], moving_average(returns[mask]), f"worker {worker}",
                              PALETTE[(i + 1) % len(PALETTE)], width=1.0, opacity=0.7))
    lines.append(Line(steps, moving_average(returns), f"all workers (mean of {SMOOTHING_WINDOW})",
                      "#000000", width=2.2))
    hlines = [(stop_at_return, f"goal {stop_at_return:g}")] if stop_at_return is not None else []
    return line_chart(lines, x_label="global step", y_label="episode return", x_range=x_range,
                      hlines=hlines, width=width, height=height,
                      empty_text="the curve starts with the first finished episode")


def diagnostics_grid(table, x_range, columns=3, width=330, height=190) -> str:
    """One small chart per diagnostic of the run, in a grid; a sentence until the first row."""
    names = table.names if len(table) else []
    if not names:
        return ("<div style='color:#777;padding:2em'>The diagnostics appear with the workers' "
                "first reports, about a second after training starts.</div>")
    charts = []
    for name in names:
        steps, values = smoothed_diagnostic(table, name, DIAGNOSTICS_WINDOW)
        charts.append(line_chart([Line(steps, values, color=PALETTE[0], width=1.6)],
                                 x_label="global step", x_range=x_range, width=width,
                                 height=height, title=LABELS[name]))
    cells = "".join(f"<div>{chart}</div>" for chart in charts)
    return (f"<div style='display:grid;grid-template-columns:repeat({columns}, minmax(0, 1fr));"
            f"gap:4px 12px;max-width:{columns * width + 24}px'>{cells}</div>")


def worker_table(episodes, last=SMOOTHING_WINDOW) -> str:
    """A small HTML table: per worker, its episodes, last return and recent mean."""
    by_worker = {}
    for e in episodes:
        by_worker.setdefault(e.worker, []).append(e.episode_return)
    style = "padding:1px 8px;text-align:right"
    rows = "".join(
        f"<tr><td style='{style}'>{worker}</td><td style='{style}'>{len(returns)}</td>"
        f"<td style='{style}'>{returns[-1]:.1f}</td>"
        f"<td style='{style}'>{np.mean(returns[-last:]):.1f}</td></tr>"
        for worker, returns in sorted(by_worker.items())
    )
    return (f"<table style='font-size:90%'><tr><th style='{style}'>worker</th>"
            f"<th style='{style}'>episodes</th><th style='{style}'>last</th>"
            f"<th style='{style}'>mean of {last}</th></tr>{rows}</table>")


def settings_section(report) -> str:
    """The run's settings, folded away until clicked: each with the layer it came from
    when the report can say (``report.grouped()``), else the report's text."""
    if hasattr(report, "grouped"):
        rows = "".join(
            f"<tr><td style='padding:1px 8px'><i>{html.escape(str(source))}</i></td>"
            f"<td style='padding:1px 8px'>"
            + ", ".join(f"{html.escape(str(name))}={html.escape(repr(value))}"
                        for name, value in items)
            + "</td></tr>"
            for source, items in report.grouped())
        body = f"<table style='font-size:90%'>{rows}</table>"
    else:
        body = f"<pre style='font-size:85%'>{html.escape(str(report))}</pre>"
    return (f"<details><summary>settings of this run (where each came from)</summary>"
            f"{body}</details>")
