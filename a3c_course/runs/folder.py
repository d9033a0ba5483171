"""A run folder as a place: can it be written, does it hold a run, and its small files.

``train(save_to=...)`` and ``--out`` check the folder before any process starts
(:func:`check_writable`), so that a folder that cannot be written is found in a
second, not after an hour of training. Reading ``summary.json`` and the environment's
settings of a run (:func:`read_summary`, :func:`env_kwargs_from_data`) turns a file cut
short into one clear sentence.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

from ..errors import ConfigError, RunFolderError

CHECKPOINT_NAME = "checkpoint.pt"
SUMMARY_NAME = "summary.json"
EPISODES_NAME = "episodes.csv"
RUN_FILES = (CHECKPOINT_NAME, SUMMARY_NAME, EPISODES_NAME)


def check_writable(folder, what="save_to") -> Path:
    """Create ``folder`` if needed and check that a file can be written in it.

    Raises :class:`ConfigError` naming the folder and the reason (a file in the way,
    a read-only file system, no permission).
    """
    folder = Path(folder)
    for parent in [folder, *folder.parents]:
        if parent.exists() and not parent.is_dir():
            where = "is a file" if parent == folder else f"is under {parent}, which is a file"
            raise ConfigError(f"{what} {folder} {where}: give a folder to write the run to")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".write-test.", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as err:
        raise ConfigError(f"{what} {folder} cannot be written ({err.strerror or err}): "
                          "choose a folder you can write to") from err
    return folder


def holds_run(folder) -> bool:
    """Whether ``folder`` already holds a run (any of its three files)."""
    folder = Path(folder)
    return folder.is_dir() and any((folder / name).exists() for name in RUN_FILES)


def read_summary(folder) -> dict:
    """``folder/summary.json`` as a dict; :class:`RunFolderError` if it is not valid JSON."""
    path = Path(folder) / SUMMARY_NAME
    try:
        summary = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise RunFolderError(f"{path} cannot be read: it is not valid JSON ({err.msg} at line "
                             f"{err.lineno}); it was cut short or edited. The checkpoint "
                             "beside it still has the model: rewrite the file, or remove it "
                             "and use --resume") from err
    if not isinstance(summary, dict):
        raise RunFolderError(f"{path} cannot be read: it holds {type(summary).__name__}, "
                             "not the summary of a run")
    return summary


# -- the environment's settings (env_kwargs) as plain data ----------------------------
def env_kwargs_to_data(env_kwargs) -> tuple[dict, list]:
    """``env_kwargs`` as JSON-ready data, and the names of any that cannot be saved.

    Numbers, strings, booleans, None, and lists or dicts of them are kept; an
    :class:`~a3c_course.envs.atari.AtariOptions` is kept field by field.
    """
    data, dropped = {}, []
    for name, value in (env_kwargs or {}).items():
        if dataclasses.is_dataclass(value) and type(value).__name__ == "AtariOptions":
            data[name] = {"AtariOptions": dataclasses.asdict(value)}
        elif _plain(value):
            data[name] = list(value) if isinstance(value, tuple) else value
        else:
            dropped.append(name)
    return data, dropped


def env_kwargs_from_data(data) -> dict:
    """The inverse of :func:`env_kwargs_to_data`."""
    kwargs = {}
    for name, value in (data or {}).items():
        if isinstance(value, dict) and set(value) == {"AtariOptions"}:
            from ..envs.atari import AtariOptions

            value = AtariOptions(**value["AtariOptions"])
        kwargs[name] = value
    return kwargs


def _plain(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False
