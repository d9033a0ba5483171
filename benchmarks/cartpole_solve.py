"""Time for A3C with 2 workers to solve CartPole-v1 (mean of the last 20 episodes >= 475).

    python benchmarks/cartpole_solve.py [--seeds 5] [--workers 2]

Runs the command-line trainer (the contract of design.md), one seed after another,
and prints a Markdown table of solve times and steps with their medians.
"""

import argparse
import tempfile
from pathlib import Path

from common import machine, markdown_table, median, train_with_cli


def run(seed, workers, out):
    return train_with_cli("CartPole-v1", workers, seed, 500_000, 475, out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rows, times, steps = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            s = run(seed, args.workers, Path(tmp) / f"seed{seed}")
            times.append(s["solved_at_seconds"])
            steps.append(s["solved_at_step"])
            rows.append([seed, s["solved"], _fmt(s["solved_at_seconds"]), s["solved_at_step"],
                         f"{s['process_seconds']:.1f}", f"{s['steps_per_second']:,.0f}"])
    rows.append(["median", "", _fmt(median(times)), median(steps), "", ""])
    print(f"A3C, {args.workers} workers, CartPole-v1 to 475 ({machine()})\n")
    print(markdown_table(["seed", "solved", "solved at (s)", "solved at (step)",
                          "whole process (s)", "steps/s"], rows))


def _fmt(x):
    return "-" if x is None else f"{x:.1f}"


if __name__ == "__main__":
    main()
