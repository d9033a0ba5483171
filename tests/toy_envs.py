"""Tiny environments that isolate one behaviour each, for tests that must be fast and exact.

They are registered with Gymnasium in the test process; training runs that use them
start their workers with ``start_method="fork"``, so the workers inherit the registry.
"""

import gymnasium as gym
import numpy as np
from gymnasium import spaces

CUE_RECALL = "a3c_course_tests/CueRecall-v0"
BOX_TARGET = "a3c_course_tests/BoxTarget-v0"


class CueRecall(gym.Env):
    """Remember a cue for a few steps: the smallest task that needs memory.

    Step 0 shows a cue, -1 or +1; the next ``delay`` steps show nothing; the last
    step shows the flag "answer now". Only the answer counts: reward 1 if the action
    (0 or 1) matches the cue's sign, else 0. An agent without memory sees the same
    observation at answer time whatever the cue was, so it is right half the time.

    Observations: ``[cue, answer_flag, step / length]``; the step index also lets a
    test check which observation a rollout holds.
    """

    def __init__(self, delay=2, render_mode=None):
        self.length = delay + 2
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
