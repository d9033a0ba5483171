"""A student's exercise function inside the workers: what its output must look like.

A function that returns the right numbers in the wrong shape can train without a
word: ``n_step_returns`` returning ``[T, 1]`` broadcasts against the values ``[T]``
into a ``[T, T]`` loss. So the worker checks what each of the student's functions
returns, on its first call, against :data:`EXPECTED_OUTPUTS`, and stops the run with
an error that names the function, what it returned and what was expected.

Each exercise has one entry: a sentence saying what it returns, and a check that
gets the call's arguments and its result and returns what is wrong (or ``None``).
An exercise added to the course adds its entry here; an exercise without one is
simply not checked.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch


class StudentFunctionError(RuntimeError):
    """A student's function returned something of the wrong kind (raised in a worker)."""

    def __init__(self, name, message):
        super().__init__(message)
        self.function = name


@dataclass(frozen=True)
class Expected:
    """What an exercise function returns: ``describe(args)`` for a person, ``problem``
    (args, result) -> what is wrong, or None."""

    describe: Callable
    problem: Callable


def _shape(value) -> str:
    return f"[{', '.join(str(n) for n in value.shape)}]"


def _what(value) -> str:
    """What a value is, in a few words: 'a float32 tensor of shape [5, 1]'."""
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).replace('torch.', '')} tensor of shape {_shape(value)}"
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} NumPy array of shape {_shape(value)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values"
    return f"{type(value).__name__} {value!r}"[:80]


def float_tensor_shaped(reference_arg: int, drop_last: bool = False, what: str = ""):
    """A floating tensor shaped as argument ``reference_arg`` (less its last axis)."""

    def expected_shape(args):
        shape = tuple(args[reference_arg].shape)
        return shape[:-1] if drop_last else shape

    def describe(args):
        return f"a float tensor of shape [{', '.join(map(str, expected_shape(args)))}]{what}"

    def problem(args, result):
        if not isinstance(result, torch.Tensor):
            return _what(result)
        if not result.is_floating_point() or tuple(result.shape) != expected_shape(args):
            return _what(result)
        return None

    return Expected(describe, problem)


def _scalar_losses(args, result):
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        return _what(result)
    for value in result:
        if not isinstance(value, torch.Tensor) or value.dim() != 0 or not value.is_floating_point():
            return f"({', '.join(_what(v) for v in result)})"
    return None


def _action(args, result):
    n_actions = args[0].shape[-1]
    if isinstance(result, torch.Tensor) and result.dim() == 0 and not result.is_floating_point():
        result = int(result)
    if isinstance(result, bool) or not isinstance(result, numbers.Integral):
        return _what(result)
    return None if 0 <= result < n_actions else f"action {result}"


def _nothing(args, result):
    return None if result is None else _what(result)


def _a_number(args, result):
    if isinstance(result, torch.Tensor) and result.numel() == 1:
        result = float(result)
    if isinstance(result, bool) or not isinstance(result, numbers.Real):
        return _what(result)
    return None


def _atari_frame(args, result):
    if isinstance(result, np.ndarray) and result.shape == (84, 84) and result.dtype == np.uint8:
        return None
    return _what(result)


def _same_structure(expected, result) -> bool:
    if expected is None or result is None:
        return expected is None and result is None
    if isinstance(expected, torch.Tensor):
        return isinstance(result, torch.Tensor) and result.shape == expected.shape
    if isinstance(expected, (tuple, list)):
        return (isinstance(result, (tuple, list)) and len(result) == len(expected)
                and all(_same_structure(e, r) for e, r in zip(expected, result)))
    return True


def _lstm_state(args, result):
    return None if _same_structure(args[0], result) else _what(result)


#: What each exercise function returns, by the name ``train()`` takes it under.
EXPECTED_OUTPUTS: dict[str, Expected] = {
    "one_step_q_target": float_tensor_shaped(0, what=", one target per transition (as rewards)"),
    "sarsa_target": float_tensor_shaped(0, what=", one target per transition (as rewards)"),
    "n_step_returns": float_tensor_shaped(0, what=", one return per step of the rollout (as rewards)"),
    "entropy": float_tensor_shaped(0, drop_last=True, what=", one entropy per row of logits"),
    "actor_critic_loss": Expected(
        lambda args: "a tuple (total, policy_loss, value_loss, entropy) of four 0-d float tensors",
        _scalar_losses),
    "epsilon_greedy": Expected(
        lambda args: f"one action, an int from 0 to {args[0].shape[-1] - 1}", _action),
    "shared_rmsprop_step": Expected(
        lambda args: "None (it updates the parameters and statistics in place)", _nothing),
    "hogwild_update": Expected(
        lambda args: "a number: the gradient norm before clipping", _a_number),
    "atari_frame": Expected(lambda args: "a uint8 NumPy array of shape [84, 84]", _atari_frame),
    "gaussian_log_prob": float_tensor_shaped(0, drop_last=True, what=", one log-density per row"),
    "gaussian_entropy": float_tensor_shaped(0, drop_last=True, what=", one entropy per row"),
    "next_lstm_state": Expected(
        lambda args: "a state of the same structure and shapes as the one it was given",
        _lstm_state),
}


class CheckedOnFirstCall:
    """``fn`` with its first output checked against :data:`EXPECTED_OUTPUTS`.

    After the first call it costs one attribute test per call. It keeps the last
    output, so that a NaN loss can be traced to the function that made it.
    """

    def __init__(self, name, fn, expected: Expected):
        functools.update_wrapper(self, fn)
        self.name = name
        self.fn = fn
        self.expected = expected
        self.checked = False
        self.last_output = None

    def __call__(self, *args, **kwargs):
        result = self.fn(*args, **kwargs)
        self.last_output = result
        if not self.checked:
            try:
                problem = self.expected.problem(args, result)
            except (IndexError, AttributeError, TypeError):
                problem = None  # called in a way the table does not know: not checked
            if problem is not None:
                raise StudentFunctionError(self.name, (
                    f"your {self.name} returned {problem}; it must return "
                    f"{self.expected.describe(args)}. Run check_{self.name}({self.name}) "
                    "in the notebook to see what differs."))
            self.checked = True
        return result

    def made_non_finite(self) -> bool:
        """Whether its last output holds a NaN or an infinity."""
        return _non_finite(self.last_output)


def _non_finite(value) -> bool:
    if isinstance(value, torch.Tensor):
        return value.is_floating_point() and not bool(torch.isfinite(value.detach()).all())
    if isinstance(value, (tuple, list)):
        return any(_non_finite(v) for v in value)
    if isinstance(value, float):
        return not math.isfinite(value)
    return False


def checked_student_functions(functions: dict) -> dict:
    """The student's functions, each checked on its first call where the table knows it."""
    return {name: CheckedOnFirstCall(name, fn, EXPECTED_OUTPUTS[name])
            if name in EXPECTED_OUTPUTS else fn
            for name, fn in functions.items()}


def non_finite_outputs(functions: dict) -> list[str]:
    """Names of the student's functions whose last output was not finite."""
    return [name for name, fn in functions.items()
            if isinstance(fn, CheckedOnFirstCall) and fn.made_non_finite()]
