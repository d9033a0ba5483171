"""Starting worker processes safely, wherever ``train()`` is called from.

Three things can go wrong when a notebook or a script starts processes, and each has
its guard here:

- the start method: ``fork`` copies a notebook kernel's threads in an unknown state,
  so the default is ``forkserver`` on Linux and ``spawn`` elsewhere (:func:`start_context`);
- the user's main module: under ``spawn`` and ``forkserver`` every child re-imports
  it, which restarts training in a script without a main guard
  (:func:`main_module_hidden`);
- an interrupt that arrives while the run starts (:class:`StartupInterrupts`): it is
  remembered, not lost, and acted on once start-up is over, so that nothing is left
  half-started or half-imported.

:func:`drain` reads a results queue without blocking for long.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import signal
import sys
import threading
from contextlib import contextmanager

import torch.multiprocessing as torch_mp

from ..errors import ConfigError
from .fork_server import default_start_method


def start_context(start_method):
    """The multiprocessing context for ``start_method`` (None: the platform's safe default)."""
    methods = multiprocessing.get_all_start_methods()
    if start_method is None:
        start_method = default_start_method()
    if start_method not in methods:
        raise ConfigError(f"start_method {start_method!r} is not available here; "
                          f"choose one of {', '.join(methods)}")
    # Under forkserver, the backend starts the server (told what to preload) before
    # the workers: see fork_server.start_fork_server.
    return torch_mp.get_context(start_method)


@contextmanager
def main_module_hidden():
    """Keep spawned workers from re-running the parent's ``__main__`` module.

    Under spawn and forkserver, multiprocessing re-imports the parent's main script in
    every child, which restarts training in a script without an
    ``if __name__ == "__main__":`` guard. The workers never need it: everything they
    run comes from this package, and exercise functions travel by value (cloudpickle).
    """
    main = sys.modules.get("__main__")
    saved = {name: main.__dict__.pop(name) for name in ("__file__", "__spec__")
             if main is not None and name in main.__dict__}
    if main is not None and "__spec__" in saved:
        main.__spec__ = None
    try:
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)


class StartupInterrupts:
    """Ctrl-C (or Jupyter's interrupt) while a run starts: remembered, acted on after.

    An interrupt that lands in the middle of starting the fork server, a worker, or an
    import (matplotlib's, torch's) can leave it half-done, and a half-done import breaks
    every later ``train()`` in that kernel. So, while start-up runs (``with
    StartupInterrupts() as startup:``):

    - SIGINT runs a handler that only records it (``startup.interrupted``); the trainer
      checks it between steps of the start-up and, once it is over, stops the run and
      returns what there is;
    - SIGINT is *blocked* in this thread, so that every process started meanwhile (the
      fork server, the workers) starts with it blocked, not with Python's handler or
      the default action, and cannot die of it halfway through its imports. A worker
      ignores SIGINT and unblocks it first thing (see :mod:`.worker_process`); a
      blocked signal that is then ignored is discarded.

    Outside the main thread (where Python allows no signal handler), and where SIGINT is
    ignored on purpose, it does nothing.
    """

    def __init__(self):
        self.interrupted = False
        self._active = False
        self._blocked = False
        self._previous = None

    def __enter__(self):
        if (threading.current_thread() is not threading.main_thread()
                or not hasattr(signal, "SIGINT")
                or signal.getsignal(signal.SIGINT) is signal.SIG_IGN):
            return self  # no handler allowed here, or Ctrl-C ignored on purpose (a job run with &)
        self._previous = signal.signal(signal.SIGINT, self._record)
        self._active = True
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            self._blocked = True
        return self

    def _record(self, signum, frame):
        self.interrupted = True

    def end(self) -> bool:
        """Restore Ctrl-C as it was (a pending one is recorded); whether one came."""
        if self._active:
            self._active = False
            if self._blocked:
                self._blocked = False
                # A SIGINT that arrived while blocked is delivered now, to _record:
                # signal.signal() below runs pending handlers before it swaps them.
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            previous = self._previous if self._previous is not None else signal.default_int_handler
            signal.signal(signal.SIGINT, previous)
        return self.interrupted

    def __exit__(self, *exc):
        self.end()
        return False


def drain(queue, timeout):
    """Every message waiting on ``queue``, waiting up to ``timeout`` seconds for the first."""
    messages = []
    try:
        messages.append(queue.get(timeout=timeout) if timeout > 0 else queue.get_nowait())
        while True:
            messages.append(queue.get_nowait())
    except (queue_module.Empty, EOFError, OSError):
        pass
    return messages
