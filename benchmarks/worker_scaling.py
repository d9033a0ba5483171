"""Throughput of the trainer with 1, 2, ... workers on the same budget.

    python benchmarks/worker_scaling.py [--workers 1 2] [--steps 200000] [--algo a3c]

Each configuration trains A3C on CartPole-v1 for the same number of global steps;
steps/s is measured from the run's own clock (workers started to workers stopped), and
the ratio to 1 worker is what the paper's Table 2 calls speedup in throughput.
"""

import argparse

from common import machine, markdown_table

from a3c_course import train


def measure_rates(workers=(1, 2), steps=200_000, repeats=2, algo="a3c", env_id="CartPole-v1"):
    """``{n_workers: [steps/s of each repeat]}``, the configurations alternating."""
    rates = {}
    for _ in range(repeats):
        for n in workers:
            result = train(algo, env_id, n_workers=n, seed=0, max_steps=steps, live="none")
            rates.setdefault(n, []).append(result.steps_per_second)
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--algo", default="a3c")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    rates = measure_rates(args.workers, args.steps, args.repeats, args.algo, args.env)
    base = max(rates[args.workers[0]])
    rows = [[n, f"{max(r):,.0f}", f"{max(r) / base:.2f}x"] for n, r in rates.items()]
    print(f"{args.algo} on {args.env}, {args.steps:,} steps, best of {args.repeats} ({machine()})\n")
    print(markdown_table(["workers", "steps/s", f"vs {args.workers[0]} worker"], rows))


if __name__ == "__main__":
    main()
