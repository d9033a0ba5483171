"""Training budgets, in one table: the class profile and the CI test profile.

The notebooks ask for a budget by name (``budget("a3c_cartpole")``) and never
hard-code a number of steps. ``A3C_COURSE_PROFILE=test`` (set by the test suite)
shrinks every budget so that a notebook runs in seconds; the default ``class``
profile is sized to show learning within a few minutes on a 2-core laptop.
"""

from __future__ import annotations

import os

from .errors import ConfigError

PROFILE_VARIABLE = "A3C_COURSE_PROFILE"
PROFILES = ("class", "test")

#: name -> {profile -> keyword arguments for train()}.
BUDGETS: dict[str, dict[str, dict]] = {
    # 04: A3C until CartPole is solved. About 100k-150k steps: 15 s on a quiet 2-core
    # laptop, a minute or two beside another heavy job; the time limit is a safety net.
    "a3c_cartpole": {
        "class": dict(max_steps=300_000, stop_at_return=475, time_limit=600),
        "test": dict(max_steps=6_000, time_limit=30),
    },
    # -- the course notebooks, 00 to 06 -------------------------------------------------
    # A run whose curve is compared with another's (or with the recorded curves of
    # notebooks/data/) is counted in steps: its time limit is only a safety net for a
    # machine far slower than a busy 2-core laptop, so that both runs of a comparison
    # see the same experience. The learning rate anneals to 0 at max_steps, so a run
    # that should stop at a score gets a max_steps well beyond it.
    "setup_check": {  # 00: a first A3C run, to see that training works here
        "class": dict(max_steps=300_000, stop_at_return=200, time_limit=120),
        "test": dict(max_steps=1_000, time_limit=30),
    },
    "q_cartpole": {  # 01, 02: one-step Q-learning and Sarsa, the same budget for both
        "class": dict(max_steps=100_000, time_limit=400),
        "test": dict(max_steps=1_000, time_limit=30),
    },
    "nstep_q_cartpole": {  # 03: n-step Q with t_max = 5 against n = 1 (the slower one)
        "class": dict(max_steps=100_000, time_limit=400),
        "test": dict(max_steps=1_000, time_limit=30),
    },
    # 06: one-step Q on TwoSeasons-v0 with 1 and with 4 workers, the same steps (two runs):
    # a season lasts about 10,000 steps, so one worker lives through about four of them.
    "parallel_seasons": {
        "class": dict(max_steps=40_000, time_limit=300),
        "test": dict(max_steps=1_000, time_limit=30),
    },
    "entropy_corridor": {  # 05: one run of the entropy experiment (six per notebook)
        "class": dict(max_steps=20_000, time_limit=120),
        "test": dict(max_steps=1_000, time_limit=30),
    },
    # 05: one run on MiniGrid-Empty-8x8 (two per notebook: rewards as they are, then
    # scaled). Seed 1 at 60,000 steps: 0.15-0.18 against 0.65-0.96 (7 runs; one 0.15),
    # 10 to 20 s a run on an idle 2-core machine; the time limit keeps a busy one
    # within class time.
    "entropy_units": {
        "class": dict(max_steps=60_000, time_limit=120),
        "test": dict(max_steps=1_000, time_limit=30),
    },
    # 06: one run of the speedup table (one per worker count). A run ends at CartPole's
    # "solved" score, 475: on a quiet 2-core laptop 1 worker takes 7 to 14 s, 2 workers
    # 5 to 9 s (5 seeds). A lower score is reached in 2 to 4 s now that A3C scales its
    # rewards, and the workers' start-up would be most of what is timed. Beside another
    # heavy job 1 worker can need minutes: a table whose runs all end on the time limit
    # shows no speedup of time, only of steps per second.
    "parallel_cartpole": {
        "class": dict(max_steps=300_000, stop_at_return=475, time_limit=300),
        "test": dict(max_steps=1_000, stop_at_return=475, time_limit=30),
    },
    # 06: a3c_in_one_file.py run from the notebook (its own train(): max_steps only; the
    # learning rate is held, as its anneal_steps lie far beyond), then the student's own
    # Hogwild update and shared RMSProp on CartPole.
    "one_file_cartpole": {
        "class": dict(max_steps=40_000),
        "test": dict(max_steps=1_000),
    },
    "student_machinery_cartpole": {
        "class": dict(max_steps=150_000, stop_at_return=195, time_limit=300),
        "test": dict(max_steps=1_000, time_limit=30),
    },
    # Pong needs millions of steps to learn (hours on 2 cores: the command line's job);
    # in class, a couple of minutes show the pipeline running on real frames. Under
    # test, the emulator ends each game after 160 frames (40 agent steps), so that
    # a few hundred steps, shared by 2 workers of 8 games each, already log finished
    # episodes.
    "a3c_pong": {
        "class": dict(max_steps=1_000_000, time_limit=150),  # (the time limit ends it)
        "test": dict(max_steps=600, time_limit=30,
                     env_kwargs=dict(max_num_frames_per_episode=160)),
    },
    # 07 also times the emulator and the network alone (steps of one process), and
    # replays an episode (agent steps, for a3c_course.watch.play_episode).
    "pong_timing": {
        "class": dict(max_steps=2_000),
        "test": dict(max_steps=100),
    },
    "watch_pong": {
        "class": dict(max_steps=2_000),
        "test": dict(max_steps=40),
    },
    # 08: InvertedPendulum to 950 (median about 190k steps, 2 to 3 minutes on 2 cores;
    # max_steps 400k keeps the learning rate's annealing that the benchmark measured),
    # and a replay of the balanced pole (agent steps, one frame each).
    "a3c_inverted_pendulum": {
        "class": dict(max_steps=400_000, stop_at_return=950, time_limit=210),
        "test": dict(max_steps=3_000, time_limit=30),
    },
    "watch_pendulum": {
        "class": dict(max_steps=300),
        "test": dict(max_steps=20),
    },
    # 09: the cost of a state never detached, over this many rollouts of a hand-made loop.
    "undetached_rollouts": {
        "class": dict(max_steps=40),
        "test": dict(max_steps=8),
    },
    # 09: one run of the memory maze (two per notebook: feed-forward, then recurrent).
    # The 2M steps set the learning rate's schedule; the time limit ends the
    # run. The recurrent agent passed 0.8 after 51k-109k steps on 5 seeds of 5
    # (benchmarks/seed_claims.py memory-maze), about a minute on an idle 2-core machine
    # and maybe beyond class time on a busy one: the notebook also shows a recorded
    # pair of runs.
    # 10: the same CartPole run on each backend, shared memory and Ray. On Ray each
    # update is a round trip to the parameter server, so the same steps take longer;
    # under test, a worker actor's start (a new process importing torch) takes a few
    # seconds, hence the longer time limit.
    "ray_cartpole": {
        "class": dict(max_steps=300_000, stop_at_return=475, time_limit=150),
        "test": dict(max_steps=1_500, time_limit=90),
    },
    "memory_maze": {
        "class": dict(max_steps=2_000_000, time_limit=135),
        "test": dict(max_steps=2_000, time_limit=30),
    },
}


def current_profile() -> str:
    """The active profile: the value of ``A3C_COURSE_PROFILE``, ``class`` when unset."""
    profile = os.environ.get(PROFILE_VARIABLE, "class").strip().lower() or "class"
    if profile not in PROFILES:
        raise ConfigError(
            f"{PROFILE_VARIABLE}={profile!r} is not a profile; use one of {', '.join(PROFILES)}"
        )
    return profile


def budget(name: str, profile: str | None = None) -> dict:
    """The training budget called ``name`` for the active (or given) profile.

    Returns a fresh dict of keyword arguments for :func:`a3c_course.train`, e.g.
    ``train(algo="a3c", env_id="CartPole-v1", **budget("a3c_cartpole"))``. Each value
    remembers where it came from (``origin_of``), so that the run can say which of its
    settings the profile chose.
    """
    if name not in BUDGETS:
        raise ConfigError(f"no budget called {name!r}; known budgets: {', '.join(sorted(BUDGETS))}")
    profile = profile or current_profile()
    origin = f"profile {profile}, budget {name}"
    return {key: _tagged(value, origin) for key, value in BUDGETS[name][profile].items()}


class _BudgetInt(int):
    origin = ""


class _BudgetFloat(float):
    origin = ""


class _BudgetDict(dict):
    origin = ""


_TAGGED = {int: _BudgetInt, float: _BudgetFloat, dict: _BudgetDict}


def _tagged(value, origin):
    """``value`` as an equal int, float or dict that carries ``origin``."""
    kind = _TAGGED.get(type(value))
    if kind is None:
        return value
    tagged = kind(value)
    tagged.origin = origin
    return tagged


def origin_of(value) -> str | None:
    """The budget a value of :func:`budget` came from (``"profile class, budget x"``), or None."""
    return getattr(value, "origin", None) or None
