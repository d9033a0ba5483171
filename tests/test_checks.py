"""The exercise checkers: a right answer passes, and each mistake students make is named.

Every wrong implementation below is written the way a student might write it; the
test asserts the name of the mistake the checker reports (``ExerciseError.mistake``)
and the words of the hint that name it.
"""

import math
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from a3c_course import checks
from a3c_course.checks import CHECKS, ExerciseError
from a3c_course.exercises import actor_critic_loss as actor_critic_exercise
from a3c_course.exercises import entropy as entropy_exercise
from a3c_course.exercises import n_step_returns as n_step_exercise
from a3c_course.exercises import one_step_q_target as one_step_q_exercise
from a3c_course.exercises import sarsa_target as sarsa_exercise
from a3c_course.paper import targets


def expect_mistake(check, fn, mistake, *words):
    """``check(fn)`` fails with ExerciseError naming ``mistake``, in these words."""
    with pytest.raises(ExerciseError) as info:
        check(fn)
    message = str(info.value)
    assert info.value.mistake == mistake, message
    for word in words:
        assert word in message, f"{word!r} not in:\n{message}"
    return message


def not_terminal(terminated):
    return (~terminated).float()


def stub(*args):
    raise NotImplementedError("compute the answer here")


# --------------------------------------------------------------------------- all checkers


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_reference_passes_with_a_success_line(name, capsys):
    CHECKS[name](getattr(targets, name))
    assert capsys.readouterr().out.startswith(f"{name} looks good: ")


def test_there_is_one_checker_per_exercise_function():
    assert set(CHECKS) == set(targets.EXERCISE_FUNCTIONS)
    for name, check in CHECKS.items():
        assert getattr(checks, f"check_{name}") is check


def test_exercise_error_is_an_assertion_error():
    assert issubclass(ExerciseError, AssertionError)


def test_check_by_name_runs_that_checker(capsys):
    checks.check("entropy", targets.entropy)
    assert "entropy looks good" in capsys.readouterr().out
    with pytest.raises(KeyError, match="n_step_returns"):
        checks.check("no_such_exercise", targets.entropy)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_a_stub_is_not_implemented_yet(name):
    message = expect_mistake(CHECKS[name], stub, "not_implemented", "not implemented yet",
                             "raise NotImplementedError", "compute the answer here")
    assert "Traceback" not in message


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_passing_the_result_instead_of_the_function(name):
    expect_mistake(CHECKS[name], torch.zeros(3), "not_a_function",
                   f"check_{name}({name})")


def test_a_function_with_the_wrong_parameters():
    def n_step_returns(rewards, gamma):
        return rewards

    expect_mistake(checks.check_n_step_returns, n_step_returns, "wrong_signature",
                   "rewards, bootstrap_value, terminated, gamma")


def test_an_exception_names_the_case_and_the_line_that_raised():
    def n_step_returns(rewards, bootstrap_value, terminated, gamma):
        returns = torch.zeros_like(rewards)
        for t in range(len(rewards)):
            returns[t] = rewards[t] + gamma * rewards[t + 1]
        return returns

    message = expect_mistake(checks.check_n_step_returns, n_step_returns, "raised",
                             "IndexError", "a rollout cut off before the episode ended",
                             "rewards[t + 1]", "The shapes")
    assert "Traceback" not in message


def test_a_checker_hides_its_own_frames_from_ipython_tracebacks():
    """In a notebook the student reads the hint, not the checker's internals."""
    from IPython.core.ultratb import AutoFormattedTB

    def n_step_returns(rewards, bootstrap_value, terminated, gamma):
        return targets.n_step_returns(rewards, bootstrap_value, False, gamma)

    try:
        checks.check_n_step_returns(n_step_returns)
    except ExerciseError as err:
        shown = "\n".join(AutoFormattedTB(mode="Context", theme_name="nocolor")
                          .structured_traceback(type(err), err, err.__traceback__))
    assert "skipping hidden" in shown
    assert "bootstrap through the terminal state" in shown
    for internal in ("_check_target", "diagnose(", "expect_tensor("):
        assert internal not in shown


# --------------------------------------------------------------------------- one-step Q


def q_target(next_value=lambda q: q.max(dim=1).values, gamma_power=1):
    """A one-step Q target that takes ``next_value`` of the next action values."""
    def one_step_q_target(rewards, next_q_values, terminated, gamma):
        return rewards + gamma**gamma_power * not_terminal(terminated) * next_value(next_q_values)
    return one_step_q_target


ONE_STEP_Q_MISTAKES = {
    "bootstraps_through_terminal": (
        lambda r, q, done, gamma: r + gamma * q.max(dim=1).values, ("terminal", "r_i")),
    "never_bootstraps": (lambda r, q, done, gamma: r.clone(), ("just the reward",)),
    "terminated_reversed": (
        lambda r, q, done, gamma: r + gamma * done.float() * q.max(dim=1).values,
        ("wrong way round",)),
    "terminal_target_zero": (
        lambda r, q, done, gamma: not_terminal(done) * (r + gamma * q.max(dim=1).values),
        ("0 on terminal", "reward of the last step")),
    "missing_gamma": (q_target(gamma_power=0), ("multiplied by gamma",)),
    "gamma_squared": (q_target(gamma_power=2), ("gamma**2",)),
    "gamma_on_reward": (
        lambda r, q, done, gamma: gamma * (r + not_terminal(done) * q.max(dim=1).values),
        ("discounts the reward",)),
    "max_over_batch": (q_target(lambda q: q.max(dim=0).values), ("dim 0", "across the batch")),
    "max_over_everything": (q_target(lambda q: q.max()), ("whole tensor",)),
    "argmax_index": (q_target(lambda q: q.argmax(dim=1)), ("*index*", "argmax")),
    "mean_instead_of_max": (q_target(lambda q: q.mean(dim=1)), ("averages",)),
    "sum_instead_of_max": (q_target(lambda q: q.sum(dim=1)), ("sums",)),
    "min_instead_of_max": (q_target(lambda q: q.min(dim=1).values), ("smallest",)),
    "first_action": (q_target(lambda q: q[:, 0]), ("action 0",)),
}


@pytest.mark.parametrize("mistake", sorted(ONE_STEP_Q_MISTAKES))
def test_one_step_q_target_mistakes_are_named(mistake):
    fn, words = ONE_STEP_Q_MISTAKES[mistake]
    expect_mistake(checks.check_one_step_q_target, fn, mistake, *words)


def test_one_step_q_target_shape_dtype_and_gradient_mistakes():
    check = checks.check_one_step_q_target
    expect_mistake(check, q_target(lambda q: q.max(dim=1, keepdim=True).values),
                   "wrong_shape", "[2, 2]", "broadcasts")
    expect_mistake(check, lambda r, q, done, gamma: q_target()(r, q, done, gamma).double(),
                   "wrong_dtype", "float64")
    expect_mistake(check, lambda r, q, done, gamma: q_target()(r, q, done, gamma).tolist(),
                   "not_a_tensor", "list")
    expect_mistake(check, lambda r, q, done, gamma: None, "returns_none", "`return`")
    expect_mistake(check, lambda r, q, done, gamma: r.add_(gamma * not_terminal(done) * q.amax(1)),
                   "modifies_input", "`rewards` in place")
    expect_mistake(check, q_target(), "target_has_gradient", "held constant", ".detach()")


def test_one_step_q_target_exceptions_get_a_hint():
    check = checks.check_one_step_q_target
    expect_mistake(check, lambda r, q, done, gamma: r + gamma * (1 - done) * q.amax(1),
                   "raised", "bool tensor", "~terminated")
    expect_mistake(check, lambda r, q, done, gamma: r + gamma * q.max(dim=1),
                   "raised", "(values, indices)")


def test_one_step_q_target_alternative_right_answers_pass():
    def with_where(rewards, next_q_values, terminated, gamma):
        with torch.no_grad():
            return torch.where(terminated, rewards, rewards + gamma * next_q_values.amax(dim=1))

    checks.check_one_step_q_target(with_where)


# --------------------------------------------------------------------------- Sarsa


def sarsa(next_value=lambda q: q, gamma_power=1):
    def sarsa_target(rewards, next_q_taken, terminated, gamma):
        return (rewards + gamma**gamma_power * not_terminal(terminated) * next_value(next_q_taken)).detach()
    return sarsa_target


SARSA_MISTAKES = {
    "bootstraps_through_terminal": (lambda r, q, done, gamma: r + gamma * q, ("terminal",)),
    "never_bootstraps": (lambda r, q, done, gamma: r.clone(), ("just the reward",)),
    "terminated_reversed": (lambda r, q, done, gamma: r + gamma * done.float() * q,
                            ("wrong way round",)),
    "terminal_target_zero": (lambda r, q, done, gamma: not_terminal(done) * (r + gamma * q),
                             ("0 on terminal",)),
    "missing_gamma": (sarsa(gamma_power=0), ("multiplied by gamma",)),
    "gamma_squared": (sarsa(gamma_power=2), ("gamma**2",)),
    "gamma_on_reward": (lambda r, q, done, gamma: gamma * (r + not_terminal(done) * q),
                        ("discounts the reward",)),
    "max_instead_of_next_action": (sarsa(lambda q: q.max()), ("on-policy", "next_q_taken[i]")),
}


@pytest.mark.parametrize("mistake", sorted(SARSA_MISTAKES))
def test_sarsa_target_mistakes_are_named(mistake):
    fn, words = SARSA_MISTAKES[mistake]
    expect_mistake(checks.check_sarsa_target, fn, mistake, *words)


def test_sarsa_target_with_a_max_over_actions_is_told_that_is_q_learning():
    expect_mistake(checks.check_sarsa_target, sarsa(lambda q: q.max(dim=1).values),
                   "raised", "Sarsa takes no max", "Q-learning")


def test_sarsa_target_must_not_carry_gradient():
    expect_mistake(checks.check_sarsa_target,
                   lambda r, q, done, gamma: r + gamma * not_terminal(done) * q,
                   "target_has_gradient", "next_q_taken")


# --------------------------------------------------------------------------- n-step returns


def backwards(start, step=lambda reward, running, gamma: reward + gamma * running):
    """An n-step return written as a student would: a backward loop from ``start``."""
    def n_step_returns(rewards, bootstrap_value, terminated, gamma):
        running = start(float(bootstrap_value), bool(terminated), gamma)
        returns = [0.0] * len(rewards)
        for t in reversed(range(len(rewards))):
            running = step(float(rewards[t]), running, gamma)
            returns[t] = running
        return torch.tensor(returns)
    return n_step_returns


def bootstrap(value, terminated, gamma):
    return 0.0 if terminated else value


def reversed_order(rewards, bootstrap_value, terminated, gamma):
    running, returns = bootstrap(float(bootstrap_value), terminated, gamma), []
    for reward in reversed(rewards.tolist()):
        running = reward + gamma * running
        returns.append(running)
    return torch.tensor(returns)  # forgot to reverse


def walks_forwards(rewards, bootstrap_value, terminated, gamma):
    running, returns = bootstrap(float(bootstrap_value), terminated, gamma), []
    for reward in rewards.tolist():
        running = reward + gamma * running
        returns.append(running)
    return torch.tensor(returns)


def shifted_by_one(rewards, bootstrap_value, terminated, gamma):
    running = bootstrap(float(bootstrap_value), terminated, gamma)
    returns = torch.zeros_like(rewards)
    for t in reversed(range(len(rewards))):
        returns[t] = running
        running = rewards[t] + gamma * running
    return returns


def bootstrap_not_discounted(rewards, bootstrap_value, terminated, gamma):
    running, T = bootstrap(float(bootstrap_value), terminated, gamma), len(rewards)
    returns = torch.zeros_like(rewards)
    for t in reversed(range(T)):
        running = rewards[t] + (1.0 if t == T - 1 else gamma) * running
        returns[t] = running
    return returns


def same_bootstrap_discount(rewards, bootstrap_value, terminated, gamma):
    T, value = len(rewards), bootstrap(float(bootstrap_value), terminated, gamma)
    return torch.stack([sum(gamma**k * rewards[t + k] for k in range(T - t)) + gamma**T * value
                        for t in range(T)])


def rewards_not_discounted(rewards, bootstrap_value, terminated, gamma):
    T, value = len(rewards), bootstrap(float(bootstrap_value), terminated, gamma)
    return torch.stack([rewards[t:].sum() + gamma ** (T - t) * value for t in range(T)])


def first_return_everywhere(rewards, bootstrap_value, terminated, gamma):
    returns = targets.n_step_returns(rewards, bootstrap_value, terminated, gamma)
    return torch.full_like(returns, float(returns[0]))


N_STEP_MISTAKES = {
    "bootstraps_through_terminal": (
        backwards(lambda v, done, gamma: v), ("bootstrap through the terminal state",
                                              "terminated=True", "at t=2")),
    "terminated_reversed": (
        backwards(lambda v, done, gamma: v if done else 0.0), ("wrong way round",)),
    "never_bootstraps": (backwards(lambda v, done, gamma: 0.0), ("never bootstrap",)),
    "reversed_order": (reversed_order, ("reverse order", "returns[t] must belong to rewards[t]")),
    "walks_forwards": (walks_forwards, ("forwards in time",)),
    "gamma_once_too_often": (
        backwards(bootstrap, lambda r, running, gamma: gamma * (r + running)),
        ("gamma once too often",)),
    "bootstrap_discounted_twice": (
        backwards(lambda v, done, gamma: gamma * bootstrap(v, done, gamma)),
        ("discount the bootstrap value once too often",)),
    "bootstrap_not_discounted": (bootstrap_not_discounted, ("without discounting it",)),
    "shifted_by_one": (shifted_by_one, ("shifted by one step",)),
    "same_bootstrap_discount": (same_bootstrap_discount, ("gamma^T for every step",)),
    "rewards_not_discounted": (rewards_not_discounted, ("without discounting them",)),
    "no_discount": (backwards(bootstrap, lambda r, running, gamma: r + running),
                    ("ignore gamma",)),
    "one_step_for_every_step": (
        lambda r, v, done, gamma: r + gamma * bootstrap(float(v), done, gamma),
        ("one-step target",)),
    "first_return_everywhere": (first_return_everywhere, ("return of the first step",)),
}


@pytest.mark.parametrize("mistake", sorted(N_STEP_MISTAKES))
def test_n_step_returns_mistakes_are_named(mistake):
    fn, words = N_STEP_MISTAKES[mistake]
    expect_mistake(checks.check_n_step_returns, fn, mistake, *words)


def test_n_step_returns_through_the_terminal_reads_as_the_course_says():
    message = expect_mistake(checks.check_n_step_returns, N_STEP_MISTAKES["bootstraps_through_terminal"][0],
                             "bootstraps_through_terminal")
    assert "at t=2 you returned 8.0, expected 3.0" in message
    assert "expected: [2.75, 3.5, 3.0]" in message


def reference_then(change):
    def n_step_returns(rewards, bootstrap_value, terminated, gamma):
        return change(targets.n_step_returns(rewards, bootstrap_value, terminated, gamma))
    return n_step_returns


def test_n_step_returns_shape_and_type_mistakes():
    check = checks.check_n_step_returns
    expect_mistake(check, reference_then(lambda R: R.unsqueeze(1)), "wrong_shape",
                   "[3, 1]", "squeeze")
    expect_mistake(check, reference_then(lambda R: R[0]), "wrong_shape", "one number")
    expect_mistake(check, reference_then(lambda R: torch.cat([R, R[-1:]])), "wrong_shape",
                   "leave the bootstrap value out")
    expect_mistake(check, reference_then(lambda R: R.tolist()), "not_a_tensor", "list")
    expect_mistake(check, reference_then(lambda R: R.numpy()), "not_a_tensor", "numpy array")
    expect_mistake(check, reference_then(lambda R: torch.from_numpy(R.numpy().astype(np.float64))),
                   "wrong_dtype", "float64")
    expect_mistake(check, reference_then(lambda R: R.long()), "integer_dtype",
                   "integer tensor", "rounded")


def test_n_step_returns_must_leave_the_rewards_unchanged():
    def in_place(rewards, bootstrap_value, terminated, gamma):
        running = 0.0 if terminated else float(bootstrap_value)
        for t in reversed(range(len(rewards))):
            running = float(rewards[t]) + gamma * running
            rewards[t] = running
        return rewards

    expect_mistake(checks.check_n_step_returns, in_place, "modifies_input",
                   "`rewards` in place", "torch.zeros_like(rewards)")


def test_n_step_returns_must_not_carry_gradient_from_the_bootstrap_value():
    def attached(rewards, bootstrap_value, terminated, gamma):
        running = torch.zeros(()) if terminated else torch.as_tensor(bootstrap_value)
        returns = []
        for reward in reversed(rewards):
            running = reward + gamma * running
            returns.append(running)
        return torch.stack(returns[::-1])

    expect_mistake(checks.check_n_step_returns, attached, "target_has_gradient",
                   "bootstrap_value", "held constant")


def test_n_step_returns_that_needs_a_tensor_bootstrap_is_told_it_may_be_a_number():
    def needs_tensor(rewards, bootstrap_value, terminated, gamma):
        return targets.n_step_returns(rewards, bootstrap_value.item(), terminated, gamma)

    expect_mistake(checks.check_n_step_returns, needs_tensor, "raised",
                   "bootstrap_value given as a plain number", "float(bootstrap_value)")


def test_n_step_returns_alternative_right_answers_pass():
    def vectorised(rewards, bootstrap_value, terminated, gamma):
        T = len(rewards)
        t = torch.arange(T)
        powers = gamma ** (t[None, :] - t[:, None]).clamp(min=0).float()
        upper = (t[None, :] >= t[:, None]).float()
        tail = 0.0 if terminated else float(bootstrap_value)
        return (upper * powers) @ rewards + gamma ** (T - t).float() * tail

    def in_a_fresh_tensor(rewards, bootstrap_value, terminated, gamma):
        returns = torch.zeros_like(rewards)
        R = 0.0 if terminated else float(bootstrap_value)
        for t in reversed(range(len(rewards))):
            R = rewards[t] + gamma * R
            returns[t] = R
        return returns

    checks.check_n_step_returns(vectorised)
    checks.check_n_step_returns(in_a_fresh_tensor)


# --------------------------------------------------------------------------- epsilon-greedy


def explorer(explore, random_action=lambda rng, A, greedy: int(rng.integers(A)),
             greedy_action=lambda q: int(torch.argmax(q))):
    """An epsilon-greedy policy built from a student's three decisions."""
    def epsilon_greedy(q_values, epsilon, rng):
        if explore(rng, epsilon):
            return random_action(rng, q_values.shape[0], greedy_action(q_values))
        return greedy_action(q_values)
    return epsilon_greedy


def right(rng, epsilon):
    return rng.random() < epsilon


def other_than_greedy(rng, A, greedy):
    action = int(rng.integers(A - 1))
    return action + 1 if action >= greedy else action


EPSILON_GREEDY_MISTAKES = {
    "epsilon_reversed": (explorer(lambda rng, eps: rng.random() > eps), ("wrong way round",)),
    "explores_at_zero": (explorer(lambda rng, eps: rng.random() < 0.5), ("explores at epsilon=0",)),
    "never_explores": (explorer(lambda rng, eps: False), ("does not explore at epsilon=1",)),
    "excludes_greedy": (explorer(right, other_than_greedy), ("ALL", "greedy one included")),
    "misses_last_action": (explorer(right, lambda rng, A, g: int(rng.integers(A - 1))),
                           ("rng.integers(A - 1)",)),
    "misses_first_action": (explorer(right, lambda rng, A, g: int(rng.integers(1, A))),
                            ("rng.integers(1, A)",)),
    "out_of_range": (explorer(right, lambda rng, A, g: int(rng.integers(A + 1))),
                     ("only 4 actions",)),
    "wrong_exploration_rate": (
        explorer(lambda rng, eps: rng.random() < eps ** 2, lambda rng, A, g: int(rng.integers(A))),
        ("1 - epsilon + epsilon/A",)),
    "argmin": (explorer(right, greedy_action=lambda q: int(torch.argmin(q))), ("*lowest*",)),
    "value_not_index": (explorer(right, greedy_action=lambda q: int(q.max())),
                        ("highest *value*", "*index*")),
    "not_an_int": (explorer(right, greedy_action=lambda q: torch.argmax(q)), ("int(",)),
    "ignores_rng": (
        explorer(lambda rng, eps: np.random.random() < eps,
                 lambda rng, A, g: int(np.random.randint(A))),
        ("never draws from the `rng`",)),
    "not_reproducible": (
        explorer(right, lambda rng, A, g: random.randrange(A)), ("not reproducible",)),
}


@pytest.mark.parametrize("mistake", sorted(EPSILON_GREEDY_MISTAKES))
def test_epsilon_greedy_mistakes_are_named(mistake):
    fn, words = EPSILON_GREEDY_MISTAKES[mistake]
    expect_mistake(checks.check_epsilon_greedy, fn, mistake, *words)


def test_epsilon_greedy_must_return_a_plain_int():
    numpy_int = explorer(right, greedy_action=lambda q: np.argmax(q.numpy()))
    expect_mistake(checks.check_epsilon_greedy, numpy_int, "not_an_int", "numpy", "int(...)")
    as_float = explorer(right, greedy_action=lambda q: float(torch.argmax(q)))
    expect_mistake(checks.check_epsilon_greedy, as_float, "not_an_int", "float")


def test_epsilon_greedy_that_crashes_on_ties_says_so():
    crashes = explorer(right, greedy_action=lambda q: (q == q.max()).nonzero().item())
    expect_mistake(checks.check_epsilon_greedy, crashes, "raised",
                   "two actions tie for the highest value")


def test_epsilon_greedy_must_leave_q_values_unchanged():
    def masks_in_place(q_values, epsilon, rng):
        greedy = int(torch.argmax(q_values))
        q_values[greedy] = q_values[greedy]  # harmless...
        q_values += 0.0
        if rng.random() < epsilon:
            q_values[greedy] = -1e9  # ...but this is not
            return int(rng.integers(q_values.shape[0]))
        return greedy

    expect_mistake(checks.check_epsilon_greedy, masks_in_place, "modifies_input",
                   "`q_values` in place")


def test_epsilon_greedy_alternative_right_answers_pass():
    def with_choice(q_values, epsilon, rng):
        A = q_values.shape[0]
        if rng.choice([True, False], p=[epsilon, 1 - epsilon]):
            return int(rng.choice(A))
        return int(q_values.argmax())

    def always_draws_both(q_values, epsilon, rng):
        coin, random_action = rng.random(), int(rng.integers(0, len(q_values)))
        return random_action if coin < epsilon else int(np.argmax(q_values.numpy()))

    def random_tie_break(q_values, epsilon, rng):
        if rng.random() < epsilon:
            return int(rng.integers(len(q_values)))
        best = torch.nonzero(q_values == q_values.max()).flatten().tolist()
        return int(rng.choice(best))

    for fn in (with_choice, always_draws_both, random_tie_break):
        checks.check_epsilon_greedy(fn)


def test_epsilon_greedy_check_leaves_the_global_generators_as_they_were():
    np.random.seed(0)
    random.seed(0)
    torch.manual_seed(0)
    expected = np.random.random(), random.random(), torch.rand(()).item()
    np.random.seed(0)
    random.seed(0)
    torch.manual_seed(0)
    checks.check_epsilon_greedy(targets.epsilon_greedy)
    assert (np.random.random(), random.random(), torch.rand(()).item()) == expected


# --------------------------------------------------------------------------- entropy


def entropy_from(formula):
    def entropy(logits):
        return formula(F.softmax(logits, dim=-1), F.log_softmax(logits, dim=-1), logits)
    return entropy


ENTROPY_MISTAKES = {
    "missing_minus": (entropy_from(lambda p, logp, x: (p * logp).sum(-1)), ("minus sign",)),
    "mean_over_actions": (entropy_from(lambda p, logp, x: -(p * logp).mean(-1)),
                          ("averages over the actions",)),
    "bits": (entropy_from(lambda p, logp, x: -(p * logp / math.log(2)).sum(-1)), ("bits", "nats")),
    "logits_as_log_probs": (entropy_from(lambda p, logp, x: -(p * x).sum(-1)),
                            ("log_softmax",)),
    "unweighted_log_probs": (entropy_from(lambda p, logp, x: -logp.sum(-1)),
                             ("without weighting",)),
    "softmax_over_rows": (lambda x: -(F.softmax(x, 0) * F.log_softmax(x, 0)).sum(-1),
                          ("dim 0", "dim=-1")),
    "log_of_softmax": (entropy_from(lambda p, logp, x: -(p * torch.log(p)).sum(-1)),
                       ("nan", "0 * -inf", "F.log_softmax")),
}


@pytest.mark.parametrize("mistake", sorted(ENTROPY_MISTAKES))
def test_entropy_mistakes_are_named(mistake):
    fn, words = ENTROPY_MISTAKES[mistake]
    expect_mistake(checks.check_entropy, fn, mistake, *words)


def test_entropy_with_a_hand_made_softmax_overflows_and_is_told_so():
    def by_hand(logits):
        e = logits.exp()
        p = e / e.sum(dim=-1, keepdim=True)
        return -(p * p.log()).sum(dim=-1)

    expect_mistake(checks.check_entropy, by_hand, "log_of_softmax", "log_softmax")


def test_entropy_shape_mistakes():
    def per_action(formula):
        return entropy_from(formula)

    expect_mistake(checks.check_entropy, per_action(lambda p, logp, x: -(p * logp).sum(0)),
                   "wrong_shape", "[4]", "dim 0")
    expect_mistake(checks.check_entropy, per_action(lambda p, logp, x: -(p * logp)),
                   "wrong_shape", "[2, 4]", "sum over the actions")
    expect_mistake(checks.check_entropy, per_action(lambda p, logp, x: -(p * logp).sum()),
                   "wrong_shape", "one number for the whole batch")
    expect_mistake(checks.check_entropy,
                   per_action(lambda p, logp, x: -(p * logp).sum(-1, keepdim=True)),
                   "wrong_shape", "[2, 1]", "squeeze")


def test_entropy_must_keep_its_gradient():
    expect_mistake(checks.check_entropy,
                   lambda logits: targets.entropy(logits).detach(), "entropy_no_gradient",
                   "no gradient")
    expect_mistake(checks.check_entropy,
                   entropy_from(lambda p, logp, x: -(p.detach() * logp).sum(-1)),
                   "entropy_gradient", "detached")
    expect_mistake(checks.check_entropy,
                   lambda logits: torch.from_numpy(targets.entropy(logits).detach().numpy()),
                   "entropy_no_gradient")


def test_entropy_alternative_right_answers_pass():
    checks.check_entropy(lambda logits: torch.distributions.Categorical(logits=logits).entropy())
    checks.check_entropy(entropy_from(lambda p, logp, x: -(logp.exp() * logp).sum(dim=1)))


# --------------------------------------------------------------------------- actor-critic loss


def a3c_loss(log_pi=lambda logits, actions: F.log_softmax(logits, -1).gather(1, actions[:, None])[:, 0],
             advantage=lambda values, returns: (returns - values).detach(),
             policy=lambda taken, adv: -(taken * adv).sum(),
             value=lambda values, returns: (returns - values).pow(2).sum(),
             entropy=lambda logits, actions: targets.entropy(logits).sum(),
             total=lambda p, v, h, beta, coef: p + coef * v - beta * h):
    """An actor-critic loss built from a student's pieces, the right ones by default."""
    def actor_critic_loss(logits, values, actions, returns, entropy_beta, value_coef):
        l_pi = policy(log_pi(logits, actions), advantage(values, returns))
        l_v = value(values, returns)
        h = entropy(logits, actions)
        return total(l_pi, l_v, h, entropy_beta, value_coef), l_pi, l_v, h
    return actor_critic_loss


def log_softmax_of(pick):
    return lambda logits, actions: pick(F.log_softmax(logits, dim=-1), actions)


ACTOR_CRITIC_MISTAKES = {
    # the policy term
    "policy_wrong_sign": (a3c_loss(policy=lambda taken, adv: (taken * adv).sum()),
                          ("wrong sign", "*minimise*")),
    "policy_mean": (a3c_loss(policy=lambda taken, adv: -(taken * adv).mean()), ("sums",)),
    "no_baseline": (a3c_loss(advantage=lambda values, returns: returns),
                    ("baseline", "advantage")),
    "argmax_action": (a3c_loss(log_pi=log_softmax_of(lambda lp, a: lp.max(dim=1).values)),
                      ("greedy action", "actually taken")),
    "first_action": (a3c_loss(log_pi=log_softmax_of(lambda lp, a: lp[:, 0])), ("action 0",)),
    "wrong_indexing": (a3c_loss(log_pi=log_softmax_of(lambda lp, a: lp[:, a])),
                       ("log_probs[:, actions]", "[T, T]")),
    "probability_not_log": (
        a3c_loss(log_pi=lambda x, a: F.softmax(x, -1).gather(1, a[:, None])[:, 0]),
        ("logarithm",)),
    "raw_logits": (a3c_loss(log_pi=lambda x, a: x.gather(1, a[:, None])[:, 0]), ("raw logit",)),
    "all_actions": (a3c_loss(log_pi=log_softmax_of(lambda lp, a: lp.sum(dim=1))),
                    ("all the actions",)),
    "log_softmax_over_steps": (
        a3c_loss(log_pi=lambda x, a: F.log_softmax(x, 0).gather(1, a[:, None])[:, 0]),
        ("dim 0",)),
    "advantage_not_detached": (a3c_loss(advantage=lambda values, returns: returns - values),
                               ("into the values", ".detach()")),
    # the value term
    "value_wrong_sign": (a3c_loss(value=lambda v, R: -(R - v).pow(2).sum()), ("wrong sign",)),
    "value_mean": (a3c_loss(value=lambda v, R: (R - v).pow(2).mean()), ("averages",)),
    "value_halved": (a3c_loss(value=lambda v, R: 0.5 * (R - v).pow(2).sum()), ("halved",)),
    "value_not_squared": (a3c_loss(value=lambda v, R: (R - v).sum()), ("without squaring",)),
    "value_absolute": (a3c_loss(value=lambda v, R: (R - v).abs().sum()), ("absolute",)),
    "value_detached": (a3c_loss(value=lambda v, R: (R - v).detach().pow(2).sum()),
                       ("critic never learns", "detached advantage")),
    # the entropy
    "entropy_mean": (a3c_loss(entropy=lambda x, a: targets.entropy(x).mean()), ("averages",)),
    "entropy_missing_minus": (a3c_loss(entropy=lambda x, a: -targets.entropy(x).sum()),
                              ("negative",)),
    "entropy_of_action_taken": (
        a3c_loss(entropy=lambda x, a: -F.log_softmax(x, -1).gather(1, a[:, None]).sum()),
        ("one-sample estimate",)),
    "entropy_mean_over_actions": (
        a3c_loss(entropy=lambda x, a: (targets.entropy(x) / x.shape[1]).sum()),
        ("averages over the actions",)),
    "entropy_no_gradient": (a3c_loss(entropy=lambda x, a: targets.entropy(x).sum().detach()),
                            ("no gradient",)),
    # the total
    "entropy_bonus_wrong_sign": (a3c_loss(total=lambda p, v, h, beta, c: p + c * v + beta * h),
                                 ("*subtracted*",)),
    "value_coef_missing": (a3c_loss(total=lambda p, v, h, beta, c: p + v - beta * h),
                           ("does not weight the value loss",)),
    "entropy_beta_missing": (a3c_loss(total=lambda p, v, h, beta, c: p + c * v - h),
                             ("does not weight the entropy",)),
    "entropy_missing": (a3c_loss(total=lambda p, v, h, beta, c: p + c * v),
                        ("leaves out the entropy bonus",)),
    "value_missing": (a3c_loss(total=lambda p, v, h, beta, c: p - beta * h),
                      ("leaves out the value loss",)),
    "value_subtracted": (a3c_loss(total=lambda p, v, h, beta, c: p - c * v - beta * h),
                         ("subtracts the value loss",)),
    "coefficients_swapped": (a3c_loss(total=lambda p, v, h, beta, c: p + beta * v - c * h),
                             ("swaps",)),
    "total_no_gradient": (
        a3c_loss(total=lambda p, v, h, beta, c: torch.tensor(p.item() + c * v.item() - beta * h.item())),
        ("total carries no gradient",)),
}


@pytest.mark.parametrize("mistake", sorted(ACTOR_CRITIC_MISTAKES))
def test_actor_critic_loss_mistakes_are_named(mistake):
    fn, words = ACTOR_CRITIC_MISTAKES[mistake]
    expect_mistake(checks.check_actor_critic_loss, fn, mistake, *words)


def test_actor_critic_loss_parts_weighted_inside_are_named():
    def weighted(logits, values, actions, returns, entropy_beta, value_coef):
        total, l_pi, l_v, h = targets.actor_critic_loss(logits, values, actions, returns,
                                                        entropy_beta, value_coef)
        return total, l_pi, value_coef * l_v, entropy_beta * h

    expect_mistake(checks.check_actor_critic_loss, weighted, "value_weighted", "value_coef")

    def entropy_weighted(logits, values, actions, returns, entropy_beta, value_coef):
        total, l_pi, l_v, h = targets.actor_critic_loss(logits, values, actions, returns,
                                                        entropy_beta, value_coef)
        return total, l_pi, l_v, entropy_beta * h

    expect_mistake(checks.check_actor_critic_loss, entropy_weighted, "entropy_weighted",
                   "entropy_beta")

    def entropy_in_policy(logits, values, actions, returns, entropy_beta, value_coef):
        total, l_pi, l_v, h = targets.actor_critic_loss(logits, values, actions, returns,
                                                        entropy_beta, value_coef)
        return total, l_pi - entropy_beta * h, l_v, h

    expect_mistake(checks.check_actor_critic_loss, entropy_in_policy,
                   "policy_includes_entropy", "separately")


def test_actor_critic_loss_structure_mistakes():
    check = checks.check_actor_critic_loss
    reference = targets.actor_critic_loss

    def parts(change):
        return lambda *args: change(*reference(*args))

    expect_mistake(check, parts(lambda total, p, v, h: (p, v, h, total)), "wrong_order",
                   "total, policy_loss, value_loss, entropy")
    expect_mistake(check, parts(lambda total, p, v, h: (total, p, v)), "not_four_parts", "3 values")
    expect_mistake(check, parts(lambda total, p, v, h: total), "not_four_parts", "four")
    expect_mistake(check, parts(lambda total, p, v, h: (total.item(), p, v, h)),
                   "not_a_tensor", "plain number", ".item()")

    def per_step(logits, values, actions, returns, entropy_beta, value_coef):
        taken = F.log_softmax(logits, -1).gather(1, actions[:, None])[:, 0]
        l_pi = -taken * (returns - values).detach()
        l_v = (returns - values).pow(2)
        h = targets.entropy(logits)
        return (l_pi + value_coef * l_v - entropy_beta * h).sum(), l_pi, l_v, h

    expect_mistake(check, per_step, "wrong_shape", "policy_loss", "[4]", ".sum()")


def test_actor_critic_loss_must_leave_its_inputs_unchanged():
    def in_place(logits, values, actions, returns, entropy_beta, value_coef):
        returns -= values.detach()  # the advantage, computed into `returns`
        taken = F.log_softmax(logits, -1).gather(1, actions[:, None])[:, 0]
        l_pi = -(taken * returns).sum()
        l_v = returns.pow(2).sum()
        h = targets.entropy(logits).sum()
        return l_pi + value_coef * l_v - entropy_beta * h, l_pi, l_v, h

    expect_mistake(checks.check_actor_critic_loss, in_place, "modifies_input",
                   "`returns` in place")


def test_actor_critic_loss_alternative_right_answers_pass():
    def with_distributions(logits, values, actions, returns, entropy_beta, value_coef):
        policy = torch.distributions.Categorical(logits=logits)
        advantages = returns - values
        policy_loss = -(policy.log_prob(actions) * advantages.detach()).sum()
        value_loss = (advantages**2).sum()
        entropy = policy.entropy().sum()
        return (policy_loss + value_coef * value_loss - entropy_beta * entropy,
                policy_loss, value_loss, entropy)

    def with_cross_entropy(logits, values, actions, returns, entropy_beta, value_coef):
        nll = F.cross_entropy(logits, actions, reduction="none")
        policy_loss = (nll * (returns - values).detach()).sum()
        value_loss = F.mse_loss(values, returns, reduction="sum")
        entropy = targets.entropy(logits).sum()
        return [policy_loss + value_coef * value_loss - entropy_beta * entropy,
                policy_loss, value_loss, entropy]

    checks.check_actor_critic_loss(with_distributions)
    checks.check_actor_critic_loss(with_cross_entropy)


def test_a_checker_leaves_torch_thread_count_as_it_was():
    before = torch.get_num_threads()
    checks.check_entropy(targets.entropy)
    with pytest.raises(ExerciseError):
        checks.check_entropy(stub)
    assert torch.get_num_threads() == before


def test_a_stub_called_from_the_exercise_is_named():
    def entropy(logits):
        raise NotImplementedError("use log_softmax")

    def actor_critic_loss(logits, values, actions, returns, entropy_beta, value_coef):
        _, policy_loss, value_loss, _ = targets.actor_critic_loss(
            logits, values, actions, returns, 0.0, value_coef)
        h = entropy(logits).sum()
        return policy_loss + value_coef * value_loss - entropy_beta * h, policy_loss, value_loss, h

    expect_mistake(checks.check_actor_critic_loss, actor_critic_loss, "not_implemented",
                   "calls entropy, which is not implemented yet", "use log_softmax")


def test_actor_critic_loss_gradient_mistakes_with_right_values():
    check = checks.check_actor_critic_loss
    expect_mistake(check, a3c_loss(policy=lambda taken, adv: -(taken * adv).sum().detach()),
                   "policy_loss_no_gradient", "policy_loss carries no gradient")
    expect_mistake(check, a3c_loss(total=lambda p, v, h, beta, c: p + c * v.detach() - beta * h),
                   "total_gradient", "d total / d values")
    # Right values, gradient upside down: 2 x - x has the value of x and the gradient of -x.
    upside_down = a3c_loss(value=lambda v, R: 2 * (R - v).detach().pow(2).sum() - (R - v).pow(2).sum())
    expect_mistake(check, upside_down, "value_gradient_direction", "towards the return")
    leaks = a3c_loss(value=lambda v, R: (R - v).pow(2).sum() + 0 * v.sum())
    checks.check_actor_critic_loss(leaks)  # a zero term changes nothing

    def value_through_logits(logits, values, actions, returns, entropy_beta, value_coef):
        total, l_pi, l_v, h = targets.actor_critic_loss(logits, values, actions, returns,
                                                        entropy_beta, value_coef)
        l_v = l_v + (logits - logits.detach()).pow(2).sum() + (logits - logits.detach()).sum()
        return l_pi + value_coef * l_v - entropy_beta * h, l_pi, l_v, h

    expect_mistake(check, value_through_logits, "value_depends_on_logits")


def test_epsilon_greedy_other_greedy_and_rate_mistakes():
    expect_mistake(checks.check_epsilon_greedy,
                   explorer(right, greedy_action=lambda q: int(torch.argmax(q[1:]))),
                   "not_greedy", "the greedy action, argmax Q, is 1")
    expect_mistake(checks.check_epsilon_greedy,
                   explorer(lambda rng, eps: rng.random() < eps / 2), "not_uniform",
                   "each should be about 25%")


def test_every_mistake_a_checker_names_is_demonstrated_here():
    """Each entry of the checkers' mistake tables has a wrong implementation above."""
    named = {
        "one_step_q_target": one_step_q_exercise.ONE_STEP_Q_MISTAKES,
        "sarsa_target": sarsa_exercise.SARSA_MISTAKES,
        "n_step_returns": n_step_exercise.N_STEP_MISTAKES,
        "entropy": entropy_exercise.ENTROPY_MISTAKES,
        "actor_critic_loss": (actor_critic_exercise.POLICY_MISTAKES
                              + actor_critic_exercise.VALUE_MISTAKES
                              + actor_critic_exercise.ENTROPY_PART_MISTAKES
                              + actor_critic_exercise.TOTAL_MISTAKES),
    }
    demonstrated = {
        "one_step_q_target": set(ONE_STEP_Q_MISTAKES),
        "sarsa_target": set(SARSA_MISTAKES),
        "n_step_returns": set(N_STEP_MISTAKES),
        "entropy": set(ENTROPY_MISTAKES),
        "actor_critic_loss": set(ACTOR_CRITIC_MISTAKES) | {
            "value_weighted", "entropy_weighted", "policy_includes_entropy"},
    }
    for exercise, mistakes in named.items():
        missing = {m.key for m in mistakes} - demonstrated[exercise]
        assert not missing, f"{exercise}: no wrong implementation shows {sorted(missing)}"


def test_an_unrecognised_wrong_answer_shows_the_case_the_expected_and_the_returned_values():
    message = expect_mistake(checks.check_n_step_returns, reference_then(lambda R: R + 1.0),
                             "differs", "a rollout cut off before the episode ended",
                             "expected: [4.0, 6.0, 8.0]", "returned: [5.0, 7.0, 9.0]",
                             "Reminder: R_t = r_t")
    assert "at t=2 you returned 9.0, expected 8.0" in message


def test_nan_in_an_answer_is_pointed_out():
    expect_mistake(checks.check_one_step_q_target,
                   lambda r, q, done, gamma: targets.one_step_q_target(r, q, done, gamma) * math.nan,
                   "differs", "nan")


def test_a_not_implemented_error_from_torch_is_not_taken_for_a_stub():
    def entropy(logits):
        log_pi = logits.long().log_softmax(dim=-1)  # torch: not implemented for 'Long'
        return -(log_pi.exp() * log_pi).sum(dim=-1)

    message = expect_mistake(checks.check_entropy, entropy, "raised",
                             "NotImplementedError", "not implemented for 'Long'",
                             "log_pi = logits.long()")
    assert "not implemented yet" not in message
