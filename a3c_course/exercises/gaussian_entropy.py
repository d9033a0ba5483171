"""The checker of ``gaussian_entropy``: the differential entropy of a diagonal Gaussian (notebook 8)."""

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

GAUSSIAN_ENTROPY = Exercise(
    name="gaussian_entropy",
    parameters=("std",),
    goal="H = sum_i 0.5 log(2 pi e sigma_i^2) = sum_i [ log sigma_i + 0.5 log(2 pi e) ], one "
         "value per row (summed over the action dimensions), shape [T], with gradient.",
    shapes="std [T, D] (T steps, D action dimensions); the answer [T]",
    position="in row {}",
)

HALF_LOG_2PIE = 0.5 * math.log(2 * math.pi * math.e)

GAUSSIAN_ENTROPY_CASES = (
    Case("one step, one action dimension", (floats([[0.3]]),)),
    Case("three steps, two action dimensions",
         (floats([[0.5, 2.0], [1.0, 0.1], [0.24, 3.5]]),)),
    Case("two steps, three action dimensions", (floats([[0.05, 1.5, 0.7], [4.0, 0.2, 1.0]]),)),
)


def _per_dimension(std, constant=HALF_LOG_2PIE, log_std=None):
    spread = std.log() if log_std is None else log_std(std)
    return constant + spread


GAUSSIAN_ENTROPY_MISTAKES = (
    Mistake("missing_constant",
            "your entropy is sum_i log sigma_i, without the constant 0.5 log(2 pi e) of "
            "each dimension. Its gradient is the same, but it is not the entropy: "
            "H = sum_i (log sigma_i + 0.5 * math.log(2 * math.pi * math.e)).",
            lambda std: std.log().sum(dim=-1)),
    Mistake("wrong_sign",
            "your entropy has the wrong sign: H = 0.5 log(2 pi e sigma^2) grows with sigma "
            "(a wider Gaussian is more uncertain).",
            lambda std: -_per_dimension(std).sum(dim=-1)),
    Mistake("std_as_variance",
            "your entropy treats `std` as the variance, 0.5 log(2 pi e std); `std` is the "
            "standard deviation sigma: 0.5 log(2 pi e sigma^2) = log(sigma) + 0.5 log(2 pi e).",
            lambda std: (HALF_LOG_2PIE + 0.5 * std.log()).sum(dim=-1)),
    Mistake("missing_e",
            "your entropy's constant is 0.5 log(2 pi): the differential entropy of a "
            "Gaussian is 0.5 log(2 pi e sigma^2), with e inside the log (the e comes from "
            "the expected value of the squared exponent, 1/2).",
            lambda std: _per_dimension(std, constant=0.5 * math.log(2 * math.pi)).sum(dim=-1)),
    Mistake("missing_half",
            "your entropy is log(2 pi e sigma^2), twice the entropy: H = 0.5 log(2 pi e sigma^2).",
            lambda std: (2 * _per_dimension(std)).sum(dim=-1)),
    Mistake("std_not_logged",
            "your entropy adds sigma itself where log(sigma) belongs: H = log(sigma) + "
            "0.5 log(2 pi e).",
            lambda std: _per_dimension(std, log_std=lambda s: s).sum(dim=-1)),
    Mistake("softmax_entropy",
            "your entropy uses the formula of a softmax policy, -sum sigma log sigma; a "
            "Gaussian's differential entropy depends on its width alone: "
            "sum_i log(sigma_i) + 0.5 log(2 pi e).",
            lambda std: -(std * std.log()).sum(dim=-1)),
    Mistake("mean_over_dimensions",
            "your entropy averages over the action dimensions; the entropy of independent "
            "dimensions is the sum of theirs: .sum(dim=-1).",
            lambda std: _per_dimension(std).mean(dim=-1)),
)



@checker
def check_gaussian_entropy(fn) -> None:
    r"""Check ``gaussian_entropy(std)``.

    .. math::
        H = \sum_i \tfrac12 \log(2 \pi e \sigma_i^2) = \sum_i \Big(\log \sigma_i + \tfrac12 \log(2 \pi e)\Big)

    Verifies:

    - the values for one, two and three action dimensions, sigma below and above
      :math:`1/\sqrt{2 \pi e}` (where the entropy changes sign); a wrong answer is
      matched against the usual mistakes: the constant left out, the wrong sign, ``std``
      taken for the variance, :math:`e` or the half missing, sigma not logged, the
      softmax's formula, a mean over the dimensions;
    - the answer is a float32 tensor of shape ``[T]``;
    - ``std`` is not modified;
    - gradient flows into ``std`` and is the reference's, :math:`1/\sigma`.
    """
    __tracebackhide__ = True
    check_signature(fn, GAUSSIAN_ENTROPY)
    cases = GAUSSIAN_ENTROPY_CASES
    answers = []
    for case in cases:
        answer = call(fn, GAUSSIAN_ENTROPY, case)
        expect_tensor(GAUSSIAN_ENTROPY, case, answer, (case.args[0].shape[0],),
                      shape_hint=per_action_dimension_shape_hint("entropy"))
        answers.append(answer)
    expected = [targets.gaussian_entropy(*case.fresh_args()) for case in cases]
    diagnose(GAUSSIAN_ENTROPY, cases, answers, expected, GAUSSIAN_ENTROPY_MISTAKES)
    expect_reference_gradient(fn, GAUSSIAN_ENTROPY, cases[1], targets.gaussian_entropy, (0,))
    report_success(GAUSSIAN_ENTROPY, len(cases) + 1)
