"""What the parent allocates in shared memory before the workers start, and how it is read.

Everything here is created once by the parent and then *shared*: each worker process
sees the same memory, and writes to it without a lock (Hogwild). The global step
counter is one slot per worker (plus one for the steps of a resumed run) that only
that worker writes, so that counting needs no lock and loses nothing; the global step
is their sum.

The same goes for the count of updates applied to the shared model (one slot per
worker), from which each update's **staleness** is measured: how many updates other
workers applied between this worker's copy of the weights and its own update. The
Ray backend measures the same thing at its parameter server
(:mod:`a3c_course.engine.ray_backend`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..paper.models import build_model
from ..paper.optim import build_optimizer
from ..paper.return_scale import new_statistics
from .flat_params import flatten_parameters


@dataclass
class SharedState:
    """What the parent allocates in shared memory before the workers start."""

    model: torch.nn.Module
    optimizer: object
    """A :mod:`a3c_course.optim` optimizer over ``model``'s parameters."""
    target_model: torch.nn.Module | None
    step_counts: torch.Tensor
    """int64 ``[n_workers + 1]``: slot ``i`` counts worker ``i``'s steps; the last, earlier runs'."""
    target_syncs: torch.Tensor
    """int64 ``[1]``: how many times the target network has been updated."""
    stop: object
    queue: object
    start_time: float
    update_counts: torch.Tensor | None = None
    """int64 ``[n_workers]``: slot ``i`` counts worker ``i``'s updates of the shared model."""
    staleness_counts: torch.Tensor | None = None
    """int64 ``[n_workers, STALENESS_BINS]``: worker ``i``'s updates by staleness (the last
    bin holds every staleness from ``STALENESS_BINS - 1`` up)."""
    return_statistics: torch.Tensor | None = None
    """float64 ``[n_workers + 1, 3]``: row ``i``, worker ``i``'s discounted returns (count,
    sum, sum of squares) for ``scale_rewards``; the last, earlier runs' (see
    :mod:`a3c_course.paper.return_scale`)."""

    def updates_applied(self) -> int:
        """Updates applied to the shared model so far, by all workers (0 when not counted)."""
        return 0 if self.update_counts is None else int(self.update_counts.sum())

    def record_update(self, worker: int, synced_at: int) -> int:
        """Count worker ``worker``'s update, just applied to the weights it copied when
        ``synced_at`` updates had been applied; returns its staleness, the updates others
        applied in between.

        Hogwild has no lock, so "in between" is approximate: an update another worker
        finishes while this one is being applied counts as before it.
        """
        if self.update_counts is None:
            return 0
        staleness = max(0, int(self.update_counts.sum()) - synced_at)
        self.update_counts[worker] += 1
        self.staleness_counts[worker, min(staleness, STALENESS_BINS - 1)] += 1
        return staleness


#: Bins of the staleness histogram each worker keeps in shared memory.
STALENESS_BINS = 64


def global_step(step_counts: torch.Tensor) -> int:
    return int(step_counts.sum())


def worker_seed(seed: int, worker: int) -> int:
    """A distinct, reproducible seed per worker."""
    return int(np.random.SeedSequence([seed, worker]).generate_state(1)[0])


def maybe_update_target(shared: SharedState, step: int, interval: int) -> bool:
    """Copy the online weights into the target network once every ``interval`` global steps.

    Any worker may notice that a new multiple of ``interval`` has been passed; it
    records that in ``target_syncs`` and copies. Returns whether it copied.
    """
    due = step // interval
    if due <= int(shared.target_syncs[0]):
        return False
    shared.target_syncs[0] = due
    with torch.no_grad():
        torch._foreach_copy_(
            list(shared.target_model.parameters()), list(shared.model.parameters())
        )
    return True


def build_learner(config, checkpoint, uses_target_network: bool, shared: bool):
    """The model every worker learns into, its optimizer and the value methods' target
    network, initialised from the run's seed or restored from ``checkpoint``.

    The weights are views of one flat tensor (the workers' sync and the optimizer's
    step then run on it at once, see :mod:`~a3c_course.engine.flat_params`); with
    ``shared`` they are in shared memory, as the processes of one machine need.
    """
    hp = config.hyperparameters
    torch.manual_seed(config.seed)
    model = build_model(config.model_spec)
    flatten_parameters(model)
    if checkpoint:
        model.load_state_dict(checkpoint["model_state"])
    if shared:
        model.share_memory()
    optimizer = build_optimizer(hp.optimizer, model.parameters(), hp.lr,
                                hp.rmsprop_alpha, hp.rmsprop_eps)
    if checkpoint and checkpoint.get("optimizer_state"):
        optimizer.load_state_dict(checkpoint["optimizer_state"])
    target_model = None
    if uses_target_network:
        target_model = build_model(config.model_spec)
        state = (checkpoint or {}).get("target_model_state") or model.state_dict()
        target_model.load_state_dict(state)
        if shared:
            target_model.share_memory()
    return model, optimizer, target_model


def build_shared_state(plan) -> SharedState:
    """Allocate what the workers share, from a :class:`~a3c_course.engine.plan.RunPlan`.

    The model (its weights views of one flat tensor), the optimizer with its statistics,
    the target network of the value methods, the step counters, the stop event and
    the results queue; all in shared memory before any worker starts, so that every
    worker sees the same tensors.
    """
    config, hp = plan.config, plan.config.hyperparameters
    model, optimizer, target_model = build_learner(config, plan.checkpoint,
                                                   plan.method.uses_target_network, shared=True)
    step_counts = torch.zeros(config.n_workers + 1, dtype=torch.int64)
    step_counts[-1] = plan.start_step
    target_syncs = torch.tensor([plan.start_step // hp.target_update_interval])
    return_statistics = new_statistics(config.n_workers + 1)
    saved = (plan.checkpoint or {}).get("return_statistics")
    if saved is not None:
        return_statistics[-1] = torch.as_tensor(saved, dtype=torch.float64)
    return SharedState(
        model=model, optimizer=optimizer, target_model=target_model,
        step_counts=step_counts.share_memory_(), target_syncs=target_syncs.share_memory_(),
        stop=plan.context.Event(), queue=plan.context.Queue(),
        start_time=0.0,
        update_counts=torch.zeros(config.n_workers, dtype=torch.int64).share_memory_(),
        staleness_counts=torch.zeros(config.n_workers, STALENESS_BINS,
                                     dtype=torch.int64).share_memory_(),
        return_statistics=return_statistics.share_memory_(),
    )
