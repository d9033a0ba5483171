"""Resident memory (RSS) of the parent and of each worker over a long CartPole run.

    python benchmarks/memory_rss.py [--steps 2000000] [--workers 2]

A thread samples the RSS of this process (the parent) and of every process below it
once a second while ``train()`` runs A3C on CartPole-v1. The table gives each one's
peak, its RSS at the end of warm-up (the first 10% of the run: imports, the first
allocations of PyTorch's caches) and at the end, and the growth between the two.
Growth would come from something kept per step or per episode: the results queue
backing up, an episode log kept twice, tensors kept alive by a reference.
"""

import argparse
import os
import threading
import time

import psutil
from common import machine, markdown_table

from a3c_course import train

WARM_UP_FRACTION = 0.1


def sample_tree(samples, stop, interval):
    """Append ``(seconds, pid, rss_bytes)`` for this process and its descendants."""
    me = psutil.Process(os.getpid())
    start = time.monotonic()
    while not stop.wait(interval):
        now = time.monotonic() - start
        for process in [me] + me.children(recursive=True):
            try:
                samples.append((now, process.pid, process.memory_info().rss))
            except psutil.NoSuchProcess:
                pass


def measure(steps=2_000_000, workers=2, interval=1.0):
    """Run A3C on CartPole for ``steps``; return the result and ``{role: stats}``."""
    samples, stop = [], threading.Event()
    sampler = threading.Thread(target=sample_tree, args=(samples, stop, interval), daemon=True)
    sampler.start()
    try:
        result = train("a3c", "CartPole-v1", n_workers=workers, seed=0, max_steps=steps,
                       live="none")
    finally:
        stop.set()
        sampler.join()
    roles = {os.getpid(): "parent"}
    roles.update({w["pid"]: f"worker {w['worker']}" for w in result.workers})
    end = max((t for t, _, _ in samples), default=0.0)
    stats = {}
    for pid, role in roles.items():
        series = [(t, rss) for t, p, rss in samples if p == pid]
        if not series:
            continue
        after_warm_up = [rss for t, rss in series if t >= WARM_UP_FRACTION * end]
        warm, last = after_warm_up[0], after_warm_up[-1]
        stats[role] = {"peak": max(rss for _, rss in series), "warm": warm, "end": last,
                       "growth": (last - warm) / warm}
    return result, stats


def table(result, stats) -> str:
    mib = 2**20
    rows = [[role, f"{s['peak'] / mib:.0f}", f"{s['warm'] / mib:.0f}", f"{s['end'] / mib:.0f}",
             f"{s['growth']:+.1%}"] for role, s in stats.items()]
    header = (f"A3C on CartPole-v1, {len(result.workers)} workers, {result.total_steps:,} "
              f"steps, {len(result.episodes):,} episodes, {result.wall_seconds:.0f} s\n\n")
    return header + markdown_table(
        ["process", "peak RSS (MiB)", "after warm-up (MiB)", "at the end (MiB)",
         "growth after warm-up"], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2_000_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    result, stats = measure(args.steps, args.workers)
    print(f"({machine()})\n")
    print(table(result, stats))


if __name__ == "__main__":
    main()
