"""What a killed run can leave behind, and how the next run clears it.

A run that ends normally leaves nothing. A run whose process is killed (``kill -9``,
a kernel restarted the hard way, a machine out of memory) can leave:

- **named POSIX semaphores** (``/dev/shm/sem.mp-*`` on Linux). Under ``spawn`` and
  ``forkserver`` the stop event and the results queue are built on semaphores with
  names, so that each worker can open them; multiprocessing unlinks them when the
  run's objects are freed, and its resource tracker when the parent dies, but a kill
  of the whole process group takes the tracker too. :class:`NamedSemaphores` unlinks
  the names as soon as every worker has opened them (the workers keep using them;
  a name is only needed to open one), and records them in a small file until then, so
  that :func:`remove_stale_semaphores` at the next start can unlink those of a process
  that died in between. Nothing is unlinked that a living process of ours recorded.
- **temporary checkpoint files**: see :func:`a3c_course.runs.checkpoint.remove_stale_temporaries`.
"""

from __future__ import annotations

import os
import tempfile
from multiprocessing import resource_tracker, util
from multiprocessing.synchronize import SemLock
from pathlib import Path

import psutil

try:
    from _multiprocessing import sem_unlink
except ImportError:  # pragma: no cover - Windows: semaphores have no names to leak
    sem_unlink = None


def records_folder() -> Path:
    """Where runs in progress record their semaphores' names (one file per process)."""
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"a3c_course-{uid}" / "semaphores"


def semaphore_names(*objects) -> list[str]:
    """The names of the named semaphores inside ``objects`` (events, queues...)."""
    names = []

    def visit(obj, depth):
        if isinstance(obj, SemLock):
            name = getattr(obj._semlock, "name", None)
            if name:  # None: unlinked at creation (the fork start method)
                names.append(name)
        elif depth < 3 and hasattr(obj, "__dict__"):
            for value in vars(obj).values():
                visit(value, depth + 1)

    for obj in objects:
        visit(obj, 0)
    return names


def _process_key(pid: int) -> str:
    """``pid-starttime``: a process id cannot be mistaken for a later one that reuses it."""
    try:
        started = int(psutil.Process(pid).create_time() * 1000)
    except psutil.Error:
        started = 0
    return f"{pid}-{started}"


def _alive(key: str) -> bool:
    pid, _, started = key.partition("-")
    try:
        return _process_key(int(pid)) == key
    except ValueError:
        return False


def unlink_semaphores(names) -> None:
    """Unlink ``names`` now, and tell multiprocessing that they need no cleaning later."""
    if sem_unlink is None or not names:
        return
    pending = set(names)
    for finalizer in list(util._finalizer_registry.values()):
        if getattr(finalizer, "_callback", None) is SemLock._cleanup and \
                finalizer._args and finalizer._args[0] in pending:
            finalizer.cancel()
    for name in names:
        try:
            sem_unlink(name)
        except OSError:
            pass  # gone already
        try:
            resource_tracker.unregister(name, "semaphore")
        except Exception:  # no tracker running (fork): nothing registered
            pass


class NamedSemaphores:
    """The named semaphores of a run: recorded while they need names, unlinked after."""

    def __init__(self, *objects):
        self.names = semaphore_names(*objects)
        self.record = None
        if self.names:
            folder = records_folder()
            try:
                folder.mkdir(parents=True, exist_ok=True)
                self.record = folder / f"{_process_key(os.getpid())}-{id(self)}.txt"
                self.record.write_text("\n".join(self.names) + "\n")
            except OSError:
                self.record = None  # no record: only the next-start cleaning is lost

    def release(self) -> None:
        """Unlink the names (every worker has opened them, or the run is over)."""
        names, self.names = self.names, []
        unlink_semaphores(names)
        if self.record is not None:
            try:
                self.record.unlink()
            except OSError:
                pass
            self.record = None


def remove_stale_semaphores() -> list[str]:
    """Unlink the semaphores recorded by runs of ours whose process has died; their names."""
    removed = []
    try:
        records = list(records_folder().glob("*.txt"))
    except OSError:
        return removed
    for record in records:
        pid, _, rest = record.stem.partition("-")
        started = rest.split("-")[0]
        if _alive(f"{pid}-{started}"):
            continue
        try:
            names = [line for line in record.read_text().splitlines() if line.startswith("/mp-")]
            record.unlink()
        except OSError:
            continue
        for name in names:
            try:
                if sem_unlink is not None:
                    sem_unlink(name)
                    removed.append(name)
            except OSError:
                pass
    return removed
