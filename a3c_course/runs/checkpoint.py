"""Checkpoints: everything needed to rebuild a model or resume a run, written atomically.

A checkpoint is one ``torch.save`` file of plain data (dicts, lists, numbers, strings,
tensors), so it loads with ``torch.load(path, weights_only=True)``: loading never runs
code from the file.

It is written to a temporary file in the same folder, flushed to disk, then renamed
over the old one. A rename within one file system is atomic, so a crash or a kill at
any moment leaves either the old checkpoint or the new one, never half of one. (A
kill mid-write can leave the temporary file behind, a hidden ``.checkpoint.pt.*.tmp``;
the next write to the same path removes it.)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT_VERSION = 1


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}."


def remove_stale_temporaries(path) -> None:
    """Delete temporary files that an interrupted :func:`atomic_write` to ``path`` left."""
    path = Path(path)
    for stale in path.parent.glob(f"{_temporary_prefix(path)}*.tmp"):
        try:
            stale.unlink()
        except FileNotFoundError:
            pass


def atomic_write(path, write) -> None:
    """Call ``write(file_object)`` on a temporary file, then rename it to ``path``.

    One writer per ``path`` at a time (a run folder has one trainer): temporary files
    of an earlier writer that was killed are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    handle, tmp_name = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=".tmp",
                                        dir=path.parent)
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


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (safely: ``weights_only``)."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}; a run folder holds {CHECKPOINT_NAME}")
    data = torch.load(path, map_location="cpu", weights_only=True)
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} has checkpoint format {data.get('format_version')!r}, "
                         f"this version of a3c_course reads {FORMAT_VERSION}")
    return data
