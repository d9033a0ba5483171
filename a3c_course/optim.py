"""Optimizers whose statistics live in shared memory, used by every worker at once.

The paper compares three ways to run RMSProp with asynchronous workers and finds the
most robust one is **shared RMSProp**: one moving average of squared gradients,
:math:`g \\leftarrow \\alpha g + (1 - \\alpha) \\Delta\\theta^2`, that every worker reads
and updates, lock-free, just like the parameters themselves.

Both optimizers allocate their state in :meth:`__init__` (not lazily on the first
step, as ``torch.optim`` does) and move it to shared memory, so that it exists before
the worker processes start and every worker sees the same tensors. Workers update
them without a lock (Hogwild): a rare lost update costs less than waiting.

``make_statistics_private()`` gives a worker its own copy of the statistics instead,
the paper's "per-thread RMSProp", for comparison.
"""

from __future__ import annotations

import math

import torch


class _SharedStateOptimizer(torch.optim.Optimizer):
    """Common plumbing: eager, shared state; a settable learning rate."""

    STATE_KEYS: tuple[str, ...] = ()

    def __init__(self, params, defaults):
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                state = self.state[param]
                state["step"] = torch.zeros((), dtype=torch.float32)
                for key in self.STATE_KEYS:
                    state[key] = torch.zeros_like(param, memory_format=torch.preserve_format)
        self.share_memory()

    def share_memory(self):
        """Move every state tensor to shared memory (in place; idempotent)."""
        for state in self.state.values():
            for tensor in state.values():
                tensor.share_memory_()
        return self

    def make_statistics_private(self):
        """Give this process its own copy of the statistics (per-worker optimizer)."""
        for state in self.state.values():
            for key, tensor in state.items():
                state[key] = tensor.clone()
        return self

    def set_lr(self, lr: float) -> None:
        for group in self.param_groups:
            group["lr"] = lr

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self.share_memory()  # loading replaces the state tensors with new ones

    def _params_with_grads(self, group):
        params, grads, states = [], [], []
        for param in group["params"]:
            if param.grad is not None:
                params.append(param)
                grads.append(param.grad)
                states.append(self.state[param])
        return params, grads, states


class SharedRMSprop(_SharedStateOptimizer):
    r"""RMSProp with shared statistics; the same update as ``torch.optim.RMSprop``.

    .. math::
        g \leftarrow \alpha g + (1-\alpha)\, \nabla^2 \qquad
        \theta \leftarrow \theta - \eta \frac{\nabla}{\sqrt{g} + \epsilon}

    (``centered=False``, no momentum, no weight decay.)
    """

    STATE_KEYS = ("square_avg",)

    def __init__(self, params, lr=7e-4, alpha=0.99, eps=1e-5):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            params, grads, states = self._params_with_grads(group)
            if not params:
                continue
            square_avgs = [state["square_avg"] for state in states]
            torch._foreach_add_([state["step"] for state in states], 1)
            torch._foreach_mul_(square_avgs, group["alpha"])
            torch._foreach_addcmul_(square_avgs, grads, grads, value=1 - group["alpha"])
            denominators = torch._foreach_sqrt(square_avgs)
            torch._foreach_add_(denominators, group["eps"])
            torch._foreach_addcdiv_(params, grads, denominators, value=-group["lr"])
        return loss


class SharedAdam(_SharedStateOptimizer):
    r"""Adam with shared moments and a shared step count; the update of ``torch.optim.Adam``.

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) \nabla \qquad
        v \leftarrow \beta_2 v + (1-\beta_2) \nabla^2 \qquad
        \theta \leftarrow \theta - \eta \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}
    """

    STATE_KEYS = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            params, grads, states = self._params_with_grads(group)
            if not params:
                continue
            beta1, beta2 = group["betas"]
            steps = [state["step"] for state in states]
            exp_avgs = [state["exp_avg"] for state in states]
            exp_avg_sqs = [state["exp_avg_sq"] for state in states]
            torch._foreach_add_(steps, 1)
            torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
            torch._foreach_mul_(exp_avg_sqs, beta2)
            torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
            # Another worker may bump a step between these lines; the bias
            # correction only needs to be about right.
            counts = [max(float(step), 1.0) for step in steps]
            step_sizes = [group["lr"] / (1 - beta1**t) for t in counts]
            root_bias = [math.sqrt(1 - beta2**t) for t in counts]
            denominators = torch._foreach_sqrt(exp_avg_sqs)
            torch._foreach_div_(denominators, root_bias)
            torch._foreach_add_(denominators, group["eps"])
            for param, exp_avg, denominator, step_size in zip(params, exp_avgs, denominators, step_sizes):
                param.addcdiv_(exp_avg, denominator, value=-step_size)
        return loss


OPTIMIZERS = {
    "shared_rmsprop": "RMSProp, statistics shared by all workers (the paper's most robust variant)",
    "rmsprop": "RMSProp, each worker keeps its own statistics",
    "shared_adam": "Adam, moments and step count shared by all workers",
}


def build_optimizer(name: str, params, lr: float, rmsprop_alpha: float, rmsprop_eps: float):
    """The optimizer called ``name`` (a key of :data:`OPTIMIZERS`) over ``params``."""
    if name in ("shared_rmsprop", "rmsprop"):
        return SharedRMSprop(params, lr=lr, alpha=rmsprop_alpha, eps=rmsprop_eps)
    if name == "shared_adam":
        return SharedAdam(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}")
