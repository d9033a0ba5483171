"""The NumPy path for acting must choose as the PyTorch model would."""

import numpy as np
import pytest
import torch

from a3c_course.config import default_hyperparameters
from a3c_course.engine.fast_acting import CachedHead, numpy_head
from a3c_course.paper.acting import sample_from_logits
from a3c_course.paper.algorithms import A3C, OneStepQ
from a3c_course.paper.models import build_model

MLP = {"trunk": "mlp", "obs_shape": [4], "hidden_sizes": [64, 64], "n_actions": 3, "lstm_size": 0}


@pytest.mark.parametrize("head, name", [("actor_critic", "policy"), ("q_network", "q")])
def test_the_numpy_head_gives_the_models_outputs(head, name):
    model = build_model({**MLP, "head": head})
    fast = numpy_head(model, name)
    obs = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(obs))[0].numpy()
    got = np.stack([fast(row) for row in obs])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_the_numpy_head_sees_in_place_updates_of_the_parameters():
    # The worker copies the shared weights into its local model in place before each
    # rollout; the NumPy views must act with the new weights, not a stale copy.
    model = build_model({**MLP, "head": "actor_critic"})
    fast = numpy_head(model, "policy")
    other = build_model({**MLP, "head": "actor_critic"})
    with torch.no_grad():
        torch._foreach_copy_(list(model.parameters()), list(other.parameters()))
        expected = other(torch.ones(1, 4))[0][0].numpy()
    np.testing.assert_allclose(fast(np.ones(4, np.float32)), expected, atol=1e-5)


@pytest.mark.parametrize("spec", [
    {**MLP, "head": "actor_critic", "lstm_size": 256},
    {"head": "actor_critic", "trunk": "atari", "obs_shape": [4, 84, 84], "n_actions": 6, "lstm_size": 0},
    {**MLP, "head": "gaussian", "action_dim": 1},
])
def test_recurrent_convolutional_and_gaussian_models_keep_pytorch(spec):
    assert numpy_head(build_model(spec), "policy") is None


def test_sampling_follows_the_softmax():
    logits = np.array([0.0, 1.0, 2.0, -1.0], np.float32)
    rng = np.random.default_rng(1)
    draws = np.bincount([sample_from_logits(logits, rng) for _ in range(40_000)], minlength=4)
    probs = np.exp(logits) / np.exp(logits).sum()
    # Within 4 standard errors for every action.
    assert np.all(np.abs(draws / 40_000 - probs) < 4 * np.sqrt(probs * (1 - probs) / 40_000))


def test_a_near_deterministic_policy_picks_its_action():
    rng = np.random.default_rng(0)
    assert {sample_from_logits(np.array([-50.0, 50.0, -50.0]), rng) for _ in range(100)} == {1}


def test_the_cache_follows_the_model_it_is_given():
    cache = CachedHead("policy")
    first, second = (build_model({**MLP, "head": "actor_critic"}) for _ in range(2))
    assert cache.get(first).model is first
    assert cache.get(second).model is second


def test_a3c_and_q_act_through_the_numpy_path_with_the_same_choices():
    # Seeded: with two logits a hair apart even x1000 leaves the sampled action open.
    torch.manual_seed(0)
    hp = default_hyperparameters()
    model = build_model({**MLP, "head": "actor_critic"})
    with torch.no_grad():
        model.policy.weight.mul_(1000)  # a near-greedy policy: comparable choices
    obs = torch.randn(4)
    with torch.no_grad():
        greedy = int(model(obs[None])[0].argmax())
    assert A3C(hp, rng=np.random.default_rng(0)).act(model, obs, None)[0] == greedy

    q_model = build_model({**MLP, "head": "q_network"})
    method = OneStepQ(hp, rng=np.random.default_rng(0), final_epsilon=0.0)
    method.set_global_step(10**9)  # epsilon fully annealed to 0: greedy
    with torch.no_grad():
        greedy = int(q_model(obs[None])[0].argmax())
    assert method.act(q_model, obs, None)[0] == greedy
