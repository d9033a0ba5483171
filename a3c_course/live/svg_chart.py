"""Small line charts as SVG text: crisp at any zoom, and cheap enough to redraw every second.

The dashboard redraws its charts while the workers train, on the same cores. A
matplotlib figure costs tens of milliseconds per draw on a quiet machine and several
times that on a busy one; this module writes the same kind of chart as a few kilobytes
of SVG in about a millisecond (``benchmarks/dashboard_draw.py`` measures both). The
browser draws SVG natively, as vectors, so the chart stays sharp on any screen.

Each line keeps at most :data:`MAX_POINTS` points (evenly spaced, the last one always
kept), so a long run costs no more to draw than a short one. The legend sits above the
plot area, where it cannot hide a curve.
"""

from __future__ import annotations

import html
import itertools
import math

import numpy as np

MAX_POINTS = 400
"""Points kept per line; more would not show on a chart a few hundred pixels wide."""

_clip_ids = itertools.count()

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


class Line:
    """One series: ``xs`` and ``ys`` (non-finite points are left out), and how it looks."""

    def __init__(self, xs, ys, label=None, color="#000000", width=1.5, opacity=1.0):
        self.xs = np.asarray(xs, dtype=float)
        self.ys = np.asarray(ys, dtype=float)
        self.label = label
        self.color = color
        self.width = width
        self.opacity = opacity


def nice_ticks(low: float, high: float, count: int = 5) -> list:
    """About ``count`` round values (1, 2, 2.5 or 5 times a power of ten) that span [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high - low <= 1e-9 * max(abs(low), abs(high)):  # flat, to the precision of a float
        low, high = low - (0.5 * abs(low) or 1.0), high + (0.5 * abs(high) or 1.0)
    raw = (high - low) / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    # The finest round step that gives at most count + 1 intervals.
    step = next(m * power for m in (0.5, 1, 2, 2.5, 5, 10) if (high - low) / (m * power) <= count + 1)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [0.0 if k == 0 else k * step for k in range(first, last + 1)]


def tick_labels(ticks) -> list:
    """Short labels for one axis's ticks, in one unit: ``0, 50k, 100k``, ``0.0, 0.5, 1.0``."""
    if not ticks:
        return []
    step = ticks[1] - ticks[0] if len(ticks) > 1 else abs(ticks[0]) or 1.0
    largest = max(abs(t) for t in ticks)
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if largest >= scale * (1 if scale == 1e6 else 10) and step >= scale / 10:
            return ["0" if t == 0 else f"{t / scale:g}{suffix}" for t in ticks]
    if largest < 1e-2 or largest >= 1e6:
        return ["0" if t == 0 else f"{t:.0e}" for t in ticks]
    # 0.25 needs two decimals, 0.2 one, 2.5 one: as many as the step itself has.
    decimals = len(f"{step:.6f}".rstrip("0").partition(".")[2])
    return [f"{t:,.{decimals}f}" for t in ticks]


def thin(xs, ys, max_points=MAX_POINTS):
    """At most ``max_points`` evenly spaced points of a line, its last point kept."""
    if len(xs) <= max_points:
        return xs, ys
    keep = np.linspace(0, len(xs) - 1, max_points).round().astype(int)
    return xs[keep], ys[keep]


def line_chart(lines, *, x_label="", y_label="", x_range=None, y_range=None, hlines=(),
               width=640, height=300, title=None, empty_text="nothing to draw yet") -> str:
    """An SVG line chart of ``lines`` (:class:`Line`), as text for an HTML widget.

    Args:
        x_range, y_range: ``(low, high)``; by default the data's, with a margin on y.
        hlines: ``(y, label)`` pairs drawn as dotted horizontal lines.
        width, height: the drawing's size in CSS pixels (it scales with its container).
    """
    finite = []
    for line in lines:
        ok = np.isfinite(line.xs) & np.isfinite(line.ys)
        xs, ys = thin(line.xs[ok], line.ys[ok])
        finite.append((line, xs, ys))
    legend = [line for line, _, _ in finite if line.label]
    top = 8 + (18 if title else 0) + (20 if legend else 0)
    left, right, bottom = 62, 14, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'style="width:100%;max-width:{width}px;height:auto;font-family:sans-serif;'
             f'font-size:12px">']
    if title:
        parts.append(f'<text x="{left}" y="16" font-weight="bold">{html.escape(title)}</text>')
    all_x = np.concatenate([xs for _, xs, _ in finite]) if finite else np.array([])
    all_y = np.concatenate([ys for _, _, ys in finite]) if finite else np.array([])
    if not len(all_x):
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
                     f'fill="#777">{html.escape(empty_text)}</text></svg>')
        return "".join(parts)
    x0, x1 = x_range if x_range is not None else (float(all_x.min()), float(all_x.max()))
    if y_range is not None:
        y0, y1 = y_range
    else:
        y_values = np.concatenate([all_y, [y for y, _ in hlines]])
        y0, y1 = float(y_values.min()), float(y_values.max())
        if y1 - y0 <= 1e-9 * max(abs(y0), abs(y1)):  # a flat line: centre it
            margin = 0.5 * abs(y0) or 1.0
        else:
            margin = 0.06 * (y1 - y0)
        # The margin does not cross 0: returns that are never negative get no negative axis.
        y0 = y0 - margin if y0 - margin >= 0 or y0 < 0 else 0.0
        y1 = y1 + margin if y1 + margin <= 0 or y1 > 0 else 0.0
    if x1 - x0 <= 1e-9 * max(abs(x0), abs(x1), 1.0):
        x1 = x0 + max(1.0, abs(x0) * 0.1)
    x_ticks, y_ticks = nice_ticks(x0, x1, 6), nice_ticks(y0, y1, 5)
    # Round the y-range out to its outer ticks, so the top and bottom lines are labelled.
    if y_range is None and len(y_ticks) >= 2:
        step = y_ticks[1] - y_ticks[0]
        y0, y1 = min(y0, y_ticks[0]), max(y1, y_ticks[-1])
        if y_ticks[0] > y0 and not (y0 >= 0 and y_ticks[0] - step < 0):
            y_ticks.insert(0, y_ticks[0] - step)
            y0 = y_ticks[0]
        if y_ticks[-1] < y1:
            y_ticks.append(y_ticks[-1] + step)
            y1 = y_ticks[-1]

    def px(x):
        return left + (x - x0) / (x1 - x0) * plot_w

    def py(y):
        return top + plot_h - (y - y0) / (y1 - y0) * plot_h

    # Grid and tick labels.
    for t, label in zip(x_ticks, tick_labels(x_ticks)):
        if x0 <= t <= x1:
            x = px(t)
            anchor = "end" if x > width - right - 20 else "middle"
            parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" '
                         f'stroke="#e4e4e4"/><text x="{x:.1f}" y="{top + plot_h + 16}" '
                         f'text-anchor="{anchor}" fill="#444">{label}</text>')
    for t, label in zip(y_ticks, tick_labels(y_ticks)):
        if y0 - 1e-12 <= t <= y1 + 1e-12:
            y = py(t)
            parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                         f'stroke="#e4e4e4"/><text x="{left - 6}" y="{y + 4:.1f}" '
                         f'text-anchor="end" fill="#444">{label}</text>')
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
                 f'stroke="#999"/>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle">'
                 f'{html.escape(x_label)}</text>')
    parts.append(f'<text transform="translate(14 {top + plot_h / 2}) rotate(-90)" '
                 f'text-anchor="middle">{html.escape(y_label)}</text>')
    for y, label in hlines:
        if y0 <= y <= y1:
            parts.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{left + plot_w}" '
                         f'y2="{py(y):.1f}" stroke="#555" stroke-dasharray="2 3"/>'
                         f'<text x="{left + plot_w - 4}" y="{py(y) - 4:.1f}" text-anchor="end" '
                         f'fill="#555">{html.escape(label)}</text>')
    # The lines, clipped to the plot area (ids are unique: several charts share a page).
    clip = f"a3c-plot-{next(_clip_ids)}"
    parts.append(f'<clipPath id="{clip}"><rect x="{left}" y="{top}" width="{plot_w}" '
                 f'height="{plot_h}"/></clipPath><g clip-path="url(#{clip})" fill="none" '
                 f'stroke-linejoin="round">')
    for line, xs, ys in finite:
        if not len(xs):
            continue
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(xs), py(ys)))
        opacity = f' stroke-opacity="{line.opacity}"' if line.opacity < 1 else ""
        parts.append(f'<polyline points="{points}" stroke="{line.color}" '
                     f'stroke-width="{line.width}"{opacity}/>')
    parts.append("</g>")
    # The legend, in one row above the plot area.
    x = left
    y = top - 8
    for line in legend:
        label = html.escape(line.label)
        parts.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 18}" y2="{y - 4}" '
                     f'stroke="{line.color}" stroke-width="{max(line.width, 2)}"/>'
                     f'<text x="{x + 22}" y="{y}">{label}</text>')
        x += 30 + 7 * len(line.label)
    parts.append("</svg>")
    return "".join(parts)
