"""A worker as a Ray actor: the same loop as a worker process, talking to a parameter server.

The worker runs :func:`~a3c_course.engine.worker.run_worker_loop` and its
:class:`~a3c_course.engine.worker.WorkerLoop`, the code a worker process runs: the
same methods, exercise functions, LSTM handling, episode and diagnostics reports. The
loop reads everything it shares with the others from its ``shared`` object; here that
is a :class:`RemoteState`, which looks the same from inside the loop but lives in this
process and talks to the server:

- ``shared.model``: a *mirror* of the server's weights, overwritten with the weights
  each of the server's answers carries; the loop's sync, ``theta' <- theta``, copies
  from it as it would from shared memory;
- ``shared.optimizer``: a :class:`ParameterServerOptimizer`. The loop hands its
  clipped gradients to the mirror's parameters and calls ``optimizer.step()``, as it
  would on the shared model; here ``step()`` sends them to the server, which applies
  them, and returns with the new weights;
- ``shared.step_counts``, ``shared.stop``: the counters and the stop flag of the
  server's last answer; ``shared.queue``: an outbox that the next update carries.

So a student's exercise function runs where it runs on one machine: the targets, the
loss and the action choice in the worker. An update function written against the
shared model (zero the gradients, backpropagate, clip, hand them to the shared
parameters, ``optimizer.step()``) works unchanged: its "shared model" is the mirror and
its ``optimizer.step()`` sends the gradient. An optimizer step (the RMSProp update
itself) runs in the server, on the server's statistics
(:data:`~a3c_course.engine.ray_backend.parameter_server.SERVER_FUNCTIONS`).
"""

from __future__ import annotations

import os
import socket

import numpy as np
import torch

from ...paper.models import build_model
from ...paper.return_scale import new_statistics
from ..flat_params import flat_buffer, flatten_parameters
from ..worker import WorkerLoop, run_worker_loop


class Outbox:
    """``put`` as on a queue; the messages wait for the next update to carry them."""

    def __init__(self):
        self.messages = []

    def put(self, message) -> None:
        self.messages.append(message)

    def take(self) -> list:
        messages, self.messages = self.messages, []
        return messages


class StopFlag:
    """``is_set()`` as on an event: what the server's last answer said."""

    def __init__(self):
        self.stop = False

    def is_set(self) -> bool:
        return self.stop


class ParameterServerOptimizer:
    """What the worker loop takes for the shared optimizer: ``step()`` sends the mirror's
    gradients to the parameter server, which applies them with its own optimizer."""

    def __init__(self, state: "RemoteState", params, lr: float):
        self.state = state
        self.param_groups = [{"params": list(params), "lr": lr}]

    def set_lr(self, lr: float) -> None:
        self.param_groups[0]["lr"] = lr

    def make_statistics_private(self):
        return self  # per-worker statistics are kept by the server, one set per worker

    def zero_grad(self) -> None:
        for param in self.param_groups[0]["params"]:
            param.grad = None

    @torch.no_grad()
    def step(self, closure=None):
        params = self.param_groups[0]["params"]
        grads = [param.grad if param.grad is not None else torch.zeros_like(param)
                 for param in params]
        flat = flat_buffer(grads)  # the worker's flat gradient itself, when it is flat
        if flat is None:
            flat = torch.cat([grad.reshape(-1) for grad in grads])
        self.state.push(flat.numpy(), self.param_groups[0]["lr"])


class RemoteState:
    """A worker's view of the parameter server, shaped like
    :class:`~a3c_course.engine.shared.SharedState` (see the module's docstring)."""

    def __init__(self, worker, config, server, start_time, uses_target_network, call=None):
        self.worker = worker
        self.server = server
        self.call = call or call_actor  # how a method of the server is called
        self.start_time = start_time
        self.model = build_model(config.model_spec)
        self.weights = flatten_parameters(self.model).numpy()
        self.target_model = None
        self.target_weights = None
        hp = config.hyperparameters
        if uses_target_network:
            self.target_model = build_model(config.model_spec)
            self.target_weights = flatten_parameters(self.target_model).numpy()
        self.optimizer = ParameterServerOptimizer(self, self.model.parameters(), hp.lr)
        self.step_counts = torch.zeros(config.n_workers + 1, dtype=torch.int64)
        # scale_rewards: each actor estimates the returns' spread from its own games.
        self.return_statistics = new_statistics(config.n_workers + 1)
        self.target_syncs = torch.full((1,), -1, dtype=torch.int64)  # none received yet
        self.stop = StopFlag()
        self.queue = Outbox()
        self.version = None  # of the weights in the mirror; None before the first fetch
        self.applied_before = 0
        self.rollout_steps = 0  # steps of the rollout whose gradient goes out next

    # -- the calls to the server -----------------------------------------------------------
    def fetch(self) -> None:
        pid, host = os.getpid(), socket.gethostname()
        self._receive(self.call(self.server.fetch, self.worker, pid, host,
                                int(self.target_syncs[0])))

    def push(self, gradient: np.ndarray, lr: float) -> None:
        # The loop counts the rollout's steps after the update: send them with it, so
        # that the server's counters (the global step, the target network's schedule)
        # are never behind the worker's.
        steps = int(self.step_counts[self.worker]) + self.rollout_steps
        self._receive(self.call(self.server.push, self.worker, gradient, self.version, lr,
                                steps, self.queue.take(), int(self.target_syncs[0])))

    def _receive(self, reply) -> None:
        weights, version, applied_before, counts, stop, target_syncs, target = reply
        np.copyto(self.weights, weights)
        self.version = version
        if applied_before is not None:
            self.applied_before = applied_before
        own = int(self.step_counts[self.worker])
        self.step_counts.copy_(torch.as_tensor(counts, dtype=torch.int64))
        self.step_counts[self.worker] = own  # this worker's own count is the exact one
        self.stop.stop = bool(stop)
        if target is not None:
            np.copyto(self.target_weights, target)
            self.target_syncs[0] = target_syncs

    # -- what the loop asks, as of SharedState ----------------------------------------------
    def updates_applied(self) -> int:
        """The version of the weights in the mirror: updates the server had applied."""
        return self.version or 0

    def record_update(self, worker: int, synced_at: int) -> int:
        """The staleness of the update just sent, as the server measured it."""
        return max(0, self.applied_before - synced_at)


def call_actor(method, *args):
    """Call an actor's method and wait for its answer: one round trip."""
    import ray

    return ray.get(method.remote(*args))


class RayWorkerLoop(WorkerLoop):
    """The worker loop, fetching the server's weights before its first rollout.

    Every later rollout starts from the weights the server's answer to the previous
    update carried, already in the mirror."""

    def _sync_local_model(self) -> None:
        if self.shared.version is None:
            self.shared.fetch()
        super()._sync_local_model()

    def _rollout_collected(self, steps: int) -> None:
        self.shared.rollout_steps = steps  # of one game or of several (envs_per_worker)

    def _parent_alive(self) -> bool:
        return True  # Ray ends a run's actors when the process that started them exits


class RayWorker:
    """The worker actor: one per worker, on a CPU of the cluster (see :func:`run`)."""

    def run(self, worker, config, server, functions_blob, final_epsilon, start_time,
            uses_target_network) -> list:
        """Train until the server says stop; returns the reports not yet carried by an
        update (the last episodes and diagnostics, an error, ``DONE``)."""
        state = RemoteState(worker, config, server, start_time, uses_target_network)
        run_worker_loop(worker, config, state, functions_blob, final_epsilon,
                        loop_class=RayWorkerLoop)
        return state.queue.take()

