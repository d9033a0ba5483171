"""Small environments of the course's own, each built to show one idea quickly.

They are registered with Gymnasium under the ``a3c_course/`` namespace by
:func:`register_course_envs`, which :mod:`a3c_course.envs` calls before it makes any
environment, so every worker process (under every start method) can make them by id:
``train("a3c", "a3c_course/TreasureCorridor-v0", ...)``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

TREASURE_CORRIDOR = "a3c_course/TreasureCorridor-v0"
TWO_SEASONS = "a3c_course/TwoSeasons-v0"
CUE_RECALL = "a3c_course/CueRecall-v0"


class TreasureCorridor(gym.Env):
    """A sure coin at the door, or a treasure at the end of a dark corridor.

    Each episode starts at the door (position 0), with two actions:

    - ``0``, *take the coin*: reward ``coin_reward``, and the episode ends;
    - ``1``, *enter the corridor*: move to position 1, reward 0.

    In the corridor (positions 1 to ``length``) action ``1`` walks on and action ``0``
    falls into a pit: reward 0, and the episode ends. Walking on from the last position
    reaches the treasure: reward ``treasure_reward``, and the episode ends.

    An agent that acts at random finds the treasure once in ``2 ** (length + 1)``
    episodes and the coin every other episode, so at first the coin looks better: with
    the defaults, entering is worth 10/32 on average against a sure 2. That is the
    local optimum. A policy that settles on the coin early never walks the corridor
    again, and never learns that the treasure is worth more. The best return is
    ``treasure_reward``; always taking the coin gives ``coin_reward``.

    Observations: the position, one-hot, ``float32 [length + 1]``.
    """

    metadata = {"render_modes": []}

    def __init__(self, length=4, coin_reward=2.0, treasure_reward=10.0, render_mode=None):
        if length < 1:
            raise ValueError(f"length must be at least 1, not {length}")
        self.length = int(length)
        self.coin_reward = float(coin_reward)
        self.treasure_reward = float(treasure_reward)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(self.length + 1,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.position = 0

    def _observation(self):
        obs = np.zeros(self.length + 1, dtype=np.float32)
        obs[self.position] = 1.0
        return obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position = 0
        return self._observation(), {}

    def step(self, action):
        action = int(action)
        if self.position == 0 and action == 0:
            return self._observation(), self.coin_reward, True, False, {"outcome": "coin"}
        if action == 0:
            return self._observation(), 0.0, True, False, {"outcome": "pit"}
        if self.position == self.length:
            return self._observation(), self.treasure_reward, True, False, {"outcome": "treasure"}
        self.position += 1
        return self._observation(), 0.0, False, False, {}


class TwoSeasons(gym.Env):
    """A rule that flips with the seasons: where one learner's updates are correlated.

    Each step shows two numbers ``x1, x2`` drawn uniformly from [-1, 1] and the season
    (``0`` summer, ``1`` winter); action 1 is right when ``x1 > 0`` in summer and when
    ``x1 <= 0`` in winter, action 0 otherwise. A right action pays 1, a wrong one 0
    (``x2`` is a distraction). An episode is ``episode_length`` steps, so its return
    counts the right actions: about half of them by chance.

    The season is drawn at random at a seeded reset, and at every later reset it changes
    with probability ``1 / season_episodes``: seasons last ``season_episodes`` episodes
    on average (10,000 steps with the defaults), and each environment changes at its own
    moments. One learner therefore sees summer for thousands of steps in a row, then
    winter: all its recent updates come from one season. Several workers, each in its
    own season, feed the shared network both seasons at once, as a replay memory would.
    The whole rule is an exclusive or of ``x1 > 0`` and the season, which the network
    can learn only from both seasons.

    Observations: ``float32 [3]``, ``(x1, x2, season)``.
    """

    metadata = {"render_modes": []}

    def __init__(self, episode_length=10, season_episodes=1000, render_mode=None):
        if episode_length < 1 or season_episodes < 1:
            raise ValueError("episode_length and season_episodes must be at least 1")
        self.episode_length = int(episode_length)
        self.season_episodes = int(season_episodes)
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.winter = None  # drawn at the first reset
        self.steps = 0
        self.x = np.zeros(2)

    def _observation(self):
        self.x = self.np_random.uniform(-1.0, 1.0, size=2)
        return np.array([self.x[0], self.x[1], 1.0 if self.winter else 0.0], dtype=np.float32)

    def right_action(self) -> int:
        """The action that pays in the current step."""
        return int(self.x[0] > 0) ^ int(self.winter)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if self.winter is None or seed is not None:
            # A seeded reset draws the season afresh, so that the same seed always shows
            # the same season (Gymnasium's determinism check resets twice with one seed).
            self.winter = bool(self.np_random.integers(2))
        elif self.np_random.random() < 1.0 / self.season_episodes:
            self.winter = not self.winter
        self.steps = 0
        return self._observation(), {}

    def step(self, action):
        reward = 1.0 if int(action) == self.right_action() else 0.0
        self.steps += 1
        return self._observation(), reward, self.steps >= self.episode_length, False, {}


def seasons_known(model, observations=4_000, seed=0) -> dict:
    """What a network knows of each season of :class:`TwoSeasons`: ``{"summer": f,
    "winter": f}``, the fraction of ``observations`` random steps of that season in
    which its greedy action (the largest of its first output, Q-values or logits) is
    right. 1.0 is the whole season's rule, 0.5 a coin, 0.0 the other season's rule."""
    import torch

    rng = np.random.default_rng(seed)
    known = {}
    for season, winter in (("summer", 0), ("winter", 1)):
        x = rng.uniform(-1.0, 1.0, size=(observations, 2))
        obs = np.hstack([x, np.full((observations, 1), float(winter))]).astype(np.float32)
        with torch.no_grad():
            greedy = model(torch.from_numpy(obs))[0].argmax(-1).numpy()
        known[season] = float(np.mean(greedy == ((x[:, 0] > 0).astype(int) ^ winter)))
    return known


class CueRecall(gym.Env):
    """Remember a cue for a few steps: the smallest task that needs memory.

    Step 0 shows a cue, -1 or +1; the next ``delay`` steps show nothing; the last
    step shows the flag "answer now". Only the answer counts: reward 1 if the action
    (0 or 1) matches the cue's sign, else 0. An agent without memory sees the same
    observation at answer time whatever the cue was, so it is right half the time
    (a mean return of 0.5); one that remembers the cue gets 1.

    Observations: ``[cue, answer_flag, step / length]``, ``float32 [3]``.
    """

    metadata = {"render_modes": []}

    def __init__(self, delay=2, render_mode=None):
        if delay < 0:
            raise ValueError(f"delay must be at least 0, not {delay}")
        self.length = int(delay) + 2
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.cue = 1.0
        self.t = 0

    def _obs(self):
        cue = self.cue if self.t == 0 else 0.0
        answer = 1.0 if self.t == self.length - 1 else 0.0
        return np.array([cue, answer, self.t / self.length], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.cue = float(self.np_random.choice([-1.0, 1.0]))
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        done = self.t == self.length - 1
        reward = float(int(action) == int(self.cue > 0)) if done else 0.0
        self.t += 1
        return self._obs(), reward, done, False, {}


_registered = False


def register_course_envs() -> None:
    """Register the course's environments with Gymnasium (once per process)."""
    global _registered
    if _registered:
        return
    if TREASURE_CORRIDOR not in gym.registry:
        gym.register(TREASURE_CORRIDOR, entry_point=TreasureCorridor)
    if TWO_SEASONS not in gym.registry:
        gym.register(TWO_SEASONS, entry_point=TwoSeasons)
    if CUE_RECALL not in gym.registry:
        gym.register(CUE_RECALL, entry_point=CueRecall)
    _registered = True
