"""Steps and time for A3C's Gaussian policy to balance InvertedPendulum-v5 (mean of 20 >= 950).

    python benchmarks/inverted_pendulum_solve.py [--seeds 5] [--workers 2]
        [--max-steps 400000] [--set lr=1e-4 ...] [--keep DIR]

Runs the command-line trainer (the contract of design.md), one seed after another,
with the continuous-control defaults of ``config.FAMILY_DEFAULTS["continuous"]``
unless ``--set`` overrides them, and prints a Markdown table of the step and the
time at which each seed reached a mean return of 950 over its last 20 episodes.
The acceptance criterion is 950 within 400,000 steps for most seeds.
"""

import argparse
import sys
import tempfile
from pathlib import Path

from common import machine, markdown_table, median, train_with_cli

ENV_ID = "InvertedPendulum-v5"
TARGET = 950


def run(seed, args, out):
    return train_with_cli(ENV_ID, args.workers, seed, args.max_steps, TARGET, out, args.settings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=400_000)
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        metavar="NAME=VALUE", help="a hyperparameter for every run (repeatable)")
    parser.add_argument("--keep", metavar="DIR", help="keep the run folders in DIR")
    args = parser.parse_args()
    rows, times, steps, solved = [], [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            s = run(seed, args, folder / f"seed{seed}")
            solved += bool(s["solved"])
            times.append(s["solved_at_seconds"])
            steps.append(s["solved_at_step"])
            rows.append([seed, s["solved"], _fmt(s["solved_at_step"], ","),
                         _fmt(s["solved_at_seconds"]), f"{s['final_mean_return']:.0f}",
                         f"{s['steps_per_second']:,.0f}"])
            print(f"seed {seed}: solved={s['solved']} at step {s['solved_at_step']} "
                  f"({_fmt(s['solved_at_seconds'])} s)", file=sys.stderr, flush=True)
    rows.append(["median", f"{solved}/{args.seeds}", _fmt(median(steps), ","),
                 _fmt(median(times)), "", ""])
    extra = f", settings {' '.join(args.settings)}" if args.settings else ""
    print(f"A3C (Gaussian policy), {args.workers} workers, {ENV_ID} to {TARGET} within "
          f"{args.max_steps:,} steps{extra} ({machine()})\n")
    print(markdown_table(["seed", "solved", "solved at (step)", "solved at (s)",
                          "final mean return", "steps/s"], rows))


def _fmt(x, style=".1f"):
    if x is None:
        return "-"
    return f"{x:,.0f}" if style == "," else f"{x:.1f}"


if __name__ == "__main__":
    main()
