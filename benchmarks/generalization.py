"""Untuned A3C off the course's path, beside Stable-Baselines3's A2C with its defaults.

    python benchmarks/generalization.py [--seeds 3] [--env Acrobot-v1 ...] [--out FILE]
        [--set entropy_beta=0 ...]     # a setting for our A3C, to probe a failure
    python benchmarks/generalization.py --quick       # a few thousand steps: does it run?

The course tunes its defaults on CartPole, Pong, InvertedPendulum and its mazes. A
user's first step off that path is an environment nobody tuned for; there the
defaults must still learn. This benchmark trains, on environments that install with
the course and that it never tuned for:

- **our A3C** through the command line (the contract of design.md) with 2 workers and
  its defaults: no ``--set`` (unless you give one, to probe a failure; the table's
  caption names it), so each environment gets the defaults of its family
  (:func:`a3c_course.engine.plan.environment_family`);
- **SB3's A2C** with *its* defaults, ``A2C("MlpPolicy", env)``: one environment,
  5-step rollouts, RMSProp at 7e-4, no entropy bonus, on one thread as each of our
  workers (a 64-64 network gains nothing from more, and two threads on a busy 2-core
  machine made it ten times slower). MiniGrid gives a dict
  observation SB3's ``MlpPolicy`` cannot take: SB3 gets the same 7x7x3 egocentric view
  our A3C gets (``ImgObsWrapper``), flattened (``FlattenObservation``).

Both get the same number of environment steps, seed after seed, alternating (ours,
then SB3's, for each seed), so that a machine that slows down slows both. For each
environment the table gives the random policy's mean return, each method's final mean
return (the mean of its last 100 episodes; the median over seeds, and the lowest and
highest), and how many seeds ended above a "learned" threshold stated per environment.

**The budgets** are what a user trying the library on a new environment would give it
before deciding it does not work: a minute or two per run of ours on a laptop, 100k
to 200k steps, about what a tuned actor-critic needs on these small tasks
(:data:`TASKS` says why for each). SB3's A2C steps one environment at a time and runs at about a
third of our speed on the same machine, so SB3 takes most of the time: with 3 seeds
the whole benchmark takes about 35 minutes on a busy 2-core machine.

**Left out**: MountainCar-v0, which neither method learns without reward shaping or
directed exploration (a random walk almost never reaches the flag, so there is no
reward signal to learn from); Box2D environments (not installed with the course).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import machine, markdown_table, train_with_cli

from a3c_course import load_run
from a3c_course.envs.make import is_minigrid, make_env

WORKERS = 2
LAST_EPISODES = 100


@dataclass(frozen=True)
class Task:
    """One environment of the benchmark: its budget and what counts as learned."""

    env_id: str
    steps: int
    learned_above: float
    """A final mean return above this is a seed that learned."""
    why: str


TASKS = (
    Task("Acrobot-v1", 150_000, -100.0,
         "discrete actions, CartPole's defaults; a random policy hangs for the whole "
         "500 steps (-500); swinging up in under 100 steps is the classic bar, which "
         "tuned actor-critics reach within about 100k steps"),
    Task("MiniGrid-Empty-8x8-v0", 100_000, 0.9,
         "the maze family's defaults on a grid the course does not use; the reward is "
         "1 - 0.9 x steps/256 at the goal, so a mean above 0.9 is a walk of about 28 "
         "steps or less (the shortest, 10 moves and a turn, gives 0.96)"),
    Task("InvertedDoublePendulum-v5", 200_000, 1_000.0,
         "the continuous family's defaults on a harder balance than InvertedPendulum; "
         "about 9.4 per step upright, so 1,000 is balancing for about 100 steps "
         "(a random policy: under 10 steps)"),
)

QUICK_STEPS = 3_000


# --------------------------------------------------------------------------- the random policy

def random_mean_return(env_id: str, episodes: int, seed: int = 0) -> float:
    """Mean return of uniformly random actions over ``episodes`` episodes."""
    env = make_env(env_id, seed=seed)
    returns = []
    for _ in range(episodes):
        env.reset()
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))


# --------------------------------------------------------------------------- the two methods

def ours(task: Task, seed: int, steps: int, folder: Path, settings=()) -> dict:
    """Our A3C through the CLI (defaults untouched unless ``settings``); its last episodes."""
    out = folder / f"a3c-{task.env_id}-{seed}"
    summary = train_with_cli(task.env_id, WORKERS, seed, steps, None, out, settings)
    returns = list(load_run(out).returns)
    return {"final": _tail_mean(returns), "episodes": len(returns),
            "seconds": summary["process_seconds"]}


def sb3_env(env_id: str):
    """The environment SB3 trains on: the plain Gymnasium one, MiniGrid's view flattened."""
    import gymnasium as gym

    if not is_minigrid(env_id):
        return gym.make(env_id)
    import minigrid  # noqa: F401  (registers the MiniGrid ids)
    from minigrid.wrappers import ImgObsWrapper

    return gym.wrappers.FlattenObservation(ImgObsWrapper(gym.make(env_id)))


def sb3(task: Task, seed: int, steps: int) -> dict:
    """SB3's A2C with its defaults (one environment, in this process); its last episodes."""
    import torch
    from stable_baselines3 import A2C
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class EpisodeReturns(BaseCallback):
        def __init__(self):
            super().__init__()
            self.returns = []

        def _on_step(self) -> bool:
            self.returns += [float(info["episode"]["r"]) for info in self.locals["infos"]
                             if "episode" in info]
            return True

    torch.set_num_threads(1)  # as each of our workers (see the module's docstring)
    start = time.perf_counter()
    env = make_vec_env(lambda: sb3_env(task.env_id), n_envs=1, seed=seed)
    model = A2C("MlpPolicy", env, seed=seed, device="cpu", verbose=0)
    returns = EpisodeReturns()
    model.learn(total_timesteps=steps, callback=returns)
    env.close()
    return {"final": _tail_mean(returns.returns), "episodes": len(returns.returns),
            "seconds": time.perf_counter() - start}


def _tail_mean(returns) -> float | None:
    return float(np.mean(returns[-LAST_EPISODES:])) if returns else None


# --------------------------------------------------------------------------- the table

HEADER = ["environment", "steps", "learned if mean >", "random policy",
          "A3C (ours, 2 workers)", "A3C learned", "SB3 A2C", "A2C learned", "SB3 sees"]


def summarize(finals) -> str:
    """``median [lowest, highest]`` of the seeds' final mean returns."""
    finals = [f for f in finals if f is not None]
    if not finals:
        return "-"
    return f"{_num(statistics.median(finals))} [{_num(min(finals))}, {_num(max(finals))}]"


def learned(finals, threshold) -> str:
    return f"{sum(f is not None and f > threshold for f in finals)}/{len(finals)}"


def row(task, steps, random_return, finals, have_sb3=True) -> list:
    theirs = ([summarize(finals["sb3"]), learned(finals["sb3"], task.learned_above)]
              if have_sb3 else ["not installed", "-"])
    return [task.env_id, f"{steps:,}", _num(task.learned_above), _num(random_return),
            summarize(finals["ours"]), learned(finals["ours"], task.learned_above),
            *theirs,
            "7x7x3 view, flattened" if is_minigrid(task.env_id) else "the observation"]


def _num(x) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--env", action="append", choices=[t.env_id for t in TASKS],
                        help="only this environment (repeatable; default: all)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_STEPS:,} steps, one seed, Acrobot only unless --env")
    parser.add_argument("--out", help="also write the Markdown table here")
    parser.add_argument("--keep", metavar="DIR", help="keep our run folders in DIR")
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        metavar="NAME=VALUE",
                        help="a hyperparameter of our A3C (repeatable); the table says so")
    args = parser.parse_args()
    chosen = args.env or (["Acrobot-v1"] if args.quick else [t.env_id for t in TASKS])
    have_sb3 = importlib.util.find_spec("stable_baselines3") is not None
    if not have_sb3:
        print("SB3 is not installed (pip install -e \".[bench]\"): our A3C alone",
              file=sys.stderr, flush=True)
    seeds = 1 if args.quick else args.seeds
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        for task in (t for t in TASKS if t.env_id in chosen):
            steps = QUICK_STEPS if args.quick else task.steps
            random_return = random_mean_return(task.env_id, 3 if args.quick else 20)
            finals = {"ours": [], "sb3": []}
            for seed in range(seeds):
                for method in ("ours", "sb3") if have_sb3 else ("ours",):
                    r = (ours(task, seed, steps, folder, args.settings) if method == "ours"
                         else sb3(task, seed, steps))
                    finals[method].append(r["final"])
                    print(f"{task.env_id} seed {seed} {method}: final mean {r['final']} over "
                          f"{r['episodes']} episodes, {r['seconds']:.0f} s",
                          file=sys.stderr, flush=True)
            rows.append(row(task, steps, random_return, finals, have_sb3))
    ours_is = f"A3C with {' '.join(args.settings)}" if args.settings else "Untuned A3C"
    text = (f"{ours_is} and SB3's A2C, {seeds} seed(s) each, final mean = mean return of "
            f"the last {LAST_EPISODES} episodes, median [lowest, highest] over seeds "
            f"({time.strftime('%Y-%m-%d')}, {machine()})\n\n"
            + markdown_table(HEADER, rows))
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
