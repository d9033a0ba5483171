"""The checker of ``sarsa_target``: the one-step Sarsa target (notebook 2)."""

from __future__ import annotations

from ..paper import targets
from .checking import Case, Exercise, Mistake, checker
from .common import (
    check_target,
    flags,
    floats,
    not_terminal,
    one_step_mistakes,
)

SARSA = Exercise(
    name="sarsa_target",
    parameters=("rewards", "next_q_taken", "terminated", "gamma"),
    goal="y_i = r_i + gamma * Q(s'_i, a'_i) with a'_i the action actually taken next "
         "(next_q_taken[i]), and y_i = r_i where terminated[i] is True; shape [B], no gradient.",
    shapes="rewards [B], next_q_taken [B] (Q(s', a') of the action taken next, one number "
           "per transition), terminated [B] (bool), gamma a float; the answer [B]",
    exception_hints=(
        ("Dimension out of range",
         "next_q_taken is already one number per transition, Q(s', a') of the action the "
         "agent takes next: Sarsa takes no max over actions (that is Q-learning)."),
    ),
)

SARSA_CASES = (
    Case("a batch with one terminal transition",
         (floats([1.0, 0.0, -1.0, 2.0]), floats([5.0, -1.0, 4.0, -3.0]),
          flags([False, False, True, False]), 0.9)),
    Case("two transitions, gamma=0.5",
         (floats([0.5, -1.0]), floats([2.0, -4.0]), flags([False, False]), 0.5)),
    Case("every transition terminal",
         (floats([3.0, -2.0]), floats([10.0, 5.0]), flags([True, True]), 0.99)),
    Case("a single transition", (floats([1.0]), floats([1.5]), flags([False]), 0.99)),
)

SARSA_MISTAKES = one_step_mistakes(lambda q: q, "value Q(s', a') of the next action taken") + (
    Mistake("max_instead_of_next_action",
            "your target takes the max of next_q_taken across the batch. That is Q-learning's "
            "idea (the best next action) applied to the wrong axis; Sarsa is on-policy: "
            "transition i uses Q(s'_i, a'_i) of the action taken next, next_q_taken[i].",
            lambda r, q, done, gamma: r + gamma * not_terminal(done, r) * q.max()),
)


@checker
def check_sarsa_target(fn) -> None:
    r"""Check ``sarsa_target(rewards, next_q_taken, terminated, gamma)``.

    The one-step Sarsa target, :math:`y_i = r_i + \gamma Q(s'_i, a'_i; \theta^-)`, where
    :math:`a'_i` is the action the agent actually takes next (on-policy), and
    :math:`y_i = r_i` at terminal states.

    Verifies the values (recognising bootstrapping through terminal states, never
    bootstrapping, ``terminated`` reversed, a target of 0 at terminal states, gamma
    missing, squared or applied to the reward, and a max over the next values where
    the value of the action taken belongs), the float32 shape ``[B]``, unmodified
    inputs, and that the targets carry no gradient.
    """
    __tracebackhide__ = True
    check_target(fn, SARSA, SARSA_CASES, targets.sarsa_target, SARSA_MISTAKES,
                  None, gradient_from=1)
