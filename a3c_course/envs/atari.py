"""The paper's Atari preprocessing, and the options to change it.

The emulator runs with ``frameskip=1`` and :class:`AtariFrames` repeats each action for
4 frames and turns the last two into the network's frame with
:func:`~a3c_course.paper.targets.atari_frame` (their pixel-wise max, because Atari
sprites flicker; grey; 84x84 by area interpolation), the exercise of notebook 7: a
student's version, passed to ``train(..., atari_frame=...)``, makes the frames every
worker learns from. Each episode starts with up to 30 random no-ops; then the last 4
frames are stacked so that the network can see motion. Observations are ``uint8``
``[4, 84, 84]``; the model scales them to [0, 1].
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from ..errors import ConfigError
from ..paper import targets

ATARI_FRAME_SKIP = 4
ATARI_FRAME_STACK = 4
ATARI_SCREEN_SIZE = 84
ATARI_NOOP_MAX = 30


@dataclass(frozen=True)
class AtariOptions:
    """Choices for Atari environments; the defaults are the paper's preprocessing.

    - ``noop_max``: each episode starts with a random number (1 to ``noop_max``) of
      "do nothing" frames, so that no two start alike (0: none);
    - ``frame_skip``: emulator frames per agent step (the action repeats; the
      observation is the max of the last two, because sprites flicker);
    - ``frame_stack``: how many of the last observations the agent sees at once;
    - ``screen_size``: side of the square grayscale image;
    - ``repeat_action_probability``: *sticky actions*, the chance that the emulator
      repeats the previous action instead of the new one, at every frame. ``None``
      keeps the ALE v5 default, 0.25, which keeps a memorised sequence of actions from
      winning; 0.0 makes the game deterministic, as in the paper's time.

    Loss of a life as terminal is a choice of the learner, not of the environment: the
    ``life_loss_terminal`` hyperparameter (the game, and its score, go on).
    """

    noop_max: int = ATARI_NOOP_MAX
    frame_skip: int = ATARI_FRAME_SKIP
    frame_stack: int = ATARI_FRAME_STACK
    screen_size: int = ATARI_SCREEN_SIZE
    repeat_action_probability: float | None = None

    def __post_init__(self):
        for name, low in (("noop_max", 0), ("frame_skip", 1), ("frame_stack", 1),
                          ("screen_size", 8)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"AtariOptions.{name} must be an integer >= {low}, not {value!r}")
        p = self.repeat_action_probability
        if p is not None and (isinstance(p, bool) or not isinstance(p, (int, float))
                              or not 0.0 <= p <= 1.0):
            raise ConfigError("AtariOptions.repeat_action_probability must be in [0, 1] "
                              f"(or None for the v5 default 0.25), not {p!r}")


class AtariFrames(gym.Wrapper):
    """Frame skipping, the network's frame from the last two, and no-op starts.

    Each agent step repeats the action for ``frame_skip`` emulator frames, adds up their
    rewards, and reads the screen (RGB) after the last two; ``frame_function(previous,
    last)`` makes the observation from them, ``[size, size]`` uint8. ``reset`` plays 1
    to ``noop_max`` "do nothing" frames first (random, from the environment's own
    generator), so that no two games start alike; its frame is the screen then, in both
    roles (it has no predecessor). An episode that ends mid-step keeps the frame of the
    step before: nothing is learned from a terminal observation.
    """

    def __init__(self, env: gym.Env, noop_max: int, frame_skip: int, screen_size: int,
                 frame_function=None):
        super().__init__(env)
        self.noop_max = noop_max
        self.frame_skip = frame_skip
        if frame_function is None:
            frame_function = functools.partial(targets.atari_frame, size=screen_size)
        self.frame_function = frame_function
        self.ale = env.unwrapped.ale
        height, width = self.ale.getScreenDims()
        self.screens = np.zeros((2, height, width, 3), dtype=np.uint8)
        self.frame = np.zeros((screen_size, screen_size), dtype=np.uint8)
        self.observation_space = gym.spaces.Box(0, 255, (screen_size, screen_size), np.uint8)

    def reset(self, *, seed=None, options=None):
        _, info = self.env.reset(seed=seed, options=options)
        noops = self.env.unwrapped.np_random.integers(1, self.noop_max + 1) if self.noop_max else 0
        for _ in range(noops):
            _, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                _, info = self.env.reset(seed=seed, options=options)
        self.ale.getScreenRGB(self.screens[1])
        return self._frame(self.screens[1], self.screens[1]), info

    def step(self, action):
        total_reward = 0.0
        terminated = truncated = False
        for t in range(self.frame_skip):
            _, reward, terminated, truncated, info = self.env.step(action)
            total_reward += reward
            if terminated or truncated:
                return self.frame, total_reward, terminated, truncated, info
            if t >= self.frame_skip - 2:
                self.ale.getScreenRGB(self.screens[t - self.frame_skip + 2])
        previous = self.screens[0] if self.frame_skip > 1 else self.screens[1]
        return self._frame(previous, self.screens[1]), total_reward, terminated, truncated, info

    def _frame(self, previous, last):
        self.frame = self.frame_function(previous, last)
        return self.frame


def make_atari(env_id, render_mode, options: AtariOptions, make_kwargs,
               frame_function=None) -> gym.Env:
    kwargs = dict(make_kwargs)
    # AtariFrames does the frame skipping (with the max over the last two frames), so
    # the emulator itself must not skip.
    kwargs["frameskip"] = 1
    # AtariFrames reads the screens it needs from the emulator itself; the observation
    # the emulator env returns for each frame is thrown away. Asking for it in
    # grayscale makes that wasted copy a third of the RGB one.
    kwargs.setdefault("obs_type", "grayscale")
    if options.repeat_action_probability is not None:
        kwargs["repeat_action_probability"] = options.repeat_action_probability
    env = gym.make(env_id, render_mode=render_mode, **kwargs)
    env = AtariFrames(env, noop_max=options.noop_max, frame_skip=options.frame_skip,
                      screen_size=options.screen_size, frame_function=frame_function)
    return gym.wrappers.FrameStackObservation(env, options.frame_stack)
