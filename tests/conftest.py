import os
import sys
import time

import psutil
import pytest

from a3c_course.live.monitors import Monitor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class InterruptAfter(Monitor):
    """Raises KeyboardInterrupt in the parent, as Ctrl-C or Jupyter's stop button do."""

    def __init__(self, steps):
        self.steps = steps

    def update(self, global_step, episodes, elapsed_seconds):
        if global_step >= self.steps:
            raise KeyboardInterrupt


def wait_until_gone(pids, timeout=30.0):
    """PIDs still running after ``timeout`` seconds (zombies count as gone).

    Returns as soon as all are gone: the timeout is a cap for a machine so busy that an
    exiting process waits its turn for a core, not the time an exit should take."""
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if _running(pid)]
        if alive:
            time.sleep(0.05)
    return alive


def _running(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def worker_pids(result):
    return [w["pid"] for w in result.workers]


def worker_processes(root_pid=None):
    """Descendants of ``root_pid`` (default: this process) that are training workers.

    The fork server and the resource tracker of multiprocessing are direct children
    that live as long as their parent by design, and so does the Ray cluster the Ray
    tests hold for the session (tests/ray_cluster.py, with all of its processes);
    everything else (workers, whether forked by us or by the fork server) must be gone
    when train() returns.
    """
    root = psutil.Process(root_pid)
    helpers = set()
    for child in root.children():
        try:
            cmdline = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "forkserver" in cmdline or "resource_tracker" in cmdline:
            helpers.add(child.pid)
        elif "ray_cluster.py" in cmdline:
            helpers.add(child.pid)
            try:
                helpers.update(p.pid for p in child.children(recursive=True))
            except psutil.Error:
                pass
    return [p for p in root.children(recursive=True) if p.pid not in helpers and _running(p.pid)]


@pytest.fixture
def no_leftover_workers():
    """Fails the test if a worker process started during it is still running after it."""
    before = {p.pid for p in worker_processes()}
    yield
    leftover = [p.pid for p in worker_processes() if p.pid not in before]
    assert not wait_until_gone(leftover), f"worker processes left running: {leftover}"


PYTHON = sys.executable
