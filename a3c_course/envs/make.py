"""Environments: ``make_env`` builds any Gymnasium id the course uses, ready to train on.

Three families need more than ``gym.make``:

- **Atari** (``ALE/Pong-v5`` ...): the paper's preprocessing (:mod:`a3c_course.envs.atari`):
  4 frames per agent step, 84x84 grayscale, a stack of the last 4, ``uint8``
  ``[4, 84, 84]``. Sticky actions stay at the v5 default (see :class:`AtariOptions`).
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

from ..errors import ConfigError
from .atari import ATARI_FRAME_SKIP, AtariOptions, make_atari
from .user_envs import USER_NAMESPACE

_extra_registered = False


def _register_extra_envs() -> None:
    """Register the Atari, MiniGrid and course ids with Gymnasium (once per process).

    Importing MiniGrid and ale-py takes a tenth of a second or more, in the parent and
    again in every worker, so :func:`check_env_id` calls this only for an id that
    Gymnasium does not know by itself.
    """
    global _extra_registered
    if _extra_registered:
        return
    from .course_envs import register_course_envs

    register_course_envs()
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
    """Raise :class:`ConfigError` naming close matches when ``env_id`` is not registered.

    Gymnasium's ``"module:Id"`` form is accepted: the module is imported (it registers
    the id), as ``gym.make`` does.
    """
    if not isinstance(env_id, str) or not env_id:
        raise ConfigError(f"env_id must be a Gymnasium id such as 'CartPole-v1', not {env_id!r}")
    plain_id = env_id
    if ":" in env_id:
        from .user_envs import import_module_of

        plain_id = import_module_of(env_id)
    if plain_id in gym.registry:  # Gymnasium's own (CartPole-v1), or registered already
        return
    _register_extra_envs()
    if plain_id in gym.registry:
        return
    if plain_id.startswith(f"{USER_NAMESPACE}/"):
        raise ConfigError(
            f"unknown environment id {plain_id!r}: it was given to train(env=...) as a class "
            "or a function in another session. Register it again under this id first: "
            f"gymnasium.register({plain_id!r}, entry_point=YourEnv)")
    close = difflib.get_close_matches(plain_id, list(gym.registry), n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ConfigError(
        f"unknown environment id {plain_id!r}.{hint} "
        "See gymnasium.pprint_registry() for every id (Atari ids look like 'ALE/Pong-v5'; "
        "your own: gymnasium.register('MyEnv-v0', entry_point=MyEnv), or "
        "'my_module:MyEnv-v0', or train(env=MyEnv))."
    )


def check_env_kwargs(env_id: str, env_kwargs: dict) -> None:
    """Refuse settings that cannot apply: sticky actions off Atari, a probability outside [0, 1]."""
    if "repeat_action_probability" not in env_kwargs:
        return
    p = env_kwargs["repeat_action_probability"]
    if not is_atari(env_id):
        raise ConfigError(f"repeat_action_probability (sticky actions) is a setting of Atari "
                          f"games (ALE/...-v5 ids); {env_id} has no such setting")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ConfigError(f"repeat_action_probability is a probability, in [0, 1], not {p!r}")


def make_env(
    env_id: str,
    seed: int | None = None,
    *,
    render_mode: str | None = None,
    atari: AtariOptions | None = None,
    atari_frame=None,
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
        atari_frame: for Atari ids, the function that makes the network's frame from
            the last two screens of an agent step (default:
            :func:`a3c_course.paper.targets.atari_frame`); a student's, in notebook 7.
        **make_kwargs: any other keyword for ``gym.make`` (for Atari, also the ALE's:
            ``repeat_action_probability=0.0``, ``max_num_frames_per_episode=400``...).

    Returns:
        The environment, already reset once with ``seed``; call ``env.reset()``
        (without a seed) to start the first episode.
    """
    check_env_id(env_id)
    check_env_kwargs(env_id, make_kwargs)
    kwargs = dict(make_kwargs)
    if render_mode is not None:  # only then: an environment of one's own may take none
        kwargs["render_mode"] = render_mode
    try:
        if is_atari(env_id):
            env = make_atari(env_id, render_mode, atari or AtariOptions(), make_kwargs, atari_frame)
        elif is_minigrid(env_id):
            from minigrid.wrappers import ImgObsWrapper

            env = ImgObsWrapper(gym.make(env_id, **kwargs))
        else:
            env = gym.make(env_id, **kwargs)
    except gym.error.DependencyNotInstalled as err:
        raise ConfigError(f"{env_id} needs a package that is not installed: {err}") from err
    except TypeError as err:
        if make_kwargs and "keyword argument" in str(err):
            raise ConfigError(f"{env_id} does not take the settings {sorted(make_kwargs)} "
                              f"(env_kwargs): {str(err).split(' was raised')[0]}") from err
        raise
    env = gym.wrappers.RecordEpisodeStatistics(env)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    return env


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


def frames_per_step(env_id: str, env_kwargs: dict | None = None) -> int:
    """Emulator frames per agent step: Atari's frame skip (4, or ``atari.frame_skip``), else 1.

    The paper counts Atari experience in frames; the trainer counts agent steps.
    """
    if not is_atari(env_id):
        return 1
    options = (env_kwargs or {}).get("atari")
    return options.frame_skip if options is not None else ATARI_FRAME_SKIP


def read_spaces(env_id: str, env_kwargs: dict | None = None) -> EnvSpaces:
    """Build ``env_id`` once, read its spaces, and close it."""
    env = make_env(env_id, seed=0, **(env_kwargs or {}))
    try:
        return EnvSpaces(env_id, env.observation_space, env.action_space,
                         frames_per_step(env_id, env_kwargs))
    finally:
        env.close()


def observation_to_array(obs) -> np.ndarray:
    """An observation as a contiguous numpy array (``uint8`` frames stay ``uint8``)."""
    array = np.asarray(obs)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    return array
