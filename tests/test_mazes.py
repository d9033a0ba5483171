"""The course's variant of MiniGrid's Memory maze (a3c_course/mazes.py): where the agent
starts, what it can do, and that the choice at the split needs memory."""

import numpy as np
import pytest
from minigrid.core.constants import OBJECT_TO_IDX

from a3c_course.envs import make_env
from a3c_course.envs.mazes import MEMORY_FACING_CUE, WEST

TURN_LEFT, TURN_RIGHT, FORWARD = 0, 1, 2
KEY, BALL = OBJECT_TO_IDX["key"], OBJECT_TO_IDX["ball"]
SEEDS = range(40)


def reset(seed, **kwargs):
    env = make_env(MEMORY_FACING_CUE, **kwargs)
    obs, _ = env.reset(seed=seed)
    return env, obs


def cue_of(env):
    """The object in the start room (key or ball), read from the grid."""
    maze = env.unwrapped
    return maze.grid.get(1, maze.height // 2 - 1).type


def shortest_walk_to_the_split(env):
    """Turn round, then forward along the corridor into the split."""
    return [TURN_LEFT, TURN_LEFT] + [FORWARD] * (env.unwrapped.width - 2 - env.unwrapped.start_x)


def walk_to_the_split(env):
    """Turn round and walk into the split; returns the observation there."""
    for action in shortest_walk_to_the_split(env):
        obs, reward, terminated, truncated, _ = env.step(action)
        assert reward == 0 and not terminated and not truncated
    assert tuple(env.unwrapped.agent_pos) == (env.unwrapped.width - 2, env.unwrapped.height // 2)
    return obs


def views_at_the_split(env):
    """The observations at the split facing east (on arrival), south, west and north."""
    views = [walk_to_the_split(env)]
    for _ in range(3):
        views.append(env.step(TURN_RIGHT)[0])
    return np.stack(views)


def test_the_agent_starts_two_cells_before_the_split_facing_back_towards_the_cue():
    for seed in SEEDS:
        env, _ = reset(seed)
        maze = env.unwrapped
        assert (maze.width, maze.height) == (11, 11)
        assert tuple(maze.agent_pos) == (maze.width - 4, maze.height // 2), seed
        assert maze.agent_dir == WEST, seed


def test_only_turning_and_moving_forward_are_actions():
    env, _ = reset(0)
    assert env.action_space.n == 3
    assert env.observation_space.shape == (7, 7, 3)


def test_the_cue_is_in_view_at_the_first_step_and_the_split_is_not():
    for seed in SEEDS:
        env, obs = reset(seed)
        objects = obs[..., 0]
        cue = OBJECT_TO_IDX[cue_of(env)]
        # One object in view, the cue: the two at the split are behind the agent.
        assert np.count_nonzero((objects == KEY) | (objects == BALL)) == 1, seed
        assert np.count_nonzero(objects == cue) == 1, seed


def split_order(env):
    maze = env.unwrapped
    x = maze.width - 2
    return maze.grid.get(x, maze.height // 2 - 2).type, maze.grid.get(x, maze.height // 2 + 2).type


def test_the_key_is_always_above_the_split_unless_the_order_is_random():
    assert {split_order(reset(seed)[0]) for seed in SEEDS} == {("key", "ball")}
    orders = {split_order(reset(seed, random_split=True)[0]) for seed in SEEDS}
    assert orders == {("key", "ball"), ("ball", "key")}


@pytest.mark.parametrize("random_split", [False, True])
def test_at_the_split_the_view_is_the_same_whichever_the_cue(random_split):
    # Group the starts by the order at the split; each order comes with either cue.
    # Looking in every direction there, turned back towards the start room too (in the
    # 7x7 maze the cue is in sight from the split that way), the agent sees the same.
    seen = {}
    for seed in SEEDS:
        env, _ = reset(seed, random_split=random_split)
        seen.setdefault(split_order(env), {}).setdefault(cue_of(env), views_at_the_split(env))
    for order, by_cue in seen.items():
        assert set(by_cue) == {"key", "ball"}, f"{order}: only {set(by_cue)} in {len(SEEDS)} seeds"
        # The cue is out of sight: what the agent sees cannot tell it which way to turn.
        np.testing.assert_array_equal(by_cue["key"], by_cue["ball"])


@pytest.mark.parametrize("random_split", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_turning_towards_the_matching_object_pays_and_the_other_way_ends_with_nothing(
        seed, random_split):
    env, _ = reset(seed, random_split=random_split)
    maze = env.unwrapped
    walk_to_the_split(env)  # now facing east, the objects above (left) and below (right)
    upper, _ = split_order(env)
    towards_the_cue = TURN_LEFT if upper == cue_of(env) else TURN_RIGHT
    for turn, paid in ((towards_the_cue, True), (TURN_LEFT + TURN_RIGHT - towards_the_cue, False)):
        env, _ = reset(seed, random_split=random_split)
        walk_to_the_split(env)
        env.step(turn)
        _, reward, terminated, _, _ = env.step(FORWARD)
        assert terminated
        # MiniGrid's reward, 1 - 0.9 * steps / max_steps, after the shortest walk.
        steps = len(shortest_walk_to_the_split(env)) + 2
        expected = 1 - 0.9 * steps / maze.max_steps if paid else 0.0
        assert reward == pytest.approx(expected), (seed, turn)
