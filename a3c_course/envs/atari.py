"""The paper's Atari preprocessing, and the options to change it.

The emulator runs with ``frameskip=1`` and :class:`gymnasium.wrappers.AtariPreprocessing`
repeats each action for 4 frames, keeps the max of the last two (Atari sprites
flicker), converts to 84x84 grayscale and starts each episode with up to 30 random
no-ops; then the last 4 frames are stacked so that the network can see motion.
Observations are ``uint8`` ``[4, 84, 84]``; the model scales them to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

from ..errors import ConfigError

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


def make_atari(env_id, render_mode, options: AtariOptions, make_kwargs) -> gym.Env:
    kwargs = dict(make_kwargs)
    # AtariPreprocessing does the frame skipping (with the max over the last two
    # frames), so the emulator itself must not skip.
    kwargs["frameskip"] = 1
    # AtariPreprocessing reads the screen from the emulator itself; the observation
    # the emulator env returns for each frame is thrown away. Asking for it in
    # grayscale makes that wasted copy a third of the RGB one (same frames after).
    kwargs.setdefault("obs_type", "grayscale")
    if options.repeat_action_probability is not None:
        kwargs["repeat_action_probability"] = options.repeat_action_probability
    env = gym.make(env_id, render_mode=render_mode, **kwargs)
    env = gym.wrappers.AtariPreprocessing(
        env,
        noop_max=options.noop_max,
        frame_skip=options.frame_skip,
        screen_size=options.screen_size,
        terminal_on_life_loss=False,
        grayscale_obs=True,
        scale_obs=False,
    )
    return gym.wrappers.FrameStackObservation(env, options.frame_stack)
