"""Throughput of the trainer with 1, 2, ... workers on the same budget.

    python benchmarks/worker_scaling.py [--workers 1 2] [--steps 200000] [--algo a3c]
    python benchmarks/worker_scaling.py --workers 2 --compare-with /tmp/before [--repeats 6]

Each configuration trains A3C on CartPole-v1 for the same number of global steps;
steps/s is measured from the run's own clock (workers started to workers stopped), and
the ratio to 1 worker is what the paper's Table 2 calls speedup in throughput.

``--compare-with DIR`` measures a change of the worker loop: the same runs, alternating
between the package in DIR (another checkout, e.g. ``git worktree add --detach /tmp/before
main``) and this one, each in a fresh process, so that both see the same machine at
nearly the same time. Speed there is counted from the first to the last finished
episode, which leaves the workers' start-up out of both; and as the workers' CPU time
per step, which other programs on a busy machine disturb far less than wall-clock speed.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from common import machine, markdown_table

from a3c_course import train

HERE = Path(__file__).resolve().parent.parent

RUN_IN_TREE = """
import json, resource, sys
from a3c_course import train
# fork: the workers are this process's children, so their CPU time is counted below.
result = train(sys.argv[1], "CartPole-v1", n_workers=int(sys.argv[2]), seed=int(sys.argv[3]),
               max_steps=int(sys.argv[4]), live="none", start_method="fork")
first, last = result.episodes[0], result.episodes[-1]
workers = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"steps_per_second": result.steps_per_second,
                  "after_startup": (last.global_step - first.global_step)
                                   / (last.wall_seconds - first.wall_seconds),
                  "cpu_us_per_step": (workers.ru_utime + workers.ru_stime)
                                     / result.total_steps * 1e6}))
"""


def measure_rates(workers=(1, 2), steps=200_000, repeats=2, algo="a3c", env_id="CartPole-v1"):
    """``{n_workers: [steps/s of each repeat]}``, the configurations alternating."""
    rates = {}
    for _ in range(repeats):
        for n in workers:
            result = train(algo, env_id, n_workers=n, seed=0, max_steps=steps, live="none")
            rates.setdefault(n, []).append(result.steps_per_second)
    return rates


def rate_in_tree(tree, algo, workers, seed, steps):
    """Steps/s of one run of the package in ``tree``, in a process of its own."""
    done = subprocess.run([sys.executable, "-c", RUN_IN_TREE, algo, str(workers), str(seed),
                           str(steps)], env={**os.environ, "PYTHONPATH": str(tree)},
                          capture_output=True, text=True, check=True, cwd=tree)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(before, workers, steps, repeats, algo):
    """Alternating runs of the package in ``before`` and in this checkout."""
    trees = {"before": Path(before).resolve(), "this": HERE}
    runs = {name: [] for name in trees}
    for i in range(repeats):
        order = list(trees) if i % 2 == 0 else list(reversed(trees))
        for name in order:
            runs[name].append(rate_in_tree(trees[name], algo, workers, i, steps))
            print(f"run {i + 1}/{repeats}, {name}: {runs[name][-1]['after_startup']:,.0f} steps/s, "
                  f"{runs[name][-1]['cpu_us_per_step']:.0f} CPU us/step", file=sys.stderr, flush=True)
    rows = []
    for name, measured in runs.items():
        rates = [m["after_startup"] for m in measured]
        cpu = [m["cpu_us_per_step"] for m in measured]
        rows.append([f"{name} ({trees[name]})", f"{statistics.median(rates):,.0f}",
                     ", ".join(f"{r:,.0f}" for r in rates),
                     f"{statistics.median(m['steps_per_second'] for m in measured):,.0f}",
                     f"{statistics.median(cpu):.0f}", ", ".join(f"{c:.0f}" for c in cpu)])
    ratios = [t["after_startup"] / b["after_startup"] for b, t in zip(runs["before"], runs["this"])]
    cpu_ratios = [t["cpu_us_per_step"] / b["cpu_us_per_step"]
                  for b, t in zip(runs["before"], runs["this"])]
    print(f"{algo} on CartPole-v1, {workers} workers, {steps:,} steps, {repeats} runs each, "
          f"alternating ({machine()})\n")
    print(markdown_table(["package", "steps/s after start-up (median)", "each run",
                          "steps/s with start-up (median)", "workers' CPU us/step (median)",
                          "each run"], rows))
    print(f"\nsteps/s, this / before, run by run: {', '.join(f'{r:.3f}' for r in ratios)}; "
          f"median {statistics.median(ratios):.3f}")
    print(f"CPU time per step, this / before, run by run: "
          f"{', '.join(f'{r:.3f}' for r in cpu_ratios)}; median {statistics.median(cpu_ratios):.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--algo", default="a3c")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--compare-with", metavar="DIR",
                        help="another checkout of the package to measure against, run by run")
    args = parser.parse_args()
    if args.compare_with:
        compare(args.compare_with, args.workers[-1], args.steps, args.repeats, args.algo)
        return
    rates = measure_rates(args.workers, args.steps, args.repeats, args.algo, args.env)
    base = max(rates[args.workers[0]])
    rows = [[n, f"{max(r):,.0f}", f"{max(r) / base:.2f}x"] for n, r in rates.items()]
    print(f"{args.algo} on {args.env}, {args.steps:,} steps, best of {args.repeats} ({machine()})\n")
    print(markdown_table(["workers", "steps/s", f"vs {args.workers[0]} worker"], rows))


if __name__ == "__main__":
    main()
