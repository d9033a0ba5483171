"""How a widget's clicks reach Python while a notebook cell is busy training.

A widget's click travels from the browser to the kernel as a *comm message* on the
shell channel. While a cell runs ``train()``, the kernel's main thread is busy in that
cell, and ipykernel handles the main shell's messages one at a time on that thread:
an ordinary button's click would wait until training had finished anyway.

ipykernel 7 runs *subshells*: extra threads, each with its own message loop, that the
kernel's shell-channel thread hands messages to. Since 7.4 a comm can name the subshell
its messages go to (``comm._reply_subshell_for``). The dashboard creates one subshell per
kernel for its buttons and routes the Stop button's clicks there, so a click is handled
at once, in that thread, and sets :attr:`Dashboard.stop_requested`, which the trainer's
loop reads a few times a second. Where that is not possible (an older ipykernel, no
kernel at all) the button says so and points to the kernel's interrupt (the square
button), which always stops training and keeps the result.

One side effect needs undoing. ipykernel announces every message it handles with a
``busy`` and then an ``idle`` status on IOPub, whatever thread handles it, and JupyterLab
shows the kernel as whatever the last status said. When the first widgets of a fresh
kernel appear, JupyterLab's widget manager asks the kernel (on the control channel) for
a subshell of its own; a click is handled in ours. Each answer ends with ``idle``, and
JupyterLab's status bar then said "Idle" while the cell was still training.
:func:`keep_status_busy` notes every ``idle`` that is not the running cell's, and a
:class:`BusyStatusKeeper`, which the dashboard runs while it trains, then says ``busy``
again for the running cell.
"""

from __future__ import annotations

import threading
import time

SUBSHELL_TIMEOUT_SECONDS = 5.0
IDLE_SETTLE_SECONDS = 0.2
"""How long after another message's ``idle`` before saying ``busy`` again."""

_foreign_idle = {"at": None}  # monotonic time of the last idle that was not the cell's

_input_subshells: dict[int, str] = {}
_input_subshells_lock = threading.Lock()


def route_clicks_while_busy(widget) -> bool:
    """Have ``widget``'s messages handled in a kernel subshell, even while a cell runs.

    Returns True when that is in place; False where it cannot be (no kernel, or an
    ipykernel without subshells or without per-comm routing, i.e. older than 7.4).
    """
    comm = getattr(widget, "comm", None)
    kernel = _running_kernel()
    if comm is None or kernel is None or not hasattr(comm, "_reply_subshell_for"):
        return False
    subshell_id = input_subshell(kernel)
    if subshell_id is None:
        return False
    # The shell-channel thread asks each comm where its messages go; this one always
    # answers with the input subshell, whatever subshell (if any) the frontend named.
    comm._reply_subshell_for = lambda data, default: subshell_id
    keep_status_busy(kernel)
    return True


def keep_status_busy(kernel) -> None:
    """Note, from now on, each ``idle`` status the kernel publishes for a message other
    than the cell running on the main thread (control requests, subshell messages)."""
    publish = getattr(kernel, "_publish_status", None)
    if publish is None or getattr(publish, "notes_foreign_idle", False):
        return

    def publish_status(status, channel, parent=None):
        publish(status, channel, parent)
        if status == "idle" and (channel != "shell"
                                 or threading.current_thread() is not threading.main_thread()):
            _foreign_idle["at"] = time.monotonic()

    publish_status.notes_foreign_idle = True
    kernel._publish_status = publish_status


class BusyStatusKeeper:
    """While a cell trains: a thread that says ``busy`` again, for that cell, about
    :data:`IDLE_SETTLE_SECONDS` after any other message's ``idle``.

    Create it before the first widget: JupyterLab asks for its subshell as soon as the
    first widget model reaches it, and that answer's ``idle`` must be noted.
    :meth:`start` must be called from the thread that runs the cell (it takes that
    cell's request as the parent of the statuses); :meth:`stop` when training ends.
    Without a kernel it does nothing.
    """

    def __init__(self, poll_seconds=0.1):
        self.poll_seconds = poll_seconds
        self.published = 0
        self._stop = threading.Event()
        self._thread = None
        kernel = _running_kernel()
        if kernel is not None:
            keep_status_busy(kernel)

    def start(self) -> None:
        kernel = _running_kernel()
        if kernel is None or not hasattr(kernel, "_publish_status"):
            return
        keep_status_busy(kernel)
        self._publish = kernel._publish_status
        self._parent = kernel.get_parent("shell")  # the running cell's execute_request
        # An idle noted before now still counts: JupyterLab's request for a subshell can
        # be answered between the display of the dashboard and this line.
        self._thread = threading.Thread(target=self._run, name="a3c-course-busy-status",
                                        daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.poll_seconds):
            noted = _foreign_idle["at"]
            if noted is None or time.monotonic() - noted < IDLE_SETTLE_SECONDS:
                continue
            _foreign_idle["at"] = None
            try:
                self._publish("busy", "shell", self._parent)
                self.published += 1
            except Exception:  # a status is a courtesy; never let it disturb training
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)


def input_subshell(kernel):
    """The id of this kernel's subshell for widget input, created on first use; or None."""
    thread = getattr(kernel, "shell_channel_thread", None)
    manager = getattr(thread, "manager", None)
    if manager is None or not hasattr(manager, "_create_subshell"):
        return None
    with _input_subshells_lock:
        known = _input_subshells.get(id(kernel))
        try:
            if known is not None and known in manager.list_subshell():
                return known
        except Exception:
            return None
        created = {}
        done = threading.Event()

        def create():
            # Subshells are created on the shell-channel thread, as for a frontend's
            # create_subshell_request (which arrives on the control thread).
            try:
                created["id"] = manager._create_subshell()
            except Exception as err:  # reported below as "not available"
                created["error"] = err
            finally:
                done.set()

        thread.io_loop.add_callback(create)
        if not done.wait(SUBSHELL_TIMEOUT_SECONDS) or "id" not in created:
            return None
        _input_subshells[id(kernel)] = created["id"]
        return created["id"]


def _running_kernel():
    """The ipykernel kernel of this process, or None (plain Python, terminal IPython)."""
    try:
        from ipykernel.kernelbase import Kernel
    except ImportError:
        return None
    if not Kernel.initialized():
        return None
    kernel = Kernel.instance()
    if getattr(kernel, "shell_channel_thread", None) is None:
        return None
    return kernel
