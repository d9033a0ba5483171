"""Checkpoints: everything needed to rebuild a model or resume a run, written atomically.

A checkpoint is one ``torch.save`` file of plain data (dicts, lists, numbers, strings,
tensors), so it loads with ``torch.load(path, weights_only=True)``: loading never runs
code from the file.

It is written to a temporary file in the same folder, flushed to disk, then renamed
over the old one. A rename within one file system is atomic, so a crash or a kill at
any moment leaves either the old checkpoint or the new one, never half of one. (A
kill mid-write can leave the temporary file behind, a hidden
``.checkpoint.pt.<pid>.*.tmp``; the next write to the folder, or the next run that
saves there, removes those of processes that are no longer running.)

A file that is not a checkpoint of ours (empty, cut short, another program's, one
holding code) is refused with a :class:`~a3c_course.errors.RunFolderError` that
names the file and says what to do.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import torch

from ..errors import RunFolderError
from .folder import CHECKPOINT_NAME

FORMAT_VERSION = 1


def _temporary_prefix(path: Path, pid: int | None = None) -> str:
    return f".{path.name}." + (f"{pid}." if pid is not None else "")


def _writer_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own leftover, from a write that failed
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: leave its files alone
    return True


def remove_stale_temporaries(path) -> list[Path]:
    """Delete the temporary files of interrupted :func:`atomic_write` calls to ``path``
    (any file of that folder when ``path`` is a folder) whose writer is no longer running."""
    path = Path(path)
    pattern = "*.tmp" if path.is_dir() else f"{_temporary_prefix(path)}*.tmp"
    folder = path if path.is_dir() else path.parent
    removed = []
    try:
        candidates = list(folder.glob(pattern))
    except OSError:
        return removed
    for stale in candidates:
        if not stale.name.startswith("."):
            continue
        parts = stale.name.split(".")
        # .NAME.EXT.<pid>.<random>.tmp; older versions wrote no pid (one writer per folder)
        pid = next((int(part) for part in parts[1:-1] if part.isdigit()), None)
        if pid is not None and _writer_alive(pid):
            continue
        try:
            stale.unlink()
            removed.append(stale)
        except OSError:
            pass
    return removed


def atomic_write(path, write) -> None:
    """Call ``write(file_object)`` on a temporary file, then rename it to ``path``.

    Temporary files that a killed earlier writer left are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    handle, tmp_name = tempfile.mkstemp(prefix=_temporary_prefix(path, os.getpid()),
                                        suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as tmp:
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, 0o644)  # mkstemp makes it private; a run folder is for sharing
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def save_checkpoint(path, checkpoint: dict) -> None:
    """Write ``checkpoint`` (plain data and tensors) atomically to ``path``."""
    data = dict(checkpoint, format_version=FORMAT_VERSION)
    atomic_write(path, lambda f: torch.save(data, f))


#: What every checkpoint holds, whatever wrote it.
REQUIRED_KEYS = ("algo", "env_id", "model_spec", "model_state", "global_step")


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (safely: ``weights_only``).

    Raises :class:`FileNotFoundError` when there is none, and
    :class:`~a3c_course.errors.RunFolderError` when the file is not a whole checkpoint
    of ours.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}; a run folder holds {CHECKPOINT_NAME}")
    size = path.stat().st_size
    if size == 0:
        raise _unreadable(path, "it is empty (0 bytes)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "weights_only" in str(err) or "Weights only" in str(err):
            raise _unreadable(path, "it holds Python objects, not only numbers and tensors, "
                              "and a3c_course never runs code from a file") from err
        raise _unreadable(path, f"it is not a PyTorch file ({_first_line(err)})") from err
    except Exception as err:  # garbage makes the unpickler fail in many ways
        raise _unreadable(path, f"it is cut short or not a PyTorch file ({_first_line(err)})") from err
    if not isinstance(data, dict) or not all(key in data for key in REQUIRED_KEYS):
        raise _unreadable(path, "it is a PyTorch file, but not an a3c-course checkpoint "
                          f"(those hold {', '.join(REQUIRED_KEYS)})")
    if data.get("format_version") != FORMAT_VERSION:
        raise RunFolderError(f"{path} has checkpoint format {data.get('format_version')!r}, "
                             f"this version of a3c_course reads {FORMAT_VERSION}")
    return data


def _first_line(err) -> str:
    lines = str(err).strip().splitlines()
    line = lines[0] if lines else ""
    return (line if len(line) >= 12 else f"{type(err).__name__}: {line}".rstrip(": "))[:160]


def _unreadable(path, why) -> RunFolderError:
    return RunFolderError(f"{path} cannot be read: {why}. Use another run folder, or start "
                          "a new run (the file is left as it is)")
