"""The checker of ``entropy``: the entropy of a categorical policy (notebook 5)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..paper import targets
from .checking import (
    Case,
    Exercise,
    Mistake,
    call,
    check_signature,
    checker,
    close,
    describe,
    diagnose,
    expect_tensor,
    fail,
    show,
)
from .common import floats, report_success

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
         (floats([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0], [2.0, 2.0, -3.0], [0.0, 0.0, 0.0]]),)),
    Case("a nearly certain policy (large logits)",
         (floats([[1000.0, -1000.0, 0.0], [50.0, 0.0, -50.0]]),)),
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
    report_success(ENTROPY, len(ENTROPY_CASES) + 1)
