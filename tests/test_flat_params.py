"""Flat parameter buffers: the same model and the same optimizer steps, fewer operations."""

import multiprocessing

import pytest
import torch

from a3c_course.engine.flat_params import (
    flat_buffer,
    flatten_gradients,
    flatten_parameters,
)
from a3c_course.engine.plan import make_plan
from a3c_course.engine.shared import build_shared_state
from a3c_course.paper.models import build_model
from a3c_course.paper.optim import SharedAdam, SharedRMSprop

SPEC = {"head": "actor_critic", "trunk": "mlp", "obs_shape": [4], "hidden_sizes": [64, 64],
        "n_actions": 2, "lstm_size": 0}


def twin_models():
    torch.manual_seed(0)
    flat_model = build_model(SPEC)
    torch.manual_seed(0)
    plain_model = build_model(SPEC)
    return flat_model, plain_model


def test_flattening_keeps_the_values_and_makes_the_parameters_views():
    flat_model, plain_model = twin_models()
    flat = flatten_parameters(flat_model)
    for a, b in zip(flat_model.parameters(), plain_model.parameters()):
        assert torch.equal(a, b)
    assert flat_buffer(flat_model.parameters()).data_ptr() == flat.data_ptr()
    with torch.no_grad():
        flat.zero_()
    assert all(float(p.detach().abs().sum()) == 0 for p in flat_model.parameters())


def test_a_model_built_by_hand_is_not_taken_for_flat():
    _, plain_model = twin_models()
    assert flat_buffer(plain_model.parameters()) is None
    model, _ = twin_models()
    flatten_parameters(model)
    assert flat_buffer(list(model.parameters())[::-1]) is None  # views, but out of order


def test_backward_adds_into_the_flat_gradient_views():
    model, _ = twin_models()
    flatten_parameters(model)
    grad = flatten_gradients(model)
    logits, values, _ = model(torch.randn(5, 4))
    (logits.sum() + values.sum()).backward()
    assert flat_buffer([p.grad for p in model.parameters()]).data_ptr() == grad.data_ptr()
    assert float(grad.abs().sum()) > 0


@pytest.mark.parametrize("optimizer_class", [SharedRMSprop, SharedAdam])
def test_the_flat_step_equals_the_per_parameter_step(optimizer_class):
    flat_model, plain_model = twin_models()
    flatten_parameters(flat_model)
    flat_optimizer = optimizer_class(flat_model.parameters(), lr=1e-2)
    plain_optimizer = optimizer_class(plain_model.parameters(), lr=1e-2)
    assert flat_optimizer.flat is not None and plain_optimizer.flat is None
    source = build_model(SPEC)
    flatten_parameters(source)
    grad = flatten_gradients(source)
    for _ in range(4):
        grad.normal_()
        for a, b, g in zip(flat_model.parameters(), plain_model.parameters(), source.parameters()):
            a.grad, b.grad = g.grad, g.grad.clone()
        flat_optimizer.step()
        plain_optimizer.step()
    for a, b in zip(flat_model.parameters(), plain_model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)
    flat_state, plain_state = flat_optimizer.state_dict()["state"], plain_optimizer.state_dict()["state"]
    for index in plain_state:
        for key in plain_state[index]:
            torch.testing.assert_close(flat_state[index][key], plain_state[index][key])


def test_loading_a_state_keeps_the_statistics_flat_and_shared():
    model, _ = twin_models()
    flatten_parameters(model)
    model.share_memory()
    optimizer = SharedRMSprop(model.parameters())
    saved = optimizer.state_dict()
    saved["state"] = {i: {k: t.clone() + 1 for k, t in s.items()} for i, s in saved["state"].items()}
    optimizer.load_state_dict(saved)
    assert optimizer.flat is not None and optimizer.flat["square_avg"].is_shared()
    assert torch.all(optimizer.flat["square_avg"] == 1) and torch.all(optimizer.flat["step"] == 1)


def _report_layout(shared, results):
    params = list(shared.model.parameters())
    flat = flat_buffer(params)
    optimizer_flat = shared.optimizer.flat
    if flat is None or optimizer_flat is None:
        results.put(("not flat", flat is None, optimizer_flat is None))
        return
    with torch.no_grad():
        optimizer_flat["params"].add_(1.0)  # seen by the parent through the model?
    results.put(("flat", float(flat.sum())))


@pytest.mark.parametrize("start_method", ["spawn", "forkserver", "fork"])
def test_worker_processes_see_the_shared_model_as_one_flat_tensor(start_method):
    plan = make_plan(algo="a3c", env_id="CartPole-v1", n_workers=1, seed=0, max_steps=100,
                 stop_at_return=None, time_limit=None, start_method=start_method, resume=None,
                 save_to=None, checkpoint_every=None, env_kwargs=None, settings={})
    shared = build_shared_state(plan)
    before = float(flat_buffer(shared.model.parameters()).sum())
    context = multiprocessing.get_context(start_method)
    results = context.Queue()
    process = context.Process(target=_report_layout, args=(shared, results))
    process.start()
    try:
        kind, *details = results.get(timeout=60)
    finally:
        process.join(timeout=30)
    assert kind == "flat", details
    n = flat_buffer(shared.model.parameters()).numel()
    # The child's +1 on the optimizer's flat view reached the parent's model.
    assert float(flat_buffer(shared.model.parameters()).sum()) == pytest.approx(before + n, rel=1e-4)


def test_private_statistics_stay_flat_and_leave_the_shared_ones_alone():
    model, _ = twin_models()
    flatten_parameters(model)
    optimizer = SharedRMSprop(model.parameters())
    shared_square_avg = optimizer.flat["square_avg"]
    optimizer.make_statistics_private()
    assert optimizer.flat["square_avg"].data_ptr() != shared_square_avg.data_ptr()
    first = next(iter(model.parameters()))
    assert optimizer.state[first]["square_avg"].data_ptr() == optimizer.flat["square_avg"].data_ptr()
    source = build_model(SPEC)
    flatten_parameters(source)
    grad = flatten_gradients(source)
    grad.fill_(1.0)
    for param, g in zip(model.parameters(), source.parameters()):
        param.grad = g.grad
    optimizer.step()
    assert float(shared_square_avg.abs().sum()) == 0 and float(optimizer.flat["square_avg"].min()) > 0
