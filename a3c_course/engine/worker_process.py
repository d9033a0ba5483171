"""What a worker process sets up before its loop: signals, dying with its parent, a watchdog.

- **Signals.** The parent alone decides when training stops: a worker ignores SIGINT
  (Jupyter's interrupt reaches the whole process group) and takes SIGTERM's default
  action, so that the parent's ``terminate()`` ends it at once. Under ``fork`` it
  would otherwise inherit the parent's own handlers (the CLI turns SIGTERM into an
  interrupt, which a worker would report as an error).
- **No orphans.** A worker must not outlive a parent that was killed, even while it
  is stuck in a student's function and never gets back to its loop. On Linux the
  kernel kills it when its parent dies (``PR_SET_PDEATHSIG``); everywhere, a watchdog
  thread waits on the parent's sentinel and ends the process when the parent is gone.
- **Where it is.** The same thread notices when the worker has taken no step for a
  while and tells the parent which function it is in (see :func:`describe_where`).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time

#: Message a worker sends when it has taken no step for a while:
#: (STALLED, worker, seconds_without_a_step, where).
STALLED = "stalled"

_PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 0.5


def prepare_worker_process() -> None:
    """Signals as a worker needs them (see the module docstring); call first thing."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        # Started while the parent held SIGINT blocked (StartupInterrupts): a SIGINT
        # pending since then is discarded now that it is ignored.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _die_with_parent_on_linux()


def _die_with_parent_on_linux() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        # Under forkserver the parent of this process is the fork server, which exits
        # when the trainer does, unless its workers keep its "alive" pipe open: they
        # inherit one end of it (a forked worker too, when the trainer has a fork
        # server), and a worker never uses it. Close it.
        from multiprocessing import forkserver

        fd = getattr(forkserver._forkserver, "_forkserver_alive_fd", None)
        if fd is not None:
            forkserver._forkserver._forkserver_alive_fd = None
            os.close(fd)
    except (OSError, AttributeError, ImportError):
        pass
    try:
        parent = os.getppid()
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass  # the watchdog thread still covers it


class Watchdog(threading.Thread):
    """Ends the process when the parent dies; reports where the worker is when it stalls.

    Args:
        worker: the worker's index.
        step_counts: the shared step counters (slot ``worker`` is this worker's).
        queue: the results queue, for the :data:`STALLED` report.
        stall_seconds: report after this long without a step (``None``: never).
        own_functions: the student's functions, by name, to name them in a report.
    """

    def __init__(self, worker, step_counts, queue, stall_seconds=None, own_functions=None):
        super().__init__(name="a3c_course-watchdog", daemon=True)
        self.worker = worker
        self.step_counts = step_counts
        self.queue = queue
        self.stall_seconds = stall_seconds
        self.own_functions = dict(own_functions or {})
        self.main_thread = threading.main_thread().ident
        self.parent = multiprocessing.parent_process()
        self.training = False
        """Set once the worker has built its environment and model: a stall counts from then
        (starting up on a busy machine can take a while, and is no function's fault)."""

    def run(self):
        last_steps, last_change, reported = None, time.monotonic(), False
        while True:
            if self.parent is not None:
                self.parent.join(WATCH_SECONDS)
                if not self.parent.is_alive():
                    os._exit(1)  # the parent is gone: nobody will ever read our work
            else:
                time.sleep(WATCH_SECONDS)
            if self.stall_seconds is None:
                continue
            steps = int(self.step_counts[self.worker])
            now = time.monotonic()
            if not self.training:
                last_change = now
                continue
            if steps != last_steps:
                last_steps, last_change, reported = steps, now, False
            elif not reported and now - last_change >= self.stall_seconds:
                reported = True
                frame = sys._current_frames().get(self.main_thread)
                where = describe_where(frame, self.own_functions)
                try:
                    self.queue.put((STALLED, self.worker, round(now - last_change), where))
                except (OSError, ValueError):
                    pass


def describe_where(frame, own_functions) -> str:
    """Which function ``frame`` (a thread's innermost frame) is in, for a person.

    A student's function on the stack is named first ("your n_step_returns, line 3");
    otherwise the innermost function that is not Python's or this package's own.
    """
    codes = {}
    for name, fn in own_functions.items():
        code = getattr(getattr(fn, "__wrapped__", fn), "__code__", None)
        if code is not None:
            codes[code] = name
    innermost_foreign = None
    stack = []
    while frame is not None:
        stack.append(frame)
        frame = frame.f_back
    for frame in stack:  # innermost first
        code = frame.f_code
        if code in codes:
            return f"your function {codes[code]} (line {frame.f_lineno} of {code.co_filename})"
        if innermost_foreign is None and not _library_file(code.co_filename):
            innermost_foreign = frame
    if innermost_foreign is not None:
        code = innermost_foreign.f_code
        return f"{code.co_name} (line {innermost_foreign.f_lineno} of {code.co_filename})"
    if stack:
        code = stack[0].f_code
        return f"{code.co_name} (line {stack[0].f_lineno} of {code.co_filename})"
    return "an unknown place"


def _library_file(filename: str) -> bool:
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return (filename.startswith("<frozen") or "site-packages" in filename
            or filename.startswith(package) or filename.startswith(os.path.dirname(os.__file__)))
