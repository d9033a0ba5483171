"""The fork server: the process Linux's workers are forked from, and how to start it early.

Under the ``forkserver`` start method, multiprocessing starts one server process, which
imports the modules it is told to preload and then forks every worker from itself, so
that a worker starts in milliseconds, with torch already imported, and without the
threads of a notebook kernel. Importing torch takes the server about a second, and so it
does the parent: :func:`start_fork_server` called before the parent's own import lets
the two run side by side on two cores (the command line does this; a notebook kernel has
imported torch long before). Nothing here imports torch.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import sys

#: What the fork server imports once, so that each worker forked from it starts quickly.
WORKER_MODULE = "a3c_course.engine.worker"


def default_start_method() -> str:
    """``forkserver`` on Linux, ``spawn`` elsewhere (where fork is unsafe or missing)."""
    return "forkserver" if sys.platform.startswith("linux") else "spawn"


def uses_fork_server(start_method: str | None) -> bool:
    """Whether workers started with ``start_method`` (None: the default) come from the server."""
    method = start_method or default_start_method()
    return method == "forkserver" and method in multiprocessing.get_all_start_methods()


def start_fork_server() -> None:
    """Start the fork server (if it is not running), told to preload the worker's module.

    It returns at once: the server imports in its own process. A later call, or the
    trainer's own, finds it running and does nothing. The server needs no stopping:
    once its imports are done it exits as soon as the pipe from the process that
    started it is closed, which that process's exit does, however it exits (an error,
    Ctrl-C, a kill).
    """
    multiprocessing.forkserver.set_forkserver_preload([WORKER_MODULE])
    multiprocessing.forkserver.ensure_running()
