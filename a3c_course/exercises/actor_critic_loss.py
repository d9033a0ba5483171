"""The checker of ``actor_critic_loss``: the A3C loss of a rollout (notebook 4)."""

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
         (floats([[0.5, -1.0, 2.0], [1.0, 1.0, 0.0], [-0.5, 0.3, 0.1], [2.0, 0.0, -1.0]]),
          floats([1.0, -0.5, 2.0, 0.3]), torch.tensor([0, 2, 1, 0]), floats([2.5, -1.0, 1.0, 1.5]),
          0.1, 0.3)),
    Case("two steps, two actions, no entropy bonus",
         (floats([[0.0, 0.0], [math.log(3.0), 0.0]]), floats([1.0, 2.0]), torch.tensor([0, 1]),
          floats([3.0, 1.0]), 0.0, 0.5)),
    Case("a single step, four actions",
         (floats([[0.2, -0.4, 1.0, 0.0]]), floats([0.5]), torch.tensor([3]), floats([-1.0]), 0.05, 1.0)),
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
    report_success(ACTOR_CRITIC, len(ACTOR_CRITIC_CASES) + 1)


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
