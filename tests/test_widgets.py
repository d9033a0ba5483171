"""The notebook dashboard: what it shows, its fallbacks, and a Stop button that works mid-run."""

import queue
import time

import pytest

from a3c_course.live import choose
from a3c_course.live import monitors as progress
from a3c_course.live.dashboard import Dashboard, worker_table_html
from a3c_course.runs.result import Episode
from conftest import wait_until_gone, worker_processes

jupyter_client = pytest.importorskip("jupyter_client")


def episodes(n, workers=2):
    return [Episode(0.1 * i, 20 * i, i % workers, float(i), 20) for i in range(n)]


class FakeResult:
    total_steps = 4_000
    episodes = episodes(30)
    stop_reason = "stopped"
    wall_seconds = 2.0
    steps_per_second = 2_000.0

    def mean_return(self):
        return 19.5

    def describe(self):
        return "4,000 steps in 2.0 s, 30 episodes [stopped]"


def test_outside_a_kernel_the_stop_button_says_to_interrupt_instead():
    dashboard = Dashboard(max_steps=10_000)
    assert not dashboard.clicks_reach_python
    assert dashboard.stop_button.disabled
    assert "interrupt" in dashboard.stop_button.tooltip


def test_a_click_on_stop_asks_the_trainer_to_stop():
    dashboard = Dashboard(max_steps=10_000)
    dashboard.stop_button.disabled = False
    dashboard.stop_button.click()
    assert dashboard.stop_requested
    assert dashboard.stop_button.description == "Stopping..."


def test_updates_move_the_progress_bar_and_redraw_the_curve_at_most_once_a_second():
    dashboard = Dashboard(max_steps=10_000, redraw_seconds=60)
    dashboard.update(1_000, episodes(5), 1.0)
    first = dashboard.chart.value
    assert first.startswith("<svg") and "</svg>" in first
    dashboard.update(2_000, episodes(10), 2.0)
    assert dashboard.progress.value == 0.2 and dashboard.progress.description == "steps"
    assert "2,000 / 10,000 steps" in dashboard.numbers.value
    assert dashboard.chart.value == first, "redrew before redraw_seconds had passed"


def test_close_draws_the_final_state_and_prints_the_summary_line(capsys):
    dashboard = Dashboard(max_steps=10_000, redraw_seconds=60)
    dashboard.update(100, episodes(2), 0.5)
    dashboard.close(FakeResult())
    assert dashboard.stop_button.description == "Stopped"
    assert dashboard.progress.bar_style == "success"
    assert "4,000 steps" in dashboard.numbers.value
    assert "worker" in dashboard.workers.value
    assert "[stopped]" in capsys.readouterr().out


def test_the_worker_table_has_one_row_per_worker():
    table = worker_table_html(episodes(12, workers=3))
    assert table.count("<tr>") == 1 + 3


def test_widget_outside_a_notebook_falls_back_to_the_static_summary():
    monitor = choose.make_monitor("widget", max_steps=100)
    assert isinstance(monitor, progress.StaticMonitor)


def test_auto_in_a_notebook_under_the_test_profile_is_static(monkeypatch):
    monkeypatch.setattr(choose, "in_notebook", lambda: True)
    monkeypatch.setenv("A3C_COURSE_PROFILE", "test")
    assert isinstance(choose.make_monitor("auto", max_steps=100), progress.StaticMonitor)
    monkeypatch.setenv("A3C_COURSE_PROFILE", "class")
    assert isinstance(choose.make_monitor("auto", max_steps=100), Dashboard)


TRAINING_CELL = """
from a3c_course import train
result = train("a3c", "CartPole-v1", n_workers=2, seed=0, max_steps=10**9, time_limit=120,
               live="widget")
print("RESULT", result.stop_reason, result.total_steps, len(result.episodes), result.wall_seconds)
"""


def click_message(client, comm_id):
    # What ipywidgets' Button view sends when it is clicked.
    return client.session.msg("comm_msg", {
        "comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}})


def request_state_message(client, comm_id):
    # What JupyterLab's widget manager sends to learn a widget's state (a fresh kernel's
    # first widgets); the kernel answers it in the input subshell, with an "idle" status.
    return client.session.msg("comm_msg", {"comm_id": comm_id,
                                           "data": {"method": "request_state"}})


def test_the_stop_button_stops_a_running_train_call_in_a_real_kernel():
    """A click sent while train() runs in a cell ends training with the result kept; a
    widget message handled meanwhile does not leave the kernel's status at "idle"."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=120)
    try:
        request = client.execute(TRAINING_CELL)
        started = time.monotonic()
        button, clicked_at, outputs, errors = None, None, [], []
        numbers, training, charts = None, False, 0
        probed_at, foreign_idle, busy_again = None, False, False
        while time.monotonic() - started < 180:
            try:
                msg = client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                msg = None
            if msg is not None:
                kind, content = msg["msg_type"], msg["content"]
                data = content.get("data", {}) if kind.startswith("comm") else {}
                state = data.get("state", {})
                own = msg["parent_header"].get("msg_id") == request
                if kind == "comm_open" and state.get("_model_name") == "ButtonModel":
                    button = content["comm_id"]
                elif kind == "comm_open" and "mean return" in str(state.get("value", "")):
                    numbers = content["comm_id"]
                elif kind == "comm_msg" and content["comm_id"] == numbers:
                    training = training or " steps/s" in state.get("value", "")
                elif kind == "comm_msg" and str(state.get("value", "")).startswith("<svg"):
                    charts += 1
                elif kind == "stream":
                    outputs.append(content["text"])
                elif kind == "error":
                    errors.append("\n".join(content["traceback"]))
                elif kind == "status" and probed_at is not None and clicked_at is None:
                    if not own and content["execution_state"] == "idle":
                        foreign_idle = True
                    elif own and foreign_idle and content["execution_state"] == "busy":
                        busy_again = True
                if (kind == "status" and content["execution_state"] == "idle" and own):
                    break
            # Once the workers train: a widget message, then the click.
            if button is not None and probed_at is None and training:
                client.shell_channel.send(request_state_message(client, button))
                probed_at = time.monotonic()
            if (probed_at is not None and clicked_at is None
                    and (busy_again or time.monotonic() - probed_at > 20)):
                client.shell_channel.send(click_message(client, button))
                clicked_at = time.monotonic()
        assert not errors, errors[0]
        assert button is not None, "the dashboard's Stop button was never displayed"
        assert clicked_at is not None
        assert foreign_idle, "the widget message was not answered while the cell ran"
        assert busy_again, "after a widget message the kernel's last status stayed 'idle'"
        line = next(l for l in "".join(outputs).splitlines() if l.startswith("RESULT"))
        _, reason, steps, n_episodes, wall_seconds = line.split()
        assert reason == "stopped"
        assert int(steps) > 0 and int(n_episodes) > 0, "the result of the stopped run was lost"
        assert float(wall_seconds) < 100, "training ran on as if the click had not arrived"
        assert charts >= 1, "the chart was never drawn"
        kernel_pid = manager.provisioner.process.pid
        leftover = [p.pid for p in worker_processes(kernel_pid)]
        assert not wait_until_gone(leftover), f"workers still running after Stop: {leftover}"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_after_another_message_idle_status_the_running_cell_is_busy_again(monkeypatch):
    """JupyterLab shows the last status: an "idle" for its subshell request said "Idle"
    while the cell trained. The keeper says "busy" again, for the cell."""
    from a3c_course.live import subshell

    published = []
    cell = {"header": {"msg_id": "the running cell"}}

    class FakeKernel:
        def _publish_status(self, status, channel, parent=None):
            published.append((status, channel, parent))

        def get_parent(self, channel):
            return cell

    kernel = FakeKernel()
    monkeypatch.setattr(subshell, "_running_kernel", lambda: kernel)
    monkeypatch.setattr(subshell, "_foreign_idle", {"at": None})
    keeper = subshell.BusyStatusKeeper(poll_seconds=0.01)
    kernel._publish_status("idle", "shell", cell)  # the main thread's own: not noted
    keeper.start()
    time.sleep(0.5)
    assert keeper.published == 0
    kernel._publish_status("idle", "control", {"header": {"msg_id": "create_subshell"}})
    deadline = time.monotonic() + 10
    while keeper.published == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    keeper.stop()
    assert keeper.published == 1
    assert published[-1] == ("busy", "shell", cell)
