"""What one redraw of the dashboard's learning curve costs the notebook's process, by drawing tool.

    python benchmarks/dashboard_draw.py [--episodes 2000] [--repeats 30] [--busy 2]

The same chart (a mean-of-20 line for the run and one thin line per worker, 2 workers)
is drawn by each candidate that is installed: the course's own SVG text
(:mod:`a3c_course.live.svg_chart`), matplotlib to PNG at 72 and 144 dpi and to SVG,
ipympl (a matplotlib canvas widget: Agg, then a PNG of what changed), bqplot, Plotly's
FigureWidget and a bare anywidget. For the widgets, the cost is what the kernel does:
setting the data and turning the widget's state into the message it sends (the
browser's own drawing is not counted here; "-" where the size of what it sends could
not be read without a frontend). ``--busy N`` runs N busy-looping processes
beside it, as a class laptop running training is busy. The figure is the median
milliseconds per redraw; the first draw (imports, fonts) is reported apart.
"""

import argparse
import io
import json
import multiprocessing
import statistics
import time

import numpy as np
from common import machine, markdown_table

from a3c_course.live.plots import moving_average


def curve_data(n_episodes, workers=2, seed=0):
    rng = np.random.default_rng(seed)
    steps = np.sort(rng.integers(0, 200_000, n_episodes)).astype(float)
    returns = np.clip(np.linspace(10, 480, n_episodes) + rng.normal(0, 60, n_episodes), 8, 500)
    worker = rng.integers(0, workers, n_episodes)
    lines = [("all workers (mean of 20)", steps, moving_average(returns))]
    for w in range(workers):
        mask = worker == w
        lines.append((f"worker {w}", steps[mask], moving_average(returns[mask])))
    return lines


class SvgText:
    name = "course SVG text (svg_chart)"

    def setup(self):
        from a3c_course.live import svg_chart

        self.chart = svg_chart

    def draw(self, lines):
        chart = self.chart
        series = [chart.Line(x, y, label, chart.PALETTE[i], 2.0 if i == 0 else 1.0)
                  for i, (label, x, y) in enumerate(lines)]
        return len(chart.line_chart(series, x_label="global step", y_label="episode return",
                                    hlines=[(475, "goal")]))


class MatplotlibImage:
    def __init__(self, fmt, dpi):
        self.fmt, self.dpi = fmt, dpi
        self.name = f"matplotlib {fmt.upper()}, {dpi} dpi"

    def setup(self):
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(7, 3.2), dpi=self.dpi)
        self.ax = self.figure.add_subplot()
        self.lines = None

    def draw(self, lines):
        if self.lines is None:
            self.lines = [self.ax.plot(x, y, label=label)[0] for label, x, y in lines]
            self.ax.legend(loc="upper left", fontsize=7)
        for line, (_, x, y) in zip(self.lines, lines):
            line.set_data(x, y)
        self.ax.relim()
        self.ax.autoscale_view()
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format=self.fmt, dpi=self.dpi)
        return len(buffer.getvalue())


def widget_message_size(widget, keys=None):
    """What ipywidgets does before sending a state update: state, buffers out, JSON."""
    from ipywidgets.widgets.widget import _remove_buffers

    state, _, buffers = _remove_buffers(widget.get_state(keys))
    return len(json.dumps(state)) + sum(len(memoryview(b).cast("B")) for b in buffers)


class Ipympl:
    name = "ipympl canvas (Agg + PNG diff)"

    def setup(self):
        import matplotlib

        matplotlib.use("module://ipympl.backend_nbagg")
        import matplotlib.pyplot as plt

        self.figure = plt.figure(figsize=(7, 3.2))
        self.ax = self.figure.add_subplot()
        self.lines = None

    def draw(self, lines):
        if self.lines is None:
            self.lines = [self.ax.plot(x, y, label=label)[0] for label, x, y in lines]
            self.ax.legend(loc="upper left", fontsize=7)
        for line, (_, x, y) in zip(self.lines, lines):
            line.set_data(x, y)
        self.ax.relim()
        self.ax.autoscale_view()
        canvas = self.figure.canvas
        canvas.draw()
        canvas._force_full = True  # the new curve changes most pixels anyway
        return len(canvas.get_diff_image() or b"")


class Bqplot:
    name = "bqplot"

    def setup(self):
        import bqplot

        self.bq = bqplot
        x, y = bqplot.LinearScale(), bqplot.LinearScale()
        self.marks = [bqplot.Lines(x=[], y=[], scales={"x": x, "y": y}) for _ in range(3)]
        self.figure = bqplot.Figure(marks=self.marks, axes=[bqplot.Axis(scale=x),
                                                            bqplot.Axis(scale=y, orientation="vertical")])

    def draw(self, lines):
        size = 0
        for mark, (_, x, y) in zip(self.marks, lines):
            with mark.hold_sync():
                mark.x, mark.y = x, y
            size += widget_message_size(mark, ["x", "y"])
        return size


class PlotlyWidget:
    name = "Plotly FigureWidget"

    def setup(self):
        import plotly.graph_objects as go

        self.figure = go.FigureWidget(data=[go.Scatter(x=[], y=[], mode="lines") for _ in range(3)])

    def draw(self, lines):
        with self.figure.batch_update():
            for trace, (_, x, y) in zip(self.figure.data, lines):
                trace.x, trace.y = x, y
        return widget_message_size(self.figure, ["_py2js_restyle", "_widget_data"])


class AnyWidget:
    name = "anywidget (data as lists)"

    def setup(self):
        import anywidget
        import traitlets

        class Chart(anywidget.AnyWidget):
            _esm = "export default { render({ model, el }) {} }"
            series = traitlets.List().tag(sync=True)

        self.widget = Chart()

    def draw(self, lines):
        self.widget.series = [{"label": label, "x": x.tolist(), "y": y.tolist()}
                              for label, x, y in lines]
        return widget_message_size(self.widget, ["series"])


def busy_loop(stop):
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def measure(candidate, lines, repeats):
    start = time.perf_counter()
    candidate.setup()
    size = candidate.draw(lines)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        candidate.draw(lines)
        times.append(time.perf_counter() - start)
    return first, statistics.median(times), size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--busy", type=int, default=0, metavar="N",
                        help="busy-looping processes running beside the measurement")
    args = parser.parse_args()
    candidates = [SvgText(), MatplotlibImage("png", 72), MatplotlibImage("png", 144),
                  MatplotlibImage("svg", 72), Ipympl(), Bqplot(), PlotlyWidget(), AnyWidget()]
    lines = curve_data(args.episodes)
    stop = multiprocessing.Event()
    hogs = [multiprocessing.Process(target=busy_loop, args=(stop,), daemon=True)
            for _ in range(args.busy)]
    for hog in hogs:
        hog.start()
    rows = []
    try:
        for candidate in candidates:
            try:
                first, median, size = measure(candidate, lines, args.repeats)
            except ImportError as err:
                rows.append([candidate.name, "not installed", "", f"({err.name})"])
                continue
            rows.append([candidate.name, f"{median * 1e3:.1f}", f"{first * 1e3:.0f}",
                         f"{size / 1e3:.0f}" if size else "-"])
    finally:
        stop.set()
        for hog in hogs:
            hog.join()
    print(f"One redraw of the learning curve, {args.episodes} episodes, 2 workers, "
          f"median of {args.repeats}, {args.busy} busy processes beside it ({machine()})\n")
    print(markdown_table(["drawing", "ms per redraw", "first draw, ms", "kB sent"], rows))


if __name__ == "__main__":
    main()
