"""The shared optimizers: the paper's RMSProp and torch's Adam, with state in shared memory."""

import math

import pytest
import torch

from a3c_course.engine.flat_params import flatten_gradients, flatten_parameters
from a3c_course.paper import targets
from a3c_course.paper.optim import SharedAdam, SharedRMSprop, adam_step_bound


def run_side_by_side(ours_cls, theirs_cls, steps=30, flat=False, atol=1e-7, **kwargs):
    torch.manual_seed(0)
    ours_model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    theirs_model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    theirs_model.load_state_dict(ours_model.state_dict())
    if flat:
        flatten_parameters(ours_model)
        flat_grad = flatten_gradients(ours_model)
    ours = ours_cls(ours_model.parameters(), **kwargs)
    theirs = theirs_cls(theirs_model.parameters(), **kwargs)
    for _ in range(steps):
        x = torch.randn(16, 4)
        for model, optimizer in ((ours_model, ours), (theirs_model, theirs)):
            if flat and model is ours_model:
                flat_grad.zero_()  # the worker's way: the gradients stay views
            else:
                optimizer.zero_grad()
            model(x).pow(2).mean().backward()
            optimizer.step()
        for a, b in zip(ours_model.parameters(), theirs_model.parameters()):
            assert torch.allclose(a, b, atol=atol), "parameters diverged from the other optimizer"
    return ours


class PaperRMSprop:
    """The paper's RMSProp written out, one parameter at a time: the yardstick."""

    def __init__(self, params, lr, alpha, eps):
        self.params, self.lr, self.alpha, self.eps = list(params), lr, alpha, eps
        self.g = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        for p, g in zip(self.params, self.g):
            g.copy_(self.alpha * g + (1 - self.alpha) * p.grad**2)
            p.copy_(p - self.lr * p.grad / torch.sqrt(g + self.eps))


@pytest.mark.parametrize("flat", [True, False], ids=["flat", "per-parameter"])
def test_shared_rmsprop_is_the_papers_update_step_for_step(flat):
    optimizer = run_side_by_side(SharedRMSprop, PaperRMSprop, lr=1e-2, alpha=0.99, eps=0.1,
                                 flat=flat)
    assert (optimizer.flat is not None) == flat


def test_shared_rmsprop_puts_eps_inside_the_root_unlike_torch():
    # With a large eps the two forms part at the first step.
    with pytest.raises(AssertionError, match="diverged"):
        run_side_by_side(SharedRMSprop, torch.optim.RMSprop, steps=1, lr=1e-2, alpha=0.99, eps=0.1)
    # Where eps is negligible next to the average of squared gradients, they are one update.
    run_side_by_side(SharedRMSprop, torch.optim.RMSprop, steps=5, lr=1e-3, alpha=0.99, eps=1e-30,
                     atol=1e-6)


def test_a_step_function_replaces_the_update_and_gets_one_tensor_per_parameter():
    calls = []

    def my_step(params, grads, square_avgs, lr, alpha, eps):
        calls.append([tuple(p.shape) for p in params])
        targets.shared_rmsprop_step(params, grads, square_avgs, lr, alpha, eps)

    optimizer = run_side_by_side(SharedRMSprop, PaperRMSprop, steps=3, lr=1e-2, alpha=0.9,
                                 eps=0.01, flat=True)
    assert optimizer.flat is not None
    optimizer.step_function = my_step
    model_params = optimizer.param_groups[0]["params"]
    for p in model_params:
        p.grad = torch.ones_like(p)
    optimizer.step()
    # Even on flat parameters with flat gradients, the student's step sees the layers.
    assert calls == [[tuple(p.shape) for p in model_params]]


def test_shared_adam_matches_torch_adam_step_for_step():
    run_side_by_side(SharedAdam, torch.optim.Adam, lr=1e-2, eps=1e-8)


@pytest.mark.parametrize("cls", [SharedRMSprop, SharedAdam])
def test_state_is_allocated_in_shared_memory_before_any_step(cls):
    model = torch.nn.Linear(3, 2)
    optimizer = cls(model.parameters())
    for state in optimizer.state.values():
        assert state and all(tensor.is_shared() for tensor in state.values())


def test_step_count_is_shared_and_counts_updates():
    optimizer = run_side_by_side(SharedRMSprop, PaperRMSprop, steps=7, lr=1e-3, alpha=0.99, eps=1e-5)
    assert all(int(state["step"]) == 7 for state in optimizer.state.values())
    assert all(state["step"].is_shared() for state in optimizer.state.values())


def test_private_statistics_are_copies():
    model = torch.nn.Linear(3, 2)
    optimizer = SharedRMSprop(model.parameters())
    shared = [s["square_avg"] for s in optimizer.state.values()]
    optimizer.make_statistics_private()
    private = [s["square_avg"] for s in optimizer.state.values()]
    assert all(not p.is_shared() for p in private)
    assert all(p.data_ptr() != s.data_ptr() for p, s in zip(private, shared))


def test_loading_a_state_dict_keeps_the_state_shared():
    model = torch.nn.Linear(3, 2)
    optimizer = SharedRMSprop(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    fresh = SharedRMSprop(model.parameters())
    fresh.load_state_dict(optimizer.state_dict())
    for state in fresh.state.values():
        assert int(state["step"]) == 1 and all(t.is_shared() for t in state.values())


def adam_ratios(gradients, beta1=0.9, beta2=0.999):
    """``|m_hat / sqrt(v_hat)|`` after each gradient of a sequential, eps-free Adam."""
    m = v = 0.0
    ratios = []
    for t, g in enumerate(gradients, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        if v > 0:
            ratios.append(abs(m / (1 - beta1**t)) / math.sqrt(v / (1 - beta2**t)))
    return ratios


def test_no_sequence_of_gradients_takes_adam_past_its_step_bound():
    bound = adam_step_bound(0.9, 0.999)
    assert bound == pytest.approx(7.27, abs=0.01)
    generator = torch.Generator().manual_seed(0)
    sequences = {
        "after a long silence": [1.0] + [0.0] * 5_000 + [1.0] * 3,
        "heavy-tailed noise": (torch.randn(3_000, generator=generator) ** 3).tolist(),
        "a rare spike": [1e-6] * 2_000 + [10.0] + [1e-6] * 20,
        # Cauchy-Schwarz is tight for g_k growing as (beta2 / beta1)^k, once t is large
        # enough for the bias corrections to fade: then the bound is reached.
        "the worst case": [0.0] * 8_000 + [(0.999 / 0.9) ** k * 1e-30 for k in range(300)],
    }
    for name, gradients in sequences.items():
        assert max(adam_ratios(gradients)) <= bound * (1 + 1e-9), name
    assert max(adam_ratios(sequences["the worst case"])) > 0.99 * bound


@pytest.mark.parametrize("flat", [True, False], ids=["flat", "per-parameter"])
def test_a_hogwild_race_cannot_make_an_adam_step_explode(flat):
    # A weight whose gradient has been zero for a long time has v ~ 1e-35. If another
    # worker adds a gradient of 1 to m between this worker's read of v and its read of
    # m, the pair (m = 0.1, v ~ 0) is one no sequence of gradients produces. Unbounded,
    # the step would be lr * 0.09 / eps, about 10^6 lr: the whole layer would be gone.
    model = torch.nn.Linear(3, 2)
    if flat:
        flatten_parameters(model)
    lr = 1e-4
    optimizer = SharedAdam(model.parameters(), lr=lr)
    assert (optimizer.flat is not None) == flat
    for state in optimizer.state.values():
        state["step"].fill_(10_000)
        state["exp_avg"].fill_(0.1)
        state["exp_avg_sq"].fill_(1e-35)
    before = [p.detach().clone() for p in model.parameters()]
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    largest = max(float((p.detach() - b).abs().max()) for p, b in zip(model.parameters(), before))
    # (float32 parameters: the step is exact to a few parts in 10^5)
    assert 0 < largest <= optimizer.step_bound * lr * (1 + 1e-3)
