r"""One checker per exercise: run it right under the cell where you wrote the function.

.. code-block:: python

    from a3c_course.checks import check_n_step_returns

    check_n_step_returns(n_step_returns)
    # n_step_returns looks good: 7 cases passed.

A checker calls your function on small cases worked out by hand and compares the
answers with the reference solutions in :mod:`a3c_course.targets`. A right answer
prints one line. A wrong one raises :class:`ExerciseError` whose message names the
mistake, e.g. *your n-step returns bootstrap through the terminal state*, and shows
the case with the expected and the returned values.

How it finds the mistake: every exercise comes with a list of mistakes students
really make (:class:`~a3c_course.checking.Mistake`), each with what a function that
makes it would return. When your answers match one of them, that is the hint you get.
Besides values, the checkers look at what values alone do not show: the shape and the
dtype of the answer, inputs changed in place, whether gradient flows where it should
(and only there), and for ``epsilon_greedy`` the frequencies of the actions.

The conventions are those of :mod:`a3c_course.targets`: tensors in, tensors out,
float32; losses are *sums* over the steps of a rollout.
"""

from __future__ import annotations

import math
import random
import warnings
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F

from .paper import targets
from .exercises.checking import (
    Case,
    Exercise,
    ExerciseError,
    Mistake,
    call,
    checker,
    check_signature,
    close,
    describe,
    diagnose,
    expect_tensor,
    fail,
    show,
)

__all__ = [
    "CHECKS",
    "ExerciseError",
    "check",
    "check_actor_critic_loss",
    "check_entropy",
    "check_epsilon_greedy",
    "check_n_step_returns",
    "check_one_step_q_target",
    "check_sarsa_target",
]


def _t(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def _flags(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.bool)


def _not_terminal(terminated, like):
    return (~terminated).to(like.dtype)


def _success(exercise: Exercise, n_cases: int) -> None:
    print(f"{exercise.name} looks good: {n_cases} cases passed.")


def _expect_no_gradient(exercise: Exercise, case: Case, value, source: str) -> None:
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


# =========================================================================== one-step Q

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
         (_t([0.5, -1.0]), _t([[1.0, -2.0], [-4.0, -3.0]]), _flags([False, False]), 0.5)),
    Case("a batch with one terminal transition",
         (_t([1.0, 0.0, -1.0, 2.0]),
          _t([[2.0, 5.0, 1.0], [3.0, -1.0, 0.0], [0.0, 4.0, 4.0], [-2.0, -3.0, -1.0]]),
          _flags([False, False, True, False]), 0.9)),
    Case("every transition terminal",
         (_t([3.0, -2.0]), _t([[10.0, 20.0, 30.0], [5.0, 5.0, 5.0]]), _flags([True, True]), 0.99)),
    Case("a single transition, five actions",
         (_t([1.0]), _t([[0.5, 2.0, -1.0, 1.5, 0.0]]), _flags([False]), 0.99)),
)


def _q_target_with(next_value):
    """The output of a one-step target that takes ``next_value(next_q_values)`` for max."""
    def output(r, q, done, gamma):
        return r + gamma * _not_terminal(done, r) * next_value(q)
    return output


def _one_step_mistakes(next_value, name):
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
                lambda r, q, done, gamma: _not_terminal(done, r) * (r + gamma * next_value(q))),
        Mistake("missing_gamma",
                f"your target does not discount: the {name} must be multiplied by gamma.",
                lambda r, q, done, gamma: r + _not_terminal(done, r) * next_value(q)),
        Mistake("gamma_squared",
                "your target discounts twice: a one-step target multiplies the next value by "
                "gamma once (gamma**1), not gamma**2.",
                lambda r, q, done, gamma: r + gamma**2 * _not_terminal(done, r) * next_value(q)),
        Mistake("gamma_on_reward",
                "your target discounts the reward too: gamma multiplies only the value of the "
                "next state, y = r + gamma * (...), not gamma * (r + ...).",
                lambda r, q, done, gamma: gamma * (r + _not_terminal(done, r) * next_value(q))),
    )


ONE_STEP_Q_MISTAKES = _one_step_mistakes(lambda q: q.max(dim=1).values,
                                         "best next action value max_a Q(s', a)") + (
    Mistake("max_over_batch",
            "your target takes the max over dim 0, across the batch, where it should take it "
            "over the actions of each next state: next_q_values.max(dim=1).values.",
            _q_target_with(lambda q: q.max(dim=0).values)),
    Mistake("max_over_everything",
            "your target takes one max over the whole tensor next_q_values; each transition "
            "needs the max of its own row: next_q_values.max(dim=1).values.",
            _q_target_with(lambda q: q.max())),
    Mistake("argmax_index",
            "your target adds the *index* of the best action (argmax) where it needs its "
            "*value*: use next_q_values.max(dim=1).values, not .argmax(dim=1).",
            _q_target_with(lambda q: q.argmax(dim=1).to(q.dtype))),
    Mistake("mean_instead_of_max",
            "your target averages the next action values; Q-learning takes the best one, "
            "max_a Q(s', a) (the greedy policy's value, whatever the agent does next).",
            _q_target_with(lambda q: q.mean(dim=1))),
    Mistake("sum_instead_of_max",
            "your target sums the next action values; Q-learning takes the best one, "
            "max_a Q(s', a).",
            _q_target_with(lambda q: q.sum(dim=1))),
    Mistake("min_instead_of_max",
            "your target takes the smallest next action value; Q-learning takes the "
            "largest, max_a Q(s', a).",
            _q_target_with(lambda q: q.min(dim=1).values)),
    Mistake("first_action",
            "your target uses the value of action 0 in the next state, next_q_values[:, 0]; "
            "Q-learning takes the best action's, next_q_values.max(dim=1).values.",
            _q_target_with(lambda q: q[:, 0])),
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
    _check_target(fn, ONE_STEP_Q, ONE_STEP_Q_CASES, targets.one_step_q_target,
                  ONE_STEP_Q_MISTAKES, _q_target_shape_hint, gradient_from=1)


def _check_target(fn, exercise, cases, reference, mistakes, shape_hint, gradient_from):
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
    _expect_no_gradient(exercise, with_gradient, answer, exercise.parameters[gradient_from])
    _success(exercise, len(cases) + 1)


# =========================================================================== Sarsa

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
         (_t([1.0, 0.0, -1.0, 2.0]), _t([5.0, -1.0, 4.0, -3.0]),
          _flags([False, False, True, False]), 0.9)),
    Case("two transitions, gamma=0.5",
         (_t([0.5, -1.0]), _t([2.0, -4.0]), _flags([False, False]), 0.5)),
    Case("every transition terminal",
         (_t([3.0, -2.0]), _t([10.0, 5.0]), _flags([True, True]), 0.99)),
    Case("a single transition", (_t([1.0]), _t([1.5]), _flags([False]), 0.99)),
)

SARSA_MISTAKES = _one_step_mistakes(lambda q: q, "value Q(s', a') of the next action taken") + (
    Mistake("max_instead_of_next_action",
            "your target takes the max of next_q_taken across the batch. That is Q-learning's "
            "idea (the best next action) applied to the wrong axis; Sarsa is on-policy: "
            "transition i uses Q(s'_i, a'_i) of the action taken next, next_q_taken[i].",
            lambda r, q, done, gamma: r + gamma * _not_terminal(done, r) * q.max()),
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
    _check_target(fn, SARSA, SARSA_CASES, targets.sarsa_target, SARSA_MISTAKES,
                  None, gradient_from=1)


# =========================================================================== n-step returns

N_STEP = Exercise(
    name="n_step_returns",
    parameters=("rewards", "bootstrap_value", "terminated", "gamma"),
    goal="R_t = r_t + gamma r_{t+1} + ... + gamma^(T-1-t) r_{T-1} + gamma^(T-t) V for every "
         "step t, with V = bootstrap_value, or V = 0 when terminated; start from R = V and "
         "walk backwards, R = r_t + gamma * R; shape [T], in the order of `rewards`.",
    shapes="rewards [T] (one rollout), bootstrap_value a 0-d tensor or a number (the value "
           "of the state after the last step), terminated a bool, gamma a float; the answer [T]",
    position="at t={}",
    backwards=True,
    exception_hints=(
        ("'float' object has no attribute",
         "bootstrap_value may be a plain number as well as a 0-d tensor: "
         "float(bootstrap_value) works for both."),
    ),
)

N_STEP_CASES = (
    Case("a rollout cut off before the episode ended",
         (_t([1.0, 2.0, 3.0]), _t(10.0), False, 0.5)),
    Case("a rollout that ends in a terminal state",
         (_t([1.0, 2.0, 3.0]), _t(10.0), True, 0.5)),
    Case("a single step", (_t([2.0]), _t(4.0), False, 0.9)),
    Case("five steps, negative rewards and value",
         (_t([0.0, 0.0, 1.0, -1.0, 0.5]), _t(-2.0), False, 0.9)),
    Case("five steps ending in a terminal state",
         (_t([0.5, -1.0, 2.0, 0.0, 1.0]), _t(7.0), True, 0.8)),
    Case("bootstrap_value given as a plain number",
         (_t([1.0, -1.0]), 3.0, False, 0.9)),
)


def _returns(rewards, start, gamma, discount_rewards=True):
    """Walk backwards from ``start``; the helper behind several mistakes below."""
    out, running = [], float(start)
    for reward in reversed(rewards.tolist()):
        running = reward + (gamma if discount_rewards else 1.0) * running
        out.append(running)
    return _t(out[::-1])


def _bootstrap(value, terminated):
    return 0.0 if bool(terminated) else float(value)


def _walk_forwards(rewards, value, terminated, gamma):
    out, running = [], _bootstrap(value, terminated)
    for reward in rewards.tolist():
        running = reward + gamma * running
        out.append(running)
    return _t(out)


def _discount_outside(rewards, value, terminated, gamma):
    out, running = [], _bootstrap(value, terminated)
    for reward in reversed(rewards.tolist()):
        running = gamma * (reward + running)
        out.append(running)
    return _t(out[::-1])


def _shifted_by_one(rewards, value, terminated, gamma):
    out, running = [], _bootstrap(value, terminated)
    for reward in reversed(rewards.tolist()):
        out.append(running)  # stored before this step's reward is added
        running = reward + gamma * running
    return _t(out[::-1])


def _same_bootstrap_discount(rewards, value, terminated, gamma):
    T = len(rewards)
    tail = gamma**T * _bootstrap(value, terminated)
    return _returns(rewards, 0.0, gamma) + tail


def _undiscounted_rewards(rewards, value, terminated, gamma):
    T = len(rewards)
    sums = rewards.flip(0).cumsum(0).flip(0)
    powers = _t([gamma ** (T - t) for t in range(T)])
    return sums + powers * _bootstrap(value, terminated)


N_STEP_MISTAKES = (
    Mistake("bootstraps_through_terminal",
            "your n-step returns bootstrap through the terminal state: with terminated=True "
            "the value after the last step must be ignored (a terminal state is worth 0), "
            "so start from R = 0.",
            lambda r, v, done, gamma: _returns(r, float(v), gamma)),
    Mistake("terminated_reversed",
            "your n-step returns use `terminated` the wrong way round: they bootstrap when "
            "the rollout ended in a terminal state and start from 0 when it did not. Start "
            "from R = bootstrap_value unless terminated, then R = 0.",
            lambda r, v, done, gamma: _returns(r, float(v) if bool(done) else 0.0, gamma)),
    Mistake("never_bootstraps",
            "your n-step returns never bootstrap: when the rollout was cut off "
            "(terminated=False), the state after the last step still has a value, so "
            "start from R = bootstrap_value, not 0.",
            lambda r, v, done, gamma: _returns(r, 0.0, gamma)),
    Mistake("reversed_order",
            "your returns come out in reverse order: computing them backwards in time is "
            "right, but returns[t] must belong to rewards[t] (the first step's return is "
            "the longest, n-step one). Fill returns[t] in place, or reverse your list at the end.",
            lambda r, v, done, gamma: _returns(r, _bootstrap(v, done), gamma).flip(0)),
    Mistake("walks_forwards",
            "your returns are accumulated forwards in time (from t=0 to the end): a return "
            "collects the rewards that come *after* a step, so walk backwards from the "
            "bootstrap value, R = r_t + gamma * R for t = T-1, ..., 0.",
            _walk_forwards),
    Mistake("gamma_once_too_often",
            "your returns apply gamma once too often: R = gamma * (r_t + R) also discounts "
            "the reward of step t itself, which counts in full: R = r_t + gamma * R.",
            _discount_outside),
    Mistake("bootstrap_discounted_twice",
            "your returns discount the bootstrap value once too often (gamma^(T-t+1) V): "
            "start from R = V itself; the backward walk R = r_t + gamma * R discounts it.",
            lambda r, v, done, gamma: _returns(r, gamma * _bootstrap(v, done), gamma)),
    Mistake("bootstrap_not_discounted",
            "your returns add the bootstrap value without discounting it: the last step's "
            "return is r_{T-1} + gamma * V, not r_{T-1} + V.",
            lambda r, v, done, gamma: _returns(r, _bootstrap(v, done) / gamma, gamma)),
    Mistake("shifted_by_one",
            "your returns are shifted by one step: returns[t] holds the return of step t+1 "
            "(the last one is the bootstrap value itself). Update R = r_t + gamma * R first, "
            "then store returns[t] = R.",
            _shifted_by_one),
    Mistake("same_bootstrap_discount",
            "your returns discount the bootstrap value by gamma^T for every step; the step "
            "t is T - t steps from the bootstrap state, so its return adds gamma^(T-t) V "
            "(the backward walk does this by itself).",
            _same_bootstrap_discount),
    Mistake("rewards_not_discounted",
            "your returns add up the rewards without discounting them: the reward k steps "
            "ahead counts gamma^k times, R = r_t + gamma * R.",
            _undiscounted_rewards),
    Mistake("no_discount",
            "your returns ignore gamma altogether: R = r_t + gamma * R.",
            lambda r, v, done, gamma: _returns(r, _bootstrap(v, done), 1.0)),
    Mistake("one_step_for_every_step",
            "every step gets the one-step target r_t + gamma * V: the n-step return of step "
            "t adds all the rewards from t to the end of the rollout, then the discounted "
            "bootstrap value; walk backwards, R = r_t + gamma * R.",
            lambda r, v, done, gamma: r + gamma * _bootstrap(v, done)),
    Mistake("first_return_everywhere",
            "every step gets the return of the first step: each step t needs its own "
            "return, from its own reward on; store R after every step of the backward walk.",
            lambda r, v, done, gamma: _returns(r, _bootstrap(v, done), gamma)[:1].expand(len(r)).clone()),
)


def _n_step_shape_hint(shape, case):
    if shape == ():
        return ("That is one number for the whole rollout; every step of the rollout "
                "gets its own return.")
    if len(shape) == 1 and shape[0] == case.args[0].shape[0] + 1:
        return "That is one too many: leave the bootstrap value out of the answer."
    return None


@checker
def check_n_step_returns(fn) -> None:
    r"""Check ``n_step_returns(rewards, bootstrap_value, terminated, gamma)``.

    The forward-view returns of one rollout of :math:`T` steps,

    .. math::
        R_t = r_t + \gamma r_{t+1} + \dots + \gamma^{T-1-t} r_{T-1} + \gamma^{T-t} V

    with :math:`V` the value of the state after the last step, or 0 when that state
    is terminal.

    Verifies, on rollouts that end in a terminal state and rollouts that were cut off:

    - the values; a wrong answer is matched against the usual mistakes:
      bootstrapping through the terminal state, never bootstrapping, ``terminated``
      reversed, returns in reverse order, accumulated forwards in time, gamma applied
      once too often or too rarely (to the rewards, to the bootstrap value), a return
      that leaves out its own reward, one-step targets instead of n-step returns;
    - the answer is a float32 tensor of shape ``[T]`` (not ``[T, 1]``, a list, float64
      or an integer tensor); the bootstrap value may be a 0-d tensor or a number;
    - the inputs are not modified;
    - the returns carry no gradient, even when ``bootstrap_value`` does.
    """
    __tracebackhide__ = True
    _check_target(fn, N_STEP, N_STEP_CASES, targets.n_step_returns, N_STEP_MISTAKES,
                  _n_step_shape_hint, gradient_from=1)


# =========================================================================== epsilon-greedy

EPSILON_GREEDY = Exercise(
    name="epsilon_greedy",
    parameters=("q_values", "epsilon", "rng"),
    goal="with probability epsilon a uniformly random action among all A actions "
         "(if rng.random() < epsilon: rng.integers(A)), otherwise the greedy action "
         "argmax_a Q(a); return it as a plain int.",
    shapes="q_values [A] (the action values of one state), epsilon a float in [0, 1], rng "
           "a numpy Generator; the answer a Python int between 0 and A-1",
    position="for action {}",
)

#: Draws per statistical check. With these, each band below reaches more than 5.5
#: standard errors either side of the right frequency (a right answer fails about once
#: in ten million), while every mistake named lands well outside it.
UNIFORM_DRAWS, MIXED_DRAWS = 4000, 6000


@contextmanager
def _other_global_seeds(seed):
    """Reseed numpy's, Python's and torch's global generators, restoring them after.

    A function that draws from the ``rng`` it is given does not notice; one that
    draws from a global generator behaves differently under every seed.
    """
    saved = np.random.get_state(), random.getstate(), torch.get_rng_state()
    np.random.seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        np.random.set_state(saved[0])
        random.setstate(saved[1])
        torch.set_rng_state(saved[2])


def _draw(fn, q_values, epsilon, rng, n, description):
    """``n`` actions from the student's function, each checked to be an int in range."""
    __tracebackhide__ = True
    case = Case(description, (q_values, epsilon, rng))
    n_actions = q_values.shape[0]
    actions = np.empty(n, dtype=np.int64)
    for k in range(n):
        action = call(fn, EPSILON_GREEDY, case, args=(q_values, epsilon, rng))
        _expect_action(action, q_values, case)
        actions[k] = action
    return actions, np.bincount(actions, minlength=n_actions) / n


def _expect_action(action, q_values, case) -> None:
    __tracebackhide__ = True
    n_actions = q_values.shape[0]
    if type(action) is int and 0 <= action < n_actions:  # noqa: E721 (bool is no action)
        return
    on = f"on the case {describe(EPSILON_GREEDY, case)}"
    if torch.is_tensor(action):
        fail(f"epsilon_greedy returned a tensor ({action!r}) {on}. The environment wants a "
             f"plain Python int: return int(...) of it (or .item()).", "not_an_int")
    if isinstance(action, (bool, np.bool_)):
        fail(f"epsilon_greedy returned a bool ({action}) {on}; return the action, an int "
             f"between 0 and {n_actions - 1}.", "not_an_int")
    if isinstance(action, np.integer):
        fail(f"epsilon_greedy returned a numpy {type(action).__name__} ({action}) {on}, not "
             f"a plain Python int: wrap it in int(...).", "not_an_int")
    if not isinstance(action, int):
        fail(f"epsilon_greedy returned a {type(action).__name__} ({action!r}) {on}; return the "
             f"action, a plain int between 0 and {n_actions - 1}.", "not_an_int")
    if not 0 <= action < n_actions:
        if action == int(q_values.max()):
            fail(f"epsilon_greedy returned {action} {on}, the highest *value* (rounded to an "
                 f"int), not the *index* of the best action: use torch.argmax(q_values).",
                 "value_not_index")
        fail(f"epsilon_greedy returned action {action} {on}, but there are only {n_actions} "
             f"actions, 0 to {n_actions - 1}. A random action is rng.integers(A), which "
             f"already excludes A.", "out_of_range")


#: Action values for the greedy checks: greedy actions first, middle and last,
#: all negative, and values whose int() is not the greedy index.
GREEDY_Q_VALUES = (
    _t([0.1, 0.9, 0.3]),
    _t([-1.0, -0.2, -3.0, -0.5]),
    _t([0.5, 1.0, -1.0, 1.9, 2.5, 0.0]),
    _t([3.0, 1.0]),
)


def _check_greedy(fn) -> int:
    """epsilon=0: always the action with the highest value."""
    __tracebackhide__ = True
    chosen = []
    for q_values in GREEDY_Q_VALUES:
        actions, frequencies = _draw(fn, q_values, 0.0, np.random.default_rng(1), 30,
                                     "epsilon=0: always greedy")
        if len(set(actions.tolist())) > 1:
            _explores_at_zero(fn, q_values, frequencies)
        chosen.append(int(actions[0]))

    def always(rule):
        return all(action == rule(q) for action, q in zip(chosen, GREEDY_Q_VALUES))

    if always(lambda q: int(torch.argmax(q))):
        return len(GREEDY_Q_VALUES)
    k = next(k for k, q in enumerate(GREEDY_Q_VALUES) if chosen[k] != int(torch.argmax(q)))
    q_values, action = GREEDY_Q_VALUES[k], chosen[k]
    on = f"at epsilon=0 with q_values={show(q_values)}"
    if always(lambda q: int(torch.argmin(q))):
        fail(f"epsilon_greedy chose action {action} {on}, the one with the *lowest* value; "
             f"greedy means the highest: torch.argmax(q_values).", "argmin")
    if always(lambda q: int(q.max())):
        fail(f"epsilon_greedy returned {action} {on}: that is the highest *value* rounded "
             f"to an int, not the *index* of the best action: torch.argmax(q_values).",
             "value_not_index")
    fail(f"epsilon_greedy chose action {action} {on}; the greedy action, argmax Q, is "
         f"{int(torch.argmax(q_values))}.", "not_greedy")


def _explores_at_zero(fn, q_values, frequencies) -> None:
    """Random actions at epsilon=0: say whether epsilon is used the wrong way round."""
    __tracebackhide__ = True
    greedy = int(torch.argmax(q_values))
    seen = (f"at epsilon=0 it chose the greedy action {greedy} in only "
            f"{frequencies[greedy]:.0%} of 30 draws with q_values={show(q_values)}")
    _, at_one = _draw(fn, q_values, 1.0, np.random.default_rng(2), 30, "epsilon=1")
    if at_one[greedy] == 1.0:
        fail(f"epsilon_greedy uses epsilon the wrong way round: {seen}, and at epsilon=1 "
             f"it always chose it. epsilon is the probability of a *random* action: explore "
             f"when rng.random() < epsilon.", "epsilon_reversed")
    fail(f"epsilon_greedy explores at epsilon=0: {seen}. With epsilon=0 it must always "
         f"choose argmax Q; explore only when rng.random() < epsilon.", "explores_at_zero")


def _check_ties(fn) -> None:
    """Two best actions: either is greedy (and ties must not crash the function)."""
    __tracebackhide__ = True
    q_values = _t([1.0, 3.0, 3.0, 0.0])
    actions, _ = _draw(fn, q_values, 0.0, np.random.default_rng(3), 30,
                       "two actions tie for the highest value")
    if not np.all((actions == 1) | (actions == 2)):
        fail(f"epsilon_greedy chose action {int(actions[(actions != 1) & (actions != 2)][0])} "
             f"at epsilon=0 with q_values={show(q_values)}, where actions 1 and 2 tie for "
             f"the highest value: greedy must choose one of them.", "ties")


def _check_uniform(fn) -> None:
    """epsilon=1: every action, the greedy one included, with probability 1/A."""
    __tracebackhide__ = True
    q_values = _t([0.2, -1.0, 1.5, 0.0])
    n_actions, greedy = 4, 2
    _, frequencies = _draw(fn, q_values, 1.0, np.random.default_rng(4), UNIFORM_DRAWS,
                           "epsilon=1: uniformly random")
    seen = (f"over {UNIFORM_DRAWS} draws at epsilon=1 with q_values={show(q_values)}, "
            f"it chose the actions with frequencies {_percent(frequencies)}")
    if np.all(np.abs(frequencies - 1 / n_actions) < 0.04):
        return
    if frequencies[greedy] > 0.9:
        fail(f"epsilon_greedy does not explore at epsilon=1: {seen}. epsilon is the "
             f"probability of a random action, so at epsilon=1 every action is random.",
             "never_explores")
    if frequencies[greedy] < 0.02:
        fail(f"epsilon_greedy never explores into the greedy action: {seen}. The random "
             f"action is drawn uniformly over ALL A actions, the greedy one included: "
             f"rng.integers(A). (So at epsilon=0.3 the greedy action is chosen with "
             f"probability 0.7 + 0.3/A.)", "excludes_greedy")
    if frequencies[-1] < 0.02:
        fail(f"epsilon_greedy never chooses the last action: {seen}. rng.integers(A) draws "
             f"from 0 to A-1 already; rng.integers(A - 1) leaves action A-1 out.",
             "misses_last_action")
    if frequencies[0] < 0.02:
        fail(f"epsilon_greedy never chooses action 0: {seen}. Actions are numbered from 0: "
             f"rng.integers(A), not rng.integers(1, A).", "misses_first_action")
    fail(f"epsilon_greedy is not uniform at epsilon=1: {seen}; each should be about "
         f"{1 / n_actions:.0%}. Draw the random action with rng.integers(A).", "not_uniform")


def _check_mixed(fn) -> None:
    """epsilon=0.3: greedy with probability 1 - eps + eps/A, each other action eps/A."""
    __tracebackhide__ = True
    q_values = _t([0.5, 1.2, -0.3, 0.2])
    epsilon, n_actions, greedy = 0.3, 4, 1
    _, frequencies = _draw(fn, q_values, epsilon, np.random.default_rng(5), MIXED_DRAWS,
                           "epsilon=0.3")
    p_greedy = 1 - epsilon + epsilon / n_actions
    others = np.delete(frequencies, greedy)
    if abs(frequencies[greedy] - p_greedy) < 0.03 and np.all(np.abs(others - epsilon / n_actions) < 0.02):
        return
    seen = (f"over {MIXED_DRAWS} draws at epsilon=0.3 with q_values={show(q_values)} it "
            f"chose the greedy action {greedy} in {frequencies[greedy]:.1%} of them "
            f"(frequencies {_percent(frequencies)})")
    if abs(frequencies[greedy] - (1 - epsilon)) < 0.03:
        fail(f"epsilon_greedy never explores into the greedy action: {seen}, where "
             f"1 - 0.3 + 0.3/4 = {p_greedy:.1%} is right: the random action is drawn over ALL "
             f"actions, the greedy one included.", "excludes_greedy")
    if abs(frequencies[greedy] - (epsilon + (1 - epsilon) / n_actions)) < 0.03:
        fail(f"epsilon_greedy uses epsilon the wrong way round: {seen}, where "
             f"{p_greedy:.1%} is right. Explore when rng.random() < epsilon.",
             "epsilon_reversed")
    fail(f"epsilon_greedy explores at the wrong rate: {seen}. With probability epsilon it "
         f"should draw a uniformly random action (rng.integers(A)), so the greedy action "
         f"comes out with probability 1 - epsilon + epsilon/A = {p_greedy:.1%} and each of "
         f"the others with epsilon/A = {epsilon / n_actions:.1%}.", "wrong_exploration_rate")


def _check_uses_rng(fn) -> None:
    """The randomness comes from ``rng``: same seed, same actions."""
    __tracebackhide__ = True
    q_values = _t([0.2, -1.0, 1.5, 0.0])
    runs, used = [], []
    for global_seed in (11, 12):
        rng = np.random.default_rng(2024)
        before = rng.bit_generator.state
        with _other_global_seeds(global_seed):
            actions, _ = _draw(fn, q_values, 0.5, rng, 60, "epsilon=0.5, rng seeded with 2024")
        runs.append(actions)
        used.append(rng.bit_generator.state != before)
    if not any(used):
        fail("epsilon_greedy never draws from the `rng` it is given: use rng.random() to "
             "decide whether to explore and rng.integers(A) for the random action, so that "
             "seeding the generator reproduces a run.", "ignores_rng")
    if not np.array_equal(runs[0], runs[1]):
        fail("epsilon_greedy is not reproducible: called twice with generators seeded the "
             "same way (rng = np.random.default_rng(2024)), it chose different actions. "
             "Draw every random number from the `rng` argument (rng.random(), "
             "rng.integers(A)), not from np.random, random or torch, so that a seed "
             "reproduces a run.", "not_reproducible")


def _percent(frequencies) -> str:
    return "[" + ", ".join(f"{f:.1%}" for f in frequencies) + "]"


@checker
def check_epsilon_greedy(fn) -> None:
    r"""Check ``epsilon_greedy(q_values, epsilon, rng)``.

    With probability :math:`\epsilon` a uniformly random action, otherwise the greedy
    one, :math:`\arg\max_a Q(s, a)`. The random action is drawn over *all* actions, the
    greedy one included, so the greedy action comes out with probability
    :math:`1 - \epsilon + \epsilon / A`.

    Verifies, with seeded generators and bands wide enough that a right answer never
    fails (more than 5 standard errors) while each mistake lands far outside:

    - the answer is a plain ``int`` between 0 and A-1 (not a tensor, a numpy integer,
      or the highest value instead of its index);
    - at epsilon=0 always the greedy action (not argmin; exploring at epsilon=0 is
      reported as epsilon used the wrong way round when epsilon=1 is always greedy);
    - at epsilon=1 every action about 1/A of the time (catches a random action that
      excludes the greedy one, ``rng.integers(A - 1)`` and ``rng.integers(1, A)``);
    - at epsilon=0.3 the greedy action :math:`0.7 + 0.3/A` of the time;
    - all randomness comes from ``rng``: two generators seeded alike give the same
      actions whatever the global seeds of numpy, random and torch;
    - ties for the highest value give one of the tied actions (and do not crash);
    - ``q_values`` is not modified.
    """
    __tracebackhide__ = True
    check_signature(fn, EPSILON_GREEDY)
    passed = _check_greedy(fn)
    _check_uniform(fn)
    _check_mixed(fn)
    _check_uses_rng(fn)
    _check_ties(fn)
    _success(EPSILON_GREEDY, passed + 4)


# =========================================================================== entropy

ENTROPY = Exercise(
    name="entropy",
    parameters=("logits",),
    goal="H = -sum_a pi(a) log pi(a) for each row, with log pi = F.log_softmax(logits, "
         "dim=-1) and pi = log_pi.exp(); shape [T], in nats, with gradient.",
    shapes="logits [T, A] (one row of unnormalised log-probabilities per state); "
           "the answer [T]",
    position="in row {}",
)

ENTROPY_CASES = (
    Case("a uniform policy over 4 actions", (torch.zeros(2, 4),)),
    Case("four states, three actions",
         (_t([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0], [2.0, 2.0, -3.0], [0.0, 0.0, 0.0]]),)),
    Case("a nearly certain policy (large logits)",
         (_t([[1000.0, -1000.0, 0.0], [50.0, 0.0, -50.0]]),)),
)
NEARLY_CERTAIN = 2


def _plogp(logits, dim=-1):
    log_p = F.log_softmax(logits, dim=dim)
    return log_p.exp() * log_p


ENTROPY_MISTAKES = (
    Mistake("missing_minus",
            "your entropy is negative: H = -sum_a pi(a) log pi(a). Since log pi(a) <= 0, "
            "the sum of pi log pi is <= 0; the minus sign makes the entropy >= 0.",
            lambda logits: _plogp(logits).sum(dim=-1)),
    Mistake("mean_over_actions",
            "your entropy averages over the actions: H = -sum_a pi(a) log pi(a) is a sum, "
            "weighted by the probabilities already (use .sum(dim=-1), not .mean(dim=-1)).",
            lambda logits: -_plogp(logits).mean(dim=-1)),
    Mistake("bits",
            "your entropy is in bits (log2); the course measures it in nats, with the "
            "natural log (torch.log, F.log_softmax).",
            lambda logits: -_plogp(logits).sum(dim=-1) / math.log(2)),
    Mistake("logits_as_log_probs",
            "your entropy uses the logits as if they were log-probabilities: they are "
            "unnormalised; take log pi = F.log_softmax(logits, dim=-1) first.",
            lambda logits: -(F.softmax(logits, dim=-1) * logits).sum(dim=-1)),
    Mistake("unweighted_log_probs",
            "your entropy sums -log pi(a) without weighting by pi(a): "
            "H = -sum_a pi(a) log pi(a).",
            lambda logits: -F.log_softmax(logits, dim=-1).sum(dim=-1)),
    Mistake("softmax_over_rows",
            "your entropy normalises over dim 0 (across the states of the rollout); the "
            "policy of each state is a distribution over its actions: softmax and "
            "log_softmax with dim=-1.",
            lambda logits: -_plogp(logits, dim=0).sum(dim=-1)),
)


def _entropy_shape_hint(shape, case):
    rows, actions = case.args[0].shape
    if shape == (actions,) and actions != rows:
        return ("That is one value per action: you summed over dim 0 (the states); "
                "sum over the actions, dim=-1.")
    if shape == (rows, actions):
        return "That is one value per action: sum over the actions (dim=-1)."
    if shape == ():
        return ("That is one number for the whole batch; return one entropy per row "
                "(the loss sums them later).")
    return None


@checker
def check_entropy(fn) -> None:
    r"""Check ``entropy(logits)``.

    The entropy of the policy in each state, in nats,

    .. math::  H(\pi(\cdot \mid s)) = -\sum_a \pi(a \mid s) \log \pi(a \mid s),
       \qquad \pi = \mathrm{softmax}(\text{logits})

    Verifies:

    - the values on a uniform policy (:math:`\log A`), a mixed batch and a nearly
      certain policy, where :math:`\log(\mathrm{softmax})` gives ``0 * -inf = nan``
      and ``log_softmax`` stays finite; a wrong answer is matched against the
      missing minus sign, a mean over actions, bits instead of nats, logits used as
      log-probabilities, log-probabilities not weighted by the probabilities, and a
      softmax over the wrong dimension;
    - the answer is a float32 tensor of shape ``[T]``, one entropy per row;
    - ``logits`` is not modified;
    - gradient flows back into the logits, and it is the gradient of the entropy:
      the entropy bonus acts on the policy only through it.
    """
    __tracebackhide__ = True
    check_signature(fn, ENTROPY)
    answers = []
    for k, case in enumerate(ENTROPY_CASES):
        answer = call(fn, ENTROPY, case)
        expect_tensor(ENTROPY, case, answer, (case.args[0].shape[0],),
                      shape_hint=_entropy_shape_hint)
        if k == NEARLY_CERTAIN and not torch.isfinite(answer).all():
            fail(f"entropy: your entropy is {show(answer)} for a nearly certain policy "
                 f"(case {describe(ENTROPY, case)}). softmax gives probabilities that "
                 f"underflow to 0, log(0) = -inf, and 0 * -inf = nan. Compute "
                 f"log pi = F.log_softmax(logits, dim=-1), which stays finite, and "
                 f"pi = log_pi.exp().", "log_of_softmax")
        answers.append(answer)
    expected = [targets.entropy(*case.fresh_args()) for case in ENTROPY_CASES]
    diagnose(ENTROPY, ENTROPY_CASES, answers, expected, ENTROPY_MISTAKES)

    case = ENTROPY_CASES[1]
    logits = case.args[0].clone().requires_grad_()
    answer = call(fn, ENTROPY, case, args=(logits,))
    if not answer.requires_grad:
        fail("entropy: your entropy carries no gradient back to the logits, so the entropy "
             "bonus could not change the policy. Stay in torch on the path from logits to "
             "the answer: no .item(), .numpy(), .detach() or torch.no_grad().",
             "entropy_no_gradient")
    (gradient,) = torch.autograd.grad(answer.sum(), logits, allow_unused=True)
    reference = case.args[0].clone().requires_grad_()
    (expected_gradient,) = torch.autograd.grad(targets.entropy(reference).sum(), reference)
    if gradient is None or not close(gradient, expected_gradient):
        fail(f"entropy: the values are right but the gradient with respect to the logits "
             f"is not (case {describe(ENTROPY, case)}): part of the formula is detached "
             f"(.detach(), .item(), numpy or torch.no_grad() on pi or on log pi). The "
             f"entropy bonus pushes the policy through this gradient.", "entropy_gradient")
    _success(ENTROPY, len(ENTROPY_CASES) + 1)


# =========================================================================== actor-critic loss

ACTOR_CRITIC = Exercise(
    name="actor_critic_loss",
    parameters=("logits", "values", "actions", "returns", "entropy_beta", "value_coef"),
    goal="advantage A_t = R_t - V(s_t), held constant (.detach()); policy_loss = "
         "-sum_t log pi(a_t|s_t) A_t; value_loss = sum_t (R_t - V(s_t))^2; entropy = "
         "sum_t H(pi(.|s_t)); total = policy_loss + value_coef * value_loss - "
         "entropy_beta * entropy; return (total, policy_loss, value_loss, entropy), each "
         "a 0-d tensor.",
    shapes="logits [T, A], values [T], actions [T] (int64), returns [T], entropy_beta "
           "and value_coef floats; the answer a tuple of four 0-d tensors",
    position="at t={}",
)

PARTS = ("total", "policy_loss", "value_loss", "entropy")

ACTOR_CRITIC_CASES = (
    Case("four steps, three actions",
         (_t([[0.5, -1.0, 2.0], [1.0, 1.0, 0.0], [-0.5, 0.3, 0.1], [2.0, 0.0, -1.0]]),
          _t([1.0, -0.5, 2.0, 0.3]), torch.tensor([0, 2, 1, 0]), _t([2.5, -1.0, 1.0, 1.5]),
          0.1, 0.3)),
    Case("two steps, two actions, no entropy bonus",
         (_t([[0.0, 0.0], [math.log(3.0), 0.0]]), _t([1.0, 2.0]), torch.tensor([0, 1]),
          _t([3.0, 1.0]), 0.0, 0.5)),
    Case("a single step, four actions",
         (_t([[0.2, -0.4, 1.0, 0.0]]), _t([0.5]), torch.tensor([3]), _t([-1.0]), 0.05, 1.0)),
)


def _taken(log_probs, actions):
    return log_probs.gather(1, actions.long().unsqueeze(1)).squeeze(1)


def _advantages(values, returns):
    return (returns - values).detach()


def _policy_with(log_prob_of_action, weight=_advantages, sign=-1.0, reduce=torch.sum):
    """The output of a policy loss built from a (possibly wrong) log pi(a_t) and weight."""
    def output(logits, values, actions, returns, beta, coef):
        return sign * reduce(log_prob_of_action(logits, actions) * weight(values, returns))
    return output


def _log_pi(logits, actions):
    return _taken(F.log_softmax(logits, dim=-1), actions)


POLICY_MISTAKES = (
    Mistake("policy_wrong_sign",
            "your policy loss has the wrong sign. We *minimise* L_pi = -sum_t log "
            "pi(a_t|s_t) A_t, so that gradient descent makes actions with a positive "
            "advantage more likely. Check the minus in front of the sum, and that the "
            "advantage is R_t - V(s_t), not V(s_t) - R_t.",
            _policy_with(_log_pi, sign=1.0)),
    Mistake("policy_mean",
            "your policy loss averages over the steps; the course sums over the rollout "
            "(.sum(), not .mean()), as the paper accumulates the gradients of every step.",
            _policy_with(_log_pi, reduce=torch.mean)),
    Mistake("no_baseline",
            "your policy loss weights log pi(a_t|s_t) by the return R_t; it needs the "
            "advantage R_t - V(s_t): subtracting the baseline V(s_t) is what keeps the "
            "variance of the policy gradient low.",
            _policy_with(_log_pi, weight=lambda values, returns: returns)),
    Mistake("argmax_action",
            "your policy loss takes log pi of the greedy action (argmax of the logits); it "
            "needs the action actually taken: log_probs.gather(1, actions.unsqueeze(1)).",
            _policy_with(lambda logits, actions: _log_pi(logits, logits.argmax(dim=-1)))),
    Mistake("first_action",
            "your policy loss takes log pi of action 0 in every step; it needs the action "
            "actually taken, actions[t]: log_probs.gather(1, actions.unsqueeze(1)).squeeze(1).",
            _policy_with(lambda logits, actions: F.log_softmax(logits, dim=-1)[:, 0])),
    Mistake("wrong_indexing",
            "your policy loss indexes the log-probabilities with log_probs[:, actions], which "
            "picks a [T, T] block (every step's log-probability of every action taken). Pick "
            "one per step: log_probs[torch.arange(T), actions], or "
            "log_probs.gather(1, actions.unsqueeze(1)).squeeze(1).",
            lambda logits, values, actions, returns, beta, coef:
                -(F.log_softmax(logits, dim=-1)[:, actions] * _advantages(values, returns)).sum()),
    Mistake("probability_not_log",
            "your policy loss uses the probability pi(a_t|s_t) where the policy gradient "
            "needs its logarithm, log pi(a_t|s_t) (F.log_softmax).",
            _policy_with(lambda logits, actions: _taken(F.softmax(logits, dim=-1), actions))),
    Mistake("raw_logits",
            "your policy loss uses the raw logit of the action taken; it needs its "
            "log-probability: F.log_softmax(logits, dim=-1), then pick the action taken.",
            _policy_with(lambda logits, actions: _taken(logits, actions))),
    Mistake("all_actions",
            "your policy loss sums log pi over all the actions of each step; it needs only "
            "the action actually taken, a_t.",
            _policy_with(lambda logits, actions: F.log_softmax(logits, dim=-1).sum(dim=-1))),
    Mistake("log_softmax_over_steps",
            "your policy loss normalises the logits over dim 0 (across the steps); each "
            "state's policy is a distribution over its actions: log_softmax(logits, dim=-1).",
            _policy_with(lambda logits, actions: _taken(F.log_softmax(logits, dim=0), actions))),
    Mistake("policy_includes_entropy",
            "your policy_loss includes the entropy bonus. Return the parts separately: "
            "policy_loss = -sum_t log pi(a_t|s_t) A_t alone; the bonus goes into total only.",
            lambda logits, values, actions, returns, beta, coef:
                _policy_with(_log_pi)(logits, values, actions, returns, beta, coef)
                - beta * targets.entropy(logits).sum()),
)

VALUE_MISTAKES = (
    Mistake("value_wrong_sign",
            "your value loss has the wrong sign: it is the squared error sum_t (R_t - "
            "V(s_t))^2, which we minimise so that V(s_t) moves towards the return R_t.",
            lambda logits, values, actions, returns, beta, coef: -(returns - values).pow(2).sum()),
    Mistake("value_weighted",
            "your value_loss is already multiplied by value_coef. Return the plain "
            "sum_t (R_t - V(s_t))^2; value_coef weights it in total only.",
            lambda logits, values, actions, returns, beta, coef: coef * (returns - values).pow(2).sum()),
    Mistake("value_mean",
            "your value loss averages over the steps; the course sums over the rollout "
            "(.sum(), not .mean()).",
            lambda logits, values, actions, returns, beta, coef: (returns - values).pow(2).mean()),
    Mistake("value_halved",
            "your value loss is halved (0.5 * sum of squares); the course's value loss is "
            "sum_t (R_t - V(s_t))^2, and value_coef sets its weight.",
            lambda logits, values, actions, returns, beta, coef: 0.5 * (returns - values).pow(2).sum()),
    Mistake("value_not_squared",
            "your value loss sums the errors R_t - V(s_t) without squaring them: positive "
            "and negative errors cancel. Use (returns - values).pow(2).sum().",
            lambda logits, values, actions, returns, beta, coef: (returns - values).sum()),
    Mistake("value_absolute",
            "your value loss sums absolute errors |R_t - V(s_t)|; the course uses squared "
            "errors, (returns - values).pow(2).sum().",
            lambda logits, values, actions, returns, beta, coef: (returns - values).abs().sum()),
)

ENTROPY_PART_MISTAKES = (
    Mistake("entropy_mean",
            "your entropy averages over the steps; the course sums it over the rollout "
            "(.sum(), not .mean()).",
            lambda logits, *rest: targets.entropy(logits).mean()),
    Mistake("entropy_missing_minus",
            "your entropy is negative: H = -sum_a pi(a) log pi(a) (the minus sign is missing).",
            lambda logits, *rest: -targets.entropy(logits).sum()),
    Mistake("entropy_weighted",
            "your entropy is already multiplied by entropy_beta. Return the plain sum of the "
            "entropies; entropy_beta weights it in total only.",
            lambda logits, values, actions, returns, beta, coef: beta * targets.entropy(logits).sum()),
    Mistake("entropy_of_action_taken",
            "your entropy is -sum_t log pi(a_t|s_t), of the actions taken (a one-sample "
            "estimate); use the exact entropy of every state's policy, -sum_a pi(a) log pi(a).",
            lambda logits, values, actions, returns, beta, coef: -_log_pi(logits, actions).sum()),
    Mistake("entropy_mean_over_actions",
            "your entropy averages over the actions: H = -sum_a pi(a) log pi(a) is a sum.",
            lambda logits, *rest: (targets.entropy(logits) / logits.shape[-1]).sum()),
)


def _total_with(policy=1.0, value=None, bonus=None):
    """The output of a total loss that weights the (right) parts differently."""
    def output(logits, values, actions, returns, beta, coef):
        _, l_pi, l_v, h = targets.actor_critic_loss(logits, values, actions, returns, beta, coef)
        c = coef if value is None else value(beta, coef)
        b = -beta if bonus is None else bonus(beta, coef)
        return policy * l_pi + c * l_v + b * h
    return output


TOTAL_MISTAKES = (
    Mistake("entropy_bonus_wrong_sign",
            "your total adds beta * entropy; the bonus is *subtracted*, total = policy_loss + "
            "value_coef * value_loss - entropy_beta * entropy, so that minimising the loss "
            "raises the entropy and keeps the policy exploring.",
            _total_with(bonus=lambda beta, coef: beta)),
    Mistake("value_coef_missing",
            "your total does not weight the value loss: total = policy_loss + value_coef * "
            "value_loss - entropy_beta * entropy.",
            _total_with(value=lambda beta, coef: 1.0)),
    Mistake("entropy_beta_missing",
            "your total does not weight the entropy: total = policy_loss + value_coef * "
            "value_loss - entropy_beta * entropy.",
            _total_with(bonus=lambda beta, coef: -1.0)),
    Mistake("entropy_missing",
            "your total leaves out the entropy bonus: total = policy_loss + value_coef * "
            "value_loss - entropy_beta * entropy.",
            _total_with(bonus=lambda beta, coef: 0.0)),
    Mistake("value_missing",
            "your total leaves out the value loss: total = policy_loss + value_coef * "
            "value_loss - entropy_beta * entropy (the critic learns from it).",
            _total_with(value=lambda beta, coef: 0.0)),
    Mistake("value_subtracted",
            "your total subtracts the value loss; it is added: total = policy_loss + "
            "value_coef * value_loss - entropy_beta * entropy.",
            _total_with(value=lambda beta, coef: -coef)),
    Mistake("coefficients_swapped",
            "your total swaps the weights: value_coef weights the value loss and "
            "entropy_beta the entropy.",
            _total_with(value=lambda beta, coef: beta, bonus=lambda beta, coef: -coef)),
)

PART_MISTAKES = {
    "policy_loss": POLICY_MISTAKES,
    "value_loss": VALUE_MISTAKES,
    "entropy": ENTROPY_PART_MISTAKES,
    "total": TOTAL_MISTAKES,
}


def _expect_four_parts(answer, case) -> None:
    __tracebackhide__ = True
    on = f"on the case {case.description}"
    if torch.is_tensor(answer) or not isinstance(answer, (tuple, list)):
        fail(f"actor_critic_loss returned a {type(answer).__name__} {on}; it returns four "
             f"tensors: return total, policy_loss, value_loss, entropy.", "not_four_parts")
    if len(answer) != 4:
        fail(f"actor_critic_loss returned {len(answer)} values {on}; it returns four, in "
             f"this order: return total, policy_loss, value_loss, entropy.", "not_four_parts")
    for part, value in zip(PARTS, answer):
        expect_tensor(ACTOR_CRITIC, case, value, (), what=f"your {part}")


def _check_order(answers, expected, case) -> None:
    """Right parts in the wrong order get their own hint."""
    __tracebackhide__ = True
    if all(close(a, e) for a, e in zip(answers, expected)):
        return
    unmatched = list(expected)
    for answer in answers:
        match = next((k for k, e in enumerate(unmatched) if close(answer, e)), None)
        if match is None:
            return
        unmatched.pop(match)
    fail(f"actor_critic_loss returns the right four numbers in the wrong order (case "
         f"{case.description}): return total, policy_loss, value_loss, entropy, in that "
         f"order.", "wrong_order")


@checker
def check_actor_critic_loss(fn) -> None:
    r"""Check ``actor_critic_loss(logits, values, actions, returns, entropy_beta, value_coef)``.

    The A3C loss of one rollout, with the advantage :math:`A_t = R_t - V(s_t)` held
    constant:

    .. math::
        L_\pi = -\sum_t \log \pi(a_t \mid s_t) A_t \qquad
        L_V = \sum_t (R_t - V(s_t))^2 \qquad
        H = \sum_t H(\pi(\cdot \mid s_t))

        L = L_\pi + c_V L_V - \beta H

    Verifies:

    - the answer is ``(total, policy_loss, value_loss, entropy)``, four 0-d float32
      tensors (not per-step tensors, not Python floats), in that order;
    - each part's value, matched against the usual mistakes: for the policy loss the
      wrong sign, a mean, the return instead of the advantage (no baseline), the
      log-probability of the wrong action (the argmax, action 0, ``log_probs[:, actions]``),
      the probability or the raw logit instead of the log-probability, a softmax over
      the steps, the entropy folded in; for the value loss the wrong sign, a mean, a
      factor 0.5 or value_coef, no square, an absolute value; for the entropy a mean,
      the wrong sign, beta folded in, the log-probability of the action taken, a mean
      over actions; for the total the entropy bonus with the wrong sign, a missing or
      swapped coefficient, a part left out or subtracted;
    - the gradients: the policy loss sends none into ``values`` (the advantage is
      detached) and the policy gradient into ``logits``; the value loss sends
      :math:`-2 (R_t - V(s_t))` into ``values`` (towards the returns) and none into
      the logits; the entropy and the total have the reference's gradients;
    - the inputs are not modified.
    """
    __tracebackhide__ = True
    check_signature(fn, ACTOR_CRITIC)
    answers = []
    for case in ACTOR_CRITIC_CASES:
        answer = call(fn, ACTOR_CRITIC, case)
        _expect_four_parts(answer, case)
        answers.append(tuple(answer))
    expected = [targets.actor_critic_loss(*case.fresh_args()) for case in ACTOR_CRITIC_CASES]
    for answer, reference, case in zip(answers, expected, ACTOR_CRITIC_CASES):
        _check_order(answer, reference, case)
    # The parts first, the total last: a total is only worth checking with right parts.
    for part in ("policy_loss", "value_loss", "entropy", "total"):
        k = PARTS.index(part)
        diagnose(ACTOR_CRITIC, ACTOR_CRITIC_CASES, [a[k] for a in answers],
                 [e[k] for e in expected], PART_MISTAKES[part], what=part)
    _check_actor_critic_gradients(fn, ACTOR_CRITIC_CASES[0])
    _success(ACTOR_CRITIC, len(ACTOR_CRITIC_CASES) + 1)


def _gradients(parts, logits, values):
    """d part / d logits and d part / d values for each part; zeros where none flows."""
    out = {}
    for name, part in zip(PARTS, parts):
        if not part.requires_grad:
            out[name] = None
            continue
        grads = torch.autograd.grad(part, (logits, values), retain_graph=True, allow_unused=True)
        out[name] = tuple(torch.zeros_like(x) if g is None else g
                          for g, x in zip(grads, (logits, values)))
    return out


def _check_actor_critic_gradients(fn, case) -> None:
    """Gradient flows where the method needs it, and only there."""
    __tracebackhide__ = True
    args = list(case.fresh_args())
    args[0].requires_grad_()
    args[1].requires_grad_()
    logits, values = args[0], args[1]
    answer = call(fn, ACTOR_CRITIC, case, args=tuple(args))
    _expect_four_parts(answer, case)
    student = _gradients(answer, logits, values)
    reference_args = list(case.fresh_args())
    reference_args[0].requires_grad_()
    reference_args[1].requires_grad_()
    reference = _gradients(targets.actor_critic_loss(*reference_args),
                           reference_args[0], reference_args[1])
    case_line = f"\n  case: {describe(ACTOR_CRITIC, case)}"

    def gradient_fail(message, mistake):
        __tracebackhide__ = True
        fail(f"actor_critic_loss: {message}{case_line}", mistake)

    detached_value_loss = ("your value loss sends no gradient into the values, so the critic "
                           "never learns: it squares a detached advantage. Use "
                           "(returns - values).pow(2).sum(); detach only the advantage of "
                           "the policy term.")
    if student["value_loss"] is None:
        gradient_fail(detached_value_loss, "value_detached")
    for part in ("policy_loss", "entropy", "total"):
        if student[part] is None:
            gradient_fail(f"your {part} carries no gradient: it was computed from detached "
                          f"values (.detach(), .item(), float(), numpy or torch.no_grad()), "
                          f"so backward() could not train the network with it.",
                          f"{part}_no_gradient")

    d_logits, d_values = student["policy_loss"]
    if torch.any(d_values != 0):
        gradient_fail(f"gradient flows from your policy loss into the values: d policy_loss "
                      f"/ d values = {show(d_values)}, expected all 0. The advantage "
                      f"R_t - V(s_t) only weights log pi; hold it constant with advantages = "
                      f"(returns - values).detach(). Otherwise the policy term also drags the "
                      f"critic away from the returns.", "advantage_not_detached")
    if not close(d_logits, reference["policy_loss"][0]):
        gradient_fail(f"your policy loss has the right value but the wrong gradient with "
                      f"respect to the logits: d policy_loss / d logits = {show(d_logits)}, "
                      f"expected {show(reference['policy_loss'][0])}. Compute log pi from the "
                      f"logits with F.log_softmax and keep it attached.", "policy_gradient")

    d_logits, d_values = student["value_loss"]
    expected_values = reference["value_loss"][1]
    if torch.all(d_values == 0):
        gradient_fail(detached_value_loss, "value_detached")
    if close(d_values, -expected_values):
        gradient_fail(f"your value loss's gradient points the wrong way: d value_loss / d "
                      f"values = {show(d_values)}, expected -2 (R_t - V(s_t)) = "
                      f"{show(expected_values)}, so that gradient descent moves V(s_t) towards "
                      f"the return R_t.", "value_gradient_direction")
    if not close(d_values, expected_values):
        gradient_fail(f"d value_loss / d values = {show(d_values)}, expected -2 (R_t - V(s_t)) "
                      f"= {show(expected_values)}: compute the value loss from `values` "
                      f"itself, (returns - values).pow(2).sum().", "value_gradient")
    if torch.any(d_logits != 0):
        gradient_fail(f"your value loss depends on the logits (d value_loss / d logits = "
                      f"{show(d_logits)}); it is sum_t (R_t - V(s_t))^2 only.",
                      "value_depends_on_logits")

    for part in ("entropy", "total"):
        for k, wrt in enumerate(("logits", "values")):
            if not close(student[part][k], reference[part][k]):
                gradient_fail(f"your {part} has the right value but the wrong gradient with "
                              f"respect to the {wrt}: d {part} / d {wrt} = "
                              f"{show(student[part][k])}, expected {show(reference[part][k])}. "
                              f"Build it from tensors that are still attached (no .detach(), "
                              f".item() or float() on the way).", f"{part}_gradient")


# =========================================================================== registry

#: The checker of each exercise, by the exercise's name (as ``train()`` accepts it).
CHECKS = {
    "one_step_q_target": check_one_step_q_target,
    "sarsa_target": check_sarsa_target,
    "n_step_returns": check_n_step_returns,
    "epsilon_greedy": check_epsilon_greedy,
    "entropy": check_entropy,
    "actor_critic_loss": check_actor_critic_loss,
}


def check(name: str, fn) -> None:
    """Run the checker of exercise ``name`` on ``fn``: ``check("entropy", entropy)``."""
    __tracebackhide__ = True
    if name not in CHECKS:
        raise KeyError(f"no checker for {name!r}; the exercises are: {', '.join(CHECKS)}")
    CHECKS[name](fn)
