"""The machinery the exercise checkers in :mod:`a3c_course.checks` share.

A checker calls the student's function on small cases made by hand and holds what
comes back against the reference in :mod:`a3c_course.targets`. When the two differ it
looks for a reason the student will recognise: it also runs *known-wrong* versions of
the exercise (the mistakes students really make, each a :class:`Mistake`) on the same
cases, and when one of them reproduces the student's answer, the error names that
mistake. Only when none does is the message the case, the expected and the returned
values.

Every function on the path from a checker to :func:`fail` sets
``__tracebackhide__ = True``: IPython and pytest leave frames with that local out of
the traceback they print, so that in a notebook the student reads the hint, not the
checker's internals.
"""

from __future__ import annotations

import functools
import inspect
import traceback
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from ..errors import A3CCourseError
from ..student_notebooks import says_more_than_a_stub
from .messages import (
    GENERAL_EXCEPTION_HINTS,
    dtype_text,
    number,
    shape_text,
    short,
    show,
)

#: How close an answer must be to count as right (float32 arithmetic, summed losses).
RTOL, ATOL = 1e-4, 1e-5


class ExerciseError(A3CCourseError, AssertionError):
    """An exercise function gave a wrong answer; the message says what to change.

    ``mistake`` is the name of the mistake the checker recognised (for example
    ``"bootstraps_through_terminal"``), or ``"differs"`` when it could only show the
    case where the answer went wrong.
    """

    def __init__(self, message: str, mistake: str = "differs"):
        super().__init__(message)
        self.mistake = mistake

    def __reduce__(self):
        return type(self), (str(self), self.mistake)


# Students meet it as a3c_course.checks.ExerciseError; say so in plain tracebacks too.
ExerciseError.__module__ = "a3c_course.checks"


def fail(message: str, mistake: str = "differs"):
    """Stop the check with a hint for the student."""
    __tracebackhide__ = True
    # The message below says what to change in your function.
    raise ExerciseError(message, mistake) from None


def checker(check):
    """Decorate a checker: run it with one torch thread, and hide its frame.

    The exercises work on tensors of a few numbers, where torch's thread pool only
    costs time (much of it on a machine that is busy with something else).
    """

    @functools.wraps(check)
    def run(fn):
        __tracebackhide__ = True
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            check(fn)
        finally:
            torch.set_num_threads(threads)

    return run


@dataclass(frozen=True)
class Exercise:
    """What a checker knows about the function it checks.

    Attributes:
        name: the function's name, as the notebook and ``train()`` call it.
        parameters: its parameters, in order.
        goal: what it computes, in one sentence (repeated in "not implemented" and
            "differs" messages).
        shapes: the shapes of its inputs, for hints after a shape error.
        position: how messages point at one element of the answer, a format string:
            ``"at t={}"`` for a time step, ``"at i={}"`` for a transition, ``"in row {}"``.
        exception_hints: ``(text, hint)`` pairs: when the student's function raises
            an error whose message contains ``text``, the hint is added.
        backwards: the answer is computed backwards in time, so a message points at
            the *last* wrong position, where the backward walk first went wrong.
    """

    name: str
    parameters: tuple
    goal: str
    shapes: str
    position: str = "at i={}"
    exception_hints: tuple = ()
    backwards: bool = False


@dataclass(frozen=True)
class Case:
    """One call of the exercise: a short description and the arguments, in order."""

    description: str
    args: tuple

    def fresh_args(self) -> tuple:
        """New copies of the arguments, so that no call can spoil the next one."""
        return tuple(_copy(arg) for arg in self.args)


@dataclass(frozen=True)
class Mistake:
    """A mistake students make, and what a function that makes it returns.

    Attributes:
        key: a short name for the mistake (``ExerciseError.mistake``).
        hint: what the student did and how to fix it, in the course's words.
        output: computes the wrong answer from a case's arguments.
    """

    key: str
    hint: str
    output: Callable[..., Any]


def _copy(arg):
    if torch.is_tensor(arg):
        return arg.detach().clone().requires_grad_(arg.requires_grad)
    return arg


# --------------------------------------------------------------------------- calling


def check_signature(fn, exercise: Exercise) -> None:
    """The argument is a function that accepts the exercise's parameters."""
    __tracebackhide__ = True
    name = exercise.name
    if not callable(fn):
        fail(
            f"check_{name} needs your function itself, but it got a {type(fn).__name__} "
            f"({short(fn)}). Pass the function without calling it: check_{name}({name}).",
            "not_a_function",
        )
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(*exercise.parameters)
    except TypeError:
        fail(
            f"{name} must take {len(exercise.parameters)} arguments, "
            f"({', '.join(exercise.parameters)}); yours takes {signature}.",
            "wrong_signature",
        )


def call(fn, exercise: Exercise, case: Case, args: tuple | None = None):
    """Call the student's function on a case; any exception becomes a hint.

    Also checks that the function left its inputs as it found them.
    """
    __tracebackhide__ = True
    args = case.fresh_args() if args is None else args
    before = tuple(_copy(arg) for arg in args)
    try:
        result = fn(*args)
    except Exception as err:  # the student's code may raise anything
        if isinstance(err, NotImplementedError) and _raised_by_a_stub(err):
            fail(_not_implemented(fn, exercise, err), "not_implemented")
        fail(_raised(fn, exercise, case, err), "raised")
    check_inputs_unchanged(exercise, case, args, before)
    return result


def check_inputs_unchanged(exercise: Exercise, case: Case, args, before) -> None:
    """The trainer uses the inputs again after the call: they must not be modified."""
    __tracebackhide__ = True
    for name, arg, old in zip(exercise.parameters, args, before):
        if torch.is_tensor(arg) and not torch.equal(arg.detach(), old.detach()):
            fail(
                f"{exercise.name} changed its input `{name}` in place "
                f"(on the case {case.description}, before: {show(old)}, after: {show(arg)}). "
                f"The trainer uses `{name}` again after your function returns: compute "
                f"into a new tensor (e.g. torch.zeros_like({name})) instead of writing into "
                f"`{name}` with +=, *=, `{name}[i] = ...` or an in-place method like .mul_().",
                "modifies_input",
            )


def _raised_by_a_stub(err: NotImplementedError) -> bool:
    """A stub says ``raise NotImplementedError``; torch raises it too, for some dtypes."""
    frames = traceback.extract_tb(err.__traceback__)
    line = frames[-1].line if frames else ""
    return not line or "NotImplementedError" in line


def _not_implemented(fn, exercise: Exercise, err) -> str:
    name = exercise.name
    frames = traceback.extract_tb(err.__traceback__)
    raised_in = frames[-1].name if len(frames) > 1 else name
    if raised_in not in (name, getattr(fn, "__name__", name)):
        # The exercise calls another function of the student's that is still a stub.
        first = (f"{name} calls {raised_in}, which is not implemented yet: write "
                 f"{raised_in} first (and run its check), then run this check again.")
        return first + (f"\nIts hint: {err}" if says_more_than_a_stub(err, raised_in) else "")
    lines = [
        f"{name} is not implemented yet: replace the `raise NotImplementedError(...)` "
        f"line with your code.",
        f"What to compute: {exercise.goal}",
    ]
    if says_more_than_a_stub(err, name):
        lines.append(f"Hint: {err}")
    lines.append(f"Then run the cell that defines {name}, and this check again.")
    return "\n".join(lines)


def _raised(fn, exercise: Exercise, case: Case, err: Exception) -> str:
    lines = [
        f"{exercise.name} raised {type(err).__name__} on the case {describe(exercise, case)}:",
        f"    {type(err).__name__}: {err}",
    ]
    where = _student_line(fn, err)
    if where:
        lines.append(f"  {where}")
    text = str(err)
    hints = [hint for key, hint in exercise.exception_hints + GENERAL_EXCEPTION_HINTS
             if key in text]
    if isinstance(err, IndexError) or any(
        key in text for key in ("Dimension out of range", "size of tensor", "shape", "out of bounds")
    ):
        hints.append(f"The shapes: {exercise.shapes}.")
    lines.extend(hints[:2])
    return "\n".join(lines)


def _student_line(fn, err: Exception) -> str:
    """``in f, line 5: R = rewards[t + 1]``: the deepest line of the student's own code."""
    frames = traceback.extract_tb(err.__traceback__)[1:]  # [0] is the checker's call
    code = getattr(fn, "__code__", None)
    own = [f for f in frames if code is not None and f.filename == code.co_filename]
    frame = own[-1] if own else (frames[0] if frames else None)
    if frame is None:
        return ""
    line = f": {frame.line.strip()}" if frame.line else ""
    return f"in {frame.name}, line {frame.lineno}{line}"


# --------------------------------------------------------------------------- outputs


def expect_tensor(exercise: Exercise, case: Case, value, shape: tuple, what: str = "",
                  shape_hint: Callable[[tuple, Case], str | None] | None = None):
    """``value`` is a float32 tensor of ``shape``; otherwise say what it is instead.

    ``what`` names the output in messages (default: the function's answer);
    ``shape_hint(shape, case)`` may explain a wrong shape in the exercise's terms.
    """
    __tracebackhide__ = True
    name = exercise.name
    what = what or f"{name}'s answer"
    on = f"on the case {case.description}"
    expected = shape_text(shape)
    if value is None:
        fail(f"{name} returned None {on}: did you forget the `return` statement?", "returns_none")
    if isinstance(value, (list, tuple)):
        fail(
            f"{what} is a Python {type(value).__name__} ({short(value)}) {on}. Tensors in, "
            f"tensors out: build a tensor of shape {expected}, e.g. torch.tensor(my_list) "
            f"for numbers or torch.stack(my_list) for 0-d tensors.",
            "not_a_tensor",
        )
    if isinstance(value, np.ndarray):
        fail(
            f"{what} is a numpy array {on}. Tensors in, tensors out: compute with torch "
            f"operations (or convert with torch.as_tensor(x, dtype=torch.float32)).",
            "not_a_tensor",
        )
    if isinstance(value, (int, float, np.number)):
        fail(
            f"{what} is a plain number ({short(value)}) {on}, not a tensor: return the "
            f"tensor itself, without .item() or float(), so that it keeps its shape "
            f"{expected} and gradient can flow through it.",
            "not_a_tensor",
        )
    if not torch.is_tensor(value):
        fail(f"{what} is a {type(value).__name__} {on}; it should be a tensor of shape "
             f"{expected}.", "not_a_tensor")
    got = tuple(value.shape)
    if got != tuple(shape):
        hint = (shape_hint(got, case) if shape_hint else None) or _general_shape_hint(got, tuple(shape))
        fail(f"{what} has shape {shape_text(got)} {on}, expected {expected}. {hint}".rstrip(),
             "wrong_shape")
    if value.dtype == torch.float32:
        return
    if value.is_floating_point():
        fail(
            f"{what} is {dtype_text(value.dtype)} {on}; the course computes in float32, the "
            f"dtype of the network and of the inputs. Create new tensors with the inputs' "
            f"dtype (torch.zeros_like(...), dtype=rewards.dtype) rather than from numpy "
            f"float64 or with dtype=torch.float64.",
            "wrong_dtype",
        )
    fail(
        f"{what} is an integer tensor ({dtype_text(value.dtype)}) {on}, so every value is "
        f"rounded down. Make it float32: torch.zeros(T) or torch.zeros_like(rewards), "
        f"not torch.tensor([0, 0, 0]) or dtype=torch.long.",
        "integer_dtype",
    )


def _general_shape_hint(got: tuple, expected: tuple) -> str:
    if got == expected + (1,):
        return ("There is an extra dimension of size 1: remove it with .squeeze(-1), or "
                "take max/sum/gather results with keepdim=False.")
    if len(expected) == 1 and got == (expected[0], expected[0]):
        return ("Adding a [N] tensor to a [N, 1] tensor broadcasts to [N, N]: make both "
                "one-dimensional (.squeeze(-1)).")
    if got == () and expected != ():
        return "It should hold one value per element, not one number for all of them."
    if expected == () and got:
        return "Sum over the steps of the rollout (.sum()) to get one number."
    return ""


# --------------------------------------------------------------------------- values


def close(actual, expected) -> bool:
    """Same shape and values, within float32 tolerance; NaN is never close."""
    if not (torch.is_tensor(actual) and torch.is_tensor(expected)):
        return False
    if actual.shape != expected.shape:
        return False
    return bool(torch.allclose(actual.detach().double(), expected.detach().double(),
                               rtol=RTOL, atol=ATOL))


def diagnose(exercise: Exercise, cases, actual, expected, mistakes=(), what: str = "") -> None:
    """Compare the answers on every case; when one differs, name the mistake.

    A mistake that reproduces the student's answers on *every* case is the surest
    explanation; failing that, one that reproduces the first wrong answer. When
    no mistake fits, the message shows the case, the expected and the returned values.
    """
    __tracebackhide__ = True
    wrong = [i for i in range(len(cases)) if not close(actual[i], expected[i])]
    if not wrong:
        return
    first = wrong[0]
    outputs = {m.key: [_try_output(m, case) for case in cases] for m in mistakes}
    fits_all = [m for m in mistakes
                if all(close(actual[i], outputs[m.key][i]) for i in range(len(cases)))]
    fits_first = [m for m in mistakes if close(actual[first], outputs[m.key][first])]
    found = (fits_all or fits_first or [None])[0]
    details = _difference(exercise, cases[first], actual[first], expected[first], what)
    if found is not None:
        fail(f"{exercise.name}: {found.hint}\n{details}", found.key)
    nan = " It contains nan or inf." if not torch.isfinite(actual[first]).all() else ""
    label = f"{what} differs" if what else "the answer differs"
    fail(
        f"{exercise.name}: {label} from the reference on the case "
        f"{cases[first].description}.{nan}\n{details}\nReminder: {exercise.goal}",
        "differs",
    )


def _try_output(mistake: Mistake, case: Case):
    try:
        with torch.no_grad():
            return mistake.output(*case.fresh_args())
    except Exception:  # a mistake that does not apply to this case fits nothing
        return None


def _difference(exercise: Exercise, case: Case, actual, expected, what: str) -> str:
    lines = [f"  case: {describe(exercise, case)}"]
    a, e = actual.detach().double(), expected.detach().double()
    you = f"your {what} is" if what else "you returned"
    if e.dim() == 0:
        lines.append(f"  {you} {show(actual)}, expected {show(expected)}")
        return "\n".join(lines)
    off = ~torch.isclose(a, e, rtol=RTOL, atol=ATOL)
    index = tuple(int(k) for k in off.nonzero()[-1 if exercise.backwards else 0])
    where = (exercise.position.format(index[0]) if len(index) == 1
             else f"at [{', '.join(map(str, index))}]")
    lines.append(f"  {where} {you} {number(a[index].item())}, "
                 f"expected {number(e[index].item())}")
    lines.append(f"  expected: {show(expected)}")
    lines.append(f"  returned: {show(actual)}")
    return "\n".join(lines)


def describe(exercise: Exercise, case: Case) -> str:
    """``"ends in a terminal state" (rewards=[1.0, 2.0], gamma=0.5, ...)``."""
    arguments = ", ".join(f"{p}={show(a)}" for p, a in zip(exercise.parameters, case.args))
    return f'"{case.description}" ({arguments})'
