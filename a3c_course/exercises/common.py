"""What several checkers share: small tensor makers, the success line, and the checks
of the three target exercises (one-step Q, Sarsa and n-step returns).
"""

from __future__ import annotations

import warnings

import torch

from .checking import (
    Case,
    Exercise,
    ExerciseError,
    Mistake,
    call,
    check_signature,
    diagnose,
    expect_tensor,
    fail,
    show,
)


def floats(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def flags(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.bool)


def not_terminal(terminated, like):
    return (~terminated).to(like.dtype)


def report_success(exercise: Exercise, n_cases: int) -> None:
    print(f"{exercise.name} looks good: {n_cases} cases passed.")


def expect_no_gradient(exercise: Exercise, case: Case, value, source: str) -> None:
    """A target is a constant the prediction moves towards: no gradient may flow into it."""
    __tracebackhide__ = True
    if value.requires_grad:
        fail(
            f"{exercise.name}: your answer carries gradient back into `{source}` (on the case "
            f"{case.description}). A target is held constant: only the prediction is trained "
            f"towards it (the paper computes it with the target network). Return it "
            f"detached: .detach(), float(...) for a single number, or compute it under "
            f"torch.no_grad().",
            "target_has_gradient",
        )


def q_target_with(next_value):
    """The output of a one-step target that takes ``next_value(next_q_values)`` for max."""
    def output(r, q, done, gamma):
        return r + gamma * not_terminal(done, r) * next_value(q)
    return output


def one_step_mistakes(next_value, name):
    """The mistakes both one-step targets invite; ``next_value`` picks the value of the
    next state from the third argument, ``name`` says what it is in the hints."""
    return (
        Mistake("bootstraps_through_terminal",
                "your target bootstraps through the terminal state: where terminated[i] is "
                "True the next state is terminal, its value is 0, and the target is just r_i. "
                "Multiply the bootstrap term by (~terminated).float().",
                lambda r, q, done, gamma: r + gamma * next_value(q)),
        Mistake("never_bootstraps",
                f"your target is just the reward: add gamma times the {name} where the "
                "transition did not end the episode.",
                lambda r, q, done, gamma: r.clone()),
        Mistake("terminated_reversed",
                "your target uses `terminated` the wrong way round: it bootstraps only where "
                "the episode ended. Bootstrap where terminated is False: multiply by "
                "(~terminated).float(), or (1 - terminated.float()).",
                lambda r, q, done, gamma: r + gamma * done.to(r.dtype) * next_value(q)),
        Mistake("terminal_target_zero",
                "your target is 0 on terminal transitions, but the reward of the last step "
                "still counts: there the target is r_i (only the value of the next state is 0).",
                lambda r, q, done, gamma: not_terminal(done, r) * (r + gamma * next_value(q))),
        Mistake("missing_gamma",
                f"your target does not discount: the {name} must be multiplied by gamma.",
                lambda r, q, done, gamma: r + not_terminal(done, r) * next_value(q)),
        Mistake("gamma_squared",
                "your target discounts twice: a one-step target multiplies the next value by "
                "gamma once (gamma**1), not gamma**2.",
                lambda r, q, done, gamma: r + gamma**2 * not_terminal(done, r) * next_value(q)),
        Mistake("gamma_on_reward",
                "your target discounts the reward too: gamma multiplies only the value of the "
                "next state, y = r + gamma * (...), not gamma * (r + ...).",
                lambda r, q, done, gamma: gamma * (r + not_terminal(done, r) * next_value(q))),
    )


def check_target(fn, exercise, cases, reference, mistakes, shape_hint, gradient_from):
    """What the three target exercises share: values on every case, then no gradient.

    ``gradient_from`` is the position of the argument that comes with gradient in the
    last check (the next values, or the bootstrap value).
    """
    __tracebackhide__ = True
    check_signature(fn, exercise)
    expected = [reference(*case.fresh_args()) for case in cases]
    answers = []
    for k, case in enumerate(cases):
        try:
            answer = call(fn, exercise, case)
            expect_tensor(exercise, case, answer, tuple(case.args[0].shape), shape_hint=shape_hint)
        except ExerciseError:
            # A mistake named on the cases that did run says more than the error here.
            diagnose(exercise, cases[:k], answers, expected[:k], mistakes)
            raise
        answers.append(answer)
    diagnose(exercise, cases, answers, expected, mistakes)

    first = cases[0]
    args = list(first.fresh_args())
    args[gradient_from] = torch.as_tensor(args[gradient_from], dtype=torch.float32).requires_grad_()
    with_gradient = Case(f"{first.description}, `{exercise.parameters[gradient_from]}` "
                         f"with requires_grad=True", tuple(args))
    with warnings.catch_warnings():
        # float(bootstrap_value) is the right way to hold it constant; torch warns anyway.
        warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")
        answer = call(fn, exercise, with_gradient, args=tuple(args))
    expect_tensor(exercise, with_gradient, answer, tuple(first.args[0].shape), shape_hint=shape_hint)
    expect_no_gradient(exercise, with_gradient, answer, exercise.parameters[gradient_from])
    report_success(exercise, len(cases) + 1)


def expect_reference_gradient(fn, exercise: Exercise, case: Case, reference, positions) -> None:
    """The answer's gradient with respect to the arguments at ``positions`` is the reference's.

    ``fn`` and ``reference`` are called on copies of the case's arguments, those at
    ``positions`` with ``requires_grad``; both answers are summed and differentiated.
    """
    __tracebackhide__ = True

    def gradients(function, checked):
        args = list(case.fresh_args())
        for k in positions:
            args[k] = args[k].clone().requires_grad_()
        answer = call(function, exercise, case, args=tuple(args)) if checked else function(*args)
        if not torch.is_tensor(answer) or not answer.requires_grad:
            return None
        grads = torch.autograd.grad(answer.sum(), [args[k] for k in positions], allow_unused=True)
        return [torch.zeros_like(args[k]) if g is None else g for k, g in zip(positions, grads)]

    names = ", ".join(f"`{exercise.parameters[k]}`" for k in positions)
    student = gradients(fn, True)
    if student is None:
        fail(f"{exercise.name}: your answer carries no gradient back to {names} (on the case "
             f"{case.description}), so the loss could not train the network through it. Stay "
             f"in torch on the way from the inputs to the answer: no .item(), .numpy(), "
             f".detach() or torch.no_grad().", "no_gradient")
    expected = gradients(reference, False)
    for k, got, want in zip(positions, student, expected):
        if not torch.allclose(got.double(), want.double(), rtol=1e-4, atol=1e-5):
            fail(f"{exercise.name}: the values are right but the gradient with respect to "
                 f"`{exercise.parameters[k]}` is not (on the case {case.description}): "
                 f"d sum(answer) / d {exercise.parameters[k]} = {show(got)}, expected "
                 f"{show(want)}. Part of the formula is detached (.detach(), .item(), "
                 f"numpy, torch.no_grad()) or computed from a constant.", "wrong_gradient")


def per_action_dimension_shape_hint(quantity: str, why: str = ""):
    """A shape hint for a per-step quantity summed over a diagonal Gaussian's action
    dimensions (the first argument is ``[T, D]``): names a sum over the wrong axis or none."""

    def hint(shape, case):
        steps, dims = case.args[0].shape
        if shape == (steps, dims):
            return (f"That is one {quantity} per action dimension: sum them over the last "
                    f"dimension, .sum(dim=-1){why}.")
        if shape == (dims,) and dims != steps:
            return "You summed over the steps (dim 0); sum over the action dimensions, dim=-1."
        if shape == ():
            return f"That is one number for the whole rollout; return one {quantity} per step."
        return None

    return hint

