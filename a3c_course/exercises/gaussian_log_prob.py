"""The checker of ``gaussian_log_prob``: the log-density of a diagonal Gaussian policy (notebook 8)."""

from __future__ import annotations

import math

from ..paper import targets
from .checking import (
    Case,
    Exercise,
    Mistake,
    call,
    check_signature,
    checker,
    diagnose,
    expect_tensor,
)
from .common import (
    expect_reference_gradient,
    floats,
    per_action_dimension_shape_hint,
    report_success,
)

GAUSSIAN_LOG_PROB = Exercise(
    name="gaussian_log_prob",
    parameters=("mean", "std", "actions"),
    goal="log pi(a|s) = sum_i [ -(a_i - mu_i)^2 / (2 sigma_i^2) - log sigma_i - 0.5 log(2 pi) ], "
         "one value per row (summed over the action dimensions), shape [T], with gradient.",
    shapes="mean, std and actions [T, D] (T steps, D action dimensions); the answer [T]",
    position="in row {}",
)

LOG_2PI = math.log(2 * math.pi)

GAUSSIAN_LOG_PROB_CASES = (
    Case("one step, one action dimension",
         (floats([[0.5]]), floats([[0.3]]), floats([[0.2]]))),
    Case("three steps, two action dimensions",
         (floats([[0.0, 1.0], [-0.5, 0.2], [2.0, -1.0]]), floats([[1.5, 0.4], [0.2, 2.0], [0.7, 0.05]]),
          floats([[0.3, 0.9], [-0.1, 1.7], [2.5, -1.02]]))),
    Case("two steps, three action dimensions, actions far from the mean",
         (floats([[0.1, -0.2, 0.3], [1.0, 0.0, -1.0]]), floats([[0.5, 3.0, 0.25], [1.2, 0.8, 2.5]]),
          floats([[2.0, -4.0, 1.0], [-2.0, 1.5, 3.0]]))),
)


def _terms(mean, std, actions, square=2, log_std=1.0, constant=0.5 * LOG_2PI, half=0.5):
    """The per-dimension log-density, with each part made adjustable for the mistakes."""
    return -half * (actions - mean).pow(2) / std.pow(square) - log_std * std.log() - constant


def _summed(**kwargs):
    return lambda mean, std, actions: _terms(mean, std, actions, **kwargs).sum(dim=-1)


GAUSSIAN_LOG_PROB_MISTAKES = (
    Mistake("std_not_squared",
            "your log-density divides (a - mu)^2 by 2 sigma, not by 2 sigma^2: the "
            "standard deviation is squared in the exponent of a Gaussian, "
            "-(a - mu)^2 / (2 std**2).",
            _summed(square=1)),
    Mistake("std_as_variance",
            "your log-density treats `std` as the variance: -(a - mu)^2 / (2 std) - 0.5 "
            "log(std). `std` is the standard deviation sigma: divide by 2 sigma^2 and "
            "subtract log(sigma).",
            _summed(square=1, log_std=0.5)),
    Mistake("log_variance",
            "your log-density subtracts log(sigma^2) = 2 log(sigma); the normalising "
            "term of one dimension is -log(sigma) - 0.5 log(2 pi), i.e. -0.5 log(2 pi sigma^2).",
            _summed(log_std=2.0)),
    Mistake("missing_constant",
            "your log-density leaves out the constant -0.5 log(2 pi) of each dimension. It "
            "does not change the gradient, but the value is not log pi(a|s) (the check "
            "holds you to the formula: -0.5 * math.log(2 * math.pi) per dimension).",
            _summed(constant=0.0)),
    Mistake("constant_without_half",
            "your log-density subtracts log(2 pi) per dimension; the normalising constant "
            "is 0.5 log(2 pi) (the log of sqrt(2 pi)).",
            _summed(constant=LOG_2PI)),
    Mistake("missing_log_std",
            "your log-density leaves out -log(sigma): the normalising term of a Gaussian "
            "depends on its width (a narrow one is higher at its peak), and without it the "
            "policy gradient would make sigma grow without end.",
            _summed(log_std=0.0)),
    Mistake("missing_half",
            "your log-density has -(a - mu)^2 / sigma^2 in the exponent; a Gaussian's is "
            "-(a - mu)^2 / (2 sigma^2).",
            _summed(half=1.0)),
    Mistake("mean_over_dimensions",
            "your log-density averages over the action dimensions; independent dimensions "
            "multiply their densities, so their log-densities add up: .sum(dim=-1).",
            lambda mean, std, actions: _terms(mean, std, actions).mean(dim=-1)),
    Mistake("density_not_log",
            "your answer is the density pi(a|s) itself; the policy gradient needs its "
            "logarithm (and the logarithm of a product of densities is a sum).",
            lambda mean, std, actions: _terms(mean, std, actions).sum(dim=-1).exp()),
    Mistake("negative_log_prob",
            "your answer is -log pi(a|s), the negative log-likelihood; return log pi(a|s) "
            "itself (the loss puts the minus sign in front).",
            lambda mean, std, actions: -_terms(mean, std, actions).sum(dim=-1)),
    Mistake("wrong_sign_in_exponent",
            "your log-density adds (a - mu)^2 / (2 sigma^2): actions far from the mean "
            "must be *less* likely, -(a - mu)^2 / (2 sigma^2).",
            _summed(half=-0.5)),
)



@checker
def check_gaussian_log_prob(fn) -> None:
    r"""Check ``gaussian_log_prob(mean, std, actions)``.

    .. math::
        \log \pi(a \mid s) = \sum_i \Big( -\frac{(a_i - \mu_i)^2}{2\sigma_i^2} - \log \sigma_i
        - \tfrac12 \log 2\pi \Big)

    Verifies:

    - the values on one, two and three action dimensions; a wrong answer is matched
      against the usual mistakes: sigma not squared, ``std`` taken for the variance,
      ``log(sigma^2)`` for ``log(sigma)``, the constant left out or without its half,
      ``-log(sigma)`` left out, the half missing in the exponent, a mean over the
      dimensions, the density instead of its log, the negative log-likelihood, the
      exponent's sign;
    - the answer is a float32 tensor of shape ``[T]``: summed over the dimensions,
      not ``[T, D]``;
    - the inputs are not modified;
    - gradient flows into ``mean`` and ``std``, and it is the reference's.
    """
    __tracebackhide__ = True
    check_signature(fn, GAUSSIAN_LOG_PROB)
    cases = GAUSSIAN_LOG_PROB_CASES
    answers = []
    for case in cases:
        answer = call(fn, GAUSSIAN_LOG_PROB, case)
        expect_tensor(GAUSSIAN_LOG_PROB, case, answer, (case.args[0].shape[0],),
                      shape_hint=per_action_dimension_shape_hint(
                          "log-density", " (the dimensions are independent)"))
        answers.append(answer)
    expected = [targets.gaussian_log_prob(*case.fresh_args()) for case in cases]
    diagnose(GAUSSIAN_LOG_PROB, cases, answers, expected, GAUSSIAN_LOG_PROB_MISTAKES)
    expect_reference_gradient(fn, GAUSSIAN_LOG_PROB, cases[1], targets.gaussian_log_prob, (0, 1))
    report_success(GAUSSIAN_LOG_PROB, len(cases) + 1)
