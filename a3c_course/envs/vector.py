"""Several games at once: what a worker with ``envs_per_worker = K > 1`` steps.

Both kinds below have the same small interface, which the vectorized rollout collector
(:mod:`a3c_course.engine.vector_rollouts`) uses:

- ``reset() -> obs``: ``[K, *obs_shape]``, every game at its first state;
- ``step(actions) -> StepResult``: one action per game. A game whose episode ends is
  reset in the same call (its row of ``obs`` is the new game's first state) and the
  state it ended in is ``final_obs[i]``, the one a truncated episode bootstraps from.

Rewards are the real, unclipped ones (the learner clips them, the log keeps the score);
``lives`` is the Atari lives left per game (``None`` elsewhere).

Two ways to step the games, chosen by :func:`choose_stepping`:

- :class:`AleGames`: ale-py's ``AtariVectorEnv``, the emulators stepped by C++ threads
  with the paper's preprocessing done there (frame skip 4 with the max of the last two
  screens, 84x84 grey, a stack of 4, up to 30 no-ops at the start, sticky actions);
- :class:`PythonGames`: K environments of :func:`~a3c_course.envs.make.make_env`,
  stepped one after the other in Python (every other family, and Atari where a
  student's ``atari_frame`` must make the frames: C++ cannot call it).
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from .atari import AtariOptions
from .make import is_atari, make_env, observation_to_array

ALE_VECTOR = "ale-vector"
PYTHON = "python"

#: The ``make_env`` settings the C++ vector environment can honour; any other sends a run
#: to the Python path.
_ALE_VECTOR_KWARGS = {"atari", "repeat_action_probability", "max_num_frames_per_episode",
                      "full_action_space"}


@dataclass
class StepResult:
    obs: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    final_obs: list
    """Per game: the state its episode ended in (``None`` where it goes on)."""
    lives: np.ndarray | None


def choose_stepping(env_id: str, env_kwargs: dict, envs_per_worker: int,
                    function_names=()) -> tuple[str, str]:
    """How a worker steps its games: ``(ALE_VECTOR or PYTHON, why)``."""
    if envs_per_worker <= 1:
        return PYTHON, "one game per worker"
    if not is_atari(env_id):
        return PYTHON, "K environments stepped in Python"
    if "atari_frame" in function_names:
        return PYTHON, ("your atari_frame makes the frames, so the games are stepped in Python "
                        "(the C++ vector environment cannot call it)")
    other = sorted(set(env_kwargs) - _ALE_VECTOR_KWARGS)
    if other:
        return PYTHON, f"the C++ vector environment takes no {', '.join(other)}"
    return ALE_VECTOR, "ale-py's AtariVectorEnv (C++ threads, the paper's preprocessing)"


def game_seed(seed: int, game: int) -> int:
    """Game 0 keeps the worker's seed; the others get distinct ones derived from it."""
    if game == 0:
        return seed
    return int(np.random.SeedSequence([seed, game]).generate_state(1)[0])


def make_games(stepping: str, env_id: str, num_games: int, seed: int, env_kwargs: dict,
               atari_frame=None):
    """The ``num_games`` games of one worker, stepped as ``stepping`` says."""
    if stepping == ALE_VECTOR:
        return AleGames(env_id, num_games, seed, env_kwargs)
    return PythonGames(env_id, num_games, seed, env_kwargs, atari_frame)


class PythonGames:
    """K environments of ``make_env``, stepped in turn (Gymnasium's ``SyncVectorEnv``
    does the same loop; this one keeps ``make_env``'s wrappers and the same-step reset)."""

    def __init__(self, env_id, num_games, seed, env_kwargs, atari_frame=None):
        frames = {"atari_frame": atari_frame} if atari_frame is not None else {}
        self.envs = [make_env(env_id, seed=game_seed(seed, i), **env_kwargs, **frames)
                     for i in range(num_games)]
        self.num_games = num_games
        self.action_space = self.envs[0].action_space
        self.observation_space = self.envs[0].observation_space

    def reset(self) -> np.ndarray:
        return np.stack([observation_to_array(env.reset()[0]) for env in self.envs])

    def step(self, actions) -> StepResult:
        k = self.num_games
        obs, rewards = [], np.zeros(k)
        terminated, truncated = np.zeros(k, bool), np.zeros(k, bool)
        final_obs, lives = [None] * k, None
        for i, (env, action) in enumerate(zip(self.envs, actions)):
            next_obs, reward, term, trunc, info = env.step(action)
            next_obs = observation_to_array(next_obs)
            rewards[i], terminated[i], truncated[i] = reward, term, trunc
            if "lives" in info:
                lives = np.zeros(k, int) if lives is None else lives
                lives[i] = info["lives"]
            if term or trunc:
                final_obs[i] = next_obs
                next_obs = observation_to_array(env.reset()[0])
            obs.append(next_obs)
        return StepResult(np.stack(obs), rewards, terminated, truncated, final_obs, lives)

    def close(self):
        for env in self.envs:
            env.close()


def _ale_settings(env_id: str, env_kwargs: dict) -> dict:
    """``AtariVectorEnv``'s arguments for the preprocessing ``make_env`` does."""
    spec = gym.spec(env_id).kwargs
    options = env_kwargs.get("atari") or AtariOptions()
    sticky = options.repeat_action_probability
    if sticky is None:
        sticky = env_kwargs.get("repeat_action_probability",
                                spec.get("repeat_action_probability", 0.25))
    return dict(
        game=spec["game"],
        frameskip=options.frame_skip, maxpool=True, stack_num=options.frame_stack,
        img_height=options.screen_size, img_width=options.screen_size, grayscale=True,
        noop_max=options.noop_max, repeat_action_probability=float(sticky),
        max_num_frames_per_episode=env_kwargs.get("max_num_frames_per_episode",
                                                  spec.get("max_num_frames_per_episode", 108_000)),
        full_action_space=env_kwargs.get("full_action_space", spec.get("full_action_space", False)),
        # What make_env does not do: clip rewards (the learner does, the log keeps the
        # score), press FIRE at the start, end an episode at the loss of a life.
        reward_clipping=False, use_fire_reset=False, episodic_life=False, life_loss_info=False,
    )


class AleGames:
    """ale-py's ``AtariVectorEnv``: K emulators stepped by C++ threads, preprocessed there.

    It resets a finished game in the same step (``autoreset_mode="SameStep"``) and
    hands the state it ended in as ``info["final_obs"]``.
    """

    def __init__(self, env_id, num_games, seed, env_kwargs, threads: int = 1):
        from ale_py.vector_env import AtariVectorEnv

        self.env = AtariVectorEnv(num_envs=num_games, num_threads=threads,
                                  autoreset_mode="SameStep", **_ale_settings(env_id, env_kwargs))
        self.seed = seed
        self.num_games = num_games
        self.action_space = self.env.single_action_space
        self.observation_space = self.env.single_observation_space

    def reset(self) -> np.ndarray:
        seeds = np.array([game_seed(self.seed, i) % 2**31 for i in range(self.num_games)])
        obs, _ = self.env.reset(seed=seeds)
        return np.array(obs)

    def step(self, actions) -> StepResult:
        obs, rewards, terminated, truncated, info = self.env.step(np.asarray(actions))
        final_obs = [None] * self.num_games
        if "final_obs" in info:
            for i in np.flatnonzero(terminated | truncated):
                final_obs[i] = np.array(info["final_obs"][i])
        return StepResult(np.array(obs), np.asarray(rewards, dtype=np.float64),
                          np.asarray(terminated, bool), np.asarray(truncated, bool),
                          final_obs, np.asarray(info["lives"]))

    def close(self):
        self.env.close()
