"""scale_rewards: rewards divided by the spread of the discounted return, pooled over workers."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.wrappers import TransformReward

from a3c_course import train
from a3c_course.config import default_hyperparameters
from a3c_course.paper.return_scale import (
    MIN_RETURNS, SCALED_REWARD_CLIP, ReturnScale, new_statistics, scale_from_statistics,
)
from a3c_course.runs.checkpoint import load_checkpoint


def discounted_returns(rewards, ends, gamma):
    """G_t = r_t + gamma G_{t-1}, from 0 at the start of each episode (ends[t]: t was its last step)."""
    out, g = [], 0.0
    for reward, ended in zip(rewards, ends):
        g = gamma * g + reward
        out.append(g)
        if ended:
            g = 0.0
    return np.array(out)


def expected_factor(returns):
    """1 / max(standard deviation, half the mean's size), as the module defines it."""
    return 1 / max(np.sqrt(returns.var() + 1e-8), abs(returns.mean()) / 2)


def feed(scale, rewards, ends, game=0, refresh_every=5):
    scaled = []
    for t, (reward, ended) in enumerate(zip(rewards, ends)):
        if t % refresh_every == 0:
            scale.refresh()
        scaled.append(scale.scale(reward, game))
        if ended:
            scale.episode_ended(game)
    scale.refresh()
    return scaled


def test_the_factor_is_one_over_the_standard_deviation_of_the_discounted_returns():
    rng = np.random.default_rng(0)
    rewards = rng.normal(0.5, 2.0, size=3 * MIN_RETURNS)  # a spread wider than the mean
    ends = rng.random(len(rewards)) < 0.02
    table = new_statistics(2)
    scale = ReturnScale(0.9, 1, table, row=0)
    feed(scale, rewards, ends)
    returns = discounted_returns(rewards, ends, 0.9)
    assert table[0, 0] == len(rewards)
    assert returns.std() > abs(returns.mean()) / 2  # the floor does not bind
    assert scale.factor == pytest.approx(1 / returns.std(), rel=1e-6)
    # Then a reward is divided by that spread.
    assert scale.scale(1.5) == pytest.approx(1.5 / returns.std(), rel=1e-6)


def test_rewards_pass_unchanged_until_enough_returns_are_counted_or_while_all_are_zero():
    table = new_statistics(2)
    scale = ReturnScale(0.99, 1, table, row=0)
    scaled = feed(scale, [2.0] * (MIN_RETURNS - 10), [False] * (MIN_RETURNS - 10))
    assert scaled == [2.0] * (MIN_RETURNS - 10) and scale.factor == 1.0
    # A sparse reward not yet found: the returns are all 0, with no spread to divide by.
    silent = ReturnScale(0.99, 1, new_statistics(2), row=0)
    assert feed(silent, [0.0] * 2 * MIN_RETURNS, [False] * 2 * MIN_RETURNS)[-1] == 0.0
    assert silent.factor == 1.0 and silent.scale(1.0) == 1.0


def test_the_spread_is_pooled_over_every_workers_row_and_each_game_keeps_its_own_return():
    rng = np.random.default_rng(1)
    gamma, n = 0.95, 2 * MIN_RETURNS
    table = new_statistics(3)
    first = ReturnScale(gamma, 2, table, row=0)   # a worker with two games
    second = ReturnScale(gamma, 1, table, row=1)
    streams = [(rng.exponential(1.0, n), rng.random(n) < 0.05) for _ in range(3)]
    feed(first, *streams[0], game=0)
    feed(first, *streams[1], game=1)  # game 0's return must not leak into game 1's
    feed(second, *streams[2])
    pooled = np.concatenate([discounted_returns(r, e, gamma) for r, e in streams])
    assert table[:2, 0].tolist() == [2 * n, n] and table[2].tolist() == [0, 0, 0]
    assert second.refresh() == pytest.approx(expected_factor(pooled), rel=1e-6)
    assert first.refresh() == second.refresh()  # one factor for all the workers


def test_a_resumed_runs_row_counts_like_the_workers_rows():
    totals = new_statistics(3)
    totals[2] = torch.tensor([4_000.0, 4_000.0 * 1.25, 4_000.0 * 17])  # mean 1.25, mean square 17
    totals[0] = torch.tensor([1_000.0, 1_000.0 * 0.0, 1_000.0 * 1])  # mean 0, mean square 1
    # Pooled: mean 1, mean square 13.8, variance 12.8.
    assert scale_from_statistics(totals.sum(0)) == pytest.approx(1 / (12.8 + 1e-8) ** 0.5)


def test_a_rare_reward_divided_by_a_tiny_spread_is_clipped():
    table = new_statistics(2)
    scale = ReturnScale(0.99, 1, table, row=0)
    rewards = [0.0] * (5 * MIN_RETURNS)
    rewards[100] = 0.1  # one small reward: a spread of about 0.01 in the returns
    feed(scale, rewards, [False] * len(rewards))
    assert scale.factor > 50
    assert scale.scale(1.0) == SCALED_REWARD_CLIP and scale.scale(-1.0) == -SCALED_REWARD_CLIP


def test_a_run_counts_every_step_once_and_a_resumed_run_goes_on_from_its_checkpoint(
        tmp_path, no_leftover_workers):
    first = train("a3c", "CartPole-v1", n_workers=2, seed=0, max_steps=3_000, live="none",
                  start_method="fork", save_to=tmp_path / "run")
    count, total, total_sq = first.return_statistics
    assert count == first.total_steps  # every worker's every step, the last rollout's too
    mean = total / count
    # CartPole's discounted returns (1 a step): positive, spread over a few units.
    assert 1 < mean < 30 and 0.5 < (total_sq / count - mean ** 2) ** 0.5 < 30
    assert load_checkpoint(tmp_path / "run")["return_statistics"] == first.return_statistics

    resumed = train("a3c", "CartPole-v1", n_workers=2, seed=0, max_steps=6_000, live="none",
                    start_method="fork", resume=tmp_path / "run")
    assert resumed.return_statistics[0] == resumed.total_steps  # the first run's steps too
    assert resumed.return_statistics[1] > total


def test_scale_rewards_is_a3cs_default_and_off_for_atari_and_the_value_methods():
    assert default_hyperparameters(None, "a3c").scale_rewards
    assert default_hyperparameters("continuous", "a3c").scale_rewards
    assert default_hyperparameters("minigrid", "a3c").scale_rewards
    assert not default_hyperparameters("atari", "a3c").scale_rewards
    for algo in ("q", "sarsa", "nstep-q"):
        assert not default_hyperparameters(None, algo).scale_rewards


def test_returns_that_are_all_alike_keep_the_rewards_proportions():
    # The treasure corridor, once the agent takes the coin (2) every time: a standard
    # deviation of the returns near 0 would multiply the rewards by a large factor and the
    # clip would make coin and treasure equal. Half the mean's size (1) is the divisor.
    table = new_statistics(2)
    scale = ReturnScale(0.99, 1, table, row=0)
    rewards = [2.0] * (3 * MIN_RETURNS)
    rewards[:10] = [10.0] * 10  # the treasure, found a few times early on
    feed(scale, rewards, [True] * len(rewards))
    returns = np.array(rewards)
    assert returns.std() < 0.5 and scale.factor == pytest.approx(1 / (returns.mean() / 2))
    assert scale.scale(10.0) == pytest.approx(5 * scale.scale(2.0)) and scale.scale(10.0) < 10


def cartpole_in_cents(render_mode=None):
    """CartPole paying 0.01 a step instead of 1 (a module-level factory: the workers fork)."""
    return TransformReward(gym.make("CartPole-v1", render_mode=render_mode), lambda r: 0.01 * r)


def test_the_critic_learns_the_same_values_whatever_the_rewards_units(no_leftover_workers):
    # CartPole paid in units and in cents. Scaled, the factor follows the units (70 to 96
    # times larger in cents over six runs here) and the critic's values come out of a
    # size (the cents run's were 0.30 to 0.46 of the other's: its first 1,000 steps,
    # before the spread is known, teach it values a hundred times smaller). Learned from
    # as they are, the values would differ a hundredfold, and a factor that followed the
    # variance instead of the spread would differ ten-thousandfold.
    runs = [train("a3c", n_workers=2, seed=0, max_steps=6_000, live="none",
                  start_method="fork", **where)
            for where in (dict(env_id="CartPole-v1"), dict(env=cartpole_in_cents))]
    units, cents = (run.diagnostics for run in runs)
    factor_ratio = cents.column("reward_scale")[-1] / units.column("reward_scale")[-1]
    assert 40 < factor_ratio < 250, factor_ratio
    value_ratio = np.mean(cents.column("mean_value")[-4:]) / np.mean(units.column("mean_value")[-4:])
    assert 0.1 < value_ratio < 10, value_ratio  # about 0.01 unscaled
