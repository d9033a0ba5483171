r"""The checker of ``shared_rmsprop_step``: the paper's shared RMSProp update, in place (notebook 6).

The function returns nothing: what it does is change ``params`` and ``square_avgs``.
So the checker runs it, and every known mistake (each a wrong implementation, below),
on the same tensors, several calls in a row, and compares what the tensors hold after
each call: the same tensors (in place, in the same memory, as the trainer's live in
shared memory), the new values of both lists, the gradients left as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..paper import targets
from .checking import Case, Exercise, call, check_signature, checker, fail
from .common import floats, report_success
from .messages import number, show

SHARED_RMSPROP = Exercise(
    name="shared_rmsprop_step",
    parameters=("params", "grads", "square_avgs", "lr", "alpha", "eps"),
    goal="for each parameter i, in place: square_avgs[i] <- alpha * square_avgs[i] + "
         "(1 - alpha) * grads[i]**2, then params[i] <- params[i] - lr * grads[i] / "
         "sqrt(square_avgs[i] + eps), with the new average and eps inside the root; "
         "return nothing.",
    shapes="params, grads and square_avgs are lists of tensors, the i-th of each of the "
           "same shape; lr, alpha and eps are floats",
    exception_hints=(
        ("NoneType",
         "Take each gradient from the list `grads` (grads[i]), not from param.grad: the "
         "optimizer hands them to you, and param.grad may be None."),
        ("a leaf Variable that requires grad",
         "The optimizer calls your function under torch.no_grad(), as the check does; "
         "update the tensors with in-place methods (param.addcdiv_, square_avg.mul_)."),
    ),
)


@dataclass(frozen=True)
class Scenario:
    """Calls of the step on the same tensors, one set of gradients per call."""

    description: str
    params: tuple
    square_avgs: tuple
    grads_per_call: tuple
    lr: float
    alpha: float
    eps: float


def _shapes_like(values, shapes):
    out, start = [], 0
    for shape in shapes:
        n = int(torch.tensor(shape).prod()) if shape else 1
        out.append(floats(values[start:start + n]).reshape(shape))
        start += n
    return tuple(out)


SHAPES = ((2, 3), (3,), (1,))
SCENARIOS = (
    Scenario("one step from zero statistics, eps = 0.1 (large, so that where it sits shows)",
             _shapes_like([0.5, -1.0, 2.0, 0.0, 0.3, -0.7, 1.0, 2.0, -3.0, 0.25], SHAPES),
             _shapes_like([0.0] * 10, SHAPES),
             (_shapes_like([0.2, -0.5, 1.0, 0.05, -2.0, 0.3, 0.0, 0.8, -0.1, 3.0], SHAPES),),
             0.01, 0.9, 0.1),
    Scenario("three steps in a row from statistics already warm, eps = 0.01",
             _shapes_like([0.1, 0.2, -0.3, 0.4, -0.5, 0.6, 1.5, -1.5, 0.0, -2.0], SHAPES),
             _shapes_like([0.04, 1.0, 0.25, 0.0, 0.5, 0.09, 2.0, 0.01, 0.3, 0.16], SHAPES),
             (_shapes_like([0.3, -0.2, 0.9, 0.1, -1.0, 0.5, 0.4, -0.6, 2.0, -0.3], SHAPES),
              _shapes_like([-0.4, 0.1, 0.2, -0.8, 0.6, -0.2, 1.0, 0.3, -1.5, 0.7], SHAPES),
              _shapes_like([0.05, -0.9, -0.3, 0.4, 0.2, 0.8, -0.5, 0.0, 0.6, -1.1], SHAPES)),
             0.05, 0.99, 0.01),
)


# ------------------------------------------------------------------ the mistakes, as code


def _update(alpha_old, alpha_new, square=lambda g: g * g, root=torch.sqrt, eps_inside=True,
            lr_sign=-1.0, use_lr=True, statistics_first=True, store=True, replace=False,
            only_first=False, accumulate=False):
    """A step built from adjustable parts; every mistake below is one of these."""
    def step(params, grads, square_avgs, lr, alpha, eps):
        for param, grad, square_avg in zip(params, grads, square_avgs):
            old = square_avg.clone()
            if replace:
                new = square(grad)
            elif accumulate:
                new = square_avg + square(grad)
            else:
                new = alpha_old(alpha) * square_avg + alpha_new(alpha) * square(grad)
            used = new if statistics_first else old
            denominator = root(used + eps) if eps_inside else root(used) + eps
            param.add_(lr_sign * (lr if use_lr else 1.0) * grad / denominator)
            if store:
                square_avg.copy_(new)
            if only_first:
                return
    return step


def _alpha(a):
    return a


def _one_minus(a):
    return 1 - a


class StepMistake:
    """A known wrong step: a key, the hint, and the implementation that makes it."""

    def __init__(self, key, hint, step):
        self.key, self.hint, self.step = key, hint, step


SHARED_RMSPROP_MISTAKES = (
    StepMistake("eps_outside_root",
                "your step divides by sqrt(g) + eps, with eps outside the root: that is "
                "torch.optim.RMSprop's form. The paper's is sqrt(g + eps): where g is near "
                "0 it limits the step to lr * grad / sqrt(eps) instead of lr * grad / eps.",
                _update(_alpha, _one_minus, eps_inside=False)),
    StepMistake("no_square_root",
                "your step divides by g + eps; RMSProp divides by the root mean square, "
                "sqrt(g + eps) (g is an average of *squared* gradients).",
                _update(_alpha, _one_minus, root=lambda x: x)),
    StepMistake("old_statistics",
                "your step divides by the average *before* this step's gradient is added: "
                "update square_avgs[i] first, then use the new value in the step.",
                _update(_alpha, _one_minus, statistics_first=False)),
    StepMistake("alpha_swapped",
                "your average weights the old value by (1 - alpha) and the new squared "
                "gradient by alpha; alpha (0.99) is the decay: g <- alpha * g + "
                "(1 - alpha) * grad**2, so the average changes slowly.",
                _update(_one_minus, _alpha)),
    StepMistake("gradient_not_squared",
                "your average adds |grad| (or grad), not grad**2: RMSProp tracks the mean of "
                "the *squared* gradients, whose root is the gradient's typical size.",
                _update(_alpha, _one_minus, square=torch.abs)),
    StepMistake("no_moving_average",
                "your statistics hold only this step's grad**2: the average must remember "
                "the past, g <- alpha * g + (1 - alpha) * grad**2.",
                _update(_alpha, _one_minus, replace=True)),
    StepMistake("sums_squares",
                "your statistics add up every grad**2 (g <- g + grad**2, which is AdaGrad): "
                "RMSProp decays the old ones, g <- alpha * g + (1 - alpha) * grad**2.",
                _update(_alpha, _one_minus, accumulate=True)),
    StepMistake("statistics_not_stored",
                "your step uses the new average but never writes it into square_avgs: "
                "`square_avg = alpha * square_avg + ...` only rebinds a local name. Update "
                "the tensor in place (square_avg.mul_(alpha).addcmul_(grad, grad, "
                "value=1 - alpha)), so that the next step, and every other worker, sees it.",
                _update(_alpha, _one_minus, store=False)),
    StepMistake("gradient_ascent",
                "your step moves the parameters *up* the gradient: θ <- θ - lr * grad / "
                "sqrt(g + eps), a minus sign (param.addcdiv_(grad, denominator, value=-lr)).",
                _update(_alpha, _one_minus, lr_sign=1.0)),
    StepMistake("no_learning_rate",
                "your step leaves out the learning rate: θ <- θ - lr * grad / sqrt(g + eps).",
                _update(_alpha, _one_minus, use_lr=False)),
    StepMistake("only_first_parameter",
                "your step updates only the first parameter (a `return` inside the loop?): "
                "every parameter of the list gets its own step.",
                _update(_alpha, _one_minus, only_first=True)),
)


# ------------------------------------------------------------------------- running


def _fresh(tensors, requires_grad=False):
    return [t.detach().clone().requires_grad_(requires_grad) for t in tensors]


def _simulate(step, scenario):
    """What the tensors hold after each call of a known step: [(params, square_avgs)]."""
    params, square_avgs = _fresh(scenario.params), _fresh(scenario.square_avgs)
    states = []
    with torch.no_grad():
        for grads in scenario.grads_per_call:
            step(params, _fresh(grads), square_avgs, scenario.lr, scenario.alpha, scenario.eps)
            states.append((_fresh(params), _fresh(square_avgs)))
    return states


def _case(scenario, args, call_index):
    calls = len(scenario.grads_per_call)
    where = f", call {call_index + 1} of {calls}" if calls > 1 else ""
    return Case(scenario.description + where, args)


def _run_student(fn, scenario):
    """Call ``fn`` as the optimizer does; check how it changed the tensors after each call."""
    __tracebackhide__ = True
    params = _fresh(scenario.params, requires_grad=True)  # like a model's parameters
    square_avgs = _fresh(scenario.square_avgs)
    states = []
    for k, grads in enumerate(scenario.grads_per_call):
        grads = _fresh(grads)
        args = (list(params), grads, list(square_avgs), scenario.lr, scenario.alpha, scenario.eps)
        case = _case(scenario, args, k)
        before = (_fresh(params), _fresh(square_avgs), _fresh(grads))
        addresses = [t.data_ptr() for t in params + square_avgs]
        with torch.no_grad():
            returned = call(fn, SHARED_RMSPROP, case, args=args)
        _check_in_place(case, args, params, square_avgs, grads, before, addresses, returned)
        states.append((_fresh(params), _fresh(square_avgs)))
    return states


def _check_in_place(case, args, params, square_avgs, grads, before, addresses, returned):
    __tracebackhide__ = True
    on = f"(on the case \"{case.description}\")"
    for name, given, originals in (("params", args[0], params), ("square_avgs", args[2], square_avgs)):
        if any(a is not b for a, b in zip(given, originals)) or len(given) != len(originals):
            fail(f"shared_rmsprop_step: your step puts new tensors into the list `{name}` "
                 f"{on}. The optimizer holds the tensors themselves, not your list: change "
                 f"each tensor in place (e.g. param.addcdiv_(...), square_avg.mul_(...)), "
                 f"do not assign {name}[i] = ....", "replaced_list_entries")
    if [t.data_ptr() for t in params + square_avgs] != addresses:
        fail(f"shared_rmsprop_step: your step gives a tensor new memory {on}: `param.data = "
             f"...` (or `square_avg.data = ...`) replaces the tensor's storage. In training "
             f"that storage is shared memory, the same for every worker; the new one is this "
             f"worker's alone, so the other workers would never see its updates again. Write "
             f"into the tensor instead: param.sub_(...), param.copy_(...), square_avg.mul_(...).",
             "memory_replaced")
    old_params, old_averages, old_grads = before
    if any(not torch.equal(g, old) for g, old in zip(grads, old_grads)):
        fail(f"shared_rmsprop_step: your step changes `grads` in place {on}. The gradients "
             f"are the worker's (the next step of the trainer reads them again): compute "
             f"into new tensors (grad * grad, not grad.mul_(grad)).", "modifies_grads")
    params_same = all(torch.equal(p.detach(), old) for p, old in zip(params, old_params))
    averages_same = all(torch.equal(s, old) for s, old in zip(square_avgs, old_averages))
    if params_same and averages_same:
        what = (f"It returned {type(returned).__name__} instead: the optimizer ignores "
                f"what you return. " if returned is not None else "")
        fail(f"shared_rmsprop_step changed neither `params` nor `square_avgs` {on}. {what}"
             f"The step happens in place: `param = param - ...` only rebinds a local name; "
             f"use the tensors' in-place methods (param.addcdiv_(grad, denominator, "
             f"value=-lr), square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)) or "
             f"`param -= ...`.", "not_in_place")
    if params_same:
        fail(f"shared_rmsprop_step updates `square_avgs` but leaves `params` as they were "
             f"{on}: `param = param - ...` only rebinds a local name. Change the tensor in "
             f"place: param.addcdiv_(grad, denominator, value=-lr), or param -= ....",
             "params_not_in_place")


def _close(a, b):
    return a.shape == b.shape and bool(torch.allclose(a.double(), b.double(), rtol=1e-4, atol=1e-6))


def _first_difference(states, expected):
    """(call, "params" or "square_avgs", index, got, want) of the first difference, or None."""
    for k, ((params, averages), (want_params, want_averages)) in enumerate(zip(states, expected)):
        for name, got_list, want_list in (("square_avgs", averages, want_averages),
                                          ("params", params, want_params)):
            for i, (got, want) in enumerate(zip(got_list, want_list)):
                if not _close(got, want):
                    return k, name, i, got, want
    return None


def _same(states, other):
    return other is not None and _first_difference(states, other) is None


def _try(step, scenario):
    try:
        return _simulate(step, scenario)
    except Exception:
        return None


def _describe_difference(scenario, difference):
    k, name, i, got, want = difference
    off = (~torch.isclose(got.double(), want.double(), rtol=1e-4, atol=1e-6)).nonzero()[0]
    index = ", ".join(str(int(n)) for n in off)
    calls = len(scenario.grads_per_call)
    when = f"after call {k + 1} of {calls}" if calls > 1 else "after the call"
    return (f"  case: \"{scenario.description}\" (lr={number(scenario.lr)}, "
            f"alpha={number(scenario.alpha)}, eps={number(scenario.eps)})\n"
            f"  {when}, {name}[{i}][{index}] is {number(got[tuple(off)].item())}, expected "
            f"{number(want[tuple(off)].item())}\n"
            f"  {name}[{i}] expected: {show(want)}\n"
            f"  {name}[{i}] returned: {show(got)}")


@checker
def check_shared_rmsprop_step(fn) -> None:
    r"""Check ``shared_rmsprop_step(params, grads, square_avgs, lr, alpha, eps)``.

    .. math::
        g \leftarrow \alpha g + (1 - \alpha)\, \Delta\theta^2 \qquad
        \theta \leftarrow \theta - \eta \frac{\Delta\theta}{\sqrt{g + \epsilon}}

    in place, for lists of parameters of several shapes. Verifies, on one step from
    zero statistics with a large :math:`\epsilon` (0.1, where sitting outside the root
    makes a large difference) and three steps in a row from warm statistics (so that
    an answer right only on the first call, or only from zeros, fails):

    - the function changes the tensors it is given, in place: not the lists' entries,
      not the tensors' memory (``param.data = ...`` would take a parameter out of the
      shared memory), and not ``grads``;
    - after each call, the values of ``square_avgs`` and ``params``; a wrong answer
      is matched against the usual mistakes: :math:`\epsilon` outside the root
      (``torch.optim.RMSprop``'s form), no root, the old average used, alpha and
      1 - alpha swapped, the gradient not squared, no moving average, a sum of squares
      (AdaGrad), the average never stored, the wrong sign, no learning rate, a step of
      the first parameter only.
    """
    __tracebackhide__ = True
    check_signature(fn, SHARED_RMSPROP)
    states = [_run_student(fn, scenario) for scenario in SCENARIOS]
    expected = [_simulate(targets.shared_rmsprop_step, scenario) for scenario in SCENARIOS]
    wrong = [k for k in range(len(SCENARIOS)) if _first_difference(states[k], expected[k])]
    if wrong:
        first = wrong[0]
        difference = _first_difference(states[first], expected[first])
        details = _describe_difference(SCENARIOS[first], difference)
        # A mistake that explains every scenario is the surest; else one that explains the first.
        fits = [m for m in SHARED_RMSPROP_MISTAKES
                if all(_same(states[k], _try(m.step, SCENARIOS[k])) for k in range(len(SCENARIOS)))]
        fits = fits or [m for m in SHARED_RMSPROP_MISTAKES
                        if _same(states[first], _try(m.step, SCENARIOS[first]))]
        if fits:
            fail(f"shared_rmsprop_step: {fits[0].hint}\n{details}", fits[0].key)
        nan = " It contains nan or inf." if not torch.isfinite(difference[3]).all() else ""
        fail(f"shared_rmsprop_step: the tensors differ from the reference's.{nan}\n{details}\n"
             f"Reminder: {SHARED_RMSPROP.goal}", "differs")
    report_success(SHARED_RMSPROP, sum(len(s.grads_per_call) for s in SCENARIOS))
