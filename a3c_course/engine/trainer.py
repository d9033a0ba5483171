"""``train()``: one shared model, N worker processes, and a parent that only listens.

The data flows one way. The parent:

1. checks every input (before any process starts, so mistakes fail fast and clearly);
2. builds the environment once to read its spaces, then the model, and moves the
   model, the optimizer's statistics and the step counters to shared memory;
3. starts ``n_workers`` processes (:func:`a3c_course.worker.run_worker`), each with its
   own environment and seed (steps 2 and 3 are the backend's: with ``backend="ray"``
   a parameter server holds the model and the workers are Ray actors, see
   :mod:`a3c_course.engine.backend`);
4. drains the results queue: finished episodes, for the live view and the stop
   conditions (``max_steps``, ``stop_at_return``, ``time_limit``, Ctrl-C, Stop button);
5. sets the stop event, waits for the workers (terminating any that do not stop in
   time) and returns a :class:`~a3c_course.results.RunResult`.

Whatever happens (an interrupt, a worker's exception, a NaN loss, a full disk) no
worker process outlives ``train()``, and what was learned so far is returned or
attached to the error. An interrupt during start-up is deferred until the start-up is
over (:class:`~a3c_course.engine.processes.StartupInterrupts`), then stops the run.

The same parent, without the checks, the live view and the fault handling, is the
``train`` function of :mod:`a3c_course.paper.a3c_in_one_file`: read it first.
"""

from __future__ import annotations

import importlib
import math
import time
import warnings
from collections import deque

from ..errors import ConfigError, NonFiniteLossError, SaveError, WorkerError
from ..live.choose import make_monitor
from ..paper.models import build_model
from ..runs.diagnostics import DiagnosticsTable
from ..runs.result import SOLVE_WINDOW, Episode, RunResult
from ..runs.staleness import summarize_staleness
from .backend import RAY, SHARED_MEMORY, Backend
from .diagnostics import DIAGNOSTICS
from .leftovers import remove_stale_semaphores
from .plan import RunPlan, make_plan
from .processes import StartupInterrupts
from .shared import worker_seed
from .shared_memory_backend import SharedMemoryBackend
from .worker import DONE, EPISODE, ERROR, READY
from .worker_process import STALLED

SHUTDOWN_GRACE_SECONDS = 3.0
POLL_SECONDS = 0.05
MONITOR_SECONDS = 0.25
STALL_SECONDS = 30.0
"""A worker that has taken no step for this long says which function it is in."""


class StalledRunWarning(UserWarning):
    """A worker has taken no step for a long while (the message says where it is)."""


def train(
    algo: str = "a3c",
    env_id: str | None = None,
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
    tensorboard=None,
    env=None,
    backend: str = SHARED_MEMORY,
    ray_address: str | None = None,
    **settings,
) -> RunResult:
    """Train ``algo`` on ``env_id`` with ``n_workers`` processes sharing one model.

    Args:
        algo: ``"a3c"``, ``"q"`` (one-step Q-learning), ``"sarsa"`` (one-step Sarsa)
            or ``"nstep-q"`` (n-step Q-learning).
        env_id: a Gymnasium id (see :func:`a3c_course.make_env`), ``"CartPole-v1"`` by
            default. Your own environment works under every start method: an id you
            registered (in a cell, a script or a module), or ``"my_module:MyEnv-v0"``.
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
            ``checkpoint_every`` seconds while it trains (checked before training).
        checkpoint_every: seconds between periodic saves to ``save_to``.
        env_kwargs: keywords for :func:`a3c_course.make_env` in every worker.
        tensorboard: a folder for TensorBoard logs (``"runs/tb"``): the episode returns
            and every diagnostic go to a new subfolder of it for this run; view them with
            ``tensorboard --logdir runs/tb``. Needs the ``tensorboard`` package.
        env: instead of ``env_id``, an environment class or a function that returns an
            environment (``train(env=MyEnv)``); it is sent to the workers by value.
        backend: ``"shared_memory"``: worker processes on this machine sharing the
            model's memory (the paper's setting); ``"ray"``: worker actors on a Ray
            cluster and a parameter server that holds the model (see
            :mod:`a3c_course.engine.ray_backend`). Needs the ``ray`` package.
        ray_address: with ``backend="ray"``: ``None`` starts a local cluster sized to
            this machine (and stops it at the end), unless this process is connected
            to one already; ``"auto"`` or ``"HOST:PORT"`` joins a running cluster
            (``ray start --head``) and leaves it running.
        **settings: hyperparameters (see :class:`a3c_course.config.Hyperparameters`:
            ``lr``, ``gamma``, ``t_max``, ``entropy_beta``...) and exercise functions
            to use instead of the reference ones, by name: ``n_step_returns=my_fn``.

    Returns:
        A :class:`~a3c_course.results.RunResult`, also when training was interrupted
        (``result.stop_reason == "interrupted"``), even during start-up.

    Raises:
        ConfigError: bad input, before any process starts.
        WorkerError: a worker raised (or a student's function returned the wrong shape);
            ``err.worker_traceback`` has its traceback and ``err.result`` what was
            learned until then.
        NonFiniteLossError: the loss became NaN or infinite at ``err.global_step``.
        SaveError: ``save_to`` could not be written at the end; ``err.result`` holds
            the run (``err.result.save(another_folder)``).
    """
    with StartupInterrupts() as startup:
        remove_stale_semaphores()  # those of runs of ours that were killed
        env_id = _environment_id(env_id, env)
        plan = make_plan(algo, env_id, n_workers, seed, max_steps, stop_at_return, time_limit,
                         start_method, resume, save_to, checkpoint_every, env_kwargs, settings,
                         backend=backend, ray_address=ray_address)
        plan.config.stall_seconds = STALL_SECONDS
        monitor = make_monitor(live, max_steps=max_steps, start_step=plan.start_step,
                               stop_at_return=stop_at_return, title=f"{algo} on {env_id}",
                               time_limit=time_limit)
        if tensorboard is not None:
            from ..live.tensorboard import TensorBoardLog

            monitor = TensorBoardLog(tensorboard, inner=monitor, run_name=f"{algo}_{env_id}")
        # What the monitor imports to draw (matplotlib), imported now: an interrupt in
        # the middle of an import would leave it broken for the rest of the session.
        for module in getattr(monitor, "imports", ()):
            importlib.import_module(module)
        return TrainingRun(plan, monitor, make_backend(plan)).execute(startup)


def make_backend(plan) -> Backend:
    """The backend the plan chose (:mod:`a3c_course.engine.backend`)."""
    if plan.backend == RAY:
        from .ray_backend.backend import RayBackend

        return RayBackend(plan)
    return SharedMemoryBackend(plan)


def _environment_id(env_id, env) -> str:
    if env is None:
        return "CartPole-v1" if env_id is None else env_id
    if env_id is not None:
        raise ConfigError("give env_id or env, not both")
    if isinstance(env, str):
        return env
    from ..envs.user_envs import register_callable

    return register_callable(env)


class TrainingRun:
    """One execution of a plan: the backend's workers, the parent's loop, the result."""

    def __init__(self, plan: RunPlan, monitor, backend: Backend):
        self.plan = plan
        self.config = plan.config
        self.monitor = monitor
        self.backend = backend
        self.episodes = list(plan.previous_episodes)
        self.time_offset = self.episodes[-1].wall_seconds if self.episodes else 0.0
        self.window = deque((e.episode_return for e in self.episodes[-SOLVE_WINDOW:]),
                            maxlen=SOLVE_WINDOW)
        self.diagnostics = DiagnosticsTable(plan.previous_diagnostics)
        self.startup_seconds = None  # until the workers' first steps are counted
        self.stop_reason = ""
        self.error = None
        self.done = {}  # worker -> its steps, from its last message
        self.ready = set()
        self.save_problems = set()

    # -- the parent's loop ------------------------------------------------------------
    def execute(self, startup=None) -> RunResult:
        startup = startup if startup is not None else StartupInterrupts()
        backend = self.backend
        try:
            backend.prepare(startup)
        except BaseException:
            startup.end()
            backend.close()
            raise
        self.start = time.time()
        try:
            try:
                try:
                    self.monitor.show_settings(self.plan.settings)
                    self.monitor.watch_diagnostics(self.diagnostics)
                    self.monitor.start()
                    backend.start_workers(self.start - self.time_offset, startup)
                finally:
                    if startup.end():  # Ctrl-C while starting: stop now, return what there is
                        self.stop_reason = "interrupted"
                self._listen()
            except KeyboardInterrupt:
                self.stop_reason = "interrupted"
            finally:
                self._stop_workers()
                self.wall_seconds = time.time() - self.start
            result = self._result()
        finally:
            backend.close()
        self.monitor.close(result)
        self._save_at_the_end(result)
        if self.error is not None:
            raise self._error(result)
        return result

    def _listen(self):
        plan = self.plan
        next_monitor = 0.0
        next_checkpoint = time.monotonic() + (plan.checkpoint_every or math.inf)
        while not self.stop_reason:
            for message in self.backend.messages(POLL_SECONDS):
                self._handle(message)
            now = time.monotonic()
            elapsed = time.time() - self.start
            if self.startup_seconds is None and self._global_step() > plan.start_step:
                self.startup_seconds = elapsed
            if len(self.done) == self.config.n_workers:
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
                self._save_while_training()

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
        elif kind == DIAGNOSTICS:
            self.diagnostics.append(message[1])
        elif kind == ERROR:
            if self.error is None:
                self.error = message
            self.stop_reason = "error"
        elif kind == DONE:
            self.done[message[1]] = message[2]
        elif kind == READY:
            self.ready.add(message[1])
            if len(self.ready) == self.config.n_workers:
                self.backend.workers_ready()
        elif kind == STALLED:
            _, worker, seconds, where = message
            warnings.warn(StalledRunWarning(
                f"worker {worker} has taken no step for {seconds} s; it is in {where}. If that "
                "function never returns, stop the run (the Stop button, the kernel's interrupt "
                "or Ctrl-C): train() returns what was learned so far."), stacklevel=2)

    def _check_alive(self):
        for i, how in self.backend.exited().items():
            if i not in self.done:
                # It may have reported before exiting: read what is left first.
                for message in self.backend.messages(0.2):
                    self._handle(message)
                if i not in self.done and self.error is None:
                    self.error = (ERROR, i, "exception",
                                  f"worker {i} {how} without reporting an error "
                                  "(killed, or out of memory?)", "", self._global_step())
                    self.stop_reason = "error"

    def _global_step(self) -> int:
        return self.backend.global_step()

    # -- saving -----------------------------------------------------------------------
    def _save_while_training(self):
        """A periodic save; a failure is told once and training goes on (the last good
        checkpoint stays in place, and the save at the end tries again)."""
        try:
            self._result(partial=True).save(self.plan.save_to)
        except SaveError as err:
            if str(err) not in self.save_problems:
                self.save_problems.add(str(err))
                warnings.warn(f"{err}; training goes on, and the save at the end tries again",
                              stacklevel=2)

    def _save_at_the_end(self, result):
        if self.plan.save_to is None:
            return
        try:
            result.save(self.plan.save_to)
        except SaveError as err:
            err.result = result
            err.args = (f"{err}. Nothing learned is lost: err.result holds the whole run; "
                        "save it elsewhere with err.result.save('another/folder')",)
            if self.error is None:
                raise
            warnings.warn(str(err), stacklevel=3)  # the worker's error is raised instead

    # -- shutdown ---------------------------------------------------------------------
    def _stop_workers(self):
        backend = self.backend
        try:
            backend.request_stop()
            deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
            while backend.any_running() and time.monotonic() < deadline:
                # Keep reading: a worker cannot exit while its queue buffer is unsent.
                for message in backend.messages(POLL_SECONDS):
                    self._handle(message)
        except KeyboardInterrupt:
            self.stop_reason = self.stop_reason or "interrupted"
        finally:
            backend.terminate()
            for message in backend.messages(0.0):
                self._handle(message)

    # -- what comes back --------------------------------------------------------------
    def _result(self, partial=False) -> RunResult:
        config = self.config
        snapshot = self.backend.snapshot()
        model = build_model(config.model_spec)
        model.load_state_dict(snapshot.model_state)
        counts = list(snapshot.step_counts)
        for worker, steps in self.done.items():
            counts[worker] = max(counts[worker], steps)  # a worker's own last word
        workers = [
            {"worker": i, "seed": worker_seed(config.seed, i),
             "final_epsilon": self.plan.final_epsilons[i],
             "pid": snapshot.pids[i] if i < len(snapshot.pids) else None, "steps": counts[i]}
            for i in range(config.n_workers)
        ]
        elapsed = time.time() - self.start if partial else self.wall_seconds
        return RunResult(
            algo=config.algo, env_id=config.env_id, n_workers=config.n_workers, seed=config.seed,
            max_steps=config.max_steps, hyperparameters=config.hyperparameters, model=model,
            episodes=list(self.episodes), total_steps=sum(counts), start_step=self.plan.start_step,
            wall_seconds=elapsed, stop_at_return=self.plan.stop_at_return,
            stop_reason="running" if partial else self.stop_reason,
            frames_per_step=config.frames_per_step, workers=workers,
            optimizer_state=snapshot.optimizer_state,
            target_model_state=snapshot.target_model_state,
            return_statistics=snapshot.return_statistics,
            start_method=self.backend.start_method,
            settings=self.plan.settings.to_dict(),
            diagnostics=DiagnosticsTable(self.diagnostics.rows),
            startup_seconds=self.startup_seconds,
            env_kwargs=dict(config.env_kwargs),
            backend=self.backend.info(),
            staleness=summarize_staleness(snapshot.staleness_histogram),
        )

    def _error(self, result):
        _, worker, kind, message, worker_traceback, step, *more = self.error
        details = more[0] if more else {}
        if kind == "nonfinite":
            return NonFiniteLossError(
                f"training stopped: {message}. {self._nan_advice(details)} "
                "err.result holds what was learned before.",
                global_step=step, worker_traceback=worker_traceback, worker=worker, result=result)
        if kind == "student":
            return WorkerError(f"{message} (worker {worker}, at global step {step})",
                               worker_traceback=worker_traceback, worker=worker, result=result)
        where = f"worker {worker}" if worker is not None else "the parameter server"
        text = f"{where} failed at global step {step}: {message}"
        if worker_traceback:
            text += "\n\nTraceback in the worker process:\n" + worker_traceback
        return WorkerError(text, worker_traceback=worker_traceback, worker=worker, result=result)

    def _nan_advice(self, details) -> str:
        culprits = details.get("non_finite_functions") or []
        if culprits:
            name = culprits[0]
            return (f"Your {name} returned a NaN or an infinity just before: check it "
                    f"with check_{name}({name}) and look for a division by zero or a log of 0.")
        own = self.plan.function_names
        if own:
            return (f"Your own {', '.join(own)} ran in the workers: check them first (their "
                    "check cells); if they pass, try a smaller lr or max_grad_norm.")
        return "Try a smaller lr or max_grad_norm."


