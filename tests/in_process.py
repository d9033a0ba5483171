"""A worker loop in the test process, on a plain queue and event: no worker processes.

For tests that step a worker by hand (a rollout at a time) and look inside it.
"""

import queue
import threading
import time

import torch

from a3c_course.config import RunConfig
from a3c_course.engine.shared import SharedState
from a3c_course.engine.worker import WorkerLoop
from a3c_course.paper.models import build_model
from a3c_course.paper.optim import build_optimizer


def in_process_worker_loop(config: RunConfig) -> WorkerLoop:
    """A WorkerLoop for ``config``, reset and ready for its first rollout."""
    hp = config.hyperparameters
    torch.manual_seed(0)
    model = build_model(config.model_spec)
    shared = SharedState(
        model=model,
        optimizer=build_optimizer(hp.optimizer, model.parameters(), hp.lr, hp.rmsprop_alpha,
                                  hp.rmsprop_eps),
        target_model=None, step_counts=torch.zeros(2, dtype=torch.int64),
        target_syncs=torch.zeros(1, dtype=torch.int64), stop=threading.Event(),
        queue=queue.Queue(), start_time=time.time())
    loop = WorkerLoop(0, config, shared, {}, None)
    obs, _ = loop.env.reset()  # what run() does before its first iteration
    loop.obs, loop.state, loop.pending_action = obs, loop.local_model.initial_state(), None
    return loop
