"""Recurrent A3C: an LSTM after the trunk, its state carried across rollouts and reset
at episode end, with backpropagation truncated at each rollout's start."""

import numpy as np
import pytest
import torch
import toy_envs
from in_process import in_process_worker_loop

from a3c_course import ConfigError, train
from a3c_course.config import RunConfig, default_hyperparameters
from a3c_course.envs import read_spaces
from a3c_course.paper.models import build_model, model_spec

FAST = dict(live="none", start_method="fork")

toy_envs.register()


def worker_loop(env_id, algo="a3c", **settings):
    """A WorkerLoop in this process, on a plain queue and event: no worker processes."""
    spaces = read_spaces(env_id)
    hp = default_hyperparameters(None, **settings)
    head = "gaussian" if not spaces.discrete else "actor_critic"
    spec = model_spec(spaces.observation_space, spaces.action_space, head, hp.hidden_sizes,
                      hp.recurrent)
    config = RunConfig(algo=algo, env_id=env_id, n_workers=1, seed=0, max_steps=10_000,
                       hyperparameters=hp, model_spec=spec)
    return in_process_worker_loop(config)


def lstm_state_after(model, observations):
    """The LSTM state after running ``model`` over ``observations`` from a zero state."""
    with torch.no_grad():
        _, _, state = model(torch.from_numpy(np.stack(observations)), None)
    return state


def is_zero(state):
    return all(torch.count_nonzero(part) == 0 for part in state)


def test_the_model_has_an_lstm_of_256_cells_after_the_trunk():
    spaces = read_spaces(toy_envs.CUE_RECALL)
    spec = model_spec(spaces.observation_space, spaces.action_space, "actor_critic",
                      recurrent=True)
    model = build_model(spec)
    h, c = model.initial_state()
    assert h.shape == c.shape == (1, 256)
    assert model.core.cell.input_size == model.trunk.out_features


def test_the_lstm_state_carries_across_rollouts_within_an_episode():
    # Episodes of 5 steps, rollouts of 2: the second rollout starts mid-episode.
    loop = worker_loop(toy_envs.CUE_RECALL, recurrent=True, t_max=2)
    loop.env.unwrapped.length = 5
    first = loop._collect_rollout(0)
    assert is_zero(first.initial_state) and not first.terminated
    second = loop._collect_rollout(2)
    # It starts from the state the first rollout ended in: the LSTM run over both
    # rollouts' observations from the episode start, not from zeros.
    expected = lstm_state_after(loop.local_model, first.observations)
    for got, want in zip(second.initial_state, expected):
        assert torch.allclose(got, want, atol=1e-6)
    assert not is_zero(second.initial_state)
    after_both = lstm_state_after(loop.local_model, first.observations + second.observations)
    for got, want in zip(loop.state, after_both):
        assert torch.allclose(got, want, atol=1e-6)


def test_the_carried_state_is_detached_so_backpropagation_stops_at_the_rollout_start():
    loop = worker_loop(toy_envs.CUE_RECALL, recurrent=True, t_max=2)
    loop.env.unwrapped.length = 5
    loop._collect_rollout(0)
    second = loop._collect_rollout(2)
    assert all(part.grad_fn is None and not part.requires_grad for part in second.initial_state)
    loss = loop.method.loss(loop.local_model, None, second)
    loss.backward()  # would fail ("backward through the graph a second time") if not cut
    assert loop.local_model.core.cell.weight_hh.grad is not None


def test_the_lstm_state_resets_at_episode_end():
    loop = worker_loop(toy_envs.CUE_RECALL, recurrent=True, t_max=20)
    loop.env.unwrapped.length = 3
    rollout = loop._collect_rollout(0)
    # The rollout stops at the episode's end, not after t_max steps ...
    assert len(rollout) == 3 and rollout.terminated
    # ... and the next episode starts from a zero state.
    assert is_zero(loop.state)
    following = loop._collect_rollout(3)
    assert is_zero(following.initial_state)
    assert following.observations[0][2] == 0.0  # the new episode's first step


def test_the_gaussian_policy_carries_and_resets_both_of_its_lstms():
    # Separate policy and value networks: each has its own LSTM state.
    loop = worker_loop(toy_envs.BOX_TARGET, recurrent=True, t_max=2, entropy_beta=1e-4)
    loop.env.unwrapped.length = 3
    first = loop._collect_rollout(0)
    assert not first.terminated and not is_zero(loop.state[0]) and not is_zero(loop.state[1])
    loop._collect_rollout(2)  # the third step ends the episode (time limit)
    assert is_zero(loop.state[0]) and is_zero(loop.state[1])


def test_value_methods_refuse_recurrent():
    with pytest.raises(ConfigError, match="recurrent"):
        train("nstep-q", "CartPole-v1", max_steps=100, recurrent=True, live="none")


def test_a_recurrent_agent_learns_to_remember_a_cue(no_leftover_workers):
    # The cue is shown at step 0 and asked for at step 3. Without memory an agent is
    # right half the time (mean return 0.5); a broken LSTM, reset or gradient stays there.
    # 6,000 steps sufficed for 4 seeds of 5 and failed once under load; 10,000 for 5 of 5.
    result = train("a3c", toy_envs.CUE_RECALL, n_workers=2, seed=0, max_steps=10_000,
                   recurrent=True, t_max=8, lr=2e-3, lr_anneal=False, **FAST)
    assert result.mean_return() >= 0.9, result


def test_a_recurrent_agent_trains_in_a_minigrid_maze(no_leftover_workers):
    result = train("a3c", "MiniGrid-MemoryS7-v0", n_workers=2, seed=0, max_steps=800,
                   recurrent=True, **FAST)
    assert result.model.spec["trunk"] == "grid" and result.model.spec["lstm_size"] == 256
    assert result.hyperparameters.t_max == 20  # the MiniGrid family's rollouts
    assert result.total_steps >= 800


def test_the_fused_lstm_over_a_rollout_equals_one_cell_step_at_a_time():
    from a3c_course.paper.models import Recurrent

    torch.manual_seed(0)
    core = Recurrent(8, 16)
    features = torch.randn(6, 8, requires_grad=True)
    state = (torch.randn(1, 16), torch.randn(1, 16))
    fused, (h, c) = core(features, state)
    looped, (h_ref, c_ref) = core.sequence_by_cell(features, state)
    assert torch.allclose(fused, looped, atol=1e-6)
    assert torch.allclose(h, h_ref, atol=1e-6) and torch.allclose(c, c_ref, atol=1e-6)
    grads = torch.autograd.grad((fused.sum() + c.sum()), [features, core.cell.weight_hh])
    grads_ref = torch.autograd.grad((looped.sum() + c_ref.sum()), [features, core.cell.weight_hh])
    for got, want in zip(grads, grads_ref):
        assert torch.allclose(got, want, atol=1e-5)
