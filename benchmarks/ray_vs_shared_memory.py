"""Shared memory against Ray: steps/s, time to solve CartPole and staleness, side by side.

    python benchmarks/ray_vs_shared_memory.py                      # 2 workers, this machine
    python benchmarks/ray_vs_shared_memory.py --workers 4 8 16     # on a bigger machine
    python benchmarks/ray_vs_shared_memory.py --ray-address auto   # join a running cluster

For each number of workers and seed it trains A3C on CartPole-v1 to a mean of 475
through the command line, once with each backend, one right after the other (so that
both see the same load on a shared machine), and prints one row per run: the whole
process's time, Ray's cluster start-up, the workers' start-up, the time and step at
which it solved, its steps/s once running, and the measured staleness. The ratios
Ray / shared memory come last. ``--round-trips`` also times one update's round trip to
the parameter server for CartPole's network and for the Atari network (what sending
the weights costs).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine, markdown_table, median

BACKENDS = ("shared_memory", "ray")
START_RETRIES = 3


def train(backend, workers, seed, max_steps, stop_at_return, out, ray_address=None,
          time_limit=None):
    """One run of ``a3c-course train`` in a new process; its summary.json, plus
    ``process_seconds`` (the whole process: interpreter, imports, cluster, training)."""
    command = [sys.executable, "-m", "a3c_course", "train", "--algo", "a3c",
               "--env", "CartPole-v1", "--workers", str(workers), "--seed", str(seed),
               "--max-steps", str(max_steps), "--stop-at-return", str(stop_at_return),
               "--out", str(out), "--quiet", "--backend", backend]
    if ray_address and backend == "ray":
        command += ["--ray-address", ray_address]
    if time_limit:
        command += ["--time-limit", str(time_limit)]
    failed_starts = 0
    while True:
        start = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
        if done.returncode == 0:
            break
        if "a local Ray cluster did not start" in done.stderr and failed_starts < START_RETRIES:
            # Ray gives its raylet a fixed time to start; a busy machine can exceed it.
            failed_starts += 1
            print("(Ray's local cluster did not start; trying again)", file=sys.stderr)
            continue
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    summary = json.loads((Path(out) / "summary.json").read_text())
    summary["process_seconds"] = time.perf_counter() - start
    summary["failed_starts"] = failed_starts
    return summary


def row(summary):
    backend = summary.get("backend") or {}
    staleness = summary.get("staleness") or {}
    cluster = backend.get("cluster_start_seconds")
    return [
        backend.get("backend", "shared_memory"), summary["workers"], summary["seed"],
        _fmt(summary["process_seconds"]), _fmt(cluster) if cluster is not None else "-",
        summary.get("failed_starts", 0),
        _fmt(summary.get("startup_seconds")), _fmt(summary["solved_at_seconds"]),
        summary["solved_at_step"] or "-",
        f"{summary['steps_per_second_after_startup']:,.0f}",
        f"{staleness.get('mean', float('nan')):.2f}", staleness.get("p90", "-"),
        staleness.get("max", "-"),
    ]


def round_trips(repeats=200):
    """One update's cost at a parameter server, for CartPole's network and Atari's."""
    from a3c_course.engine.ray_backend.cluster import RayCluster
    from a3c_course.engine.ray_backend.round_trip import time_updates

    cluster = RayCluster(None, 1)
    cluster.connect()
    try:
        rows = []
        for env_id in ("CartPole-v1", "ALE/Pong-v5"):
            t = time_updates(env_id, repeats if env_id == "CartPole-v1" else repeats // 10)
            rows.append([env_id, f"{t['parameters']:,}", f"{t['megabytes']:.2f}",
                         f"{t['round_trip_ms']:.2f}", f"{t['server_ms']:.2f}",
                         f"{t['copy_ms']:.3f}"])
        return rows
    finally:
        cluster.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=500_000)
    parser.add_argument("--stop-at-return", type=float, default=475)
    parser.add_argument("--time-limit", type=float)
    parser.add_argument("--ray-address", help="join this cluster instead of starting one per run")
    parser.add_argument("--round-trips", action="store_true",
                        help="also time one update's round trip to a parameter server")
    parser.add_argument("--smoke", action="store_true", help="tiny budgets: checks it runs")
    args = parser.parse_args()
    if args.smoke:
        args.max_steps, args.seeds = 2_000, 1
    rows, by_backend = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in args.workers:
            for seed in range(args.seeds):
                for backend in BACKENDS:
                    out = Path(tmp) / f"{backend}_{workers}_{seed}"
                    summary = train(backend, workers, seed, args.max_steps, args.stop_at_return,
                                    out, args.ray_address, args.time_limit)
                    rows.append(row(summary))
                    print("row so far:", " | ".join(map(str, rows[-1])), flush=True)
                    by_backend.setdefault((workers, backend), []).append(summary)
    print(f"A3C on CartPole-v1 to {args.stop_at_return:g}, shared memory and Ray side by side "
          f"({machine()})\n")
    print(markdown_table(["backend", "workers", "seed", "whole process (s)",
                          "Ray cluster start (s)", "failed starts", "workers' start (s)", "solved at (s)",
                          "solved at (step)", "steps/s running", "staleness mean", "p90",
                          "max"], rows))
    ratios = []
    for workers in args.workers:
        shared = by_backend[(workers, "shared_memory")]
        ray_runs = by_backend[(workers, "ray")]
        ratios.append([
            workers,
            _ratio(median([s["steps_per_second_after_startup"] for s in ray_runs]),
                   median([s["steps_per_second_after_startup"] for s in shared])),
            _ratio(median([s["solved_at_seconds"] for s in ray_runs]),
                   median([s["solved_at_seconds"] for s in shared])),
            _ratio(median([s["process_seconds"] for s in ray_runs]),
                   median([s["process_seconds"] for s in shared])),
        ])
    print("\nRay / shared memory (medians over seeds):\n")
    print(markdown_table(["workers", "steps/s running", "time to solve",
                          "whole process"], ratios))
    if args.round_trips:
        print("\nOne update's round trip to a parameter server (gradient there, weights "
              "back), against copying the weights in memory:\n")
        print(markdown_table(["network of", "parameters", "weights (MB)", "round trip (ms)",
                              "server's work (ms)", "memory copy (ms)"], round_trips()))


def _ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def _fmt(x):
    return "-" if x is None else f"{x:.1f}"


if __name__ == "__main__":
    main()
