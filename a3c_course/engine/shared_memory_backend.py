"""The workers as processes of one machine, sharing the model's memory: the paper's setting.

The parent allocates the model, the optimizer's statistics and the counters in shared
memory (:func:`~a3c_course.engine.shared.build_shared_state`), then starts one process
per worker (:func:`~a3c_course.engine.worker.run_worker`). The workers copy the shared
weights and apply their gradients to them directly, without a lock (Hogwild), and
send their episodes to the parent on a queue.
"""

from __future__ import annotations

import copy

from .backend import SHARED_MEMORY, Backend, Snapshot
from .fork_server import start_fork_server
from .leftovers import NamedSemaphores
from .processes import drain, main_module_hidden
from .shared import build_shared_state, global_step
from .worker import run_worker


class SharedMemoryBackend(Backend):
    """N worker processes and one model in shared memory (see the module's docstring)."""

    name = SHARED_MEMORY

    def __init__(self, plan):
        self.plan = plan
        self.shared = None
        self.semaphores = None
        self.processes = []
        self.start_method = plan.context.get_start_method()

    def prepare(self, startup) -> None:
        if self.start_method == "forkserver" and not startup.interrupted:
            # Every input is checked: start the fork server now. It imports torch and the
            # worker (a second or two) while this process builds the shared model.
            start_fork_server()
        self.shared = build_shared_state(self.plan)
        # Named semaphores (the stop event's, the queue's): recorded until every worker
        # has opened them, so that a killed run's are removed by the next (leftovers).
        self.semaphores = NamedSemaphores(self.shared.stop, self.shared.queue)

    def start_workers(self, start_time: float, startup) -> None:
        plan, shared = self.plan, self.shared
        shared.start_time = start_time
        with main_module_hidden():
            for i in range(plan.config.n_workers):
                if startup.interrupted:
                    break  # no more: they would only be stopped again
                process = plan.context.Process(
                    target=run_worker,
                    args=(i, plan.config, shared, plan.functions, plan.final_epsilons[i]),
                    name=f"a3c_course-worker-{i}",
                    daemon=True,
                )
                process.start()
                self.processes.append(process)

    def workers_ready(self) -> None:
        self.semaphores.release()  # every worker has them open: names not needed

    def messages(self, timeout: float) -> list:
        if self.shared.queue is None:
            return []
        return drain(self.shared.queue, timeout)

    def global_step(self) -> int:
        return global_step(self.shared.step_counts)

    def exited(self) -> dict:
        return {i: f"died with exit code {process.exitcode}"
                for i, process in enumerate(self.processes) if process.exitcode is not None}

    def any_running(self) -> bool:
        return any(process.is_alive() for process in self.processes)

    def request_stop(self) -> None:
        self.shared.stop.set()

    def terminate(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        for process in self.processes:
            process.join(2.0)
            if process.is_alive():
                process.kill()
                process.join()

    def snapshot(self) -> Snapshot:
        shared = self.shared
        target_state = None
        if shared.target_model is not None:
            target_state = copy.deepcopy(shared.target_model.state_dict())
        histogram = {}
        for staleness, count in enumerate(shared.staleness_counts.sum(0).tolist()):
            if count:
                histogram[staleness] = count
        return Snapshot(
            model_state=copy.deepcopy(shared.model.state_dict()),
            optimizer_state=copy.deepcopy(shared.optimizer.state_dict()),
            target_model_state=target_state,
            step_counts=shared.step_counts.tolist(),
            pids=[process.pid for process in self.processes],
            staleness_histogram=histogram,
            return_statistics=shared.return_statistics.sum(0).tolist(),
        )

    def close(self) -> None:
        if self.semaphores is not None:
            self.semaphores.release()
        if self.shared is not None and self.shared.queue is not None:
            # Read nothing more; do not wait for the queue's feeder thread at exit.
            self.shared.queue.close()
            self.shared.queue.cancel_join_thread()
            self.shared.queue = None
