"""The checkers of the asynchronous machinery: the shared RMSProp step, the Hogwild
update, the Atari frame, the Gaussian policy's log-density and entropy, the LSTM state.

Every wrong implementation below is written the way a student might write it; each
test asserts the name of the mistake the checker reports (``ExerciseError.mistake``) and
the words of the hint that name it. Right answers written other ways pass.
"""

import math

import cv2
import numpy as np
import pytest
import torch

from a3c_course import checks
from a3c_course.checks import ExerciseError
from a3c_course.exercises import atari_frame as atari_exercise
from a3c_course.exercises import gaussian_entropy as entropy_exercise
from a3c_course.exercises import gaussian_log_prob as log_prob_exercise
from a3c_course.exercises import hogwild_update as hogwild_exercise
from a3c_course.exercises import next_lstm_state as lstm_exercise
from a3c_course.exercises import shared_rmsprop_step as rmsprop_exercise
from a3c_course.paper import targets


def expect_mistake(check, fn, mistake, *words):
    with pytest.raises(ExerciseError) as info:
        check(fn)
    message = str(info.value)
    assert info.value.mistake == mistake, message
    for word in words:
        assert word in message, f"{word!r} not in:\n{message}"
    return message


def passes(check, fn, capsys):
    check(fn)
    return "looks good" in capsys.readouterr().out


# --------------------------------------------------------------------------- shared RMSProp


def rmsprop(eps_inside=True, square=lambda g: g * g, statistics_first=True, sign=-1.0,
            use_lr=True, decay_old=lambda a: a, decay_new=lambda a: 1 - a):
    """A student's step with each part written one way or another."""
    def shared_rmsprop_step(params, grads, square_avgs, lr, alpha, eps):
        for param, grad, square_avg in zip(params, grads, square_avgs):
            old = square_avg.clone()
            square_avg.mul_(decay_old(alpha)).add_(decay_new(alpha) * square(grad))
            g = square_avg if statistics_first else old
            denominator = torch.sqrt(g + eps) if eps_inside else torch.sqrt(g) + eps
            param.add_(sign * (lr if use_lr else 1.0) * grad / denominator)
    return shared_rmsprop_step


def rmsprop_no_root(params, grads, square_avgs, lr, alpha, eps):
    for param, grad, g in zip(params, grads, square_avgs):
        g.mul_(alpha).add_((1 - alpha) * grad**2)
        param.sub_(lr * grad / (g + eps))


def rmsprop_replaces(params, grads, square_avgs, lr, alpha, eps):
    for param, grad, g in zip(params, grads, square_avgs):
        g.copy_(grad**2)
        param.sub_(lr * grad / (g + eps).sqrt())


def rmsprop_adagrad(params, grads, square_avgs, lr, alpha, eps):
    for param, grad, g in zip(params, grads, square_avgs):
        g.add_(grad**2)
        param.sub_(lr * grad / (g + eps).sqrt())


def rmsprop_local_average(params, grads, square_avgs, lr, alpha, eps):
    for param, grad, g in zip(params, grads, square_avgs):
        g = alpha * g + (1 - alpha) * grad**2  # rebinds the name only
        param -= lr * grad / torch.sqrt(g + eps)


def rmsprop_returns_early(params, grads, square_avgs, lr, alpha, eps):
    for param, grad, g in zip(params, grads, square_avgs):
        g.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        param.addcdiv_(grad, (g + eps).sqrt(), value=-lr)
        return


def rmsprop_rebinds_everything(params, grads, square_avgs, lr, alpha, eps):
    for param, grad, g in zip(params, grads, square_avgs):
        g = alpha * g + (1 - alpha) * grad**2
        param = param - lr * grad / torch.sqrt(g + eps)


def rmsprop_returns_new_lists(params, grads, square_avgs, lr, alpha, eps):
    new_g = [alpha * g + (1 - alpha) * grad**2 for g, grad in zip(square_avgs, grads)]
    return [p - lr * grad / torch.sqrt(g + eps) for p, grad, g in zip(params, grads, new_g)], new_g


def rmsprop_params_rebound(params, grads, square_avgs, lr, alpha, eps):
    for param, grad, g in zip(params, grads, square_avgs):
        g.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        param = param - lr * grad / torch.sqrt(g + eps)


def rmsprop_data_assigned(params, grads, square_avgs, lr, alpha, eps):
    for param, grad, g in zip(params, grads, square_avgs):
        g.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        param.data = param.data - lr * grad / torch.sqrt(g + eps)


def rmsprop_list_entries(params, grads, square_avgs, lr, alpha, eps):
    for i, (grad, g) in enumerate(zip(grads, square_avgs)):
        g.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        params[i] = params[i] - lr * grad / torch.sqrt(g + eps)


def rmsprop_squares_grad_in_place(params, grads, square_avgs, lr, alpha, eps):
    for param, grad, g in zip(params, grads, square_avgs):
        squared = grad.clone()
        g.mul_(alpha).add_((1 - alpha) * grad.mul_(grad))  # squares the worker's gradient
        param.sub_(lr * squared / torch.sqrt(g + eps))


def rmsprop_param_grad(params, grads, square_avgs, lr, alpha, eps):
    for param, g in zip(params, square_avgs):
        g.mul_(alpha).addcmul_(param.grad, param.grad, value=1 - alpha)
        param.addcdiv_(param.grad, (g + eps).sqrt(), value=-lr)


RMSPROP_MISTAKES = {
    "eps_outside_root": (rmsprop(eps_inside=False), ("sqrt(g) + eps", "torch.optim.RMSprop")),
    "no_square_root": (rmsprop_no_root, ("root mean square",)),
    "old_statistics": (rmsprop(statistics_first=False), ("*before*",)),
    "alpha_swapped": (rmsprop(decay_old=lambda a: 1 - a, decay_new=lambda a: a), ("decay",)),
    "gradient_not_squared": (rmsprop(square=torch.abs), ("*squared*",)),
    "no_moving_average": (rmsprop_replaces, ("remember",)),
    "sums_squares": (rmsprop_adagrad, ("AdaGrad",)),
    "statistics_not_stored": (rmsprop_local_average, ("never writes it into square_avgs",)),
    "gradient_ascent": (rmsprop(sign=1.0), ("*up*",)),
    "no_learning_rate": (rmsprop(use_lr=False), ("learning rate",)),
    "only_first_parameter": (rmsprop_returns_early, ("first parameter",)),
    "not_in_place": (rmsprop_rebinds_everything, ("changed neither", "in-place")),
    "params_not_in_place": (rmsprop_params_rebound, ("leaves `params`",)),
    "memory_replaced": (rmsprop_data_assigned, ("shared memory", "param.data")),
    "replaced_list_entries": (rmsprop_list_entries, ("new tensors into the list",)),
    "modifies_grads": (rmsprop_squares_grad_in_place, ("`grads` in place",)),
}


@pytest.mark.parametrize("mistake", sorted(RMSPROP_MISTAKES))
def test_shared_rmsprop_step_mistakes_are_named(mistake):
    fn, words = RMSPROP_MISTAKES[mistake]
    expect_mistake(checks.check_shared_rmsprop_step, fn, mistake, *words)


def test_shared_rmsprop_step_that_returns_new_tensors_is_told_to_work_in_place():
    expect_mistake(checks.check_shared_rmsprop_step, rmsprop_returns_new_lists, "not_in_place",
                   "returned tuple", "ignores what you return")


def test_shared_rmsprop_step_reading_param_grad_is_told_to_use_grads():
    expect_mistake(checks.check_shared_rmsprop_step, rmsprop_param_grad, "raised",
                   "grads[i]", "param.grad may be None")


def test_shared_rmsprop_step_differences_show_the_call_and_the_element():
    message = expect_mistake(checks.check_shared_rmsprop_step, rmsprop(eps_inside=False),
                             "eps_outside_root")
    assert "square_avgs" in message or "params[" in message
    assert "eps=0.1" in message


def test_shared_rmsprop_step_alternative_right_answers_pass(capsys):
    def with_foreach(params, grads, square_avgs, lr, alpha, eps):
        torch._foreach_mul_(square_avgs, alpha)
        torch._foreach_addcmul_(square_avgs, grads, grads, value=1 - alpha)
        torch._foreach_addcdiv_(params, grads, torch._foreach_sqrt(torch._foreach_add(square_avgs, eps)),
                                value=-lr)

    def with_operators(params, grads, square_avgs, lr, alpha, eps):
        for param, grad, g in zip(params, grads, square_avgs):
            g *= alpha
            g += (1 - alpha) * grad**2
            param -= lr * grad / (g + eps) ** 0.5

    def with_copy(params, grads, square_avgs, lr, alpha, eps):
        for param, grad, g in zip(params, grads, square_avgs):
            g.copy_(alpha * g + (1 - alpha) * grad * grad)
            param.copy_(param - lr * grad / torch.sqrt(g + eps))

    for fn in (with_foreach, with_operators, with_copy):
        assert passes(checks.check_shared_rmsprop_step, fn, capsys)


# --------------------------------------------------------------------------- Hogwild update


def clip(local_model, max_grad_norm):
    return torch.nn.utils.clip_grad_norm_(local_model.parameters(), max_grad_norm)


def hand_over(local_model, shared_model):
    for shared_param, local_param in zip(shared_model.parameters(), local_model.parameters()):
        shared_param.grad = local_param.grad


def hogwild_no_zero(local_model, shared_model, optimizer, loss, max_grad_norm):
    loss.backward()
    norm = clip(local_model, max_grad_norm)
    hand_over(local_model, shared_model)
    optimizer.step()
    return float(norm)


def hogwild_zeroes_shared(local_model, shared_model, optimizer, loss, max_grad_norm):
    shared_model.zero_grad()  # set_to_none: drops the references, the local grads keep adding up
    loss.backward()
    norm = clip(local_model, max_grad_norm)
    hand_over(local_model, shared_model)
    optimizer.step()
    return float(norm)


def hogwild_zero_after_backward(local_model, shared_model, optimizer, loss, max_grad_norm):
    loss.backward()
    local_model.zero_grad(set_to_none=False)
    norm = clip(local_model, max_grad_norm)
    hand_over(local_model, shared_model)
    optimizer.step()
    return float(norm)


def hogwild_clips_after_step(local_model, shared_model, optimizer, loss, max_grad_norm):
    local_model.zero_grad()
    loss.backward()
    hand_over(local_model, shared_model)
    optimizer.step()
    return float(clip(local_model, max_grad_norm))


def hogwild_copies_then_clips(local_model, shared_model, optimizer, loss, max_grad_norm):
    local_model.zero_grad()
    loss.backward()
    for shared_param, local_param in zip(shared_model.parameters(), local_model.parameters()):
        shared_param.grad = local_param.grad.clone()
    norm = clip(local_model, max_grad_norm)
    optimizer.step()
    return float(norm)


def hogwild_clips_each(local_model, shared_model, optimizer, loss, max_grad_norm):
    local_model.zero_grad()
    loss.backward()
    norms = [torch.nn.utils.clip_grad_norm_([p], max_grad_norm) for p in local_model.parameters()]
    hand_over(local_model, shared_model)
    optimizer.step()
    return float(torch.linalg.vector_norm(torch.stack(norms)))


def hogwild_clips_values(local_model, shared_model, optimizer, loss, max_grad_norm):
    local_model.zero_grad()
    loss.backward()
    norm = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in local_model.parameters()]))
    torch.nn.utils.clip_grad_value_(local_model.parameters(), max_grad_norm)
    hand_over(local_model, shared_model)
    optimizer.step()
    return float(norm)


def hogwild_always_rescales(local_model, shared_model, optimizer, loss, max_grad_norm):
    local_model.zero_grad()
    loss.backward()
    norm = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in local_model.parameters()]))
    for shared_param, local_param in zip(shared_model.parameters(), local_model.parameters()):
        shared_param.grad = local_param.grad * max_grad_norm / norm
    optimizer.step()
    return float(norm)


def hogwild_norm_after(local_model, shared_model, optimizer, loss, max_grad_norm):
    local_model.zero_grad()
    loss.backward()
    clip(local_model, max_grad_norm)
    hand_over(local_model, shared_model)
    optimizer.step()
    return float(torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in local_model.parameters()])))


def hogwild_wrong_direction(local_model, shared_model, optimizer, loss, max_grad_norm):
    local_model.zero_grad()
    loss.backward()
    norm = clip(local_model, max_grad_norm)
    for shared_param, local_param in zip(shared_model.parameters(), local_model.parameters()):
        local_param.grad = shared_param.grad
    optimizer.step()
    return float(norm)


def hogwild_clears_before_step(local_model, shared_model, optimizer, loss, max_grad_norm):
    local_model.zero_grad()
    loss.backward()
    norm = clip(local_model, max_grad_norm)
    hand_over(local_model, shared_model)
    optimizer.zero_grad()
    optimizer.step()
    return float(norm)


def hogwild_steps_first(local_model, shared_model, optimizer, loss, max_grad_norm):
    local_model.zero_grad()
    loss.backward()
    norm = clip(local_model, max_grad_norm)
    optimizer.step()
    hand_over(local_model, shared_model)
    return float(norm)


def hogwild_hands_weights(local_model, shared_model, optimizer, loss, max_grad_norm):
    local_model.zero_grad()
    loss.backward()
    norm = clip(local_model, max_grad_norm)
    for shared_param, local_param in zip(shared_model.parameters(), local_model.parameters()):
        shared_param.grad = local_param.detach().clone()
    optimizer.step()
    return float(norm)


def hogwild_no_step(local_model, shared_model, optimizer, loss, max_grad_norm):
    local_model.zero_grad()
    loss.backward()
    norm = clip(local_model, max_grad_norm)
    hand_over(local_model, shared_model)
    return float(norm)


def hogwild_steps_twice(local_model, shared_model, optimizer, loss, max_grad_norm):
    norm = targets.hogwild_update(local_model, shared_model, optimizer, loss, max_grad_norm)
    optimizer.step()
    return norm


def hogwild_no_return(local_model, shared_model, optimizer, loss, max_grad_norm):
    targets.hogwild_update(local_model, shared_model, optimizer, loss, max_grad_norm)


def hogwild_returns_the_grads(local_model, shared_model, optimizer, loss, max_grad_norm):
    targets.hogwild_update(local_model, shared_model, optimizer, loss, max_grad_norm)
    return [p.grad for p in local_model.parameters()]


HOGWILD_MISTAKES = {
    "gradients_accumulate": (hogwild_no_zero, ("pile up", "local_model.zero_grad()")),
    "zeroed_after_backward": (hogwild_zero_after_backward, ("*after* backward()",)),
    "not_clipped": (hogwild_clips_after_step, ("*before* optimizer.step()",)),
    "clipped_each_parameter": (hogwild_clips_each, ("global norm",)),
    "clipped_by_value": (hogwild_clips_values, ("clip_grad_value_",)),
    "always_rescaled": (hogwild_always_rescales, ("only ever shortens",)),
    "norm_after_clipping": (hogwild_norm_after, ("*after* clipping",)),
    "no_gradient_handed_over": (hogwild_wrong_direction, ("not the other way round",)),
    "stepped_before_handing_over": (hogwild_steps_first, ("*previous* update",)),
    "weights_handed_over": (hogwild_hands_weights, ("*weights*",)),
    "never_steps": (hogwild_no_step, ("never called optimizer.step()",)),
    "steps_twice": (hogwild_steps_twice, ("2 times",)),
    "returns_none": (hogwild_no_return, ("returned None",)),
    "returns_not_a_number": (hogwild_returns_the_grads, ("returned list",)),
}


@pytest.mark.parametrize("mistake", sorted(HOGWILD_MISTAKES))
def test_hogwild_update_mistakes_are_named(mistake):
    fn, words = HOGWILD_MISTAKES[mistake]
    expect_mistake(checks.check_hogwild_update, fn, mistake, *words)


@pytest.mark.parametrize("fn, mistake", [
    (hogwild_zeroes_shared, "gradients_accumulate"),
    (hogwild_copies_then_clips, "not_clipped"),
    (hogwild_clears_before_step, "no_gradient_handed_over"),
])
def test_hogwild_update_variants_of_a_mistake_get_its_hint(fn, mistake):
    expect_mistake(checks.check_hogwild_update, fn, mistake)


def test_hogwild_update_not_zeroing_is_caught_though_a_fresh_model_hides_it():
    # On a fresh local model (no .grad yet) one update without zeroing is exactly right...
    results = []
    for update in (hogwild_no_zero, targets.hogwild_update):
        torch.manual_seed(0)
        local, shared = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
        optimizer = hogwild_exercise.RecordingOptimizer(shared.parameters(), lr=0.1)
        norm = update(local, shared, optimizer, local(torch.ones(4, 3)).pow(2).sum(), 1.0)
        results.append((norm, [p.detach().clone() for p in shared.parameters()]))
    assert results[0][0] == results[1][0]
    assert all(torch.equal(a, b) for a, b in zip(results[0][1], results[1][1]))
    # ...and the checker still names the mistake: its local models hold earlier gradients.
    expect_mistake(checks.check_hogwild_update, hogwild_no_zero, "gradients_accumulate")


def test_hogwild_update_copying_into_a_missing_grad_gets_a_hint():
    def hogwild_update(local_model, shared_model, optimizer, loss, max_grad_norm):
        local_model.zero_grad()
        loss.backward()
        norm = clip(local_model, max_grad_norm)
        for shared_param, local_param in zip(shared_model.parameters(), local_model.parameters()):
            shared_param.grad.copy_(local_param.grad)
        optimizer.step()
        return norm

    message = expect_mistake(checks.check_hogwild_update, hogwild_update, "raised",
                             "has no .grad until you give it one")
    assert "<a Sequential network>" in message


def test_hogwild_update_alternative_right_answers_pass(capsys):
    def zero_in_place_and_clip_shared(local_model, shared_model, optimizer, loss, max_grad_norm):
        for p in local_model.parameters():
            if p.grad is not None:
                p.grad.zero_()
        loss.backward()
        hand_over(local_model, shared_model)
        norm = torch.nn.utils.clip_grad_norm_(shared_model.parameters(), max_grad_norm)
        optimizer.step()
        return norm  # a 0-d tensor is accepted

    def by_hand(local_model, shared_model, optimizer, loss, max_grad_norm):
        local_model.zero_grad()
        loss.backward()
        norm = math.sqrt(sum(float((p.grad**2).sum()) for p in local_model.parameters()))
        scale = min(1.0, max_grad_norm / (norm + 1e-6))
        for shared_param, local_param in zip(shared_model.parameters(), local_model.parameters()):
            shared_param.grad = local_param.grad.clone() * scale
        optimizer.step()
        return norm

    for fn in (zero_in_place_and_clip_shared, by_hand):
        assert passes(checks.check_hogwild_update, fn, capsys)


# --------------------------------------------------------------------------- Atari frame


def frame_with(combine=np.maximum, code=cv2.COLOR_RGB2GRAY, interpolation=cv2.INTER_AREA):
    def atari_frame(previous_frame, frame):
        grey = cv2.cvtColor(combine(previous_frame, frame), code)
        return cv2.resize(grey, (84, 84), interpolation=interpolation)
    return atari_frame


def frame_channel_mean(previous_frame, frame):
    grey = np.maximum(previous_frame, frame).mean(axis=2).round().astype(np.uint8)
    return cv2.resize(grey, (84, 84), interpolation=cv2.INTER_AREA)


def frame_red_channel(previous_frame, frame):
    red = np.ascontiguousarray(np.maximum(previous_frame, frame)[:, :, 0])
    return cv2.resize(red, (84, 84), interpolation=cv2.INTER_AREA)


def frame_truncated_grey(previous_frame, frame):
    brightest = np.maximum(previous_frame, frame).astype(np.float32)
    grey = (0.299 * brightest[..., 0] + 0.587 * brightest[..., 1] + 0.114 * brightest[..., 2])
    return cv2.resize(grey.astype(np.uint8), (84, 84), interpolation=cv2.INTER_AREA)


def frame_grey_first(previous_frame, frame):
    greys = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (previous_frame, frame)]
    return cv2.resize(np.maximum(*greys), (84, 84), interpolation=cv2.INTER_AREA)


def frame_resize_first(previous_frame, frame):
    small = [cv2.resize(f, (84, 84), interpolation=cv2.INTER_AREA) for f in (previous_frame, frame)]
    return cv2.cvtColor(np.maximum(*small), cv2.COLOR_RGB2GRAY)


def frame_transposed(previous_frame, frame):
    return frame_with()(previous_frame, frame).T


def frame_in_place(previous_frame, frame):
    np.maximum(previous_frame, frame, out=frame)
    return cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (84, 84), interpolation=cv2.INTER_AREA)


ATARI_MISTAKES = {
    "no_max": (frame_with(combine=lambda previous, frame: frame), ("flicker",)),
    "previous_only": (frame_with(combine=lambda previous, frame: previous), ("previous_frame alone",)),
    "averaged": (frame_with(combine=lambda a, b: ((a.astype(int) + b) // 2).astype(np.uint8)),
                 ("half its brightness",)),
    "overflowing_sum": (frame_with(combine=lambda a, b: a + b), ("wraps around",)),
    "minimum": (frame_with(combine=np.minimum), ("*minimum*",)),
    "bgr_order": (frame_with(code=cv2.COLOR_BGR2GRAY), ("BGR", "cv2.COLOR_RGB2GRAY")),
    "channel_mean": (frame_channel_mean, ("plain mean",)),
    "one_channel": (frame_red_channel, ("one colour channel",)),
    "grey_truncated": (frame_truncated_grey, ("rounds down",)),
    "grey_before_max": (frame_grey_first, ("*after* converting them to grey",)),
    "resized_before_max": (frame_resize_first, ("resizes the screens before",)),
    "linear_interpolation": (frame_with(interpolation=cv2.INTER_LINEAR), ("INTER_LINEAR",)),
    "nearest_interpolation": (frame_with(interpolation=cv2.INTER_NEAREST), ("INTER_NEAREST",)),
    "cubic_interpolation": (frame_with(interpolation=cv2.INTER_CUBIC), ("INTER_CUBIC",)),
    "transposed": (frame_transposed, ("transposed",)),
    "modifies_input": (frame_in_place, ("in place", "out=frame")),
    "wrong_shape": (lambda p, f: frame_with()(p, f)[..., None], ("[84, 84, 1]", "extra channel axis")),
    "wrong_dtype": (lambda p, f: frame_with()(p, f) / 255.0, ("float64", "[0, 1]")),
    "not_an_array": (lambda p, f: torch.from_numpy(frame_with()(p, f)), ("torch tensor",)),
    "returns_none": (lambda p, f: None, ("returned None",)),
}


@pytest.mark.parametrize("mistake", sorted(ATARI_MISTAKES))
def test_atari_frame_mistakes_are_named(mistake):
    fn, words = ATARI_MISTAKES[mistake]
    expect_mistake(checks.check_atari_frame, fn, mistake, *words)


def test_atari_frame_unresized_and_colour_answers_get_a_shape_hint():
    expect_mistake(checks.check_atari_frame,
                   lambda p, f: cv2.cvtColor(np.maximum(p, f), cv2.COLOR_RGB2GRAY),
                   "wrong_shape", "[210, 160]", "not resized")
    expect_mistake(checks.check_atari_frame,
                   lambda p, f: cv2.resize(np.maximum(p, f), (84, 84), interpolation=cv2.INTER_AREA),
                   "wrong_shape", "still in colour")


def test_atari_frame_alternative_right_answers_pass(capsys):
    def numpy_grey_rounded(previous_frame, frame):
        brightest = np.maximum(previous_frame, frame).astype(np.float32)
        grey = np.round(brightest @ np.array([0.299, 0.587, 0.114], dtype=np.float32))
        return cv2.resize(grey.astype(np.uint8), (84, 84), interpolation=cv2.INTER_AREA)

    assert passes(checks.check_atari_frame, numpy_grey_rounded, capsys)
    assert passes(checks.check_atari_frame, frame_with(), capsys)


# --------------------------------------------------------------------------- Gaussian log-density


def log_prob(square=2, log_std=1.0, constant=0.5 * math.log(2 * math.pi), half=0.5,
             reduce=lambda x: x.sum(dim=-1)):
    def gaussian_log_prob(mean, std, actions):
        terms = -half * (actions - mean) ** 2 / std**square - log_std * torch.log(std) - constant
        return reduce(terms)
    return gaussian_log_prob


LOG_PROB_MISTAKES = {
    "std_not_squared": (log_prob(square=1), ("2 sigma^2",)),
    "std_as_variance": (log_prob(square=1, log_std=0.5), ("as the variance",)),
    "log_variance": (log_prob(log_std=2.0), ("log(sigma^2)",)),
    "missing_constant": (log_prob(constant=0.0), ("0.5 log(2 pi)",)),
    "constant_without_half": (log_prob(constant=math.log(2 * math.pi)), ("sqrt(2 pi)",)),
    "missing_log_std": (log_prob(log_std=0.0), ("-log(sigma)",)),
    "missing_half": (log_prob(half=1.0), ("(2 sigma^2)",)),
    "mean_over_dimensions": (log_prob(reduce=lambda x: x.mean(dim=-1)), ("add up",)),
    "density_not_log": (lambda m, s, a: torch.distributions.Normal(m, s).log_prob(a).sum(-1).exp(),
                        ("density pi(a|s) itself",)),
    "negative_log_prob": (lambda m, s, a: -log_prob()(m, s, a), ("negative log-likelihood",)),
    "wrong_sign_in_exponent": (log_prob(half=-0.5), ("*less* likely",)),
    "wrong_shape": (log_prob(reduce=lambda x: x), ("[1, 1]", "one log-density per action dimension")),
    "no_gradient": (lambda m, s, a: log_prob()(m.detach(), s.detach(), a), ("no gradient",)),
    "wrong_gradient": (lambda m, s, a: log_prob()(m, s.detach(), a), ("gradient with respect to `std`",)),
}


@pytest.mark.parametrize("mistake", sorted(LOG_PROB_MISTAKES))
def test_gaussian_log_prob_mistakes_are_named(mistake):
    fn, words = LOG_PROB_MISTAKES[mistake]
    expect_mistake(checks.check_gaussian_log_prob, fn, mistake, *words)


def test_gaussian_log_prob_alternative_right_answers_pass(capsys):
    def with_distributions(mean, std, actions):
        return torch.distributions.Normal(mean, std).log_prob(actions).sum(dim=-1)

    def with_variance(mean, std, actions):
        variance = std**2
        return (-(actions - mean) ** 2 / (2 * variance) - 0.5 * torch.log(2 * math.pi * variance)).sum(-1)

    for fn in (with_distributions, with_variance):
        assert passes(checks.check_gaussian_log_prob, fn, capsys)


# --------------------------------------------------------------------------- Gaussian entropy

HALF_LOG_2PIE = 0.5 * math.log(2 * math.pi * math.e)

ENTROPY_MISTAKES = {
    "missing_constant": (lambda std: torch.log(std).sum(-1), ("0.5 log(2 pi e)",)),
    "wrong_sign": (lambda std: -(HALF_LOG_2PIE + torch.log(std)).sum(-1), ("wrong sign",)),
    "std_as_variance": (lambda std: (0.5 * torch.log(2 * math.pi * math.e * std)).sum(-1),
                        ("as the variance",)),
    "missing_e": (lambda std: (0.5 * torch.log(2 * math.pi * std**2)).sum(-1), ("e inside the log",)),
    "missing_half": (lambda std: torch.log(2 * math.pi * math.e * std**2).sum(-1), ("twice",)),
    "std_not_logged": (lambda std: (HALF_LOG_2PIE + std).sum(-1), ("sigma itself",)),
    "softmax_entropy": (lambda std: -(std * torch.log(std)).sum(-1), ("softmax",)),
    "mean_over_dimensions": (lambda std: (HALF_LOG_2PIE + torch.log(std)).mean(-1), ("averages",)),
    "wrong_shape": (lambda std: HALF_LOG_2PIE + torch.log(std), ("one entropy per action dimension",)),
    "no_gradient": (lambda std: torch.tensor((HALF_LOG_2PIE + np.log(std.detach().numpy())).sum(-1)),
                    ("no gradient",)),
    "wrong_gradient": (lambda std: (HALF_LOG_2PIE + torch.log(std.detach()) + 0 * std).sum(-1),
                       ("gradient with respect to `std`",)),
}


@pytest.mark.parametrize("mistake", sorted(ENTROPY_MISTAKES))
def test_gaussian_entropy_mistakes_are_named(mistake):
    fn, words = ENTROPY_MISTAKES[mistake]
    expect_mistake(checks.check_gaussian_entropy, fn, mistake, *words)


def test_gaussian_entropy_alternative_right_answers_pass(capsys):
    def with_distributions(std):
        return torch.distributions.Normal(torch.zeros_like(std), std).entropy().sum(dim=-1)

    def with_variance(std):
        return (0.5 * torch.log(2 * math.pi * math.e * std**2)).sum(dim=-1)

    for fn in (with_distributions, with_variance):
        assert passes(checks.check_gaussian_entropy, fn, capsys)


# --------------------------------------------------------------------------- LSTM state


def lstm_state(on_end, on_going, container=tuple):
    """A student's next_lstm_state that treats each tensor with ``on_end`` or ``on_going``."""
    def next_lstm_state(state, episode_ended):
        if torch.is_tensor(state):
            return on_end(state) if episode_ended else on_going(state)
        return container(next_lstm_state(part, episode_ended) for part in state)
    return next_lstm_state


def lstm_resets_only_h(state, episode_ended):
    if not torch.is_tensor(state[0]):
        return tuple(lstm_resets_only_h(pair, episode_ended) for pair in state)
    h, c = state
    return (torch.zeros_like(h) if episode_ended else h.detach()), c.detach()


def lstm_flattens(state, episode_ended):
    h, c = state[0] if not torch.is_tensor(state[0]) else state
    return (torch.zeros_like(h), torch.zeros_like(c)) if episode_ended else (h.detach(), c.detach())


def lstm_zeros_of_256(state, episode_ended):
    if torch.is_tensor(state):
        return torch.zeros(256) if episode_ended else state.detach()
    return tuple(lstm_zeros_of_256(part, episode_ended) for part in state)


LSTM_MISTAKES = {
    "not_detached": (lstm_state(torch.zeros_like, lambda s: s), ("not detached", "grad_fn")),
    "never_resets": (lstm_state(lambda s: s.detach(), lambda s: s.detach()), ("never reset",)),
    "resets_always": (lstm_state(torch.zeros_like, torch.zeros_like), ("every rollout boundary",)),
    "zeros_with_gradient": (lstm_state(lambda s: s * 0, lambda s: s.detach()), ("h * 0",)),
    "modifies_input": (lstm_state(lambda s: s.detach().zero_(), lambda s: s.detach()),
                       ("in place", "shares its memory")),
    "reset_incomplete": (lstm_resets_only_h, ("c still holds",)),
    "wrong_nesting": (lstm_flattens, ("((h, c), (h, c))",)),
    "wrong_shape": (lstm_zeros_of_256, ("[256]", "[1, 256]")),
    "wrong_dtype": (lstm_state(lambda s: torch.zeros_like(s, dtype=torch.float64), lambda s: s.detach()),
                    ("float64",)),
    "values_changed": (lstm_state(torch.zeros_like, lambda s: s.detach().clone() * 0.5),
                       ("keep its values",)),
    "returns_none": (lambda state, episode_ended: None, ("returned None",)),
}


@pytest.mark.parametrize("mistake", sorted(LSTM_MISTAKES))
def test_next_lstm_state_mistakes_are_named(mistake):
    fn, words = LSTM_MISTAKES[mistake]
    expect_mistake(checks.check_next_lstm_state, fn, mistake, *words)


def test_next_lstm_state_detaching_in_place_is_changing_the_input():
    expect_mistake(checks.check_next_lstm_state, lstm_state(torch.zeros_like, lambda s: s.detach_()),
                   "modifies_input", "detach_()")


def test_next_lstm_state_alternative_right_answers_pass(capsys):
    def with_lists(state, episode_ended):
        return lstm_state(torch.zeros_like, lambda s: s.detach(), container=list)(state, episode_ended)

    def with_data(state, episode_ended):
        return lstm_state(lambda s: torch.zeros(s.shape), lambda s: s.data.clone())(state, episode_ended)

    for fn in (with_lists, with_data):
        assert passes(checks.check_next_lstm_state, fn, capsys)


# --------------------------------------------------------------------------- all of them


def test_every_mistake_a_machinery_checker_names_is_demonstrated_here():
    """Each entry of the checkers' mistake tables has a wrong implementation above."""
    named = {
        "shared_rmsprop_step": {m.key for m in rmsprop_exercise.SHARED_RMSPROP_MISTAKES},
        "hogwild_update": {m.key for m in hogwild_exercise.HOGWILD_MISTAKES},
        "atari_frame": {m.key for m in atari_exercise.ATARI_FRAME_MISTAKES},
        "gaussian_log_prob": {m.key for m in log_prob_exercise.GAUSSIAN_LOG_PROB_MISTAKES},
        "gaussian_entropy": {m.key for m in entropy_exercise.GAUSSIAN_ENTROPY_MISTAKES},
    }
    demonstrated = {
        "shared_rmsprop_step": set(RMSPROP_MISTAKES),
        "hogwild_update": set(HOGWILD_MISTAKES),
        "atari_frame": set(ATARI_MISTAKES),
        "gaussian_log_prob": set(LOG_PROB_MISTAKES),
        "gaussian_entropy": set(ENTROPY_MISTAKES),
    }
    for exercise, mistakes in named.items():
        missing = mistakes - demonstrated[exercise]
        assert not missing, f"{exercise}: no wrong implementation shows {sorted(missing)}"
    lstm_named = set(lstm_exercise.NEXT_LSTM_STATE_MISTAKES) | {"wrong_nesting", "returns_none"}
    assert lstm_named <= set(LSTM_MISTAKES), sorted(lstm_named - set(LSTM_MISTAKES))
    for check in (checks.check_shared_rmsprop_step, checks.check_hogwild_update,
                  checks.check_atari_frame, checks.check_gaussian_log_prob,
                  checks.check_gaussian_entropy, checks.check_next_lstm_state):
        assert check in checks.CHECKS.values()
