"""The checker of ``n_step_returns``: forward-view n-step returns (notebook 3)."""

from __future__ import annotations

from ..paper import targets
from .checking import Case, Exercise, Mistake, checker
from .common import check_target, floats

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
         (floats([1.0, 2.0, 3.0]), floats(10.0), False, 0.5)),
    Case("a rollout that ends in a terminal state",
         (floats([1.0, 2.0, 3.0]), floats(10.0), True, 0.5)),
    Case("a single step", (floats([2.0]), floats(4.0), False, 0.9)),
    Case("five steps, negative rewards and value",
         (floats([0.0, 0.0, 1.0, -1.0, 0.5]), floats(-2.0), False, 0.9)),
    Case("five steps ending in a terminal state",
         (floats([0.5, -1.0, 2.0, 0.0, 1.0]), floats(7.0), True, 0.8)),
    Case("bootstrap_value given as a plain number",
         (floats([1.0, -1.0]), 3.0, False, 0.9)),
)


def _returns(rewards, start, gamma, discount_rewards=True):
    """Walk backwards from ``start``; the helper behind several mistakes below."""
    out, running = [], float(start)
    for reward in reversed(rewards.tolist()):
        running = reward + (gamma if discount_rewards else 1.0) * running
        out.append(running)
    return floats(out[::-1])


def _bootstrap(value, terminated):
    return 0.0 if bool(terminated) else float(value)


def _walk_forwards(rewards, value, terminated, gamma):
    out, running = [], _bootstrap(value, terminated)
    for reward in rewards.tolist():
        running = reward + gamma * running
        out.append(running)
    return floats(out)


def _discount_outside(rewards, value, terminated, gamma):
    out, running = [], _bootstrap(value, terminated)
    for reward in reversed(rewards.tolist()):
        running = gamma * (reward + running)
        out.append(running)
    return floats(out[::-1])


def _shifted_by_one(rewards, value, terminated, gamma):
    out, running = [], _bootstrap(value, terminated)
    for reward in reversed(rewards.tolist()):
        out.append(running)  # stored before this step's reward is added
        running = reward + gamma * running
    return floats(out[::-1])


def _same_bootstrap_discount(rewards, value, terminated, gamma):
    T = len(rewards)
    tail = gamma**T * _bootstrap(value, terminated)
    return _returns(rewards, 0.0, gamma) + tail


def _undiscounted_rewards(rewards, value, terminated, gamma):
    T = len(rewards)
    sums = rewards.flip(0).cumsum(0).flip(0)
    powers = floats([gamma ** (T - t) for t in range(T)])
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
    check_target(fn, N_STEP, N_STEP_CASES, targets.n_step_returns, N_STEP_MISTAKES,
                  _n_step_shape_hint, gradient_from=1)
