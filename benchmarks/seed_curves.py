"""Learning curves over several seeds, recorded for the notebooks: ``notebooks/data/*.csv``.

    python benchmarks/seed_curves.py EXPERIMENT [--seeds 0 1 2 3 4] [--csv FILE]
        [--steps N] [--variants LABEL ...] [--cache DIR] [--quick]

A notebook's live run is one seed, and one seed is noisy: two runs that differ only
in their seed can differ more than two methods do. The comparisons the notebooks draw
conclusions from are recorded here over several seeds, every variant with the same
budget of steps and the same seeds, and drawn in the notebooks as the median of the
seeds, shaded from the lowest to the highest (``a3c_course.runs.recorded``).

Experiments (``--csv`` defaults to the notebook's file):

- ``parallel_workers`` (notebook 6): what the parallel actor-learners buy, the paper's
  claim that they stand in for a replay memory. One-step Q-learning without replay on
  ``a3c_course/TwoSeasons-v0``, whose rule flips with a season that lasts about 10,000
  steps of each worker's own environment, with 1 and 4 workers, the same number of
  steps (and so of updates), every worker exploring with a final epsilon of 0.1, at
  lr 3e-3. The curve is the mean return of the last 50 episodes (10 is every action
  right). Each final network is also scored by ``seasons_known`` (its greedy right
  actions in summer and in winter), written beside the curves to
  ``parallel_workers_seasons.csv``.
- ``sarsa_vs_q`` (notebook 2): one-step Sarsa against one-step Q-learning on CartPole,
  4 workers that all explore with a final epsilon of 0.3.
- ``speedup`` (notebook 6): A3C on CartPole with 1, 2 and 4 workers until the mean of
  20 episodes reaches 195, curves against the clock (``wall_seconds``): the speedup of
  Table 2, as time to a score.
- ``optimizer_statistics`` (notebook 6): RMSProp's statistics shared by the 4 workers
  against one set per worker, at the default learning rate and at a 4 times larger one.
- ``n_step`` (notebook 3): n-step Q-learning with ``t_max = 5`` against ``t_max = 1``
  on CartPole, 4 workers, the paper's mix of final epsilons.

It prints a Markdown table: each variant's median of the seeds' final points, and
their range. ``--quick`` runs a tiny budget (a check that the script works).
"""

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
from common import machine, markdown_table

from a3c_course import train
from a3c_course.envs.course_envs import TWO_SEASONS, seasons_known
from a3c_course.runs.recorded import SeedCurves, curve_at, write_seed_curves

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "notebooks" / "data"

#: name -> the notebook's file, the budget, how often a point is written, the window of
#: episodes each point averages, and the variants: label -> keyword arguments of train().
EXPERIMENTS = {
    "parallel_workers": dict(
        csv=DATA / "parallel_workers.csv", max_steps=100_000, every=1_000, window=50,
        variants={f"{n} worker{'s' * (n > 1)}": dict(
            algo="q", env_id=TWO_SEASONS, n_workers=n, lr=3e-3,
            final_epsilons=(0.1,), final_epsilon_probs=(1.0,))
            for n in (1, 4)},
        evaluate="seasons_known", evaluation_csv=DATA / "parallel_workers_seasons.csv"),
    "sarsa_vs_q": dict(
        csv=DATA / "sarsa_vs_q.csv", max_steps=100_000, every=2_000, window=20,
        variants={name: dict(algo=algo, env_id="CartPole-v1", n_workers=4,
                             final_epsilons=(0.3,), final_epsilon_probs=(1.0,))
                  for name, algo in (("one-step Sarsa", "sarsa"), ("one-step Q-learning", "q"))}),
    "speedup": dict(
        csv=DATA / "speedup.csv", max_steps=300_000, x="wall_seconds", seconds=90, every=0.5,
        window=20, score=475,
        variants={f"{n} worker{'s' * (n > 1)}": dict(algo="a3c", env_id="CartPole-v1", n_workers=n,
                                                    stop_at_return=475, time_limit=90)
                  for n in (1, 2, 4)}),
    "optimizer_statistics": dict(
        csv=DATA / "optimizer_statistics.csv", max_steps=100_000, every=2_000, window=20,
        variants={f"{name}, lr {lr:g}": dict(algo="a3c", env_id="CartPole-v1", n_workers=4,
                                             optimizer=optimizer, lr=lr)
                  for lr in (7e-4, 3e-3)
                  for name, optimizer in (("shared statistics", "shared_rmsprop"),
                                          ("per-worker statistics", "rmsprop"))}),
    "n_step": dict(
        csv=DATA / "n_step.csv", max_steps=100_000, every=2_000, window=20,
        variants={name: dict(algo="nstep-q", env_id="CartPole-v1", n_workers=4, t_max=t_max)
                  for name, t_max in (("t_max = 5", 5), ("n = 1", 1))}),
}


#: name -> a function of the finished run: the scores of its final network.
EVALUATIONS = {"seasons_known": lambda result: seasons_known(result.model)}


def record(name, seeds, max_steps=None, variants=None, cache=None, log=sys.stderr,
           evaluations=None):
    """Train the variants of experiment ``name`` on every seed; {label: SeedCurves}.

    The runs go seed by seed, each seed's variants one after the other, so that a
    change in the machine's load while the experiment records falls on every variant
    alike (it matters for the curves against the clock). With ``cache`` (a folder),
    each run's curve is kept there as it finishes, and a run already kept is not
    trained again: an interrupted recording resumes where it was.

    An experiment with ``evaluate`` also scores each final network; ``evaluations``
    (a dict) receives ``{(label, seed): {name: value}}``, kept in the cache too.
    """
    experiment = EXPERIMENTS[name]
    max_steps = max_steps or experiment["max_steps"]
    x = experiment.get("x", "global_step")
    if x == "wall_seconds":
        points = np.arange(experiment["every"], experiment["seconds"] + 1e-9, experiment["every"])
    else:
        every = min(experiment["every"], max(max_steps // 10, 1))
        points = np.arange(every, max_steps + 1, every)
    chosen = {label: settings for label, settings in experiment["variants"].items()
              if not variants or label in variants}
    rows = {label: [] for label in chosen}
    for seed in seeds:
        for label, settings in chosen.items():
            kept = Path(cache) / name / f"{label.replace(' ', '_')}_{max_steps}_{seed}.npy" if cache else None
            scored = kept.with_suffix(".json") if kept is not None else None
            if kept is not None and kept.exists():
                rows[label].append(np.load(kept))
                if evaluations is not None and scored.exists():
                    evaluations[label, seed] = json.loads(scored.read_text())
                continue
            start = time.perf_counter()
            settings = {**experiment.get("common", {}), **settings}
            result = train(seed=seed, max_steps=max_steps, live="none", **settings)
            rows[label].append(curve_at(result, points, experiment["window"], x=x))
            scores = EVALUATIONS[experiment["evaluate"]](result) if "evaluate" in experiment else None
            if evaluations is not None and scores is not None:
                evaluations[label, seed] = scores
            if kept is not None:
                kept.parent.mkdir(parents=True, exist_ok=True)
                np.save(kept, rows[label][-1])
                if scores is not None:
                    scored.write_text(json.dumps(scores))
            print(f"{label}, seed {seed}: {result.total_steps:,} steps in "
                  f"{time.perf_counter() - start:.0f} s ({result.steps_per_second:,.0f} steps/s), "
                  f"final mean {rows[label][-1][-1]:.2f}, stopped on {result.stop_reason}"
                  + (f", {scores}" if scores else ""),
                  file=log, flush=True)
    return {label: SeedCurves(label, list(seeds), points, np.array(rows[label]), x) for label in chosen}


def table(curves, score=None) -> str:
    """Each variant's final points (median and range) and, given a ``score``, when the
    seeds reached it: how many did, the median and the worst (steps, or seconds)."""
    rows = []
    for curve in curves.values():
        final = curve.final()
        row = [curve.variant, len(curve.seeds), f"{np.median(final):.2f}",
               f"{final.min():.2f} to {final.max():.2f}"]
        if score is not None:
            reached = curve.first_reaching(score)
            done = reached[~np.isnan(reached)]
            row += [f"{len(done)} of {len(reached)}",
                    f"{np.median(done):g}" if len(done) else "-",
                    f"{reached.max():g}" if len(done) == len(reached) else "not all"]
        rows.append(row)
    headers = ["variant", "seeds", "final (median)", "final (range)"]
    if score is not None:
        unit = "s" if next(iter(curves.values())).x == "wall_seconds" else "steps"
        headers += [f"reached {score:g}", f"median ({unit})", f"worst ({unit})"]
    return markdown_table(headers, rows)


def write_evaluations(path, evaluations):
    """``variant,seed,<name>,...``: one row per run, the scores of its final network."""
    names = sorted(next(iter(evaluations.values())))
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["variant", "seed", *names])
        for (label, seed), scores in evaluations.items():
            writer.writerow([label, seed, *(f"{scores[n]:.4f}" for n in names)])


def evaluation_table(evaluations) -> str:
    names = sorted(next(iter(evaluations.values())))
    rows = [[label, seed, *(f"{scores[n]:.3f}" for n in names)]
            for (label, seed), scores in evaluations.items()]
    return markdown_table(["variant", "seed", *names], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=sorted(EXPERIMENTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, help="budget of each run (default: the experiment's)")
    parser.add_argument("--csv", help="where to write the curves (default: the notebook's file)")
    parser.add_argument("--variants", nargs="+", metavar="LABEL",
                        help="only these variants (default: all); the CSV then holds only them")
    parser.add_argument("--cache", metavar="DIR",
                        help="keep each run's curve in DIR; runs kept there are not trained again")
    parser.add_argument("--quick", action="store_true", help="a tiny budget, to check the script")
    args = parser.parse_args()
    steps = 2_000 if args.quick else args.steps
    evaluations = {}
    curves = record(args.experiment, args.seeds, steps, args.variants, args.cache,
                    evaluations=evaluations)
    path = args.csv or (None if args.quick else EXPERIMENTS[args.experiment]["csv"])
    experiment = EXPERIMENTS[args.experiment]
    if path:
        write_seed_curves(path, curves)
        print(f"wrote {path}", file=sys.stderr)
        if evaluations:
            scores_path = (Path(path).with_name(Path(path).stem + "_seasons.csv") if args.csv
                           else experiment["evaluation_csv"])
            write_evaluations(scores_path, evaluations)
            print(f"wrote {scores_path}", file=sys.stderr)
    print(f"{args.experiment}: seeds {args.seeds}, {steps or experiment['max_steps']:,} steps a run, "
          f"mean return of the last {experiment['window']} episodes ({machine()})\n")
    print(table(curves, experiment.get("score")))
    if evaluations:
        print("\n" + evaluation_table(evaluations))


if __name__ == "__main__":
    main()
