"""The paper's Table 2, measured: the speed-up of each method with 1, 2, 4, 8 and 16 workers.

    python benchmarks/table2.py [--workers 1 2 4 8 16] [--seeds 3] [--out FILE]
    python benchmarks/table2.py --pong-steps 2000000 --pong-score 0   # A3C on Pong too

The paper's Table 2 gives, for each method, how much faster 2 to 16 threads reach a
fixed score than one thread does (averaged over seven Atari games, on a 16-core CPU).
Here, for each method on CartPole-v1, and each number of workers:

- **steps/s**: global agent steps per second of wall time (the run's own figure);
- **time to score**: seconds until the mean of the last 20 episodes first reaches
  ``--score`` (median over the seeds; a run that never gets there within ``--max-steps``
  counts as not reached);
- **speed-up**: the 1-worker figure over this one, for both; beside it, the paper's.

The speed-up can only grow with the workers while there is a core for each: on a
2-core machine only 1 and 2 workers mean anything. On a 16-core machine the whole
table is this one command (``--workers`` defaults to 1 to 16 where there are 16 cores).
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

from common import machine, markdown_table

#: The paper's Table 2 (Mnih et al., 2016): average training speed-up over seven Atari
#: games with 1, 2, 4, 8 and 16 threads, to reach a fixed reference score.
PAPER_SPEEDUP = {
    "q": {1: 1.0, 2: 3.0, 4: 6.3, 8: 13.3, 16: 24.1},
    "sarsa": {1: 1.0, 2: 2.8, 4: 5.9, 8: 13.1, 16: 22.1},
    "nstep-q": {1: 1.0, 2: 2.7, 4: 5.9, 8: 10.7, 16: 17.2},
    "a3c": {1: 1.0, 2: 2.1, 4: 3.7, 8: 6.9, 16: 12.5},
}
METHOD_NAMES = {"q": "1-step Q", "sarsa": "1-step Sarsa", "nstep-q": "n-step Q", "a3c": "A3C"}


def measure(algo, env_id, workers, seed, max_steps, score, settings) -> dict:
    from a3c_course import train

    result = train(algo, env_id, n_workers=workers, seed=seed, max_steps=max_steps,
                   stop_at_return=score, live="none", **settings)
    summary = result.summary()
    return {"steps_per_second": summary["steps_per_second"],
            "time_to_score": summary.get("solved_at_seconds"),
            "steps_to_score": summary.get("solved_at_step")}


def median_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def table_rows(algo, env_id, workers_list, seeds, max_steps, score, settings):
    measured = {}
    for workers in workers_list:
        runs = [measure(algo, env_id, workers, seed, max_steps, score, settings)
                for seed in range(seeds)]
        reached = [r for r in runs if r["time_to_score"] is not None]
        measured[workers] = dict(
            steps_per_second=statistics.median(r["steps_per_second"] for r in runs),
            time_to_score=median_or_none([r["time_to_score"] for r in runs]),
            steps_to_score=median_or_none([r["steps_to_score"] for r in runs]),
            reached=f"{len(reached)}/{seeds}")
        print(f"  {algo} {workers} workers: {measured[workers]}", file=sys.stderr, flush=True)
    base = measured[workers_list[0]]
    rows = []
    for workers in workers_list:
        m = measured[workers]
        speed = m["steps_per_second"] / base["steps_per_second"]
        to_score = (base["time_to_score"] / m["time_to_score"]
                    if m["time_to_score"] and base["time_to_score"] else None)
        paper = PAPER_SPEEDUP.get(algo, {}).get(workers)
        rows.append([f"{METHOD_NAMES.get(algo, algo)} ({env_id})", workers,
                     f"{m['steps_per_second']:,.0f}", f"{speed:.2f}",
                     _fmt(m["time_to_score"], "{:.1f}"), _fmt(m["steps_to_score"], "{:,.0f}"),
                     m["reached"], _fmt(to_score, "{:.2f}"), _fmt(paper, "{:.1f}")])
    return rows


def _fmt(value, form):
    return "-" if value is None else form.format(value)


def main():
    cores = os.cpu_count() or 1
    default_workers = [n for n in (1, 2, 4, 8, 16) if n <= max(2, cores)]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=default_workers)
    parser.add_argument("--methods", nargs="+", default=list(PAPER_SPEEDUP))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--score", type=float, default=195.0,
                        help="the fixed score on CartPole (mean of the last 20 episodes); "
                             "the value methods' mean is their behaviour policy's, which a "
                             "worker with epsilon 0.5 holds down: at 400 they reached it on "
                             "one or two seeds of three")
    parser.add_argument("--max-steps", type=int, default=500_000)
    parser.add_argument("--pong-steps", type=int, default=0,
                        help="also A3C on Pong with this budget per run (0: not)")
    parser.add_argument("--pong-score", type=float, default=0.0)
    parser.add_argument("--out", help="also write the table to this file")
    args = parser.parse_args()

    rows = []
    for algo in args.methods:
        rows += table_rows(algo, "CartPole-v1", args.workers, args.seeds, args.max_steps,
                           args.score, {})
    if args.pong_steps:
        rows += table_rows("a3c", "ALE/Pong-v5", args.workers, 1, args.pong_steps,
                           args.pong_score, {})
    header = ["method", "workers", "steps/s", "speed-up of steps/s", "time to score (s)",
              "steps to score", "seeds that reached it", "speed-up to score",
              "paper's speed-up (Table 2)"]
    text = (f"The paper's Table 2, measured: CartPole-v1 to a mean of {args.score:g} "
            f"(last 20 episodes), {args.seeds} seed(s), medians; {machine()}\n\n"
            + markdown_table(header, rows) + "\n\nThe paper's speed-ups are to a fixed score "
            "on seven Atari games with 1 to 16 threads of a 16-core CPU (its Table 2).\n")
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
