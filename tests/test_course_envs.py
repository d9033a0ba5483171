"""The course's own environments: their rules, and that worker processes can make them by id."""

import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env

from a3c_course import train
from a3c_course.envs.course_envs import TREASURE_CORRIDOR, TWO_SEASONS, TreasureCorridor, TwoSeasons

TAKE_COIN, WALK_ON = 0, 1


def play(env, actions):
    env.reset(seed=0)
    total, outcomes = 0.0, []
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        if "outcome" in info:
            outcomes.append(info["outcome"])
        if terminated:
            break
    return total, outcomes, terminated, obs


def test_the_coin_pays_at_the_door_and_ends_the_episode():
    env = TreasureCorridor(length=3, coin_reward=1.5)
    assert play(env, [TAKE_COIN])[:3] == (1.5, ["coin"], True)


def test_walking_on_length_plus_one_times_reaches_the_treasure():
    env = TreasureCorridor(length=3, treasure_reward=10.0)
    assert play(env, [WALK_ON] * 4)[:3] == (10.0, ["treasure"], True)
    assert play(env, [WALK_ON] * 3)[:3] == (0.0, [], False)


def test_the_wrong_action_in_the_corridor_is_a_pit_that_pays_nothing():
    env = TreasureCorridor(length=3)
    assert play(env, [WALK_ON, TAKE_COIN])[:3] == (0.0, ["pit"], True)


def test_observations_show_the_position_one_hot():
    env = TreasureCorridor(length=3)
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs, [1, 0, 0, 0])
    obs, *_ = env.step(WALK_ON)
    np.testing.assert_array_equal(obs, [0, 1, 0, 0])


def test_it_follows_the_gymnasium_api():
    check_env(TreasureCorridor(), skip_render_check=True)


def test_worker_processes_make_it_by_id_under_forkserver(no_leftover_workers):
    result = train("a3c", TREASURE_CORRIDOR, n_workers=2, seed=0, max_steps=400, live="none",
                   start_method="forkserver")
    assert result.stop_reason == "max_steps" and result.episodes
    assert TREASURE_CORRIDOR in gym.registry


# -- TwoSeasons ----------------------------------------------------------------------
def test_two_seasons_pays_for_the_rule_of_the_season_it_shows():
    env = TwoSeasons(episode_length=50, season_episodes=3)
    obs, _ = env.reset(seed=1)
    for _ in range(50):
        x1, _, season = obs
        assert season in (0.0, 1.0)
        right = int(x1 > 0) if season == 0 else int(x1 <= 0)
        assert right == env.right_action()
        obs, reward, terminated, truncated, _ = env.step(1 - right)
        assert reward == 0.0 and not truncated
        if terminated:
            break
    assert terminated, "an episode is episode_length steps"


def test_seasons_change_at_random_and_last_season_episodes_on_average():
    def seasons(seed, episodes):
        env = TwoSeasons(episode_length=1, season_episodes=5)
        shown = [env.reset(seed=seed)[0][2]]
        shown += [env.reset()[0][2] for _ in range(episodes - 1)]
        return shown

    shown = seasons(0, 20_000)
    changes = [i for i in range(1, len(shown)) if shown[i] != shown[i - 1]]
    lengths = np.diff(changes)
    assert 4.5 < lengths.mean() < 5.5, "a change at each reset with probability 1 / 5"
    assert len(set(lengths)) > 5, "at random moments, not on a fixed cycle"
    assert 0.45 < np.mean(shown) < 0.55, "as much winter as summer"
    assert shown[:50] == seasons(0, 50), "the same seed, the same seasons"
    assert len({tuple(seasons(seed, 30)) for seed in range(8)}) > 1, "different seeds, different seasons"


def test_two_seasons_follows_the_gymnasium_api():
    check_env(TwoSeasons(), skip_render_check=True)
    from a3c_course import make_env

    assert make_env(TWO_SEASONS, seed=0).observation_space.shape == (3,)


def test_a_seeded_reset_shows_the_same_season_whatever_came_before():
    env = TwoSeasons(episode_length=1, season_episodes=3)
    first = env.reset(seed=5)[0][2]
    for _ in range(7):  # later resets may change the season
        env.reset()
    assert [env.reset(seed=5)[0][2] for _ in range(3)] == [first] * 3


def test_seasons_known_scores_each_season_of_a_network_by_its_greedy_actions():
    import torch

    from a3c_course.envs.course_envs import seasons_known

    class Rule(torch.nn.Module):
        """Action 1 when x1 > 0, flipped in winter if ``knows_winter``."""

        def __init__(self, knows_winter):
            super().__init__()
            self.knows_winter = knows_winter

        def forward(self, obs):
            right = (obs[:, 0] > 0).long()
            if self.knows_winter:
                right = right ^ obs[:, 2].long()
            return (torch.nn.functional.one_hot(right, 2).float(), None)

    assert seasons_known(Rule(knows_winter=True)) == {"summer": 1.0, "winter": 1.0}
    assert seasons_known(Rule(knows_winter=False)) == {"summer": 1.0, "winter": 0.0}


def test_gymnasiums_own_ids_import_neither_minigrid_nor_ale_and_the_others_are_found():
    """MiniGrid and ale-py are imported (and their ids registered) only for an id that
    Gymnasium does not know by itself: CartPole's parent and workers skip the imports."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from a3c_course.envs.make import check_env_id\n"
        "check_env_id('CartPole-v1')\n"
        "print(sorted(m for m in ('minigrid', 'ale_py') if m in sys.modules))\n"
        "for env_id in ('MiniGrid-Empty-8x8-v0', 'ALE/Pong-v5', 'a3c_course/CueRecall-v0'):\n"
        "    check_env_id(env_id)\n"
        "print(sorted(m for m in ('minigrid', 'ale_py') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "['ale_py', 'minigrid']"], done.stdout
