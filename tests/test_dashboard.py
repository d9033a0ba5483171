"""The dashboard's cadence, axes, progress and text, under a fake clock and a fake slow draw
(no browser, no kernel), and the SVG charts it draws."""

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from a3c_course.live import dashboard as dashboard_module
from a3c_course.live.dashboard import (LONGEST_REDRAW_SECONDS, Dashboard, RedrawClock,
                                       binding_limit)
from a3c_course.live.svg_chart import MAX_POINTS, Line, line_chart, nice_ticks, tick_labels
from a3c_course.runs.diagnostics import DiagnosticsTable
from a3c_course.runs.result import Episode

pytest.importorskip("ipywidgets")


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def episodes(n, workers=2, steps_each=20):
    return [Episode(0.1 * i, steps_each * (i + 1), i % workers, float(i), steps_each)
            for i in range(n)]


def slow_draw(monkeypatch, clock, seconds):
    """Every chart drawn costs ``seconds`` of the fake clock."""
    real = dashboard_module.returns_chart

    def draw(*args, **kwargs):
        clock.now += seconds
        return real(*args, **kwargs)

    monkeypatch.setattr(dashboard_module, "returns_chart", draw)


def train_for(dashboard, clock, seconds, episodes_per_second=8.0, tick=0.25):
    """The trainer's loop: an update every ``tick`` s, new episodes arriving all along."""
    start = clock.now
    while clock.now - start < seconds:
        n = int((clock.now + 1e-9) * episodes_per_second)
        dashboard.update(20 * n + 100, episodes(n), clock.now)
        clock.now += tick


@pytest.mark.parametrize("draw_seconds", [0.001, 0.3, 2.0])
def test_redraws_keep_a_steady_bounded_cadence_however_slow_the_draw(monkeypatch, draw_seconds):
    clock = FakeClock()
    dashboard = Dashboard(max_steps=10**8, clock=clock)
    slow_draw(monkeypatch, clock, draw_seconds)
    train_for(dashboard, clock, 60)
    gaps = np.diff(dashboard.redraw_times)
    assert len(gaps) > 10
    assert gaps.max() <= LONGEST_REDRAW_SECONDS + draw_seconds + 0.25 + 1e-9, \
        "the chart froze for longer than the longest interval"
    assert gaps.min() >= 1.0 - 1e-9, "redrew more often than once a second"
    if draw_seconds < 0.01:
        assert np.median(gaps) <= 1.25


def test_a_slow_first_draw_does_not_hold_back_the_next_ones(monkeypatch):
    """matplotlib's first draw (fonts, caches) took seconds; the old back-off then waited 20x."""
    clock = FakeClock()
    dashboard = Dashboard(max_steps=10_000, clock=clock)
    real = dashboard_module.returns_chart
    costs = iter([5.0] + [0.01] * 1000)

    def draw(*args, **kwargs):
        clock.now += next(costs)
        return real(*args, **kwargs)

    monkeypatch.setattr(dashboard_module, "returns_chart", draw)
    train_for(dashboard, clock, 20)
    first, second = dashboard.redraw_times[:2]
    assert second - first <= LONGEST_REDRAW_SECONDS + 5.0 + 0.25


def test_nothing_is_drawn_before_the_first_episode_and_no_image_can_break():
    clock = FakeClock()
    dashboard = Dashboard(max_steps=10_000, clock=clock)
    for i in range(20):
        dashboard.update(0, [], clock.now)
        clock.now += 0.25
    assert dashboard.redraw_times == []
    assert "<svg" not in dashboard.chart.value
    assert "first finished episode" in dashboard.chart.value
    assert not any(type(w).__name__ == "Image" for w in dashboard.view.children)
    dashboard.update(40, episodes(1), clock.now)
    assert dashboard.chart.value.startswith("<svg") and len(dashboard.redraw_times) == 1


def test_the_x_range_follows_the_data_not_the_budget():
    clock = FakeClock()
    dashboard = Dashboard(max_steps=10**8, clock=clock)
    dashboard.update(5_000, episodes(200, steps_each=24), 3.0)
    assert dashboard.x_range() == (0, 5_000)
    svg = ET.fromstring(dashboard.chart.value)
    labels = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "5,000" in labels and not any(label and label.endswith("M") for label in labels)
    resumed = Dashboard(max_steps=10**6, start_step=40_000, clock=clock)
    resumed.update(41_000, [Episode(1.0, 40_500, 0, 10.0, 10)], 1.0)
    assert resumed.x_range() == (40_000, 41_000)


def test_the_progress_shows_the_limit_that_will_end_the_run_and_says_which():
    # 1,000 steps/s: 10**8 steps would take a day; the time limit of a minute ends the run.
    assert binding_limit(30_000, 30.0, 1_000.0, 10**8, time_limit=60) == ("time", 0.5)
    # 50,000 steps at 1,000 steps/s end after 50 s, before a limit of 120 s.
    assert binding_limit(20_000, 20.0, 1_000.0, 50_000, time_limit=120) == ("steps", 0.4)
    assert binding_limit(20_000, 20.0, 1_000.0, 50_000) == ("steps", 0.4)
    assert binding_limit(0, 3.0, 0.0, 50_000, time_limit=60)[0] == "time"  # starting up

    dashboard = Dashboard(max_steps=10**8, time_limit=60)
    dashboard.update(0, [], 0.0)
    dashboard.update(30_000, episodes(50), 30.0)
    assert dashboard.progress.description == "time" and dashboard.progress.value == 0.5
    assert "30 / 60 s</b> (ends at the time limit)" in dashboard.numbers.value


def test_no_nan_anywhere_a_person_reads(capsys):
    from a3c_course.live.monitors import StaticMonitor
    from a3c_course.runs.result import RunResult

    dashboard = Dashboard(max_steps=1_000)
    dashboard.update(0, [], 0.0)
    assert "nan" not in dashboard.numbers.value.lower()
    assert "workers starting" in dashboard.numbers.value
    result = RunResult(algo="a3c", env_id="CartPole-v1", n_workers=2, seed=0, max_steps=1_000,
                       hyperparameters=None, model=None, total_steps=0, wall_seconds=1.0,
                       stop_reason="stopped")
    dashboard.close(result)
    StaticMonitor("run").close(result)
    assert "nan" not in dashboard.numbers.value.lower() + repr(result).lower()
    out = capsys.readouterr().out
    assert "nan" not in out.lower() and "no episode finished" in out


def test_the_live_rate_leaves_the_start_up_out():
    dashboard = Dashboard(max_steps=10**6)
    for t in np.arange(0, 5, 0.25):  # 5 s of start-up: no step
        dashboard.update(0, [], t)
    for t in np.arange(5, 6.01, 0.25):  # then 2,000 steps/s
        dashboard.update(int((t - 5) * 2_000), [], t)
    assert "2,000 steps/s" in dashboard.numbers.value


def test_the_diagnostics_panel_draws_one_chart_per_diagnostic_of_the_run():
    nan = math.nan
    table = DiagnosticsTable()
    clock = FakeClock()
    dashboard = Dashboard(max_steps=10_000, clock=clock)
    dashboard.watch_diagnostics(table)
    dashboard.panel_switch.value = "diagnostics"
    dashboard.update(100, episodes(3), 0.0)
    assert "first reports" in dashboard.chart.value
    for i in range(6):
        table.append((100 * (i + 1), 0.5 * i, i % 2, 10, 0.69 - 0.01 * i, 0.1, 2.0, 0.5, 30.0,
                      0.2, 7e-4, 3.0, nan, nan))
    clock.now += 1.0
    dashboard.update(600, episodes(5), 3.0)
    html = dashboard.chart.value
    assert html.count("<svg") == 8
    for title in ("policy entropy", "explained variance", "gradient norm", "learning rate"):
        assert title in html
    assert "mean Q" not in html and "epsilon" not in html
    assert dashboard.workers.layout.display == "none"
    dashboard.panel_switch.value = "returns"
    clock.now += 1.0
    dashboard.update(700, episodes(6), 4.0)
    assert dashboard.chart.value.count("<svg") == 1


def test_the_settings_are_folded_away():
    class Report:
        def grouped(self):
            return [("yours", [("lr", 0.001)]), ("default", [("gamma", 0.99), ("t_max", 5)])]

    dashboard = Dashboard(max_steps=10)
    dashboard.show_settings(Report())
    text = dashboard.settings.value
    assert text.startswith("<details>") and "<details open" not in text
    assert "lr=0.001" in text and "<i>default</i>" in text


def test_redraw_clock_bounds():
    clock = RedrawClock(least=1.0, most=2.5, share=10)
    clock.drew(started=0.0, took=0.01)
    assert not clock.due(0.99) and clock.due(1.0)
    clock.drew(started=10.0, took=0.2)
    assert not clock.due(11.9) and clock.due(12.0)
    clock.drew(started=20.0, took=30.0)
    assert clock.due(22.5)


# -- the SVG charts ----------------------------------------------------------------------
def test_ticks_are_round_numbers_in_one_unit():
    assert nice_ticks(0, 100_000) == [0, 20_000, 40_000, 60_000, 80_000, 100_000]
    assert tick_labels(nice_ticks(0, 100_000)) == ["0", "20k", "40k", "60k", "80k", "100k"]
    assert tick_labels(nice_ticks(0, 2.5e6)) == ["0", "0.5M", "1M", "1.5M", "2M", "2.5M"]
    assert tick_labels(nice_ticks(0, 0.7)) == ["0.0", "0.2", "0.4", "0.6"]
    assert tick_labels(nice_ticks(-3, 9))[0] == "-2"
    assert nice_ticks(5, 5) and nice_ticks(math.nan, 1) == []


def test_a_chart_is_valid_svg_with_its_legend_above_the_plot_and_no_nan():
    xs = np.arange(5_000.0)
    ys = np.sin(xs / 300)
    ys[10] = np.nan
    svg = line_chart([Line(xs, ys, "a curve"), Line(xs, ys * 2, "another", color="#ff0000")],
                     x_label="global step", y_label="return", hlines=[(1.5, "goal")])
    root = ET.fromstring(svg)  # well-formed
    ns = "{http://www.w3.org/2000/svg}"
    frame = next(r for r in root.iter(f"{ns}rect") if r.get("fill") == "none")
    plot_top = float(frame.get("y"))
    legend = [t for t in root.iter(f"{ns}text") if t.text in ("a curve", "another")]
    assert len(legend) == 2 and all(float(t.get("y")) < plot_top for t in legend)
    polylines = list(root.iter(f"{ns}polyline"))
    assert len(polylines) == 2
    assert all(len(p.get("points").split()) <= MAX_POINTS for p in polylines)
    assert "nan" not in svg.lower()
    assert root.get("viewBox") and "width:100%" in root.get("style")


def test_two_charts_on_one_page_do_not_share_a_clip_path():
    first, second = (line_chart([Line([0, 1], [0, 1])]) for _ in range(2))
    clip = lambda svg: ET.fromstring(svg).find("{http://www.w3.org/2000/svg}clipPath").get("id")
    assert clip(first) != clip(second)


def test_a_flat_line_gets_a_readable_range_instead_of_endless_ticks():
    """A constant diagnostic, smoothed, differs from itself in its last bits."""
    for low, high in [(0.1, 0.1 + 1e-17), (1e6, 1e6 + 1e-10), (0.0, 0.0), (7e-4, 7e-4)]:
        assert 2 <= len(nice_ticks(low, high)) <= 8
    svg = line_chart([Line([0, 1, 2], [0.1, 0.1 + 1e-17, 0.1])])
    labels = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert "0.10" in labels or "0.1" in labels


def test_the_output_carries_the_final_state_as_html_beside_the_widget(monkeypatch):
    """A page built from the executed notebook shows the HTML; a live frontend the widget."""
    from a3c_course.runs.result import RunResult

    shown = []

    class Handle:
        def update(self, bundle, raw):
            shown.append(bundle)

    def fake_display(bundle, raw, display_id):
        assert raw and display_id
        shown.append(bundle)
        return Handle()

    monkeypatch.setattr("IPython.display.display", fake_display)
    table = DiagnosticsTable()
    for i in range(4):
        table.append((100 * (i + 1), 0.5 * i, i % 2, 10, 0.69 - 0.01 * i, 0.1, 2.0, 0.5, 30.0,
                      0.2, 7e-4, 3.0, math.nan, math.nan))
    dashboard = Dashboard(max_steps=1_000, title="a run")
    dashboard.start()
    dashboard.status_keeper.stop()
    assert len(shown) == 1 and "first finished episode" in shown[0]["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in shown[0]
    dashboard.update(400, episodes(6), 1.0)
    assert len(shown) == 1  # the live updates go to the widget only
    result = RunResult(algo="a3c", env_id="CartPole-v1", n_workers=2, seed=0, max_steps=1_000,
                       hyperparameters=None, model=None, total_steps=400, wall_seconds=1.0,
                       stop_reason="max_steps", episodes=episodes(6), diagnostics=table)
    dashboard.close(result)
    final = shown[-1]
    assert len(shown) == 2 and "application/vnd.jupyter.widget-view+json" in final
    page = final["text/html"]
    assert "a run" in page and page.count("<svg") == 1 + 8  # the curve, then the diagnostics
    assert "worker" in page and "<details>" in page and result.describe().split()[0] in page
