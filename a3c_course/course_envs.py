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


class TreasureCorridor(gym.Env):
    """A sure coin at the door, or a treasure at the end of a dark corridor.

    An episode is ``rounds`` rounds. Each round starts at the door (position 0), with
    two actions:

    - ``0``, *take the coin*: reward ``coin_reward``; the round ends;
    - ``1``, *enter the corridor*: move to position 1, reward 0.

    In the corridor (positions 1 to ``length``) action ``1`` walks on and action ``0``
    falls into a pit (the round ends, reward 0). Walking on from the last position
    reaches the treasure: reward ``treasure_reward``, and the round ends. After the
    last round the episode ends (``terminated``).

    An agent that acts at random finds the treasure once in ``2 ** (length + 1)``
    rounds and the coin every other round, so at first the coin looks better. That is
    the local optimum: a policy that settles on the coin early never walks the corridor
    again, and never learns that the treasure is worth more. The best return is
    ``rounds * treasure_reward``; always taking the coin gives ``rounds * coin_reward``.

    Observations, ``float32 [length + 2]``: the position, one-hot, and the fraction of
    the episode's rounds still to play (the value of the door depends on it).
    """

    metadata = {"render_modes": []}

    def __init__(self, length=5, rounds=10, coin_reward=1.0, treasure_reward=10.0,
                 render_mode=None):
        if length < 1 or rounds < 1:
            raise ValueError(f"length and rounds must be at least 1, not {length}, {rounds}")
        self.length = int(length)
        self.rounds = int(rounds)
        self.coin_reward = float(coin_reward)
        self.treasure_reward = float(treasure_reward)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(self.length + 2,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.position = 0
        self.rounds_left = self.rounds

    def _observation(self):
        obs = np.zeros(self.length + 2, dtype=np.float32)
        obs[self.position] = 1.0
        obs[-1] = self.rounds_left / self.rounds
        return obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position = 0
        self.rounds_left = self.rounds
        return self._observation(), {}

    def step(self, action):
        action = int(action)
        if self.position == 0 and action == 0:
            return self._end_round(self.coin_reward, "coin")
        if action == 0:
            return self._end_round(0.0, "pit")
        if self.position == self.length:
            return self._end_round(self.treasure_reward, "treasure")
        self.position += 1
        return self._observation(), 0.0, False, False, {}

    def _end_round(self, reward, outcome):
        self.position = 0
        self.rounds_left -= 1
        terminated = self.rounds_left == 0
        return self._observation(), reward, terminated, False, {"outcome": outcome}


_registered = False


def register_course_envs() -> None:
    """Register the course's environments with Gymnasium (once per process)."""
    global _registered
    if _registered:
        return
    if TREASURE_CORRIDOR not in gym.registry:
        gym.register(TREASURE_CORRIDOR, entry_point=TreasureCorridor)
    _registered = True
