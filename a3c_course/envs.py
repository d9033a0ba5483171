"""Environments: ``make_env`` builds any Gymnasium id the course uses, ready to train on.

Three families need more than ``gym.make``:

- **Atari** (``ALE/Pong-v5`` ...): the paper's preprocessing. The emulator runs with
  ``frameskip=1`` and :class:`gymnasium.wrappers.AtariPreprocessing` repeats each action
  for 4 frames, keeps the max of the last two (Atari sprites flicker), converts to
  84x84 grayscale and starts each episode with up to 30 random no-ops; then the last 4
  frames are stacked so that the network can see motion. Observations are ``uint8``
  ``[4, 84, 84]``; the model scales them to [0, 1]. Sticky actions stay at the v5
  default (see :class:`AtariOptions` to change them).
- **MiniGrid** (``MiniGrid-MemoryS7-v0`` ...): only the agent's egocentric 7x7 view
  (``ImgObsWrapper``), a ``uint8`` ``[7, 7, 3]`` grid of (object, colour, state) codes.
- everything else (CartPole, Pendulum, MuJoCo) as ``gym.make`` gives it.

Every environment ends with :class:`~gymnasium.wrappers.RecordEpisodeStatistics`, so
the ``info`` of the last step of an episode holds ``info["episode"]["r"]`` (the real,
unclipped return) and ``["l"]`` (its length in agent steps). Reward clipping and
loss-of-life terminals are applied by the learner, not here, so that this log always
keeps the real game score.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from .errors import ConfigError

ATARI_FRAME_SKIP = 4
ATARI_FRAME_STACK = 4
ATARI_SCREEN_SIZE = 84
ATARI_NOOP_MAX = 30

_extra_registered = False


def _register_extra_envs() -> None:
    """Register the Atari and MiniGrid ids with Gymnasium (once per process)."""
    global _extra_registered
    if _extra_registered:
        return
    try:
        import ale_py

        gym.register_envs(ale_py)
    except ImportError:  # pragma: no cover - ale-py is a dependency
        pass
    try:
        import minigrid

        gym.register_envs(minigrid)
        from . import mazes  # the course's variant of the Memory maze

        mazes.register()
    except ImportError:  # pragma: no cover - minigrid is a dependency
        pass
    _extra_registered = True


def is_atari(env_id: str) -> bool:
    """True for the Arcade Learning Environment's ids (``ALE/Pong-v5``)."""
    return env_id.startswith("ALE/")


def is_minigrid(env_id: str) -> bool:
    """True for MiniGrid's ids (``MiniGrid-MemoryS7-v0``)."""
    return env_id.startswith("MiniGrid-") or env_id.startswith("BabyAI-")


def check_env_id(env_id: str) -> None:
    """Raise :class:`ConfigError` naming close matches when ``env_id`` is not registered."""
    if not isinstance(env_id, str) or not env_id:
        raise ConfigError(f"env_id must be a Gymnasium id such as 'CartPole-v1', not {env_id!r}")
    _register_extra_envs()
    if env_id in gym.registry:
        return
    close = difflib.get_close_matches(env_id, list(gym.registry), n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ConfigError(
        f"unknown environment id {env_id!r}.{hint} "
        "See gymnasium.pprint_registry() for every id (Atari ids look like 'ALE/Pong-v5')."
    )


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


def make_env(
    env_id: str,
    seed: int | None = None,
    *,
    render_mode: str | None = None,
    atari: AtariOptions | None = None,
    **make_kwargs,
) -> gym.Env:
    """Build environment ``env_id``, preprocessed for learning, with episode statistics.

    Args:
        env_id: a Gymnasium id, e.g. ``"CartPole-v1"``, ``"ALE/Pong-v5"``,
            ``"MiniGrid-MemoryS7-v0"``, ``"InvertedPendulum-v5"``.
        seed: seeds the first ``reset`` and the action space, so that the whole
            sequence of episodes is reproducible; ``None`` leaves it random.
        render_mode: passed to ``gym.make`` (``"rgb_array"`` to record frames).
        atari: preprocessing options for Atari ids (default: the paper's), e.g.
            ``AtariOptions(repeat_action_probability=0.0)`` for no sticky actions.
        **make_kwargs: any other keyword for ``gym.make`` (for Atari, also the ALE's:
            ``repeat_action_probability=0.0``, ``max_num_frames_per_episode=400``...).

    Returns:
        The environment, already reset once with ``seed``; call ``env.reset()``
        (without a seed) to start the first episode.
    """
    check_env_id(env_id)
    if is_atari(env_id):
        env = _make_atari(env_id, render_mode, atari or AtariOptions(), make_kwargs)
    elif is_minigrid(env_id):
        from minigrid.wrappers import ImgObsWrapper

        env = ImgObsWrapper(gym.make(env_id, render_mode=render_mode, **make_kwargs))
    else:
        env = gym.make(env_id, render_mode=render_mode, **make_kwargs)
    env = gym.wrappers.RecordEpisodeStatistics(env)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    return env


def _make_atari(env_id, render_mode, options: AtariOptions, make_kwargs) -> gym.Env:
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


@dataclass(frozen=True)
class EnvSpaces:
    """What the trainer needs to know about an environment before it starts workers."""

    env_id: str
    observation_space: gym.Space
    action_space: gym.Space
    frames_per_step: int

    @property
    def discrete(self) -> bool:
        return isinstance(self.action_space, gym.spaces.Discrete)


def read_spaces(env_id: str, env_kwargs: dict | None = None) -> EnvSpaces:
    """Build ``env_id`` once, read its spaces, and close it."""
    env = make_env(env_id, seed=0, **(env_kwargs or {}))
    try:
        frames = ATARI_FRAME_SKIP if is_atari(env_id) else 1
        if is_atari(env_id) and env_kwargs and env_kwargs.get("atari") is not None:
            frames = env_kwargs["atari"].frame_skip
        return EnvSpaces(env_id, env.observation_space, env.action_space, frames)
    finally:
        env.close()


def observation_to_array(obs) -> np.ndarray:
    """An observation as a contiguous numpy array (``uint8`` frames stay ``uint8``)."""
    array = np.asarray(obs)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    return array
