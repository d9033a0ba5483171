"""The shared optimizers: the same updates as torch's, with state in shared memory."""

import pytest
import torch

from a3c_course.optim import SharedAdam, SharedRMSprop


def run_side_by_side(ours_cls, theirs_cls, steps=30, **kwargs):
    torch.manual_seed(0)
    ours_model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    theirs_model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    theirs_model.load_state_dict(ours_model.state_dict())
    ours = ours_cls(ours_model.parameters(), **kwargs)
    theirs = theirs_cls(theirs_model.parameters(), **kwargs)
    for _ in range(steps):
        x = torch.randn(16, 4)
        for model, optimizer in ((ours_model, ours), (theirs_model, theirs)):
            optimizer.zero_grad()
            model(x).pow(2).mean().backward()
            optimizer.step()
        for a, b in zip(ours_model.parameters(), theirs_model.parameters()):
            assert torch.allclose(a, b, atol=1e-7), "parameters diverged from torch's optimizer"
    return ours


def test_shared_rmsprop_matches_torch_rmsprop_step_for_step():
    run_side_by_side(SharedRMSprop, torch.optim.RMSprop, lr=1e-2, alpha=0.99, eps=1e-5)


def test_shared_adam_matches_torch_adam_step_for_step():
    run_side_by_side(SharedAdam, torch.optim.Adam, lr=1e-2, eps=1e-8)


@pytest.mark.parametrize("cls", [SharedRMSprop, SharedAdam])
def test_state_is_allocated_in_shared_memory_before_any_step(cls):
    model = torch.nn.Linear(3, 2)
    optimizer = cls(model.parameters())
    for state in optimizer.state.values():
        assert state and all(tensor.is_shared() for tensor in state.values())


def test_step_count_is_shared_and_counts_updates():
    optimizer = run_side_by_side(SharedRMSprop, torch.optim.RMSprop, steps=7, lr=1e-3, eps=1e-5)
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
