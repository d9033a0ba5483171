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

from ..engine.flat_params import flat_buffer, views_like
from . import targets


class _SharedStateOptimizer:
    """Common plumbing: eager, shared state; a settable learning rate; the flat fast path.

    The interface is the part of ``torch.optim.Optimizer`` the trainer uses
    (``param_groups``, ``state``, ``step``, ``zero_grad``, ``state_dict`` and
    ``load_state_dict`` in the same format), without subclassing it: constructing a
    ``torch.optim.Optimizer`` imports TorchDynamo, a second or more at the start of
    every run, for a compiler the workers never use.

    When the parameters are consecutive views of one flat tensor (the trainer builds
    its shared model so, see :mod:`a3c_course.flat_params`), each statistic is
    allocated the same way, one flat tensor with a view per parameter, and a step whose
    gradients are flat too runs as a handful of operations on the flat tensors instead
    of a handful per parameter. The per-parameter ``state`` and ``state_dict()`` are
    the same either way.
    """

    STATE_KEYS: tuple[str, ...] = ()

    def __init__(self, params, defaults):
        params = list(params)
        if not params:
            raise ValueError("the optimizer got an empty parameter list")
        for param in params:
            if not isinstance(param, torch.Tensor) or not param.is_leaf:
                raise TypeError(f"the optimizer can only optimize leaf tensors, not {type(param)}")
        self.defaults = dict(defaults)
        self.param_groups = [{"params": params, **defaults}]
        self.state = {}
        flat_params = flat_buffer(params)
        self.flat = None
        if flat_params is None:
            for param in params:
                state = self.state[param] = {}
                state["step"] = torch.zeros((), dtype=torch.float32)
                for key in self.STATE_KEYS:
                    state[key] = torch.zeros_like(param, memory_format=torch.preserve_format)
        else:
            statistics = {key: torch.zeros_like(flat_params) for key in self.STATE_KEYS}
            self._use_flat_statistics(flat_params, torch.zeros(len(params)), statistics)
        self.share_memory()

    def _all_params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def _use_flat_statistics(self, flat_params, steps, statistics):
        """Make every parameter's state views of the flat ``steps`` and ``statistics``."""
        self.flat = {"params": flat_params, "step": steps, **statistics}
        params = self._all_params()
        views = {key: views_like(flat, params) for key, flat in statistics.items()}
        for index, param in enumerate(params):
            state = self.state.setdefault(param, {})
            state["step"] = steps[index]
            for key, key_views in views.items():
                state[key] = next(key_views)

    def share_memory(self):
        """Move every state tensor to shared memory (in place; idempotent)."""
        for state in self.state.values():
            for tensor in state.values():
                tensor.share_memory_()
        return self

    def make_statistics_private(self):
        """Give this process its own copy of the statistics (per-worker optimizer)."""
        if self.flat is not None:
            statistics = {key: self.flat[key].clone() for key in self.STATE_KEYS}
            self._use_flat_statistics(self.flat["params"], self.flat["step"].clone(), statistics)
            return self
        for state in self.state.values():
            for key, tensor in state.items():
                state[key] = tensor.clone()
        return self

    def set_lr(self, lr: float) -> None:
        for group in self.param_groups:
            group["lr"] = lr

    def zero_grad(self) -> None:
        for param in self._all_params():
            param.grad = None

    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [...]}``, as ``torch.optim`` writes it."""
        index = {param: i for i, param in enumerate(self._all_params())}
        groups = [{**{k: v for k, v in group.items() if k != "params"},
                   "params": [index[p] for p in group["params"]]} for group in self.param_groups]
        state = {index[param]: dict(values) for param, values in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict) -> None:
        """Copy saved statistics and settings into this optimizer's (shared) tensors."""
        params = self._all_params()
        saved_groups = state_dict["param_groups"]
        saved_count = sum(len(group["params"]) for group in saved_groups)
        if len(saved_groups) != len(self.param_groups) or saved_count != len(params):
            raise ValueError(f"the saved optimizer state is for {saved_count} parameters in "
                             f"{len(saved_groups)} groups, not {len(params)} in "
                             f"{len(self.param_groups)}: it belongs to another model")
        for group, saved in zip(self.param_groups, saved_groups):
            group.update({k: v for k, v in saved.items() if k != "params"})
        for i, param in enumerate(params):
            for key, value in state_dict["state"].get(i, state_dict["state"].get(str(i), {})).items():
                if key in self.state[param]:
                    self.state[param][key].copy_(torch.as_tensor(value))

    def _params_with_grads(self, group):
        params, grads, states = [], [], []
        for param in group["params"]:
            if param.grad is not None:
                params.append(param)
                grads.append(param.grad)
                states.append(self.state[param])
        return params, grads, states

    @torch.no_grad()
    def step(self, closure=None):
        """Apply each parameter's ``.grad``: on the flat tensors at once where they are flat."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            params, grads, states = self._params_with_grads(group)
            if not params:
                continue
            flat_grad = self._flat_gradient(group, grads)
            if flat_grad is not None:
                self._flat_step(group, flat_grad)
            else:
                self._per_parameter_step(group, params, grads, states)
        return loss

    def _flat_step(self, group, grad):
        raise NotImplementedError

    def _per_parameter_step(self, group, params, grads, states):
        raise NotImplementedError

    def _flat_gradient(self, group, grads):
        """The flat gradient, when every parameter has one and they are views of it."""
        if self.flat is None or len(grads) != len(group["params"]):
            return None
        flat = flat_buffer(grads)
        if flat is None or flat.numel() != self.flat["params"].numel():
            return None
        return flat


class SharedRMSprop(_SharedStateOptimizer):
    r"""RMSProp with shared statistics, as the paper writes it (:math:`\epsilon` inside the root).

    .. math::
        g \leftarrow \alpha g + (1-\alpha)\, \Delta\theta^2 \qquad
        \theta \leftarrow \theta - \eta \frac{\Delta\theta}{\sqrt{g + \epsilon}}

    The update itself is :func:`a3c_course.paper.targets.shared_rmsprop_step`, the
    exercise of notebook 6; a student's version passed as ``step_function`` replaces it
    (``train(..., shared_rmsprop_step=my_step)`` does that in every worker).

    **Not torch's RMSprop.** ``torch.optim.RMSprop`` divides by :math:`\sqrt{g} + \epsilon`,
    outside the root. Where :math:`g \gg \epsilon` the two are the same; where a weight's
    gradients have been tiny, torch's step can reach :math:`\eta \Delta\theta / \epsilon`
    while the paper's stays below :math:`\eta \Delta\theta / \sqrt{\epsilon}`, so one
    ``eps`` means different things in the two: an ``eps`` of :math:`\epsilon^2` inside the
    root damps about as :math:`\epsilon` outside does. (TensorFlow 1's ``RMSPropOptimizer``
    puts it inside, as the paper does; code ported from it to PyTorch changes the update.)

    With the reference step, flat parameters and flat gradients (the trainer's shared
    model, see :mod:`a3c_course.engine.flat_params`) are updated as one tensor each:
    the step is element-wise, so the lists it gets hold one flat tensor. A student's
    function always gets one tensor per parameter, with the parameter's shape, as its
    specification and its checker promise (a mistake that shows only with several
    tensors, say a loop that stops after the first, then fails in training as it failed
    in the check); at CartPole's size that costs a few microseconds per update.

    (``centered=False``, no momentum, no weight decay.)
    """

    STATE_KEYS = ("square_avg",)

    def __init__(self, params, lr=7e-4, alpha=0.99, eps=1e-5, step_function=None):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps))
        self.step_function = step_function

    def _flat_gradient(self, group, grads):
        if self.step_function is not None:
            return None  # a student's step sees the parameters one by one
        return super()._flat_gradient(group, grads)

    def _per_parameter_step(self, group, params, grads, states):
        torch._foreach_add_([state["step"] for state in states], 1)
        step = self.step_function or targets.shared_rmsprop_step
        step(params, grads, [state["square_avg"] for state in states],
             group["lr"], group["alpha"], group["eps"])

    def _flat_step(self, group, grad):
        flat = self.flat
        flat["step"].add_(1)
        targets.shared_rmsprop_step([flat["params"]], [grad], [flat["square_avg"]],
                                    group["lr"], group["alpha"], group["eps"])


class SharedAdam(_SharedStateOptimizer):
    r"""Adam with shared moments and a shared step count; the update of ``torch.optim.Adam``.

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) \nabla \qquad
        v \leftarrow \beta_2 v + (1-\beta_2) \nabla^2 \qquad
        \theta \leftarrow \theta - \eta \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}

    Hogwild needs one addition. One worker's step reads the moments twice: ``v`` for
    the denominator, then ``m`` for the numerator. If another worker adds its gradient
    to ``m`` in between, the pair belongs to no sequence of gradients at all, and for a
    weight whose gradient has been zero for a while (a ReLU unit that went quiet),
    ``v`` has decayed to ~1e-35: the step becomes ``lr * m / eps``, millions of times
    ``lr``, and one such step can silence the whole network for good. In a
    sequential Adam the normalised step ``|m / sqrt(v)|`` can never exceed
    :func:`adam_step_bound` (about 7.3 for the default betas); clamping it there
    changes nothing a sequential Adam would do and bounds what a race can.
    """

    STATE_KEYS = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps))
        self.step_bound = adam_step_bound(*betas)

    def _per_parameter_step(self, group, params, grads, states):
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
        for param, exp_avg, denominator, step_size, t in zip(
                params, exp_avgs, denominators, step_sizes, counts):
            bound = self.step_bound * (1 - beta1**t)  # on m / sqrt(v_hat), before m's correction
            param.add_(torch.div(exp_avg, denominator).clamp_(-bound, bound), alpha=-step_size)

    def _flat_step(self, group, grad):
        flat = self.flat
        beta1, beta2 = group["betas"]
        flat["step"].add_(1)
        t = max(float(flat["step"][0]), 1.0)  # all parameters step together here
        flat["exp_avg"].lerp_(grad, 1 - beta1)
        exp_avg_sq = flat["exp_avg_sq"]
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denominator = exp_avg_sq.sqrt().div_(math.sqrt(1 - beta2**t)).add_(group["eps"])
        # The moments may have changed under us since exp_avg_sq was read (see the
        # class docstring): bound the step as a sequential Adam's is bounded.
        bound = self.step_bound * (1 - beta1**t)
        update = torch.div(flat["exp_avg"], denominator, out=denominator).clamp_(-bound, bound)
        flat["params"].add_(update, alpha=-group["lr"] / (1 - beta1**t))


def adam_step_bound(beta1: float, beta2: float) -> float:
    r"""The largest ``|m_hat / sqrt(v_hat)|`` any sequence of gradients gives Adam (``inf`` if none).

    With :math:`m_t = (1-\beta_1)\sum_k \beta_1^{t-k} g_k` and
    :math:`v_t = (1-\beta_2)\sum_k \beta_2^{t-k} g_k^2`, Cauchy-Schwarz gives
    :math:`|m_t| \le \frac{1-\beta_1}{\sqrt{1-\beta_2}}
    \sqrt{\frac{1}{1-\beta_1^2/\beta_2}}\,\sqrt{v_t}` when :math:`\beta_1^2 < \beta_2`;
    the bias corrections only lower the ratio at small ``t``, so this bound holds at
    every step. Betas 0.9 and 0.999 give 7.27.
    """
    ratio = beta1**2 / beta2
    if ratio >= 1:
        return math.inf
    return (1 - beta1) / math.sqrt((1 - beta2) * (1 - ratio))


def build_optimizer(name: str, params, lr: float, rmsprop_alpha: float, rmsprop_eps: float):
    """The optimizer called ``name`` (a key of :data:`a3c_course.config.OPTIMIZERS`) over ``params``."""
    if name in ("shared_rmsprop", "rmsprop"):
        return SharedRMSprop(params, lr=lr, alpha=rmsprop_alpha, eps=rmsprop_eps)
    if name == "shared_adam":
        return SharedAdam(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}")
