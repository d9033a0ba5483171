"""What the parent's loop needs from the machinery that runs the workers: a backend.

``train()`` has one parent loop (:class:`~a3c_course.engine.trainer.TrainingRun`):
it reads the workers' messages (finished episodes, diagnostics, errors), watches the
stop conditions, shows progress, saves checkpoints and builds the result. What differs
between running the workers on one machine and on a cluster is behind this interface:

============================  ==============================  ===================================
the parent asks               shared memory (one machine)     Ray (one machine or a cluster)
============================  ==============================  ===================================
:meth:`~Backend.prepare`      model, statistics, counters     start or join a cluster; a
                              in shared memory                parameter-server actor holds the
                                                              model and the statistics
:meth:`~Backend.start_workers` N processes                    N worker actors
:meth:`~Backend.messages`     the results queue               the parameter server's outbox
:meth:`~Backend.global_step`  the shared step counters        the counters the server keeps
:meth:`~Backend.exited`       processes' exit codes           actors whose ``run`` returned
                                                              or died
:meth:`~Backend.request_stop` a shared event                  a flag the server sends back
:meth:`~Backend.snapshot`     the shared model's state        the server's model's state
============================  ==============================  ===================================

The workers themselves run the same :class:`~a3c_course.engine.worker.WorkerLoop`
either way: only how they copy the weights and hand over their gradients differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SHARED_MEMORY = "shared_memory"
RAY = "ray"
BACKENDS = (SHARED_MEMORY, RAY)


@dataclass
class Snapshot:
    """The learner's state at one moment: what a result or a checkpoint keeps."""

    model_state: dict
    optimizer_state: dict
    target_model_state: dict | None
    step_counts: list
    """Steps per worker, then the steps of the runs this one resumed."""
    pids: list
    """Each worker's process id (``None`` where not known)."""
    staleness_histogram: dict = field(default_factory=dict)
    """``{staleness: updates}`` over every update applied so far."""
    return_statistics: list | None = None
    """``scale_rewards``' statistics summed over workers and earlier runs (count, sum,
    sum of squares of the discounted returns); ``None`` where not kept."""


class Backend:
    """The interface; see the table above. Every method is called from the parent only."""

    name = ""
    start_method = ""
    """What ``result.start_method`` says (``forkserver``, ``ray``...)."""

    def prepare(self, startup) -> None:
        """Everything before the workers start: allocate, or start a cluster.

        ``startup`` is the run's :class:`~a3c_course.engine.processes.StartupInterrupts`:
        ``startup.interrupted`` says that Ctrl-C came meanwhile (skip what can be skipped)."""
        raise NotImplementedError

    def start_workers(self, start_time: float, startup) -> None:
        """Start the workers (none more once ``startup.interrupted``); ``start_time`` is
        the run's ``time.time()`` at its start."""
        raise NotImplementedError

    def workers_ready(self) -> None:
        """Every worker has said ``READY`` (built its environment and model)."""

    def messages(self, timeout: float) -> list:
        """Every message the workers sent since the last call, waiting up to ``timeout``
        seconds for the first."""
        raise NotImplementedError

    def global_step(self) -> int:
        raise NotImplementedError

    def exited(self) -> dict:
        """``{worker: how}`` for each worker that has ended (``how`` says how, for an
        error message when it ended without reporting: ``"exit code -9"``)."""
        raise NotImplementedError

    def any_running(self) -> bool:
        raise NotImplementedError

    def request_stop(self) -> None:
        """Tell every worker to stop after its current update."""
        raise NotImplementedError

    def terminate(self) -> None:
        """End the workers that are still running (after the grace period)."""
        raise NotImplementedError

    def snapshot(self) -> Snapshot:
        raise NotImplementedError

    def info(self) -> dict:
        """What the result keeps about the backend: its name and, for a cluster, where
        it ran and how long it took to start."""
        return {"backend": self.name}

    def close(self) -> None:
        """Release everything (queues, actors, a cluster this run started). Idempotent."""
