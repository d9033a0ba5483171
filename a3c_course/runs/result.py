"""The result of a training run, and its folder on disk.

A run folder holds:

- ``episodes.csv``: one row per finished episode, in the order episodes finished:
  ``wall_seconds,global_step,worker,episode_return,episode_length``;
- ``diagnostics.csv``: the workers' diagnostics of their updates (entropy, losses,
  gradient norm, explained variance...), about two rows a second per worker; see
  :mod:`a3c_course.runs.diagnostics`;
- ``summary.json``: what the run was and how it went (``solved``, ``steps_per_second``...);
- ``checkpoint.pt``: the model, the optimizer's statistics and the global step, enough to
  watch the agent or resume training.

``result.save(path)`` writes it and :func:`load_run` reads it back.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from .checkpoint import CHECKPOINT_NAME, atomic_write, load_checkpoint, save_checkpoint
from .folder import EPISODES_NAME, SUMMARY_NAME, env_kwargs_from_data, env_kwargs_to_data, read_summary
from .diagnostics import DIAGNOSTICS_NAME, DiagnosticsTable, read_diagnostics
from .staleness import describe_staleness
from ..config import Hyperparameters
from ..errors import RunFolderError, SaveError
from ..paper.models import build_model

EPISODE_COLUMNS = ("wall_seconds", "global_step", "worker", "episode_return", "episode_length")
SOLVE_WINDOW = 20


class Episode(NamedTuple):
    """One finished episode, as a worker reported it."""

    wall_seconds: float
    global_step: int
    worker: int
    episode_return: float
    episode_length: int


def first_solved_index(returns, threshold, window=SOLVE_WINDOW):
    """Index of the episode at which the mean of the last ``window`` returns first
    reaches ``threshold`` (needs ``window`` episodes), or ``None``."""
    returns = np.asarray(returns, dtype=float)
    if threshold is None or len(returns) < window:
        return None
    means = np.convolve(returns, np.ones(window) / window, mode="valid")
    hits = np.nonzero(means >= threshold)[0]
    return int(hits[0]) + window - 1 if len(hits) else None


@dataclass
class RunResult:
    """Everything a training run produced; see :func:`a3c_course.train`."""

    algo: str
    env_id: str
    n_workers: int
    seed: int
    max_steps: int
    hyperparameters: Hyperparameters
    model: torch.nn.Module
    episodes: list = field(default_factory=list)
    total_steps: int = 0
    """Global steps (agent steps, summed over workers) at the end, including a resumed run's."""
    start_step: int = 0
    """Global step at which this run started (0, or where a resumed run left off)."""
    wall_seconds: float = 0.0
    stop_at_return: float | None = None
    stop_reason: str = ""
    """``max_steps``, ``solved``, ``time_limit``, ``interrupted``, ``stopped`` or ``error``."""
    frames_per_step: int = 1
    workers: list = field(default_factory=list)
    """Per worker: ``worker``, ``seed``, ``final_epsilon`` (value methods), ``pid``, ``steps``."""
    optimizer_state: dict | None = None
    target_model_state: dict | None = None
    return_statistics: list | None = None
    """``scale_rewards``' statistics (count, sum, sum of squares of the discounted
    returns), kept in the checkpoint so that a resumed run scales as this one did."""
    start_method: str = ""
    settings: dict | None = None
    """Every setting of the run with the layer it came from: ``{name: {"value", "source"}}``."""
    env_kwargs: dict = field(default_factory=dict)
    """The environment's settings (``make_env`` keywords), saved with the run: ``--resume``
    and ``watch`` build the same environment."""
    diagnostics: DiagnosticsTable = field(default_factory=DiagnosticsTable)
    """The workers' diagnostics by global step (see :mod:`a3c_course.runs.diagnostics`)."""
    startup_seconds: float | None = None
    """Seconds from the start until the workers' first steps were counted (processes
    starting, imports, environments built); ``None`` when no step was."""
    backend: dict | None = None
    """Where the workers ran: ``{"backend": "shared_memory"}``, or for ``"ray"`` also the
    cluster's address, whether this run started it and how long that took."""
    staleness: dict | None = None
    """The updates' staleness: ``updates``, ``mean``, ``median``, ``p90``, ``max`` and
    the ``histogram`` (see :mod:`a3c_course.runs.staleness`); ``None`` if not measured."""

    # -- what happened -------------------------------------------------------------
    @property
    def interrupted(self) -> bool:
        return self.stop_reason == "interrupted"

    @property
    def returns(self) -> np.ndarray:
        return np.array([e.episode_return for e in self.episodes], dtype=float)

    def column(self, name: str) -> np.ndarray:
        """One column of the episode log, e.g. ``result.column("global_step")``."""
        index = EPISODE_COLUMNS.index(name)
        return np.array([e[index] for e in self.episodes])

    def mean_return(self, last: int = SOLVE_WINDOW) -> float:
        """Mean return of the last ``last`` episodes (NaN before the first episode)."""
        tail = self.returns[-last:]
        return float(tail.mean()) if len(tail) else float("nan")

    @property
    def solved_index(self):
        return first_solved_index(self.returns, self.stop_at_return)

    @property
    def solved(self) -> bool:
        return self.solved_index is not None

    @property
    def steps_this_run(self) -> int:
        return self.total_steps - self.start_step

    @property
    def steps_per_second(self) -> float:
        """Steps of this run per second of its wall time, the workers' start-up included."""
        return self.steps_this_run / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def steps_per_second_after_startup(self) -> float:
        """Steps per second once the workers were running: the speed of training itself."""
        if self.startup_seconds is None:
            return 0.0
        seconds = self.wall_seconds - self.startup_seconds
        return self.steps_this_run / seconds if seconds > 0 else self.steps_per_second

    def describe(self) -> str:
        """One line for people: steps, time, speed, episodes and the recent mean return."""
        mean = self.mean_return()
        mean_text = (f"mean return of the last {min(len(self.episodes), SOLVE_WINDOW)}: "
                     f"{mean:.1f}" if self.episodes else "no episode finished")
        speed = self.steps_per_second_after_startup or self.steps_per_second
        startup = (f", after {self.startup_seconds:.1f} s of start-up"
                   if self.startup_seconds else "")
        line = (f"{self.total_steps:,} steps in {self.wall_seconds:.1f} s ({speed:,.0f} steps/s"
                f"{startup}), {len(self.episodes)} episodes, {mean_text} [{self.stop_reason}]")
        if self.backend and self.backend.get("backend") == "ray":
            cluster = self.backend.get("cluster_start_seconds")
            started = (f", after {cluster:.1f} s to start the cluster" if cluster else "")
            line += f"\non Ray{started}; {describe_staleness(self.staleness)}"
        return line

    def summary(self) -> dict:
        """The contents of summary.json."""
        index = self.solved_index
        solved_episode = self.episodes[index] if index is not None else None
        summary = {
            "algo": self.algo,
            "env_id": self.env_id,
            "workers": self.n_workers,
            "seed": self.seed,
            "solved": index is not None,
            "solved_at_seconds": solved_episode.wall_seconds if solved_episode else None,
            "solved_at_step": solved_episode.global_step if solved_episode else None,
            "total_steps": self.total_steps,
            "start_step": self.start_step,
            "wall_seconds": self.wall_seconds,
            "steps_per_second": self.steps_per_second,
            "startup_seconds": self.startup_seconds,
            "steps_per_second_after_startup": self.steps_per_second_after_startup,
            "final_mean_return": _json_number(self.mean_return()),
            "episodes": len(self.episodes),
            "max_steps": self.max_steps,
            "stop_at_return": self.stop_at_return,
            "stop_reason": self.stop_reason,
            "interrupted": self.interrupted,
            "start_method": self.start_method,
            "worker_info": self.workers,
            "hyperparameters": self.hyperparameters.to_dict(),
            "settings": self.settings,
            "backend": self.backend,
            "staleness": self.staleness,
            "env_kwargs": env_kwargs_to_data(self.env_kwargs)[0],
        }
        if self.frames_per_step > 1:
            summary["frames_per_step"] = self.frames_per_step
            summary["frames_per_second"] = self.steps_per_second * self.frames_per_step
        return summary

    # -- on disk ---------------------------------------------------------------------
    def checkpoint(self) -> dict:
        """The checkpoint of this run: model, optimizer statistics, global step."""
        return {
            "algo": self.algo,
            "env_id": self.env_id,
            "seed": self.seed,
            "n_workers": self.n_workers,
            "model_spec": self.model.spec,
            "model_state": self.model.state_dict(),
            "optimizer_state": self.optimizer_state,
            "target_model_state": self.target_model_state,
            "return_statistics": self.return_statistics,
            "global_step": self.total_steps,
            "hyperparameters": self.hyperparameters.to_dict(),
            "env_kwargs": env_kwargs_to_data(self.env_kwargs)[0],
        }

    def save(self, path) -> Path:
        """Write the run folder (each file atomically); returns its path.

        Raises :class:`~a3c_course.errors.SaveError` naming the file that could not be
        written and why; the previous version of that file is left intact.
        """
        path = Path(path)
        dropped = env_kwargs_to_data(self.env_kwargs)[1]
        if dropped:
            warnings.warn(f"env_kwargs {dropped} are not plain data (numbers, strings, lists): "
                          f"not saved in {path}; give them again to watch or resume this run",
                          stacklevel=2)
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(EPISODE_COLUMNS)
        writer.writerows(self.episodes)
        summary = json.dumps(self.summary(), indent=2) + "\n"
        _saving(path, None, lambda: path.mkdir(parents=True, exist_ok=True))
        _saving(path, CHECKPOINT_NAME,
                lambda: save_checkpoint(path / CHECKPOINT_NAME, self.checkpoint()))
        _saving(path, EPISODES_NAME, lambda: atomic_write(
            path / EPISODES_NAME, lambda f: f.write(text.getvalue().encode())))
        diagnostics = self.diagnostics.csv_text().encode()
        _saving(path, DIAGNOSTICS_NAME, lambda: atomic_write(
            path / DIAGNOSTICS_NAME, lambda f: f.write(diagnostics)))
        _saving(path, SUMMARY_NAME, lambda: atomic_write(
            path / SUMMARY_NAME, lambda f: f.write(summary.encode())))
        return path

    def plot(self, what="return", ax=None, **kwargs):
        """A plot of the run: ``"return"`` (the learning curve), one diagnostic by name
        (``result.plot("entropy")``), or ``"diagnostics"``, every diagnostic of the run.

        See :func:`~a3c_course.live.plots.plot_learning_curve`,
        :func:`~a3c_course.live.plots.plot_diagnostic` and
        :func:`~a3c_course.live.plots.plot_diagnostics` for the keywords.
        """
        from ..live import plots

        if not isinstance(what, str):  # result.plot(ax), as before there was a choice
            what, ax = "return", what
        if what == "return":
            return plots.plot_learning_curve(self, ax=ax, **kwargs)
        if what == "diagnostics":
            return plots.plot_diagnostics(self, **kwargs)
        return plots.plot_diagnostic(self, what, ax=ax, **kwargs)

    def plot_diagnostics(self, names=None, **kwargs):
        """Every diagnostic of the run (or ``names``), one small plot each."""
        from ..live.plots import plot_diagnostics

        return plot_diagnostics(self, names=names, **kwargs)

    def __repr__(self):
        mean = f"{self.mean_return():.1f}" if self.episodes else None
        return (f"RunResult(algo={self.algo!r}, env_id={self.env_id!r}, workers={self.n_workers}, "
                f"steps={self.total_steps}, episodes={len(self.episodes)}, "
                f"mean_return={mean}, stop_reason={self.stop_reason!r})")


def _saving(folder: Path, name, write) -> None:
    """Run ``write()``; a failure becomes a :class:`SaveError` naming the file and why."""
    target = folder / name if name else folder
    existed = name is not None and target.exists()
    try:
        write()
    except (OSError, RuntimeError) as err:
        raise SaveError(target, _why(err, folder), previous_kept=existed) from err


def _why(err, folder) -> str:
    """Why a write failed, in a few words (PyTorch reports a full disk as a RuntimeError)."""
    if isinstance(err, OSError):
        reason = err.strerror or str(err)
    elif "write" in str(err):
        reason = "the file could not be written (PyTorch: file write failed)"
    else:
        reason = str(err).splitlines()[0][:160]
    try:
        free = shutil.disk_usage(folder if folder.exists() else folder.parent).free
        reason += f"; {free / 2**20:,.0f} MiB free on that disk"
    except OSError:
        pass
    return reason


def _json_number(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def read_episodes(path) -> list:
    """The episodes of ``episodes.csv`` in a run folder.

    Raises :class:`~a3c_course.errors.RunFolderError` naming the line of a row that
    cannot be read.
    """
    file = Path(path) / EPISODES_NAME
    episodes = []
    with open(file, newline="") as f:
        rows = csv.DictReader(f)
        if rows.fieldnames is not None and list(rows.fieldnames) != list(EPISODE_COLUMNS):
            raise RunFolderError(f"{file} cannot be read: its columns are {rows.fieldnames}, "
                                 f"not {', '.join(EPISODE_COLUMNS)}")
        for r in rows:
            try:
                episodes.append(Episode(float(r["wall_seconds"]), int(r["global_step"]),
                                        int(r["worker"]), float(r["episode_return"]),
                                        int(r["episode_length"])))
            except (TypeError, ValueError) as err:
                raise RunFolderError(
                    f"{file}, line {rows.line_num}, cannot be read ({err}); the file was cut "
                    "short or edited: remove that line (or the file) and try again") from err
    return episodes


#: What summary.json must hold for load_run to rebuild a RunResult.
SUMMARY_KEYS = ("algo", "env_id", "workers", "seed", "max_steps", "hyperparameters",
                "total_steps", "wall_seconds", "stop_at_return", "stop_reason")


def load_run(path) -> RunResult:
    """Read a run folder written by :meth:`RunResult.save` (or by the CLI)."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a run folder (expected {SUMMARY_NAME} and "
                                f"{CHECKPOINT_NAME} inside a folder)")
    summary = read_summary(path)
    missing = [key for key in SUMMARY_KEYS if key not in summary]
    if missing:
        raise RunFolderError(f"{path / SUMMARY_NAME} lacks {', '.join(missing)}: it is not the "
                             "summary of an a3c-course run")
    checkpoint = load_checkpoint(path / CHECKPOINT_NAME)
    model = build_model(checkpoint["model_spec"])
    model.load_state_dict(checkpoint["model_state"])
    return RunResult(
        algo=summary["algo"],
        env_id=summary["env_id"],
        n_workers=summary["workers"],
        seed=summary["seed"],
        max_steps=summary["max_steps"],
        hyperparameters=Hyperparameters.from_dict(summary["hyperparameters"]),
        model=model,
        episodes=read_episodes(path),
        total_steps=summary["total_steps"],
        start_step=summary.get("start_step", 0),
        wall_seconds=summary["wall_seconds"],
        stop_at_return=summary["stop_at_return"],
        stop_reason=summary["stop_reason"],
        frames_per_step=summary.get("frames_per_step", 1),
        workers=summary.get("worker_info", []),
        optimizer_state=checkpoint.get("optimizer_state"),
        target_model_state=checkpoint.get("target_model_state"),
        return_statistics=checkpoint.get("return_statistics"),
        start_method=summary.get("start_method", ""),
        settings=summary.get("settings"),
        env_kwargs=saved_env_kwargs(path, checkpoint, summary),
        diagnostics=read_diagnostics(path),
        startup_seconds=summary.get("startup_seconds"),
        backend=summary.get("backend"),
        staleness=_staleness_from_json(summary.get("staleness")),
    )


def _staleness_from_json(staleness):
    """JSON turns the histogram's keys into strings: make them numbers again."""
    if staleness and "histogram" in staleness:
        staleness = dict(staleness)
        staleness["histogram"] = {int(k): v for k, v in staleness["histogram"].items()}
    return staleness


def saved_env_kwargs(folder, checkpoint, summary=None) -> dict:
    """The environment's settings a run was saved with; {} with a warning for folders
    written before they were saved."""
    for source in (checkpoint, summary or {}):
        if "env_kwargs" in source:
            return env_kwargs_from_data(source["env_kwargs"])
    warnings.warn(f"{folder} was saved by an older version of a3c-course, which did not record "
                  "the environment's settings (env_kwargs, e.g. --repeat-action-probability): "
                  "the environment's defaults are used; give them again if the run had others",
                  stacklevel=3)
    return {}
