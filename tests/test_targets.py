"""The reference exercise functions, on cases computed by hand."""

import math

import numpy as np
import pytest
import torch

from a3c_course.paper import targets


def t(values, dtype=torch.float32):
    return torch.tensor(values, dtype=dtype)


class TestNStepReturns:
    def test_bootstraps_from_the_value_after_the_last_step(self):
        returns = targets.n_step_returns(t([1.0, 2.0, 3.0]), 10.0, False, 0.5)
        # R2 = 3 + .5*10 = 8; R1 = 2 + .5*8 = 6; R0 = 1 + .5*6 = 4
        assert torch.allclose(returns, t([4.0, 6.0, 8.0]))

    def test_terminal_rollout_ignores_the_bootstrap_value(self):
        returns = targets.n_step_returns(t([1.0, 2.0, 3.0]), 10.0, True, 0.5)
        assert torch.allclose(returns, t([2.75, 3.5, 3.0]))

    def test_truncated_episode_still_bootstraps(self):
        # A time limit is not a terminal state: the rollout is "not terminated".
        returns = targets.n_step_returns(t([1.0, 1.0]), 100.0, False, 0.9)
        assert torch.allclose(returns, t([1 + 0.9 * (1 + 0.9 * 100), 1 + 0.9 * 100]))

    def test_accepts_a_tensor_bootstrap_and_flag(self):
        returns = targets.n_step_returns(t([0.0]), torch.tensor(2.0), torch.tensor(False), 0.5)
        assert torch.allclose(returns, t([1.0]))

    def test_returns_float32_of_the_rollout_length(self):
        returns = targets.n_step_returns(t([1.0] * 5), 0.0, False, 0.99)
        assert returns.shape == (5,) and returns.dtype == torch.float32


class TestOneStepTargets:
    def test_q_target_uses_the_max_next_value_unless_terminal(self):
        y = targets.one_step_q_target(t([1.0, 1.0]), t([[2.0, 5.0], [3.0, 4.0]]),
                                      torch.tensor([False, True]), 0.9)
        assert torch.allclose(y, t([1 + 0.9 * 5, 1.0]))

    def test_sarsa_target_uses_the_value_of_the_action_taken(self):
        y = targets.sarsa_target(t([0.0, 2.0]), t([2.0, 7.0]), torch.tensor([False, True]), 0.5)
        assert torch.allclose(y, t([1.0, 2.0]))

    def test_targets_carry_no_gradient(self):
        next_q = t([[1.0, 2.0]]).requires_grad_()
        y = targets.one_step_q_target(t([0.0]), next_q, torch.tensor([False]), 0.9)
        assert not y.requires_grad


class TestEpsilonGreedy:
    def test_epsilon_zero_is_greedy(self):
        rng = np.random.default_rng(0)
        q = t([0.1, 0.9, 0.3])
        assert {targets.epsilon_greedy(q, 0.0, rng) for _ in range(100)} == {1}

    def test_epsilon_one_is_uniform(self):
        rng = np.random.default_rng(0)
        counts = np.bincount([targets.epsilon_greedy(t([0.0, 1.0, 0.0, 0.0]), 1.0, rng)
                              for _ in range(4000)], minlength=4)
        assert np.all(np.abs(counts / 4000 - 0.25) < 0.03)


class TestEntropy:
    def test_uniform_policy_has_log_a_nats(self):
        assert torch.allclose(targets.entropy(torch.zeros(2, 4)), t([math.log(4)] * 2))

    def test_certain_policy_has_zero_entropy_not_nan(self):
        h = targets.entropy(t([[1000.0, -1000.0]]))
        assert torch.isfinite(h).all() and abs(h.item()) < 1e-6


class TestActorCriticLoss:
    def setup_method(self):
        self.logits = t([[0.0, 0.0], [math.log(3), 0.0]]).requires_grad_()
        self.values = t([1.0, 2.0]).requires_grad_()
        self.actions = torch.tensor([0, 1])
        self.returns = t([3.0, 1.0])

    def test_parts_match_hand_computation(self):
        total, policy, value, ent = targets.actor_critic_loss(
            self.logits, self.values, self.actions, self.returns, 0.01, 0.5)
        # log pi: log .5 and log .25; advantages 2 and -1
        expected_policy = -(math.log(0.5) * 2 + math.log(0.25) * -1)
        expected_value = 2.0**2 + 1.0**2
        expected_entropy = math.log(2) + -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
        assert policy.item() == pytest.approx(expected_policy, rel=1e-5)
        assert value.item() == pytest.approx(expected_value, rel=1e-5)
        assert ent.item() == pytest.approx(expected_entropy, rel=1e-5)
        assert total.item() == pytest.approx(
            expected_policy + 0.5 * expected_value - 0.01 * expected_entropy, rel=1e-5)

    def test_the_advantage_is_held_constant_in_the_policy_term(self):
        _, policy, _, _ = targets.actor_critic_loss(
            self.logits, self.values, self.actions, self.returns, 0.0, 0.5)
        policy.backward()
        assert self.values.grad is None or torch.all(self.values.grad == 0)

    def test_value_gradient_moves_values_towards_returns(self):
        _, _, value, _ = targets.actor_critic_loss(
            self.logits, self.values, self.actions, self.returns, 0.0, 0.5)
        value.backward()
        assert torch.allclose(self.values.grad, t([-4.0, 2.0]))


class TestGaussian:
    def test_log_prob_and_entropy_match_torch_distributions(self):
        mean, std = t([[0.5, -1.0], [0.0, 2.0]]), t([[0.3, 1.5], [2.0, 0.1]])
        actions = t([[0.1, 0.0], [1.0, 2.05]])
        normal = torch.distributions.Normal(mean, std)
        assert torch.allclose(targets.gaussian_log_prob(mean, std, actions),
                              normal.log_prob(actions).sum(-1))
        assert torch.allclose(targets.gaussian_entropy(std), normal.entropy().sum(-1))
