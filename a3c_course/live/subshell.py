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

One side effect needs undoing. ipykernel announces every message it handles, in a
subshell too, with a ``busy`` and then an ``idle`` status on IOPub, and JupyterLab shows
the kernel as whatever the last status said: after a widget message handled in the
subshell (a click, or the widget manager asking for the widgets' state, which JupyterLab
does when the first widgets of a fresh kernel appear), its status bar said "Idle" while
the cell was still training. :func:`reassert_busy` says ``busy`` again, for the running
cell, a moment after such a message; the dashboard calls it from the training loop.
"""

from __future__ import annotations

import threading
import time

SUBSHELL_TIMEOUT_SECONDS = 5.0
IDLE_SETTLE_SECONDS = 0.2
"""How long after a routed message its ``idle`` status has surely gone out."""

_last_routed = {"at": None}  # monotonic time of the last message routed to the subshell

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
    def route(data, default):
        _last_routed["at"] = time.monotonic()
        return subshell_id

    comm._reply_subshell_for = route
    return True


def reassert_busy() -> bool:
    """If a widget message was handled in the subshell since the last call (and its
    ``idle`` has gone out), publish ``busy`` again for the cell that is running.

    Call it from the thread that runs the cell. Returns True when it published.
    """
    routed = _last_routed["at"]
    if routed is None or time.monotonic() - routed < IDLE_SETTLE_SECONDS:
        return False
    _last_routed["at"] = None
    kernel = _running_kernel()
    publish = getattr(kernel, "_publish_status", None)
    if publish is None:
        return False
    try:
        publish("busy", "shell")  # the parent: this thread's, the running execute_request
    except Exception:  # a status is a courtesy; never let it stop training
        return False
    return True


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
