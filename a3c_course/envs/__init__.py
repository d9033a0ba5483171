"""Environments: ``make_env`` for any Gymnasium id, Atari preprocessing, the course's own.

- :mod:`~a3c_course.envs.make`: ``make_env``, the families (Atari, MiniGrid, the rest)
  and what the trainer reads from an environment before it starts workers;
- :mod:`~a3c_course.envs.atari`: the paper's Atari preprocessing and its options;
- :mod:`~a3c_course.envs.user_envs`: the user's own environments, in every worker;
- :mod:`~a3c_course.envs.course_envs`: small environments built to show one idea;
- :mod:`~a3c_course.envs.mazes`: the memory maze of notebook 9;
- :mod:`~a3c_course.envs.rendering`: pictures of MuJoCo environments without a screen.
"""

from .atari import ATARI_FRAME_SKIP, AtariOptions
from .make import (
    EnvSpaces,
    check_env_id,
    frames_per_step,
    is_atari,
    is_minigrid,
    make_env,
    observation_to_array,
    read_spaces,
)

__all__ = [
    "ATARI_FRAME_SKIP",
    "AtariOptions",
    "EnvSpaces",
    "check_env_id",
    "frames_per_step",
    "is_atari",
    "is_minigrid",
    "make_env",
    "observation_to_array",
    "read_spaces",
]
