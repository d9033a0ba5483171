"""Memory in a maze: recurrent A3C against feed-forward A3C on a MiniGrid Memory task.

    python benchmarks/minigrid_memory.py [--env MiniGrid-MemoryS11FacingCue-v0]
        [--workers 2] [--seed 0] [--steps 520000] [--max-steps 2000000]
        [--env-kwarg random_split=True ...] [--set lr=1e-3 ...] [--keep DIR]
        [--plot docs/minigrid_memory.png] [--csv notebooks/data/minigrid_memory.csv]
    python benchmarks/minigrid_memory.py --from RUN_DIR [RUN_DIR ...] [--plot FILE]

Trains twice, one run after the other, with the same seed and budget: once with an
LSTM after the trunk (``recurrent=True``), once without. Each run has the learning-rate
schedule of a ``max_steps`` budget (the issue's 2,000,000 steps, over which the rate
falls to 0) and is stopped after ``--steps`` global steps. It prints a Markdown table
(final mean return, the step at which the mean of 100 episodes first reached 0.8);
``--plot`` draws both learning curves on one figure, and ``--csv`` writes them, every
2,000 steps, for notebook 9 to show beside its shorter live runs. ``--env-kwarg``
changes the maze (``a3c_course/mazes.py``: ``random_split``, ``start_x``, ``size``).
``--from`` reads run folders written earlier (by ``--keep``, ``a3c-course train
--out`` or ``RunResult.save``) instead of training.

At the split of the Memory maze the cue is out of sight and the view is the same
whichever it was, so an agent without memory is right half the time: its mean return
stays near 0.49, half of a success's 0.98 to 0.99. The course asks for a recurrent
mean return of at least 0.8 within 2,000,000 steps with 2 workers.
"""

import argparse
import csv
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import machine, markdown_table

from a3c_course import train
from a3c_course.live.monitors import Monitor
from a3c_course.live.plots import moving_average
from a3c_course.runs.result import load_run

DEFAULT_ENV = "MiniGrid-MemoryS11FacingCue-v0"
TARGET = 0.8
WINDOW = 100  # episodes are a few steps long: 20 of them are a noisy mean
CSV_EVERY = 2_000
CHANCE = 0.49  # right half the time, each success worth 0.98 to 0.99


class StopAfter(Monitor):
    """Stops a run after ``steps`` global steps, whatever its ``max_steps``."""

    def __init__(self, steps):
        self.steps = steps

    def update(self, global_step, episodes, elapsed_seconds):
        if global_step >= self.steps:
            self.stop_requested = True


def train_and_save(recurrent, args, out):
    settings, env_kwargs = _pairs(args.settings), _pairs(args.env_kwargs)
    result = train("a3c", args.env, n_workers=args.workers, seed=args.seed,
                   max_steps=args.max_steps, live=StopAfter(args.steps),
                   recurrent=recurrent, env_kwargs=env_kwargs, **settings)
    print(f"{'recurrent' if recurrent else 'feed-forward'}: {result}", file=sys.stderr, flush=True)
    return result.save(out)


def _pairs(texts):
    """["lr=1e-3", "random_split=True"] -> {"lr": 0.001, "random_split": True}."""
    return {name: _value(value) for name, value in (text.split("=", 1) for text in texts)}


def _value(text):
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def describe(folder):
    """Label, steps, episode steps and returns, and a table row for one run folder."""
    run = load_run(folder)
    returns = run.returns
    steps = run.column("global_step") if run.episodes else np.array([])
    smooth = moving_average(returns, WINDOW)
    reached = np.flatnonzero((smooth >= TARGET) & (np.arange(len(returns)) >= WINDOW - 1))
    label = "recurrent" if run.model.spec.get("lstm_size") else "feed-forward"
    final = float(returns[-WINDOW:].mean()) if len(returns) else float("nan")
    row = [label, Path(folder).name, run.env_id, f"{run.total_steps:,}", f"{run.wall_seconds:.0f}",
           f"{run.steps_per_second:,.0f}", f"{final:.2f}",
           f"{steps[reached[0]]:,}" if len(reached) else "-"]
    return label, run, steps, smooth, row


def plot(runs, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for label, _, steps, smooth, _ in runs:
        ax.plot(steps[WINDOW - 1:], smooth[WINDOW - 1:], label=label)  # full windows only
    ax.axhline(CHANCE, color="grey", linestyle=":", linewidth=1,
               label="right half the time (no memory)")
    ax.axhline(TARGET, color="grey", linestyle="--", linewidth=1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("global step")
    ax.set_ylabel(f"episode return (mean of {WINDOW})")
    envs = sorted({run.env_id for _, run, *_ in runs})
    workers = sorted({run.n_workers for _, run, *_ in runs})
    ax.set_title(f"A3C on {', '.join(envs)}, {'/'.join(map(str, workers))} workers")
    ax.legend(loc="best")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    print(f"wrote {path}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=DEFAULT_ENV)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=520_000,
                        help="global steps after which each run stops")
    parser.add_argument("--max-steps", type=int, default=2_000_000,
                        help="the budget whose schedule the learning rate follows")
    parser.add_argument("--env-kwarg", dest="env_kwargs", action="append", default=[],
                        metavar="NAME=VALUE",
                        help="for the maze, e.g. random_split=True, start_x=4, size=7 (repeatable)")
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        metavar="NAME=VALUE", help="a hyperparameter for both runs (repeatable)")
    parser.add_argument("--keep", metavar="DIR", help="keep the run folders in DIR")
    parser.add_argument("--from", dest="folders", nargs="+", metavar="RUN_DIR",
                        help="plot and tabulate these run folders instead of training")
    parser.add_argument("--plot", metavar="FILE", help="save both curves to this PNG")
    parser.add_argument("--csv", metavar="FILE",
                        help="write both curves (mean of 100 episodes, every 2,000 steps)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.folders:
            folders = args.folders
        else:
            base = Path(args.keep or tmp)
            folders = [train_and_save(recurrent, args, base / name)
                       for recurrent, name in ((True, "recurrent"), (False, "feed_forward"))]
        runs = [describe(folder) for folder in folders]
    print(f"A3C on a MiniGrid Memory maze, mean return of the last {WINDOW} episodes "
          f"({machine()})\n")
    kinds = [r[0] for r in runs]
    runs = [(f"{r[0]} ({Path(f).name})" if kinds.count(r[0]) > 1 else r[0], *r[1:])
            for r, f in zip(runs, folders)]
    print(markdown_table(["agent", "run", "env", "steps", "seconds", "steps/s",
                          "final mean return", f"mean of {WINDOW} >= {TARGET} at (step)"],
                         [run[-1] for run in runs]))
    if args.plot:
        plot(runs, args.plot)
    if args.csv:
        write_csv(runs, args.csv)


def write_csv(runs, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["agent", "global_step", f"mean_return_{WINDOW}"])
        for label, _, steps, smooth, _ in runs:
            for at in range(CSV_EVERY, int(steps[-1]) + 1, CSV_EVERY):
                index = np.searchsorted(steps, at, side="right") - 1
                if index >= 0:
                    writer.writerow([label, at, f"{smooth[index]:.3f}"])
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
