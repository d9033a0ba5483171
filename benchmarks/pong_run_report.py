"""The learning curve of a long Atari run, as a PNG, with its summary, for the docs.

    python benchmarks/pong_run_report.py runs/pong [--docs docs]

Reads the run folder that ``a3c-course train --out runs/pong`` writes (and keeps
writing while it trains), and writes:

- ``docs/pong_curve.png``: the game score against agent steps and against hours;
- ``docs/pong_run/summary.json`` and ``episodes.csv``: copies of the run's own files
  (notebook 7 plots the curve from them);

and prints the figures the README quotes: workers, steps, hours, the mean return of
the first and the last 20 games, and where the mean first reached 0.
"""

import argparse
import json
import os
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from a3c_course.live.plots import moving_average  # noqa: E402
from a3c_course.runs.result import read_episodes  # noqa: E402

WINDOW = 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--docs", type=Path, default=Path("docs"))
    parser.add_argument("--score", type=float, action="append", default=None,
                        help="report when the mean of 20 games first reached this score "
                             "(repeatable; default 0 and 18)")
    args = parser.parse_args()

    summary = json.loads((args.run / "summary.json").read_text())
    episodes = read_episodes(args.run)
    steps = np.array([e.global_step for e in episodes])
    hours = np.array([e.wall_seconds for e in episodes]) / 3600
    returns = np.array([e.episode_return for e in episodes])
    mean = moving_average(returns, WINDOW)
    full = np.arange(len(mean)) >= WINDOW - 1  # a mean over a whole window

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, x, label in ((axes[0], steps / 1e6, "agent steps (millions; 4 frames each)"),
                         (axes[1], hours, "hours of training")):
        ax.plot(x, returns, ".", alpha=0.2, markersize=3, label="games")
        ax.plot(x, mean, label=f"mean of the last {WINDOW}")
        ax.axhline(0, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel(label)
    axes[0].set_ylabel("game score")
    axes[0].legend(loc="upper left")
    fig.suptitle(f"A3C on {summary['env_id']}, {summary['workers']} workers "
                 f"(feed-forward network of the paper)")
    fig.tight_layout()
    args.docs.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.docs / "pong_curve.png", dpi=100)

    copy = args.docs / "pong_run"
    copy.mkdir(parents=True, exist_ok=True)
    for name in ("summary.json", "episodes.csv", "progress.csv"):
        if (args.run / name).exists():
            shutil.copyfile(args.run / name, copy / name)

    print(f"workers {summary['workers']}, {steps[-1]:,} agent steps, {hours[-1]:.1f} hours, "
          f"{len(episodes)} games")
    print(f"mean of the first {WINDOW}: {returns[:WINDOW].mean():.1f}; of the last {WINDOW}: "
          f"{returns[-WINDOW:].mean():.1f}")
    frames_per_step = summary.get("frames_per_step", 4)
    cores = os.cpu_count() or 1
    for score in args.score or [0.0, 18.0]:
        reached = np.nonzero(full & (mean >= score))[0]
        if not len(reached):
            print(f"the mean of {WINDOW} games has not reached {score:g} yet")
            continue
        i = reached[0]
        print(f"mean of {WINDOW} first >= {score:g} at game {i + 1}: {hours[i]:.2f} hours "
              f"({hours[i] * 60:.0f} min), {steps[i]:,} agent steps, "
              f"{steps[i] * frames_per_step:,} frames; {hours[i] * cores:.1f} core-hours "
              f"on {cores} cores")
    print("the paper: A3C FF reached 11.4 on Pong after 1 day on 16 CPU cores "
          "(384 core-hours, human starts)")


if __name__ == "__main__":
    main()
