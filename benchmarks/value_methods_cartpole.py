"""The paper's value-based methods on CartPole-v1: steps and time to a mean return of 400.

    python benchmarks/value_methods_cartpole.py [--seeds 0 1 2] [--algos q sarsa nstep-q]

For each method and seed, 2 workers train for at most 400,000 global steps and stop
once the mean return of the last 20 episodes (all workers, in the order they finished)
reaches 400. The table gives each worker's final epsilon (drawn from the paper's
{0.1, 0.01, 0.5} with probabilities {0.4, 0.3, 0.3}), when 400 was reached, and the
greedy return of the final Q-network averaged over 20 evaluation episodes.

Why both: the episode log is the *behaviour* policy's, exploration included. A worker
whose epsilon ends at 0.5 acts at random half of the time, and on CartPole even a
near-perfect controller then averages about 200 steps per episode; a seed with such a
worker cannot reach 400 in its log however well the network has learned. The greedy
evaluation shows what the shared network learned.
"""

import argparse

import numpy as np
from common import machine, markdown_table

from a3c_course import train
from a3c_course.runs.watch import play_episode


def greedy_return(result, episodes=20):
    return float(np.mean([play_episode(result, seed=10_000 + i, greedy=True, record=False).total_return
                          for i in range(episodes)]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--algos", nargs="+", default=["q", "sarsa", "nstep-q"])
    parser.add_argument("--max-steps", type=int, default=400_000)
    args = parser.parse_args()
    rows = []
    for algo in args.algos:
        for seed in args.seeds:
            result = train(algo, "CartPole-v1", n_workers=2, seed=seed, max_steps=args.max_steps,
                           stop_at_return=400, live="none")
            s = result.summary()
            epsilons = ", ".join(f"{w['final_epsilon']:g}" for w in result.workers)
            rows.append([algo, seed, epsilons, "yes" if s["solved"] else "no",
                         s["solved_at_step"] or "-",
                         "-" if s["solved_at_seconds"] is None else f"{s['solved_at_seconds']:.0f}",
                         f"{s['final_mean_return']:.0f}", f"{greedy_return(result):.0f}",
                         f"{s['steps_per_second']:,.0f}"])
            print(" | ".join(map(str, rows[-1])), flush=True)
    print(f"\nCartPole-v1, 2 workers, stop at a mean of 400 over 20 episodes ({machine()})\n")
    print(markdown_table(["method", "seed", "final epsilons", "reached 400", "at step",
                          "at second", "last-20 mean", "greedy return", "steps/s"], rows))


if __name__ == "__main__":
    main()
