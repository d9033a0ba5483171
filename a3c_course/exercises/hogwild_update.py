r"""The checker of ``hogwild_update``: a worker's update of the shared model (notebook 6).

The function's effects are what count: the gradients the optimizer finds on the shared
parameters when it steps, the shared weights after the step, and the norm returned. The
checker runs the student's function on real small networks, three updates in a row (the
worker copies the shared weights into its local model before each, as in training),
with an optimizer that records what every ``step()`` saw; every known mistake (a wrong
implementation, below) runs on the same networks, and the one that leaves the same
record is named.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..engine.flat_params import flatten_gradients
from ..paper import targets
from .checking import Case, Exercise, call, check_signature, checker, fail
from .common import report_success
from .messages import number, show

HOGWILD = Exercise(
    name="hogwild_update",
    parameters=("local_model", "shared_model", "optimizer", "loss", "max_grad_norm"),
    goal="zero the local model's gradients; loss.backward(); clip the global norm of the "
         "local gradients to max_grad_norm (torch.nn.utils.clip_grad_norm_); give each shared "
         "parameter the local parameter's gradient (shared_param.grad = local_param.grad); "
         "optimizer.step(); return the norm before clipping, a float.",
    shapes="local_model and shared_model are networks of the same architecture; optimizer "
           "holds shared_model's parameters; loss is a 0-d tensor computed with local_model; "
           "max_grad_norm a float",
    exception_hints=(
        ("'NoneType' object has no attribute",
         "A shared parameter has no .grad until you give it one: assign "
         "shared_param.grad = local_param.grad (do not copy_ into a .grad that is None)."),
        ("backward through the graph a second time",
         "Call loss.backward() once per update."),
    ),
)


class RecordingOptimizer:
    """Plain gradient descent over the shared parameters that records what each step saw."""

    def __init__(self, params, lr):
        self.param_groups = [{"params": list(params), "lr": lr}]
        self.seen = []  # one list per step: each parameter's .grad then (None if none)

    def step(self, closure=None):
        group = self.param_groups[0]
        with torch.no_grad():
            seen = []
            for param in group["params"]:
                grad = param.grad
                seen.append(None if grad is None else grad.detach().clone())
                if grad is not None:
                    param.sub_(group["lr"] * grad)
            self.seen.append(seen)

    def zero_grad(self, set_to_none=True):
        for param in self.param_groups[0]["params"]:
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.zero_()


@dataclass(frozen=True)
class Scenario:
    description: str
    max_grad_norm: float
    loss_scale: float
    flat_local_gradients: bool = False
    calls: int = 3


SCENARIOS = (
    Scenario("three updates with gradients larger than max_grad_norm (clipping matters)",
             max_grad_norm=1.0, loss_scale=10.0),
    Scenario("three updates with gradients smaller than max_grad_norm (nothing to clip)",
             max_grad_norm=100.0, loss_scale=1.0),
    Scenario("three updates, the local gradients views of one flat tensor (as in the trainer)",
             max_grad_norm=2.0, loss_scale=10.0, flat_local_gradients=True),
)


def _network(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


def _inputs(k):
    generator = torch.Generator().manual_seed(100 + k)
    return torch.randn(5, 3, generator=generator), torch.randn(5, 2, generator=generator)


@dataclass
class Update:
    """What one call did: the norm returned, the gradients each step saw, the shared weights."""

    returned: object
    seen: list
    shared_after: list


def _run(update, scenario, checked=False):
    """Three updates as a worker makes them; returns one :class:`Update` per call."""
    __tracebackhide__ = True
    shared, local = _network(0), _network(1)
    if scenario.flat_local_gradients:
        flatten_gradients(local)
    else:
        for param in local.parameters():
            param.grad = torch.zeros_like(param)
    with torch.no_grad():  # what an earlier rollout left in the local gradients
        for k, param in enumerate(local.parameters()):
            param.grad.copy_(torch.linspace(-1.0, 1.0, param.numel()).view_as(param) * (k + 1))
    optimizer = RecordingOptimizer(shared.parameters(), lr=0.1)
    updates = []
    for k in range(scenario.calls):
        with torch.no_grad():  # theta' <- theta, as the worker does before each rollout
            for local_param, shared_param in zip(local.parameters(), shared.parameters()):
                local_param.copy_(shared_param)
        x, target = _inputs(k)
        loss = scenario.loss_scale * (local(x) - target).pow(2).sum()
        steps_before = len(optimizer.seen)
        args = (local, shared, optimizer, loss, scenario.max_grad_norm)
        if checked:
            case = Case(f"{scenario.description}, update {k + 1} of {scenario.calls}", args)
            returned = call(update, HOGWILD, case, args=args)
        else:
            returned = update(*args)
        updates.append(Update(returned, optimizer.seen[steps_before:],
                              [p.detach().clone() for p in shared.parameters()]))
    return updates


# ------------------------------------------------------------------ the mistakes, as code


def _clip_global(params, max_norm):
    return torch.nn.utils.clip_grad_norm_(params, max_norm)


def _hand_over(local, shared):
    for shared_param, local_param in zip(shared.parameters(), local.parameters()):
        shared_param.grad = local_param.grad


def _update(zero="before", clip="global", hand_over=_hand_over, step_first=False,
            returned="before", steps=1):
    """An update built from adjustable parts; every mistake below is one of these."""
    def update(local, shared, optimizer, loss, max_grad_norm):
        if zero == "before":
            local.zero_grad()
        loss.backward()
        if zero == "after":
            local.zero_grad(set_to_none=False)
        params = list(local.parameters())
        before = float(torch.linalg.vector_norm(torch.stack(
            [torch.linalg.vector_norm(p.grad) for p in params if p.grad is not None])))
        if clip == "global":
            _clip_global(params, max_grad_norm)
        elif clip == "each":
            for p in params:
                torch.nn.utils.clip_grad_norm_([p], max_grad_norm)
        elif clip == "value":
            torch.nn.utils.clip_grad_value_(params, max_grad_norm)
        elif clip == "rescale":
            with torch.no_grad():
                for p in params:
                    p.grad.mul_(max_grad_norm / before)
        if step_first:
            for _ in range(steps):
                optimizer.step()
            hand_over(local, shared)
        else:
            hand_over(local, shared)
            for _ in range(steps):
                optimizer.step()
        if returned == "after":
            return min(before, max_grad_norm) if clip != "rescale" else max_grad_norm
        return before
    return update


def _grads_into_local(local, shared):
    for shared_param, local_param in zip(shared.parameters(), local.parameters()):
        local_param.grad = shared_param.grad


def _weights_handed_over(local, shared):
    for shared_param, local_param in zip(shared.parameters(), local.parameters()):
        shared_param.grad = local_param.detach().clone()


class UpdateMistake:
    """A known wrong update: a key, the hint, and the implementation that makes it."""

    def __init__(self, key, hint, update):
        self.key, self.hint, self.update = key, hint, update


HOGWILD_MISTAKES = (
    UpdateMistake("gradients_accumulate",
                  "the gradients pile up from one update to the next: backward() *adds* into "
                  "the local .grad, so zero the local model's gradients before it "
                  "(local_model.zero_grad()). Zeroing the shared ones (shared_model.zero_grad(), "
                  "optimizer.zero_grad()) is not the same: a shared .grad is only a reference to "
                  "a local one, which keeps its values. The first update is right; every later "
                  "one also applies the gradients of all the earlier rollouts.",
                  _update(zero=None)),
    UpdateMistake("zeroed_after_backward",
                  "the gradients are zeroed *after* backward(), so the update applies zeros: "
                  "zero them before loss.backward().",
                  _update(zero="after")),
    UpdateMistake("not_clipped",
                  "the optimizer stepped with gradients whose norm was above max_grad_norm: "
                  "clip with torch.nn.utils.clip_grad_norm_(local_model.parameters(), "
                  "max_grad_norm) after backward() and *before* optimizer.step() (if you hand "
                  "over copies, .clone(), clip before copying).",
                  _update(clip=None)),
    UpdateMistake("clipped_each_parameter",
                  "each parameter's gradient is clipped on its own; clip_grad_norm_ takes the "
                  "global norm of all the gradients together (the norm of the concatenation) "
                  "and scales them all by one factor, which keeps the update's direction.",
                  _update(clip="each")),
    UpdateMistake("clipped_by_value",
                  "the gradients are clipped element by element (clip_grad_value_); the "
                  "update clips their global norm, clip_grad_norm_, which keeps the "
                  "direction of the update and only shortens it.",
                  _update(clip="value")),
    UpdateMistake("always_rescaled",
                  "the gradients are scaled to norm max_grad_norm even when they were smaller: "
                  "clipping only ever shortens them, by min(1, max_grad_norm / norm) "
                  "(clip_grad_norm_ does it).",
                  _update(clip="rescale")),
    UpdateMistake("norm_after_clipping",
                  "the norm you return is the one *after* clipping (never above "
                  "max_grad_norm); return the norm before clipping: it is what "
                  "clip_grad_norm_ returns, and it shows how hard each rollout pulled.",
                  _update(returned="after")),
    UpdateMistake("no_gradient_handed_over",
                  "the optimizer found no gradient on the shared parameters, so the shared "
                  "model never changed: give each shared parameter the local gradient "
                  "(shared_param.grad = local_param.grad, not the other way round) before "
                  "optimizer.step(), and do not clear it in between (optimizer.zero_grad() "
                  "sets the shared .grad to None).",
                  _update(hand_over=_grads_into_local)),
    UpdateMistake("stepped_before_handing_over",
                  "optimizer.step() comes before the hand-over, so each step applies the "
                  "gradients of the *previous* update (and the first one none at all): hand "
                  "the local gradients to the shared parameters first, then step.",
                  _update(step_first=True)),
    UpdateMistake("weights_handed_over",
                  "the shared parameters got the local *weights* as their .grad; hand over "
                  "the gradients: shared_param.grad = local_param.grad.",
                  _update(hand_over=_weights_handed_over)),
)


# ------------------------------------------------------------------------- comparing


def _close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and bool(torch.allclose(a.double(), b.double(), rtol=1e-4, atol=1e-6))


def _as_number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if torch.is_tensor(value) and value.numel() == 1:
        return float(value.detach())
    return None


def _first_difference(updates, expected):
    """A sentence on the first way ``updates`` differ from ``expected``, or None."""
    for k, (got, want) in enumerate(zip(updates, expected)):
        when = f"update {k + 1}"
        if len(got.seen) != len(want.seen):
            return f"{when}: optimizer.step() was called {len(got.seen)} times, expected {len(want.seen)}"
        for step, step_want in zip(got.seen, want.seen):
            for i, (grad, grad_want) in enumerate(zip(step, step_want)):
                if not _close(grad, grad_want):
                    got_text = "no gradient (None)" if grad is None else show(grad)
                    return (f"{when}: the gradient optimizer.step() found on shared parameter "
                            f"{i} was {got_text}, expected {show(grad_want)}")
        norm, norm_want = _as_number(got.returned), _as_number(want.returned)
        if abs(norm - norm_want) > 1e-4 * max(1.0, abs(norm_want)):
            return f"{when}: you returned the norm {number(norm)}, expected {number(norm_want)}"
        for i, (param, param_want) in enumerate(zip(got.shared_after, want.shared_after)):
            if not _close(param, param_want):
                return (f"{when}: shared parameter {i} after the update is {show(param)}, "
                        f"expected {show(param_want)}")
    return None


def _try(update, scenario):
    try:
        return _run(update, scenario)
    except Exception:
        return None


def _check_structure(updates, scenario):
    """What the function returned, and how often it stepped, before any values."""
    __tracebackhide__ = True
    on = f"(on the case \"{scenario.description}\")"
    for k, update in enumerate(updates):
        if update.returned is None:
            fail(f"hogwild_update returned None {on}: return the global norm of the gradients "
                 f"before clipping, a float (clip_grad_norm_ returns it: "
                 f"norm = torch.nn.utils.clip_grad_norm_(...); ...; return float(norm)).",
                 "returns_none")
        if _as_number(update.returned) is None:
            fail(f"hogwild_update returned {type(update.returned).__name__} "
                 f"({show(update.returned)}) {on}; return one number, the norm before "
                 f"clipping, as a float.", "returns_not_a_number")
        if not update.seen:
            fail(f"hogwild_update never called optimizer.step() {on} (update {k + 1}): the "
                 f"step is what changes the shared weights.", "never_steps")
        if len(update.seen) > 1:
            fail(f"hogwild_update called optimizer.step() {len(update.seen)} times in one "
                 f"update {on}: one rollout, one step.", "steps_twice")


@checker
def check_hogwild_update(fn) -> None:
    r"""Check ``hogwild_update(local_model, shared_model, optimizer, loss, max_grad_norm)``.

    On small real networks, three updates in a row, each after the worker's copy of the
    shared weights into the local model, with gradients above and below
    ``max_grad_norm`` and with local gradients that are views of one flat tensor (the
    trainer's layout). Verifies:

    - the function returns a number and calls ``optimizer.step()`` once per update;
    - the gradients the step finds on the shared parameters are the local gradients of
      *this* loss, clipped to a global norm of ``max_grad_norm``; the shared weights
      after the step; the norm returned, the one before clipping. A wrong answer is
      matched against the usual mistakes: gradients that accumulate across updates (not
      zeroed, or the shared ones zeroed instead of the local ones), zeroed after
      ``backward``, not clipped (or clipped after the step), clipped per parameter or
      by value, always rescaled, the norm after clipping returned, no gradient handed
      over (or handed the wrong way), a step before the hand-over, the weights handed
      over instead of the gradients.
    """
    __tracebackhide__ = True
    check_signature(fn, HOGWILD)
    runs = []
    for scenario in SCENARIOS:
        updates = _run(fn, scenario, checked=True)
        _check_structure(updates, scenario)
        runs.append(updates)
    expected = [_run(targets.hogwild_update, scenario) for scenario in SCENARIOS]
    wrong = [k for k in range(len(SCENARIOS)) if _first_difference(runs[k], expected[k])]
    if not wrong:
        report_success(HOGWILD, sum(s.calls for s in SCENARIOS))
        return
    first = wrong[0]
    details = (f"  case: \"{SCENARIOS[first].description}\"\n"
               f"  {_first_difference(runs[first], expected[first])}")

    def explains(mistake, k):
        simulated = _try(mistake.update, SCENARIOS[k])
        return simulated is not None and _first_difference(runs[k], simulated) is None

    fits = [m for m in HOGWILD_MISTAKES if all(explains(m, k) for k in range(len(SCENARIOS)))]
    fits = fits or [m for m in HOGWILD_MISTAKES if explains(m, first)]
    if fits:
        fail(f"hogwild_update: {fits[0].hint}\n{details}", fits[0].key)
    fail(f"hogwild_update: the update differs from the reference's.\n{details}\n"
         f"Reminder: {HOGWILD.goal}", "differs")
