"""A time limit cuts an episode off without ending the task: the learner bootstraps
there, unless ``time_limit_terminal`` turns on the mistake notebook 1 shows."""

import pytest
from in_process import in_process_worker_loop

from a3c_course import ConfigError, train
from a3c_course.config import RunConfig, default_hyperparameters
from a3c_course.envs import read_spaces
from a3c_course.paper.models import model_spec

LIMIT = dict(max_episode_steps=3)  # every CartPole episode is cut off after 3 steps


def rollout_ending_at_the_time_limit(**settings):
    spaces = read_spaces("CartPole-v1", LIMIT)
    hp = default_hyperparameters(None, **settings)
    spec = model_spec(spaces.observation_space, spaces.action_space, "actor_critic",
                      hp.hidden_sizes, hp.recurrent)
    config = RunConfig(algo="a3c", env_id="CartPole-v1", n_workers=1, seed=0, max_steps=1_000,
                       hyperparameters=hp, model_spec=spec, env_kwargs=LIMIT)
    loop = in_process_worker_loop(config)
    try:
        rollout = loop._collect_rollout(0)
    finally:
        loop.close()
    assert len(rollout) == 3, "the episode should end at its time limit, after 3 steps"
    return rollout


def test_a_rollout_cut_off_by_the_time_limit_still_bootstraps():
    assert rollout_ending_at_the_time_limit().terminated is False


def test_time_limit_terminal_treats_the_cut_as_a_terminal_state():
    assert rollout_ending_at_the_time_limit(time_limit_terminal=True).terminated is True


def test_time_limit_terminal_must_be_a_bool():
    with pytest.raises(ConfigError, match="time_limit_terminal must be True or False"):
        train("a3c", "CartPole-v1", time_limit_terminal=1, live="none")
