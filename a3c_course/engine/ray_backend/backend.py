"""``train(..., backend="ray")``: what the parent's loop asks of a Ray cluster.

The parent's loop is the shared-memory engine's (:class:`~a3c_course.engine.trainer.TrainingRun`);
this class answers its questions (:mod:`a3c_course.engine.backend`) with a cluster
(:mod:`.cluster`), a parameter-server actor (:mod:`.parameter_server`) on the parent's
machine, and one worker actor per worker (:mod:`.remote_worker`), each on a CPU of its own.

- messages and the global step: one call to the server, which collected them from the
  workers' updates, plus what each worker's ``run`` returned when it ended;
- a worker ended: its ``run`` returned (it reported ``DONE``, and an error if it had
  one), or raised (its actor died: killed, out of memory, its machine gone);
- stop: a flag in the server, which every answer to an update carries;
- the result and checkpoints: the server's model and statistics.

A server that dies ends the run with an error; the result then holds the last state
read from it (the periodic checkpoint's, or the initial one).
"""

from __future__ import annotations

import copy
import time

from ..backend import RAY, Backend, Snapshot
from ..worker import ERROR
from .cluster import RayCluster
from .parameter_server import ParameterServer
from .remote_worker import RayWorker

CALL_TIMEOUT_SECONDS = 60.0
"""How long the parent waits for the server to answer (it answers in milliseconds)."""


class RayBackend(Backend):
    """Worker actors and a parameter server on a Ray cluster (see the module's docstring)."""

    name = RAY
    start_method = "ray"

    def __init__(self, plan):
        self.plan = plan
        self.cluster = RayCluster(plan.ray_address, plan.config.n_workers)
        self.server = None
        self.server_lost = False
        self.actors = []
        self.runs = {}  # ObjectRef of a worker's run() -> worker index
        self.ended = {}  # worker -> how it ended
        self.pending = []  # messages read but not yet handed to the parent
        self.counts = [0] * plan.config.n_workers + [plan.start_step]
        self.last_snapshot = None

    # -- before the clock starts ---------------------------------------------------------
    def prepare(self, startup) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self.cluster.connect()
        plan = self.plan
        here = ray.get_runtime_context().get_node_id()
        server_class = ray.remote(num_cpus=0, max_restarts=0)(ParameterServer)
        self.server = server_class.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=True),
        ).remote(plan.config, plan.checkpoint, plan.method.uses_target_network,
                 plan.start_step, plan.functions)
        self.last_snapshot = self._read_state()  # also waits until the server is up

    def start_workers(self, start_time: float, startup) -> None:
        import ray

        plan = self.plan
        worker_class = ray.remote(num_cpus=1, max_restarts=0)(RayWorker)
        for i in range(plan.config.n_workers):
            if startup.interrupted:
                break  # no more: they would only be stopped again
            actor = worker_class.remote()
            self.actors.append(actor)
            run = actor.run.remote(i, plan.config, self.server, plan.functions,
                                   plan.final_epsilons[i], start_time,
                                   plan.method.uses_target_network)
            self.runs[run] = i

    # -- while it trains -----------------------------------------------------------------
    def messages(self, timeout: float) -> list:
        import ray

        self._collect_ended()
        messages, self.pending = self.pending, []
        if self.server is not None and not self.server_lost:
            try:
                new, self.counts = ray.get(self.server.poll.remote(),
                                           timeout=CALL_TIMEOUT_SECONDS)
                messages.extend(new)
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as err:
                self.server_lost = True
                messages.append((ERROR, None, "exception",
                                 f"the parameter server stopped answering ({_first_line(err)})",
                                 "", self.global_step()))
        if not messages and timeout > 0:
            time.sleep(timeout)  # nothing yet: wait as a queue read would
        return messages

    def global_step(self) -> int:
        return int(sum(self.counts))

    def exited(self) -> dict:
        self._collect_ended()
        return dict(self.ended)

    def any_running(self) -> bool:
        self._collect_ended()
        return len(self.ended) < len(self.actors)

    def _collect_ended(self) -> None:
        """Note the workers whose ``run`` has returned (keeping its last reports) or failed."""
        import ray

        waiting = [run for run, i in self.runs.items() if i not in self.ended]
        if not waiting:
            return
        done, _ = ray.wait(waiting, num_returns=len(waiting), timeout=0)
        for run in done:
            i = self.runs[run]
            try:
                self.pending.extend(ray.get(run))
                self.ended[i] = "ended"
            except ray.exceptions.RayActorError as err:
                self.ended[i] = f"lost its Ray actor ({_first_line(err)})"
            except ray.exceptions.RayTaskError as err:
                # An error outside the worker loop's own reporting (it reports its own).
                self.pending.append((ERROR, i, "exception", _first_line(err), str(err),
                                     self.global_step()))
                self.ended[i] = "failed"

    # -- the end ---------------------------------------------------------------------------
    def request_stop(self) -> None:
        if self.server is not None and not self.server_lost:
            self.server.request_stop.remote()

    def terminate(self) -> None:
        import ray

        self._collect_ended()
        for run, i in self.runs.items():
            if i not in self.ended:
                ray.kill(self.actors[i])
                self.ended[i] = "stopped"

    def snapshot(self) -> Snapshot:
        if not self.server_lost:
            try:
                self.last_snapshot = self._read_state()
            except Exception:  # the server is gone: keep the last state read
                self.server_lost = True
        return copy.copy(self.last_snapshot)

    def _read_state(self) -> Snapshot:
        import ray

        model, optimizer, target, counts, staleness, pids = ray.get(
            self.server.state.remote(), timeout=CALL_TIMEOUT_SECONDS)
        self.counts = counts
        return Snapshot(model_state=model, optimizer_state=optimizer, target_model_state=target,
                        step_counts=counts,
                        pids=[(p or {}).get("pid") for p in pids],
                        staleness_histogram=staleness)

    def info(self) -> dict:
        return {"backend": RAY, **self.cluster.info()}

    def close(self) -> None:
        import ray

        if ray.is_initialized():
            for actor in self.actors + ([self.server] if self.server is not None else []):
                try:
                    ray.kill(actor)
                except Exception:  # already gone
                    pass
        self.actors, self.server = [], None
        self.cluster.close()


def _first_line(err) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
