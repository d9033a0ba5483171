r"""The checker of ``next_lstm_state``: the recurrent state a worker carries on (notebook 9).

The states are real ones: ``(h, c)`` from an LSTM cell of 256 units run with gradient,
so that they carry a graph (``grad_fn``) as a state computed in a loss's forward pass
does, and the Gaussian policy's pair of such pairs. The checker calls the function as a
worker does, rollout after rollout, each state the LSTM's output from the one returned
before, and looks at what came back: the nesting, shapes and dtype; zeros after an
episode, the same values otherwise; no gradient and no graph either way; and the
state it was given left as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..paper.models import LSTM_SIZE
from .checking import Case, Exercise, call, check_signature, checker, fail
from .common import report_success
from .messages import shape_text

NEXT_LSTM_STATE = Exercise(
    name="next_lstm_state",
    parameters=("state", "episode_ended"),
    goal="if episode_ended: zeros of the same shapes (torch.zeros_like), without gradient; "
         "else the same values detached (.detach()); the same nesting as `state`: (h, c), "
         "or ((h, c), (h, c)) for the Gaussian policy.",
    shapes="state is (h, c), each [1, 256], or a pair of such pairs; episode_ended a bool; "
           "the answer has the nesting and shapes of state",
)


@dataclass(frozen=True)
class Scenario:
    """Rollouts in a row: the state after each comes from the LSTM, from the one carried."""

    description: str
    pairs: int  # 1: (h, c); 2: the Gaussian policy's (policy's (h, c), value's (h, c))
    episode_ends: tuple  # for each rollout, whether it ended the episode
    with_gradient: bool = True


SCENARIOS = (
    Scenario("an (h, c) state, rollouts that end mid-episode, mid-episode, then at the "
             "episode's end, then mid-episode again", 1, (False, False, True, False)),
    Scenario("the Gaussian policy's ((h, c), (h, c)), an episode that ends, then goes on",
             2, (True, False, False)),
    Scenario("an (h, c) state computed without gradient, as acting computes it", 1,
             (False, True), with_gradient=False),
)


def _cells(pairs):
    torch.manual_seed(0)
    return [nn.LSTMCell(3, LSTM_SIZE) for _ in range(pairs)]


def _advance(cells, state, step, with_gradient):
    """The state after one more step of each LSTM, from ``state``."""
    inputs = torch.full((1, 3), 0.5 + step)
    with torch.set_grad_enabled(with_gradient):
        pairs = [cell(inputs, pair) for cell, pair in zip(cells, state)]
    return pairs[0] if len(pairs) == 1 else tuple(pairs)


def _zeros(pairs):
    pair = (torch.zeros(1, LSTM_SIZE), torch.zeros(1, LSTM_SIZE))
    return pair if pairs == 1 else (pair, (torch.zeros(1, LSTM_SIZE), torch.zeros(1, LSTM_SIZE)))


def _as_pairs(state, pairs):
    return [state] if pairs == 1 else list(state)


def _leaves(state):
    if torch.is_tensor(state):
        return [state]
    return [leaf for part in state for leaf in _leaves(part)]


def _names(pairs):
    return ["h", "c"] if pairs == 1 else ["policy h", "policy c", "value h", "value c"]


def _nesting(value) -> str:
    """``(tensor, tensor)``: how a value is nested, for messages."""
    if torch.is_tensor(value):
        return "tensor"
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_nesting(part) for part in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return type(value).__name__


def _check_nesting(answer, state, case):
    """The answer has the nesting of ``state``: (h, c) or ((h, c), (h, c)), tensors inside."""
    __tracebackhide__ = True
    on = f"on the case \"{case.description}\""
    expected = "((h, c), (h, c))" if not torch.is_tensor(state[0]) else "(h, c)"
    if answer is None:
        fail(f"next_lstm_state returned None {on}: did you forget the `return` statement?",
             "returns_none")

    def same(a, s):
        if torch.is_tensor(s):
            return torch.is_tensor(a)
        return isinstance(a, (tuple, list)) and len(a) == len(s) and all(map(same, a, s))

    if not same(answer, state):
        fail(f"next_lstm_state returned {_nesting(answer)} {on}; the state is {expected}, and the model "
             f"unpacks it so: return the same nesting (a function that handles one tensor "
             f"and recurses into tuples handles both).", "wrong_nesting")


#: The mistakes the checker names, each with its hint ({on} says which case).
NEXT_LSTM_STATE_MISTAKES = {
    "modifies_input":
        "next_lstm_state changed the state it was given, in place ({name}, {on}): h.zero_(), "
        "h.detach_(), or h.detach().zero_() (a detached tensor shares its memory with the "
        "original). The trainer may still hold that state; return new tensors: "
        "torch.zeros_like(h), h.detach().",
    "wrong_shape":
        "next_lstm_state returned {name} of shape {got} {on}, expected {expected}, the shape "
        "it came in: torch.zeros_like(h) keeps it.",
    "wrong_dtype":
        "next_lstm_state returned {name} as {got} {on}, expected {expected}: "
        "torch.zeros_like(h) keeps the dtype.",
    "never_resets":
        "next_lstm_state: your state is never reset: after an episode ends, the next starts "
        "from the initial state, zeros (torch.zeros_like), or the new game begins with the "
        "memories of the old one ({on}).",
    "reset_incomplete":
        "next_lstm_state: after the episode ended, {name} still holds the old values ({on}): "
        "reset every part of the state, h and c (c is the memory itself), to zeros.",
    "zeros_with_gradient":
        "next_lstm_state: your zeros carry gradient ({on}): h * 0 keeps h's graph, and "
        "requires_grad=True makes a tensor the optimizer never sees. Make them with "
        "torch.zeros_like(h), which has no gradient.",
    "resets_always":
        "next_lstm_state: your state is reset although the episode goes on ({on}): the next "
        "rollout must start where this one stopped, or the agent forgets everything at every "
        "rollout boundary (every t_max steps). Reset only when episode_ended is True.",
    "values_changed":
        "next_lstm_state: mid-episode the state must keep its values (only detached), but "
        "yours changed them ({on}).",
    "not_detached":
        "next_lstm_state: the state you carry on is not detached: it still has a grad_fn "
        "(requires_grad=True), so the next rollout's graph would hang on to this one's, and "
        "the next backward() would run back into rollouts already learned from (\"Trying to "
        "backward through the graph a second time\", or, with retain_graph, updates slower "
        "with every rollout). Return h.detach(), c.detach() ({on}).",
}


def _named(key, **values):
    __tracebackhide__ = True
    fail(NEXT_LSTM_STATE_MISTAKES[key].format(**values), key)


def _check_call(answer, state, before, ended, case, pairs):
    __tracebackhide__ = True
    on = f"on the case \"{case.description}\""
    names = _names(pairs)
    _check_nesting(answer, state, case)
    leaves, inputs = _leaves(answer), _leaves(state)
    for name, leaf, original, (values, had_graph) in zip(names, leaves, inputs, before):
        if not torch.equal(original.detach(), values) or (had_graph and original.grad_fn is None):
            _named("modifies_input", name=name, on=on)
        if tuple(leaf.shape) != tuple(original.shape):
            _named("wrong_shape", name=name, on=on, got=shape_text(leaf.shape),
                   expected=shape_text(original.shape))
        if leaf.dtype != original.dtype:
            _named("wrong_dtype", name=name, on=on, got=leaf.dtype, expected=original.dtype)
    zero = [bool(torch.count_nonzero(leaf) == 0) for leaf in leaves]
    same = [torch.equal(leaf.detach(), original.detach()) for leaf, original in zip(leaves, inputs)]
    graph = [leaf.requires_grad or leaf.grad_fn is not None for leaf in leaves]
    if ended:
        if all(same) and not all(zero):
            _named("never_resets", on=on)
        if not all(zero):
            kept = ", ".join(name for name, z in zip(names, zero) if not z)
            _named("reset_incomplete", name=kept, on=on)
        if any(graph):
            _named("zeros_with_gradient", on=on)
        return
    if all(zero) and not all(same):
        _named("resets_always", on=on)
    if not all(same):
        _named("values_changed", on=on)
    if any(graph):
        _named("not_detached", on=on)


@checker
def check_next_lstm_state(fn) -> None:
    r"""Check ``next_lstm_state(state, episode_ended)``.

    Called as a worker calls it, at the end of each rollout, with the state the LSTM
    computed from the one carried before: ``(h, c)`` of 256 units with a graph, the
    Gaussian policy's pair of pairs, and a state computed without gradient. Verifies:

    - the answer has the nesting, shapes and dtype of the state;
    - after an episode, zeros in every part, without gradient (a state never reset,
      only ``h`` reset, zeros made as ``h * 0`` or with ``requires_grad`` are named);
    - within an episode, the same values, with no gradient and no graph (a state
      reset at every rollout, or never detached, is named);
    - the state given is left as it was: values, and its graph (no ``zero_()``,
      ``detach_()``, or ``detach().zero_()``, which writes into the same memory).
    """
    __tracebackhide__ = True
    check_signature(fn, NEXT_LSTM_STATE)
    calls = 0
    for scenario in SCENARIOS:
        cells = _cells(scenario.pairs)
        carried = _zeros(scenario.pairs)
        for k, ended in enumerate(scenario.episode_ends):
            state = _advance(cells, _as_pairs(carried, scenario.pairs), k, scenario.with_gradient)
            case = Case(f"{scenario.description}: rollout {k + 1}, episode_ended={ended}",
                        (state, ended))
            before = [(leaf.detach().clone(), leaf.grad_fn is not None) for leaf in _leaves(state)]
            answer = call(fn, NEXT_LSTM_STATE, case, args=(state, ended))
            _check_call(answer, state, before, ended, case, scenario.pairs)
            carried = answer
            calls += 1
    report_success(NEXT_LSTM_STATE, calls)
