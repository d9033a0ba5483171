"""``train()``: one shared model, N worker processes, and a parent that only listens.

The data flows one way. The parent:

1. checks every input (before any process starts, so mistakes fail fast and clearly);
2. builds the environment once to read its spaces, then the model, and moves the
   model, the optimizer's statistics and the step counters to shared memory;
3. starts ``n_workers`` processes (:func:`a3c_course.worker.run_worker`), each with its
   own environment and seed;
4. drains the results queue: finished episodes, for the live view and the stop
   conditions (``max_steps``, ``stop_at_return``, ``time_limit``, Ctrl-C, Stop button);
5. sets the stop event, waits for the workers (terminating any that do not stop in
   time) and returns a :class:`~a3c_course.results.RunResult`.

Whatever happens (an interrupt, a worker's exception, a NaN loss) no worker process
outlives ``train()``, and what was learned so far is returned or attached to the error.
"""

from __future__ import annotations

import copy
import math
import multiprocessing
import multiprocessing.forkserver
import queue as queue_module
import signal
import sys
import threading
import time
from collections import deque
from contextlib import contextmanager
from pathlib import Path

import cloudpickle
import gymnasium as gym
import numpy as np
import torch
import torch.multiprocessing as torch_mp

from ..config import (
    HYPERPARAMETER_NAMES,
    RunConfig,
    check_range,
    default_hyperparameters,
    unknown_names_message,
)
from ..envs.make import check_env_id, is_atari, is_minigrid, read_spaces
from ..errors import ConfigError, NonFiniteLossError, WorkerError
from ..live.monitors import make_monitor
from ..paper import targets
from ..paper.algorithms import ALGORITHMS, ValueMethod, algorithm_class
from ..paper.models import build_model, model_spec
from ..paper.optim import build_optimizer
from ..runs.checkpoint import load_checkpoint
from ..runs.result import SOLVE_WINDOW, Episode, RunResult, read_episodes
from . import worker as worker_module
from .flat_params import flatten_parameters
from .worker import DONE, EPISODE, ERROR, SharedState, run_worker, worker_seed

SHUTDOWN_GRACE_SECONDS = 3.0
POLL_SECONDS = 0.05
MONITOR_SECONDS = 0.25


def train(
    algo: str = "a3c",
    env_id: str = "CartPole-v1",
    n_workers: int = 2,
    seed: int = 0,
    max_steps: int = 100_000,
    stop_at_return: float | None = None,
    time_limit: float | None = None,
    start_method: str | None = None,
    live="auto",
    resume=None,
    save_to=None,
    checkpoint_every: float | None = None,
    env_kwargs: dict | None = None,
    **settings,
) -> RunResult:
    """Train ``algo`` on ``env_id`` with ``n_workers`` processes sharing one model.

    Args:
        algo: ``"a3c"``, ``"q"`` (one-step Q-learning), ``"sarsa"`` (one-step Sarsa)
            or ``"nstep-q"`` (n-step Q-learning).
        env_id: a Gymnasium id (see :func:`a3c_course.make_env`).
        n_workers: worker processes (actor-learners), each with its own environment.
        seed: seeds the model's initialisation and every worker.
        max_steps: budget of global steps (agent steps summed over workers; for Atari
            one step is 4 frames). The learning rate reaches 0 here.
        stop_at_return: stop once the mean return of the last 20 finished episodes
            reaches this ("solved").
        time_limit: stop after this many seconds.
        start_method: ``"fork"``, ``"spawn"`` or ``"forkserver"``; by default
            ``forkserver`` on Linux and ``spawn`` elsewhere (macOS, Windows).
        live: ``"auto"``, ``"widget"``, ``"text"``, ``"none"``, or a
            :class:`~a3c_course.progress.Monitor`: how progress is shown while training.
        resume: a run folder (or checkpoint) to continue: model, optimizer statistics
            and global step; ``max_steps`` counts from the start of the first run.
        save_to: a folder to write the run to, at the end and every
            ``checkpoint_every`` seconds while it trains.
        checkpoint_every: seconds between periodic saves to ``save_to``.
        env_kwargs: keywords for :func:`a3c_course.make_env` in every worker.
        **settings: hyperparameters (see :class:`a3c_course.config.Hyperparameters`:
            ``lr``, ``gamma``, ``t_max``, ``entropy_beta``...) and exercise functions
            to use instead of the reference ones, by name: ``n_step_returns=my_fn``.

    Returns:
        A :class:`~a3c_course.results.RunResult`, also when training was interrupted
        (``result.stop_reason == "interrupted"``).

    Raises:
        ConfigError: bad input, before any process starts.
        WorkerError: a worker raised; ``err.worker_traceback`` has its traceback and
            ``err.result`` what was learned until then.
        NonFiniteLossError: the loss became NaN or infinite at ``err.global_step``.
    """
    plan = _plan(algo, env_id, n_workers, seed, max_steps, stop_at_return, time_limit,
                 start_method, resume, save_to, checkpoint_every, env_kwargs, settings)
    monitor = make_monitor(live, max_steps=max_steps, start_step=plan.start_step,
                           stop_at_return=stop_at_return, title=f"{algo} on {env_id}")
    if plan.context.get_start_method() == "forkserver":
        # Every input is checked: start the fork server now. It imports torch and the
        # worker (a second or two) while this process builds the shared model.
        multiprocessing.forkserver.ensure_running()
    return _Run(plan, monitor).execute()


class _Plan:
    """The checked inputs of a run, and the shared objects built from them."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


def _plan(algo, env_id, n_workers, seed, max_steps, stop_at_return, time_limit, start_method,
          resume, save_to, checkpoint_every, env_kwargs, settings) -> _Plan:
    if algo not in ALGORITHMS:
        raise ConfigError(f"unknown algo {algo!r}; choose one of {', '.join(ALGORITHMS)}")
    check_range("n_workers", n_workers, 1, integer=True)
    check_range("seed", seed, 0, integer=True)
    check_range("max_steps", max_steps, 1, integer=True)
    if stop_at_return is not None:
        check_range("stop_at_return", stop_at_return)
    if time_limit is not None:
        check_range("time_limit", time_limit, 0, low_open=True)
    if checkpoint_every is not None:
        check_range("checkpoint_every", checkpoint_every, 0, low_open=True)
        if save_to is None:
            raise ConfigError("checkpoint_every needs save_to, the folder to write checkpoints to")
    context = _context(start_method)
    functions, hp_overrides = _split_settings(settings)

    check_env_id(env_id)
    env_kwargs = dict(env_kwargs or {})
    spaces = read_spaces(env_id, env_kwargs)
    discrete = isinstance(spaces.action_space, gym.spaces.Discrete)
    method = algorithm_class(algo, discrete)
    if issubclass(method, ValueMethod) and not discrete:
        raise ConfigError(
            f"{algo!r} is a value-based method: it needs a discrete action space to take "
            f"max_a Q(s, a), but {env_id} has continuous actions {spaces.action_space}. "
            "Use algo='a3c', whose Gaussian policy handles continuous actions."
        )
    if not discrete and not isinstance(spaces.action_space, gym.spaces.Box):
        raise ConfigError(f"{env_id} has action space {spaces.action_space}; the course handles "
                          "Discrete and Box action spaces")
    family = _family(env_id, discrete)
    hp = default_hyperparameters(family, algo, **hp_overrides)
    if hp.recurrent and issubclass(method, ValueMethod):
        raise ConfigError("recurrent=True is for algo='a3c'; the value-based methods use "
                          "feed-forward Q-networks, as in the paper")
    spec = model_spec(spaces.observation_space, spaces.action_space, method.head,
                      hp.hidden_sizes, hp.recurrent)

    checkpoint, previous_episodes = None, []
    if resume is not None:
        checkpoint, previous_episodes = _read_resume(resume, algo, env_id, spec)
    start_step = int(checkpoint["global_step"]) if checkpoint else 0
    if start_step >= max_steps:
        raise ConfigError(f"the run to resume is at global step {start_step} already; "
                          f"give a larger max_steps than {max_steps} to train further")

    final_epsilons = [
        draw_final_epsilon(seed, i, hp.final_epsilons, hp.final_epsilon_probs)
        if issubclass(method, ValueMethod) else None
        for i in range(n_workers)
    ]
    config = RunConfig(algo=algo, env_id=env_id, n_workers=n_workers, seed=seed,
                       max_steps=max_steps, hyperparameters=hp, model_spec=spec,
                       env_kwargs=env_kwargs, frames_per_step=spaces.frames_per_step)
    return _Plan(config=config, context=context, functions=functions, method=method,
                 stop_at_return=stop_at_return, time_limit=time_limit, checkpoint=checkpoint,
                 previous_episodes=previous_episodes, start_step=start_step,
                 final_epsilons=final_epsilons, save_to=save_to,
                 checkpoint_every=checkpoint_every)


def _family(env_id, discrete):
    if is_atari(env_id):
        return "atari"
    if is_minigrid(env_id):
        return "minigrid"
    return None if discrete else "continuous"


def _context(start_method):
    methods = multiprocessing.get_all_start_methods()
    if start_method is None:
        start_method = "forkserver" if sys.platform.startswith("linux") else "spawn"
    if start_method not in methods:
        raise ConfigError(f"start_method {start_method!r} is not available here; "
                          f"choose one of {', '.join(methods)}")
    context = torch_mp.get_context(start_method)
    if start_method == "forkserver":
        # The fork server imports torch and the worker once; each worker then starts
        # as a fork of it, quickly, and without the threads of a notebook kernel.
        context.set_forkserver_preload(["a3c_course.engine.worker"])
    return context


def _split_settings(settings):
    """Exercise functions (by name) apart from hyperparameters; unknown names refused."""
    functions, hp_overrides = {}, {}
    for name, value in settings.items():
        if name in targets.EXERCISE_FUNCTIONS:
            if not callable(value):
                raise ConfigError(f"{name} must be a function like "
                                  f"a3c_course.targets.{name}, not {value!r}")
            functions[name] = value
        elif name in HYPERPARAMETER_NAMES:
            hp_overrides[name] = value
        else:
            known = HYPERPARAMETER_NAMES + tuple(targets.EXERCISE_FUNCTIONS)
            raise ConfigError(unknown_names_message([name], known))
    try:
        blob = cloudpickle.dumps(functions)
    except Exception as err:
        raise ConfigError(f"the exercise functions could not be sent to the workers ({err}); "
                          "define them at the top level of a cell or module") from err
    return blob, hp_overrides


def _read_resume(resume, algo, env_id, spec):
    checkpoint = load_checkpoint(resume)
    if checkpoint["algo"] != algo or checkpoint["env_id"] != env_id:
        raise ConfigError(f"{resume} holds a {checkpoint['algo']} run on {checkpoint['env_id']}; "
                          f"it cannot resume as {algo} on {env_id}")
    if checkpoint["model_spec"] != spec:
        raise ConfigError(f"{resume} holds a model {checkpoint['model_spec']}, but these settings "
                          f"build {spec}; resume with the settings of the original run")
    folder = Path(resume)
    episodes = read_episodes(folder) if (folder / "episodes.csv").exists() else []
    return checkpoint, episodes


def draw_final_epsilon(seed, worker, values, probs) -> float:
    """Worker ``worker``'s final epsilon, drawn from ``values`` with ``probs`` (the paper's
    0.1, 0.01, 0.5 with 0.4, 0.3, 0.3), reproducibly from the run's seed."""
    rng = np.random.default_rng(worker_seed(seed, worker) + 1)
    return float(rng.choice(np.asarray(values, dtype=float), p=np.asarray(probs, dtype=float)))


@contextmanager
def _main_module_hidden():
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


@contextmanager
def _sigint_ignored():
    """Ignore Ctrl-C while starting workers: they inherit it, and the parent alone decides."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Run:
    """One execution of a plan: shared state, workers, the parent's loop, the result."""

    def __init__(self, plan: _Plan, monitor):
        self.plan = plan
        self.config = plan.config
        self.monitor = monitor
        self.episodes = list(plan.previous_episodes)
        self.time_offset = self.episodes[-1].wall_seconds if self.episodes else 0.0
        self.window = deque((e.episode_return for e in self.episodes[-SOLVE_WINDOW:]),
                            maxlen=SOLVE_WINDOW)
        self.stop_reason = ""
        self.error = None
        self.done = set()
        self.processes = []

    # -- setup ----------------------------------------------------------------------
    def _build_shared(self) -> SharedState:
        plan, config, hp = self.plan, self.config, self.config.hyperparameters
        torch.manual_seed(config.seed)
        model = build_model(config.model_spec)
        # The shared weights as views of one flat tensor: the workers' sync and the
        # optimizer's step then run on it at once (see flat_params).
        flatten_parameters(model)
        checkpoint = plan.checkpoint
        if checkpoint:
            model.load_state_dict(checkpoint["model_state"])
        model.share_memory()
        optimizer = build_optimizer(hp.optimizer, model.parameters(), hp.lr,
                                    hp.rmsprop_alpha, hp.rmsprop_eps)
        if checkpoint and checkpoint.get("optimizer_state"):
            optimizer.load_state_dict(checkpoint["optimizer_state"])
        target_model = None
        if plan.method.uses_target_network:
            target_model = build_model(config.model_spec)
            state = (checkpoint or {}).get("target_model_state") or model.state_dict()
            target_model.load_state_dict(state)
            target_model.share_memory()
        step_counts = torch.zeros(config.n_workers + 1, dtype=torch.int64)
        step_counts[-1] = plan.start_step
        target_syncs = torch.tensor([plan.start_step // hp.target_update_interval])
        return SharedState(
            model=model, optimizer=optimizer, target_model=target_model,
            step_counts=step_counts.share_memory_(), target_syncs=target_syncs.share_memory_(),
            stop=self.plan.context.Event(), queue=self.plan.context.Queue(),
            start_time=0.0,
        )

    # -- the parent's loop ------------------------------------------------------------
    def execute(self) -> RunResult:
        self.shared = shared = self._build_shared()
        self.start = time.time()
        shared.start_time = self.start - self.time_offset
        self.monitor.start()
        try:
            self._start_workers()
            self._listen()
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
        finally:
            self._stop_workers()
            self.wall_seconds = time.time() - self.start
        result = self._result()
        self.monitor.close(result)
        if self.plan.save_to is not None:
            result.save(self.plan.save_to)
        if self.error is not None:
            raise self._error(result)
        return result

    def _start_workers(self):
        ctx, shared = self.plan.context, self.shared
        with _sigint_ignored(), _main_module_hidden():
            for i in range(self.config.n_workers):
                process = ctx.Process(
                    target=run_worker,
                    args=(i, self.config, shared, self.plan.functions, self.plan.final_epsilons[i]),
                    name=f"a3c_course-worker-{i}",
                    daemon=True,
                )
                process.start()
                self.processes.append(process)

    def _listen(self):
        plan = self.plan
        next_monitor = 0.0
        next_checkpoint = time.monotonic() + (plan.checkpoint_every or math.inf)
        while not self.stop_reason:
            for message in _drain(self.shared.queue, POLL_SECONDS):
                self._handle(message)
            now = time.monotonic()
            elapsed = time.time() - self.start
            if len(self.done) == len(self.processes):
                self.stop_reason = self.stop_reason or "max_steps"
            elif plan.time_limit is not None and elapsed >= plan.time_limit:
                self.stop_reason = "time_limit"
            elif self.monitor.stop_requested:
                self.stop_reason = "stopped"
            else:
                self._check_alive()
            if now >= next_monitor:
                next_monitor = now + MONITOR_SECONDS
                self.monitor.update(self._global_step(), self.episodes, elapsed)
            if now >= next_checkpoint:
                next_checkpoint = now + plan.checkpoint_every
                self._result(partial=True).save(plan.save_to)

    def _handle(self, message):
        kind = message[0]
        if kind == EPISODE:
            _, worker, wall, step, episode_return, length = message
            self.episodes.append(Episode(wall, step, worker, episode_return, length))
            self.window.append(episode_return)
            target = self.plan.stop_at_return
            if (target is not None and len(self.window) == SOLVE_WINDOW
                    and sum(self.window) / SOLVE_WINDOW >= target and not self.stop_reason):
                self.stop_reason = "solved"
        elif kind == ERROR:
            if self.error is None:
                self.error = message
            self.stop_reason = "error"
        elif kind == DONE:
            self.done.add(message[1])

    def _check_alive(self):
        for i, process in enumerate(self.processes):
            if process.exitcode is not None and i not in self.done:
                # It may have reported before exiting: read what is left first.
                for message in _drain(self.shared.queue, 0.2):
                    self._handle(message)
                if i not in self.done and self.error is None:
                    self.error = (ERROR, i, "exception",
                                  f"worker {i} died with exit code {process.exitcode} "
                                  "without reporting an error (killed, or out of memory?)",
                                  "", self._global_step())
                    self.stop_reason = "error"

    def _global_step(self) -> int:
        return worker_module.global_step(self.shared.step_counts)

    # -- shutdown ---------------------------------------------------------------------
    def _stop_workers(self):
        shared = self.shared
        shared.stop.set()
        try:
            deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
            while any(p.is_alive() for p in self.processes) and time.monotonic() < deadline:
                # Keep reading: a worker cannot exit while its queue buffer is unsent.
                for message in _drain(shared.queue, POLL_SECONDS):
                    self._handle(message)
        except KeyboardInterrupt:
            self.stop_reason = self.stop_reason or "interrupted"
        finally:
            for process in self.processes:
                if process.is_alive():
                    process.terminate()
            for process in self.processes:
                process.join(2.0)
                if process.is_alive():
                    process.kill()
                    process.join()
            for message in _drain(shared.queue, 0.0):
                self._handle(message)
            shared.queue.close()
            shared.queue.cancel_join_thread()

    # -- what comes back --------------------------------------------------------------
    def _result(self, partial=False) -> RunResult:
        config, shared = self.config, self.shared
        model = build_model(config.model_spec)
        model.load_state_dict(shared.model.state_dict())
        target_state = None
        if shared.target_model is not None:
            target_state = copy.deepcopy(shared.target_model.state_dict())
        counts = shared.step_counts.tolist()
        workers = [
            {"worker": i, "seed": worker_seed(config.seed, i),
             "final_epsilon": self.plan.final_epsilons[i],
             "pid": process.pid, "steps": counts[i]}
            for i, process in enumerate(self.processes)
        ]
        elapsed = time.time() - self.start if partial else self.wall_seconds
        return RunResult(
            algo=config.algo, env_id=config.env_id, n_workers=config.n_workers, seed=config.seed,
            max_steps=config.max_steps, hyperparameters=config.hyperparameters, model=model,
            episodes=list(self.episodes), total_steps=sum(counts), start_step=self.plan.start_step,
            wall_seconds=elapsed, stop_at_return=self.plan.stop_at_return,
            stop_reason="running" if partial else self.stop_reason,
            frames_per_step=config.frames_per_step, workers=workers,
            optimizer_state=copy.deepcopy(shared.optimizer.state_dict()),
            target_model_state=target_state,
            start_method=self.plan.context.get_start_method(),
        )

    def _error(self, result):
        _, worker, kind, message, worker_traceback, step = self.error
        if kind == "nonfinite":
            return NonFiniteLossError(
                f"training stopped: {message}. Try a smaller lr or max_grad_norm; "
                "err.result holds what was learned before.",
                global_step=step, worker_traceback=worker_traceback, worker=worker, result=result)
        text = f"worker {worker} failed at global step {step}: {message}"
        if worker_traceback:
            text += "\n\nTraceback in the worker process:\n" + worker_traceback
        return WorkerError(text, worker_traceback=worker_traceback, worker=worker, result=result)


def _drain(queue, timeout):
    """Every message waiting on ``queue``, waiting up to ``timeout`` seconds for the first."""
    messages = []
    try:
        messages.append(queue.get(timeout=timeout) if timeout > 0 else queue.get_nowait())
        while True:
            messages.append(queue.get_nowait())
    except (queue_module.Empty, EOFError, OSError):
        pass
    return messages
