"""Continue a run from its folder with the settings it was started with.

``train(resume=folder, ...)`` restores the model, the optimizer's statistics and the
global step from ``folder/checkpoint.pt``, but takes its hyperparameters from its own
arguments. :func:`resume_arguments` reads them from the checkpoint instead, so that a
long run continues exactly as it began (same optimizer, learning rate schedule,
``t_max``...) unless a setting is given again on purpose::

    from a3c_course import train
    from a3c_course.resume import resume_arguments

    args = resume_arguments("runs/pong")
    result = train(**args, max_steps=10_000_000, resume="runs/pong", save_to="runs/pong")

``a3c-course train --resume DIR`` does the same: ``--env``, ``--algo``, ``--workers``,
``--seed``, ``--stop-at-return``, every hyperparameter and the environment's settings
(``env_kwargs``: an episode cap, sticky actions off...) default to the run's own;
``--set`` (or ``--repeat-action-probability``) given again overrides one.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .checkpoint import load_checkpoint
from .folder import SUMMARY_NAME, read_summary
from .result import saved_env_kwargs
from ..config import Hyperparameters


def resume_arguments(folder, algo=None, env_id=None, n_workers=None, seed=None,
                     settings=None, env_kwargs=None) -> dict:
    """Keyword arguments for :func:`a3c_course.train` that continue the run in ``folder``.

    Args:
        folder: a run folder (or its ``checkpoint.pt``).
        algo, env_id, n_workers, seed: ``None`` takes the run's own.
        settings: hyperparameters to change (``{"lr": 1e-4}``); the others are the run's.
        env_kwargs: environment settings to change; the others are the run's.

    Returns:
        ``algo``, ``env_id``, ``n_workers``, ``seed``, ``env_kwargs`` and every
        hyperparameter by name.
        The global step the run reached is not in it: ``train(resume=folder)`` reads it.
    """
    checkpoint = load_checkpoint(folder)
    # Only the settings the checkpoint holds: any it lacks (a setting newer than the
    # run) get the defaults of the environment's family from train(), as they would.
    saved = checkpoint.get("hyperparameters", {})
    known = {f.name for f in dataclasses.fields(Hyperparameters)}
    hyperparameters = {name: tuple(value) if isinstance(value, list) else value
                       for name, value in saved.items() if name in known}
    arguments = {
        "algo": algo or checkpoint["algo"],
        "env_id": env_id or checkpoint["env_id"],
        "n_workers": int(checkpoint.get("n_workers", 2)) if n_workers is None else n_workers,
        "seed": int(checkpoint.get("seed", 0)) if seed is None else seed,
    }
    arguments.update(hyperparameters)
    arguments.update(settings or {})
    # The environment's settings too (a 20-step cap, sticky actions off...), each one
    # given again replacing the run's.
    folder = Path(folder)
    summary = _summary_or_none(folder if folder.is_dir() else folder.parent)
    arguments["env_kwargs"] = {**saved_env_kwargs(folder, checkpoint, summary),
                               **(env_kwargs or {})}
    return arguments


def _summary_or_none(folder):
    return read_summary(folder) if (folder / SUMMARY_NAME).exists() else None


def saved_stop_at_return(folder) -> float | None:
    """The ``stop_at_return`` the run in ``folder`` was started with (its summary.json)."""
    folder = Path(folder)
    summary = _summary_or_none(folder if folder.is_dir() else folder.parent)
    return None if summary is None else summary.get("stop_at_return")


def checkpoint_step(folder) -> int:
    """The global step at which the run in ``folder`` was last saved."""
    return int(load_checkpoint(folder)["global_step"])
