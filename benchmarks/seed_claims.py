"""Every learning claim of the README, over several seeds: how many reach the goal, and when.

    python benchmarks/seed_claims.py [CLAIM ...] [--seeds 0 1 2 3 4] [--cache DIR]
        [--out FILE] [--quick]
    python benchmarks/seed_claims.py --list

Hogwild runs are not reproducible to the step: two runs with one seed differ as soon
as the workers' updates interleave differently. So a claim such as "A3C solves
CartPole in about 100,000 steps" is a claim about most seeds, not one. For each claim
this script trains one run per seed with the committed defaults (no ``--set``), stops
it at the goal or at the claim's budget, and prints one row per claim: the seeds that
reached the goal, and the median and worst steps (and wall seconds) to it. A seed that
missed counts as the budget in "worst". The README quotes the table.

The value methods' episodes are those of their exploring workers: a worker whose
epsilon ends at 0.5 acts at random every other step, and its episodes cannot average
400 on CartPole however well the network has learned (the README, "The value-based
methods on CartPole"). For them the table adds the greedy return of the network at
the end of the run (mean of 10 evaluation episodes, median over the seeds).

The goal is a mean return over the last ``window`` finished episodes (all workers, in
the order they finished), as the trainer's ``stop_at_return`` measures it with 20.
The maze's episodes are a few steps long and its rewards a coin's toss at chance, so
it is judged on 100 (see the README, "Memory and mazes").

``--cache DIR`` keeps every run folder and reuses it when the script is run again
(an interrupted table picks up where it stopped; a table can be re-printed from runs
alone). Runs go seed by seed, every claim of a seed one after the other, so a change
of load on a shared machine falls on every claim alike. The step figures are the ones
to compare across machines; the seconds depend on the load.
"""

import argparse
import dataclasses
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from common import machine, markdown_table, median

from a3c_course import load_run, train
from a3c_course.live.monitors import Monitor, recent_mean
from a3c_course.runs.result import first_solved_index
from a3c_course.runs.watch import play_episode


@dataclass(frozen=True)
class Claim:
    """One learning claim: a run's setting, its goal and its budget."""

    name: str
    algo: str
    env_id: str
    goal: float
    budget: int
    """Global steps after which a run that has not reached the goal stops."""
    window: int = 20
    max_steps: int | None = None
    """The learning rate's schedule (falls to 0 here); the budget unless given."""
    workers: int = 2
    options: dict = field(default_factory=dict)
    where: str = ""
    """Where the README or a notebook makes the claim."""


CLAIMS = {claim.name: claim for claim in [
    Claim("cartpole-a3c", "a3c", "CartPole-v1", goal=475, budget=500_000,
          where="README: train from the command line; notebook 4"),
    Claim("cartpole-q", "q", "CartPole-v1", goal=400, budget=400_000,
          where="README: the value-based methods on CartPole; notebook 1"),
    Claim("cartpole-sarsa", "sarsa", "CartPole-v1", goal=400, budget=400_000,
          where="README: the value-based methods on CartPole; notebook 2"),
    Claim("cartpole-nstep-q", "nstep-q", "CartPole-v1", goal=400, budget=400_000,
          where="README: the value-based methods on CartPole; notebook 3"),
    Claim("inverted-pendulum", "a3c", "InvertedPendulum-v5", goal=950, budget=400_000,
          where="README: continuous control; notebook 8"),
    Claim("memory-maze", "a3c", "MiniGrid-MemoryS11FacingCue-v0", goal=0.8, window=100,
          budget=700_000, max_steps=2_000_000, options=dict(recurrent=True),
          where="README: memory and mazes; notebook 9"),
]}


class StopAtGoalOrBudget(Monitor):
    """Stops a run once the mean of the last ``window`` episodes reaches ``goal``, or
    after ``budget`` global steps, whichever comes first (when is read back from the
    saved run, by :func:`first_reaching`)."""

    def __init__(self, claim):
        self.claim = claim

    def update(self, global_step, episodes, elapsed_seconds):
        window = self.claim.window
        met = len(episodes) >= window and recent_mean(episodes, window) >= self.claim.goal
        if met or global_step >= self.claim.budget:
            self.stop_requested = True


def first_reaching(run, claim):
    """(global step, wall seconds) of the first episode at which the mean of the last
    ``window`` reached the goal; ``None`` if it never did."""
    index = first_solved_index(run.returns, claim.goal, claim.window)
    if index is None:
        return None
    return int(run.column("global_step")[index]), float(run.column("wall_seconds")[index])


VALUE_METHODS = ("q", "sarsa", "nstep-q")


def greedy_return(run, episodes=10):
    """The mean return of the run's final network acting greedily (no exploration)."""
    return float(np.mean([play_episode(run, seed=10_000 + i, greedy=True, record=False).total_return
                          for i in range(episodes)]))


def run_claim(claim, seed, folder, budget_scale=1.0):
    """Train one seed of a claim into ``folder`` (reused if it holds a finished run);
    returns the run and :func:`first_reaching` of it."""
    if not (Path(folder) / "summary.json").exists():
        budget = int(claim.budget * budget_scale)
        monitor = StopAtGoalOrBudget(dataclasses.replace(claim, budget=budget))
        result = train(claim.algo, claim.env_id, n_workers=claim.workers, seed=seed,
                       max_steps=int((claim.max_steps or claim.budget) * budget_scale),
                       live=monitor, **claim.options)
        result.save(folder)
    run = load_run(folder)
    return run, first_reaching(run, claim)


def table(claims, seeds, outcomes, budget_scale=1.0, greedy=None):
    """One row per claim; ``greedy[claim name, seed]``: the final network's greedy return."""
    greedy = greedy or {}
    header = ["claim", "goal (mean of last N)", "budget (steps)", "seeds at goal",
              "median steps to goal", "worst", "median s", "seeds: steps to goal",
              "greedy return at the end"]
    rows = []
    for claim in claims:
        budget = int(claim.budget * budget_scale)
        reached = [outcomes[claim.name, seed] for seed in seeds if (claim.name, seed) in outcomes]
        hits = [r for r in reached if r is not None]
        steps = [r[0] for r in hits] + [budget] * (len(reached) - len(hits))
        per_seed = " / ".join(f"{r[0]:,}" if r else "-" for r in reached)
        final = [greedy[claim.name, seed] for seed in seeds if (claim.name, seed) in greedy]
        final_text = (f"{median(final):.0f} (" + " / ".join(f"{g:.0f}" for g in final) + ")"
                      if final else "-")
        rows.append([claim.name, f"{claim.goal:g} ({claim.window})", f"{budget:,}",
                     f"{len(hits)} of {len(reached)}",
                     f"{median(r[0] for r in hits):,.0f}" if hits else "-",
                     f"{max(steps):,}" + ("" if len(hits) == len(reached) else " (missed)"),
                     f"{median(r[1] for r in hits):.0f}" if hits else "-", per_seed, final_text])
    return markdown_table(header, rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("claims", nargs="*", metavar="CLAIM", help="default: all of them")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--cache", metavar="DIR", help="keep (and reuse) the run folders here")
    parser.add_argument("--out", metavar="FILE", help="also write the table here")
    parser.add_argument("--list", action="store_true", help="list the claims and stop")
    parser.add_argument("--quick", action="store_true",
                        help="budgets of a hundredth, to check the script (nothing reaches a goal)")
    args = parser.parse_args()
    if args.list:
        for claim in CLAIMS.values():
            print(f"{claim.name}: {claim.algo} on {claim.env_id}, {claim.goal:g} within "
                  f"{claim.budget:,} steps ({claim.where})")
        return
    unknown = [name for name in args.claims if name not in CLAIMS]
    if unknown:
        print(f"seed_claims.py: unknown claim {unknown[0]!r}; choose from {', '.join(CLAIMS)}",
              file=sys.stderr)
        sys.exit(2)
    claims = [CLAIMS[name] for name in args.claims or CLAIMS]
    scale = 0.01 if args.quick else 1.0

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.cache or tmp)
        outcomes, greedy = {}, {}
        for seed in args.seeds:
            for claim in claims:
                folder = root / f"{claim.name}-seed{seed}"
                run, reached = run_claim(claim, seed, folder, scale)
                outcomes[claim.name, seed] = reached
                if claim.algo in VALUE_METHODS:
                    greedy[claim.name, seed] = greedy_return(run)
                print(f"{claim.name} seed {seed}: "
                      f"{'goal at step {:,}'.format(reached[0]) if reached else 'missed'} "
                      f"({run.total_steps:,} steps, {run.wall_seconds:.0f} s)",
                      file=sys.stderr, flush=True)
    text = (f"Measured on {machine()}; `python benchmarks/seed_claims.py "
            f"{' '.join(args.claims)} --seeds {' '.join(map(str, args.seeds))}`\n\n"
            + table(claims, args.seeds, outcomes, scale, greedy))
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
