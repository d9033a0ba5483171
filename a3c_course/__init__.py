"""a3c_course: the library behind the course on Asynchronous Methods for Deep RL.

The pieces a notebook uses::

    from a3c_course import train, load_run, make_env, budget

    result = train(algo="a3c", env_id="CartPole-v1", n_workers=2, max_steps=200_000,
                   stop_at_return=475)
    result.plot()
    result.save("runs/cartpole")
"""

from .course_envs import register_course_envs
from .envs import make_env
from .errors import A3CCourseError, ConfigError, NonFiniteLossError, TrainingError, WorkerError
from .profiles import budget, current_profile
from .results import RunResult, load_run
from .trainer import train

# The course's own environments (a3c_course/TreasureCorridor-v0, ...) get their
# Gymnasium ids on import, in the notebook and in every worker process alike.
register_course_envs()

__version__ = "0.1.0"

__all__ = [
    "A3CCourseError",
    "ConfigError",
    "NonFiniteLossError",
    "RunResult",
    "TrainingError",
    "WorkerError",
    "budget",
    "current_profile",
    "load_run",
    "make_env",
    "train",
]
