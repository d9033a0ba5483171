"""a3c_course: the library behind the course on Asynchronous Methods for Deep RL.

The pieces a notebook uses::

    from a3c_course import train, load_run, make_env, budget

    result = train(algo="a3c", env_id="CartPole-v1", n_workers=2, max_steps=200_000,
                   stop_at_return=475)
    result.plot()
    result.save("runs/cartpole")

Where things live (each folder has one role):

- ``paper/``: what you read next to the paper: the exercise functions' reference
  solutions (``targets``), the four methods (``algorithms``), the networks and the
  shared optimizers; ``a3c_in_one_file.py`` is the whole algorithm in one short file;
- ``engine/``: the parent process and the worker processes that run the methods;
- ``envs/``: ``make_env``, Atari preprocessing, the course's own environments;
- ``runs/``: the result of a run, its folder on disk, checkpoints, resuming, watching;
- ``live/``: how a run shows itself while it trains (text, notebook dashboard) and plots;
- ``exercises/``: one checker per exercise, and the machinery they share.

Importing the package is cheap: torch and gymnasium are imported only when a name
that needs them is first used (``a3c-course doctor`` can then report them missing).
"""

from __future__ import annotations

import importlib

from . import _moved
from .errors import (
    A3CCourseError,
    ConfigError,
    NonFiniteLossError,
    RunFolderError,
    SaveError,
    TrainingError,
    WorkerError,
)
from .profiles import budget, current_profile

_moved.install()

__version__ = "0.2.0"

#: public name -> the module that defines it, imported on first use (PEP 562).
_LAZY = {
    "train": "a3c_course.engine.trainer",
    "RunResult": "a3c_course.runs.result",
    "load_run": "a3c_course.runs.result",
    "make_env": "a3c_course.envs.make",
}

__all__ = [
    "A3CCourseError",
    "ConfigError",
    "NonFiniteLossError",
    "RunFolderError",
    "RunResult",
    "SaveError",
    "TrainingError",
    "WorkerError",
    "budget",
    "current_profile",
    "load_run",
    "make_env",
    "train",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if f"{__name__}.{name}" in _moved.MOVED:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
