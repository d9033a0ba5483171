"""The checker of ``one_step_q_target``: the one-step Q-learning target (notebook 1)."""

from __future__ import annotations

from ..paper import targets
from .checking import Case, Exercise, Mistake, checker
from .common import (
    check_target,
    flags,
    floats,
    one_step_mistakes,
    q_target_with,
)

ONE_STEP_Q = Exercise(
    name="one_step_q_target",
    parameters=("rewards", "next_q_values", "terminated", "gamma"),
    goal="y_i = r_i + gamma * max_a Q(s'_i, a) for every transition i, and y_i = r_i "
         "where terminated[i] is True (a terminal state is worth 0); shape [B], no gradient.",
    shapes="rewards [B], next_q_values [B, A] (one row of action values per transition), "
           "terminated [B] (bool), gamma a float; the answer [B]",
    exception_hints=(
        ("return_types.max",
         "max(dim=1) returns a pair (values, indices): take .values, or use .amax(dim=1)."),
        ("can't multiply sequence",
         "max(dim=1) returns a pair (values, indices): take .values, or use .amax(dim=1)."),
        ("must match the size of tensor",
         "If you took a max, take it over the actions of each row: "
         "next_q_values.max(dim=1).values has one value per transition, [B]."),
    ),
)

ONE_STEP_Q_CASES = (
    Case("two transitions, two actions, gamma=0.5",
         (floats([0.5, -1.0]), floats([[1.0, -2.0], [-4.0, -3.0]]), flags([False, False]), 0.5)),
    Case("a batch with one terminal transition",
         (floats([1.0, 0.0, -1.0, 2.0]),
          floats([[2.0, 5.0, 1.0], [3.0, -1.0, 0.0], [0.0, 4.0, 4.0], [-2.0, -3.0, -1.0]]),
          flags([False, False, True, False]), 0.9)),
    Case("every transition terminal",
         (floats([3.0, -2.0]), floats([[10.0, 20.0, 30.0], [5.0, 5.0, 5.0]]), flags([True, True]), 0.99)),
    Case("a single transition, five actions",
         (floats([1.0]), floats([[0.5, 2.0, -1.0, 1.5, 0.0]]), flags([False]), 0.99)),
)


ONE_STEP_Q_MISTAKES = one_step_mistakes(lambda q: q.max(dim=1).values,
                                         "best next action value max_a Q(s', a)") + (
    Mistake("max_over_batch",
            "your target takes the max over dim 0, across the batch, where it should take it "
            "over the actions of each next state: next_q_values.max(dim=1).values.",
            q_target_with(lambda q: q.max(dim=0).values)),
    Mistake("max_over_everything",
            "your target takes one max over the whole tensor next_q_values; each transition "
            "needs the max of its own row: next_q_values.max(dim=1).values.",
            q_target_with(lambda q: q.max())),
    Mistake("argmax_index",
            "your target adds the *index* of the best action (argmax) where it needs its "
            "*value*: use next_q_values.max(dim=1).values, not .argmax(dim=1).",
            q_target_with(lambda q: q.argmax(dim=1).to(q.dtype))),
    Mistake("mean_instead_of_max",
            "your target averages the next action values; Q-learning takes the best one, "
            "max_a Q(s', a) (the greedy policy's value, whatever the agent does next).",
            q_target_with(lambda q: q.mean(dim=1))),
    Mistake("sum_instead_of_max",
            "your target sums the next action values; Q-learning takes the best one, "
            "max_a Q(s', a).",
            q_target_with(lambda q: q.sum(dim=1))),
    Mistake("min_instead_of_max",
            "your target takes the smallest next action value; Q-learning takes the "
            "largest, max_a Q(s', a).",
            q_target_with(lambda q: q.min(dim=1).values)),
    Mistake("first_action",
            "your target uses the value of action 0 in the next state, next_q_values[:, 0]; "
            "Q-learning takes the best action's, next_q_values.max(dim=1).values.",
            q_target_with(lambda q: q[:, 0])),
)


def _q_target_shape_hint(shape, case):
    batch, actions = case.args[1].shape
    if shape == (actions,) and actions != batch:
        return ("That is one value per action: you took the max over dim 0 (the batch) "
                "instead of dim 1 (the actions): next_q_values.max(dim=1).values.")
    if shape == (batch, actions) and actions != batch:
        return ("That is one value per action: take the max over the actions, "
                "next_q_values.max(dim=1).values.")
    return None


@checker
def check_one_step_q_target(fn) -> None:
    r"""Check ``one_step_q_target(rewards, next_q_values, terminated, gamma)``.

    The one-step Q-learning target of every transition of a batch,

    .. math::  y_i = r_i + \gamma \max_{a'} Q(s'_i, a'; \theta^-)

    and :math:`y_i = r_i` where the transition reached a terminal state.

    Verifies, on batches with and without terminal transitions:

    - the values; a wrong answer is matched against the usual mistakes: bootstrapping
      through terminal states, never bootstrapping, ``terminated`` used the wrong way
      round, a target of 0 (not :math:`r`) at terminal states, gamma missing, squared
      or applied to the reward, and the max taken over the wrong thing (over the
      batch, over everything, the argmax index, mean, sum, min or action 0);
    - the answer is a float32 tensor of shape ``[B]``;
    - the inputs are not modified;
    - the targets carry no gradient, even when ``next_q_values`` does.
    """
    __tracebackhide__ = True
    check_target(fn, ONE_STEP_Q, ONE_STEP_Q_CASES, targets.one_step_q_target,
                  ONE_STEP_Q_MISTAKES, _q_target_shape_hint, gradient_from=1)


