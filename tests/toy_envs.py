"""Tiny environments that isolate one behaviour each, for tests that must be fast and exact.

They are registered with Gymnasium in the test process; training runs that use them
start their workers with ``start_method="fork"``, so the workers inherit the registry.
"""

import gymnasium as gym
import numpy as np
from gymnasium import spaces

# The course's memory task, here under a test id too.
from a3c_course.envs.course_envs import CueRecall

CUE_RECALL = "a3c_course_tests/CueRecall-v0"
BOX_TARGET = "a3c_course_tests/BoxTarget-v0"


class BoxTarget(gym.Env):
    """One-dimensional continuous control: choose an action close to the target shown.

    Actions are bounded to [-1, 1]; every action the environment receives is kept in
    ``received`` so that a test can check what reached it. Episodes last ``length`` steps.
    """

    def __init__(self, length=5, render_mode=None):
        self.length = length
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.received = []
        self.target = 0.0
        self.t = 0

    def _obs(self):
        return np.array([self.target], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.target = float(self.np_random.uniform(-0.8, 0.8))
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        action = np.asarray(action, dtype=np.float64)
        self.received.append(action.copy())
        reward = -float((action[0] - self.target) ** 2)
        self.t += 1
        self.target = float(self.np_random.uniform(-0.8, 0.8))
        return self._obs(), reward, False, self.t >= self.length, {}


def register():
    """Register the toy environments (idempotent)."""
    if CUE_RECALL not in gym.registry:
        gym.register(CUE_RECALL, entry_point=CueRecall)
    if BOX_TARGET not in gym.registry:
        gym.register(BOX_TARGET, entry_point=BoxTarget)
