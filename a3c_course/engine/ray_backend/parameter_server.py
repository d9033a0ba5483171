"""The parameter server: one Ray actor that holds the model and applies every update.

A Ray actor runs its methods one at a time, in the order the calls arrive. So the
server applies the workers' gradients **in arrival order, one after another**, as
Gorila's and DistBelief's servers did: no update is ever half-applied, unlike Hogwild,
where two workers can write to the same weight at once.

Each update is one call, :meth:`ParameterServer.push`: the worker's clipped gradient,
the *version* of the weights it was computed on, the learning rate (annealed by the
worker, as in shared memory) and whatever the worker has to report. The server

1. measures the update's **staleness**, the updates applied since that version;
2. applies it with the same optimizer as the shared-memory engine
   (:class:`~a3c_course.paper.optim.SharedRMSprop` or ``SharedAdam``, here in one
   process), its flat fast path included;
3. answers with the new weights and version, the global step counters, and whether to
   stop, so that the worker's next rollout starts from the newest weights without a
   second round trip.

The weights travel as one flat float32 NumPy array (Ray sends NumPy arrays without
pickling their contents; a tensor would be pickled): about 19 KB for CartPole's
network, 2.7 MB for the Atari network.
"""

from __future__ import annotations

from collections import Counter

import cloudpickle
import numpy as np
import torch

from ...paper.optim import build_optimizer
from ..flat_params import flat_buffer, flatten_gradients, flatten_parameters
from ..shared import build_learner
from ..student_functions import checked_student_functions

#: Exercise functions that run in the server, not in the workers: the optimizer's step.
SERVER_FUNCTIONS = ("shared_rmsprop_step",)


class ParameterServer:
    """The model, its optimizer's statistics, the step counters and the workers' outbox.

    Args:
        config: the run's :class:`~a3c_course.config.RunConfig`.
        checkpoint: the checkpoint to resume from, or None.
        uses_target_network: keep a target network (the value methods).
        start_step: the global step the run starts at (a resumed run's).
        functions_blob: the student's exercise functions (cloudpickle); those of
            :data:`SERVER_FUNCTIONS` run here.
    """

    def __init__(self, config, checkpoint, uses_target_network, start_step, functions_blob):
        torch.set_num_threads(1)
        self.config = config
        self.hp = config.hyperparameters
        self.model, self.optimizer, self.target_model = build_learner(
            config, checkpoint, uses_target_network, shared=False)
        self.weights = flat_buffer(self.model.parameters()).numpy()  # a view: no copy
        self.gradient = flatten_gradients(self.model).numpy()
        self.target_weights = (flatten_parameters(self.target_model).numpy()
                               if self.target_model is not None else None)
        # Checked on their first call, as in a worker (student_functions).
        self.functions = checked_student_functions(cloudpickle.loads(functions_blob))
        self._use_server_functions(self.optimizer)
        # Per-worker RMSProp ("rmsprop"): each worker's statistics, made on its first update.
        self.worker_optimizers = {}
        self.version = 0  # updates applied
        self.counts = np.zeros(config.n_workers + 1, dtype=np.int64)
        self.counts[-1] = start_step
        self.target_syncs = start_step // self.hp.target_update_interval
        self.staleness = Counter()
        self.stop = False
        self.outbox = []
        self.pids = [None] * config.n_workers

    # -- the workers' calls ----------------------------------------------------------------
    def push(self, worker, gradient, version, lr, steps, messages, target_syncs):
        """Apply one worker's gradient (computed on the weights of ``version``); returns
        :meth:`_reply`, with the update's staleness measured."""
        applied_before = self.version
        self.staleness[applied_before - version] += 1
        np.copyto(self.gradient, gradient)
        optimizer = self._optimizer(worker)
        optimizer.set_lr(lr)
        optimizer.step()
        self.version += 1
        self.counts[worker] = steps
        self.outbox.extend(messages)
        self._maybe_update_target()
        return self._reply(applied_before, target_syncs)

    def fetch(self, worker, pid, host, target_syncs):
        """A worker's first call: the current weights (and where the worker runs)."""
        self.pids[worker] = {"pid": pid, "host": host}
        return self._reply(None, target_syncs)

    def _reply(self, applied_before, target_syncs):
        """``(weights, version, applied_before, counts, stop, target_syncs, target_weights)``;
        the target network's weights only when they changed since the worker's copy.

        The weights are returned as a view of the live parameters: Ray serialises a
        method's result before the actor runs its next call, so the view cannot change
        under it."""
        target = None
        if self.target_weights is not None and target_syncs != self.target_syncs:
            target = self.target_weights
        return (self.weights, self.version, applied_before, self.counts.tolist(), self.stop,
                self.target_syncs, target)

    # -- the parent's calls ----------------------------------------------------------------
    def poll(self):
        """What the workers reported since the last poll, and the step counters."""
        messages, self.outbox = self.outbox, []
        return messages, self.counts.tolist()

    def request_stop(self):
        self.stop = True

    def state(self):
        """``(model_state, optimizer_state, target_model_state, counts, staleness, pids)``."""
        target = self.target_model.state_dict() if self.target_model is not None else None
        return (self.model.state_dict(), self.optimizer.state_dict(), target,
                self.counts.tolist(), dict(self.staleness), list(self.pids))

    # -- inside ------------------------------------------------------------------------------
    def _optimizer(self, worker):
        if self.hp.optimizer != "rmsprop":  # shared statistics: one optimizer for all
            return self.optimizer
        if worker not in self.worker_optimizers:
            hp = self.hp
            optimizer = build_optimizer(hp.optimizer, self.model.parameters(), hp.lr,
                                        hp.rmsprop_alpha, hp.rmsprop_eps)
            self._use_server_functions(optimizer)
            self.worker_optimizers[worker] = optimizer
        return self.worker_optimizers[worker]

    def _use_server_functions(self, optimizer):
        """A student's optimizer step replaces the reference one here, in the server."""
        step = self.functions.get("shared_rmsprop_step")
        if step is not None and hasattr(optimizer, "step_function"):
            optimizer.step_function = step

    def _maybe_update_target(self):
        """Copy the weights into the target network once every ``target_update_interval``
        global steps (the value methods)."""
        if self.target_model is None:
            return
        due = int(self.counts.sum()) // self.hp.target_update_interval
        if due > self.target_syncs:
            self.target_syncs = due
            np.copyto(self.target_weights, self.weights)

