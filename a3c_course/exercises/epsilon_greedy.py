"""The checker of ``epsilon_greedy``: exploration by a coin and the rng (notebook 1)."""

from __future__ import annotations

import random
from contextlib import contextmanager

import numpy as np
import torch

from .checking import (
    Case,
    Exercise,
    call,
    check_signature,
    checker,
    describe,
    fail,
    show,
)
from .common import floats, report_success

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
    floats([0.1, 0.9, 0.3]),
    floats([-1.0, -0.2, -3.0, -0.5]),
    floats([0.5, 1.0, -1.0, 1.9, 2.5, 0.0]),
    floats([3.0, 1.0]),
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
    q_values = floats([1.0, 3.0, 3.0, 0.0])
    actions, _ = _draw(fn, q_values, 0.0, np.random.default_rng(3), 30,
                       "two actions tie for the highest value")
    if not np.all((actions == 1) | (actions == 2)):
        fail(f"epsilon_greedy chose action {int(actions[(actions != 1) & (actions != 2)][0])} "
             f"at epsilon=0 with q_values={show(q_values)}, where actions 1 and 2 tie for "
             f"the highest value: greedy must choose one of them.", "ties")


def _check_uniform(fn) -> None:
    """epsilon=1: every action, the greedy one included, with probability 1/A."""
    __tracebackhide__ = True
    q_values = floats([0.2, -1.0, 1.5, 0.0])
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
    q_values = floats([0.5, 1.2, -0.3, 0.2])
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
    q_values = floats([0.2, -1.0, 1.5, 0.0])
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
    report_success(EPSILON_GREEDY, passed + 4)
