"""Frames per second of A3C on Atari, against the bare limit of the same machine.

    python benchmarks/atari_throughput.py [--env ALE/Pong-v5] [--workers 2] [--steps 40000]
        [--envs-per-worker K ...]

The *bare limit* is what ``--workers`` processes do when they only play: each steps
its own preprocessed environment (one game) and runs one forward pass of the paper's
network per step to choose the action, and nothing else (no learning). A3C does all that and also
learns (a batched forward and backward pass per rollout, the shared optimizer step,
the copy of the shared weights), so it can only reach a fraction of the limit.

A3C runs with the Atari default of games per worker (``envs_per_worker``: each worker
steps several games in ale-py's C++ vector environment and acts in all of them with
one batched forward pass) and, side by side, with one game per worker as before; a
worker with several games can pass the single-game bare limit, since its forward
passes are batched and its emulators are stepped in C++.

All are measured here, one after the other, in the same conditions; the ratios are
the figures to compare across machines. The target of the course is 3,000 frames/s
(750 agent steps/s) for A3C with 2 workers on a 2-core machine.

A3C's rate is the run's own ``frames_per_second`` (summary.json): global steps times
the frame skip, over the wall time from the start of the workers to their stop, so it
includes starting the workers. The *steady* rate leaves that out: global steps between
the first and the last finished game, over the time between them.

The machine's load changes both figures; the ratio of the two, measured side by side,
changes much less. On a machine busy with other work even that ratio is noise (the
bare processes and the workers get different shares of the cores at different
moments), so the ratio is also given *per CPU second*: A3C's frames over its workers'
CPU time, against the bare processes' frames over theirs. It is what the wall-clock
ratio becomes when each process has a core to itself, as on the quiet machine. ``benchmarks/atari_profile.py`` shows where a worker's time goes.
"""

import argparse
import multiprocessing
import resource
import sys
import time

import numpy as np
import torch
from common import machine, markdown_table, parse_settings

TARGET_FRAMES_PER_SECOND = 3_000


def play_only(env_id, seed, steps, out):
    """One process of the bare limit: act with the network, step the emulator, nothing else."""
    from a3c_course.envs import ATARI_FRAME_SKIP, make_env
    from a3c_course.paper.models import build_model, model_spec

    torch.set_num_threads(1)
    env = make_env(env_id, seed=seed)
    model = build_model(model_spec(env.observation_space, env.action_space, "actor_critic"))
    obs, _ = env.reset()
    start, cpu_start = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for _ in range(steps):
            logits, _, _ = model(torch.from_numpy(obs).unsqueeze(0))
            action = int(torch.multinomial(torch.softmax(logits[0], -1), 1))
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                obs, _ = env.reset()
    out.put((steps * ATARI_FRAME_SKIP / (time.perf_counter() - start),
             steps * ATARI_FRAME_SKIP / (time.process_time() - cpu_start)))
    env.close()


def bare_limit(env_id, workers, steps) -> tuple[float, float]:
    """Frames/s of ``workers`` processes that only play, side by side (summed), and frames
    per CPU second of one of them (their mean)."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    processes = [ctx.Process(target=play_only, args=(env_id, i, steps, out)) for i in range(workers)]
    for p in processes:
        p.start()
    rates = [out.get() for _ in processes]
    for p in processes:
        p.join()
    return float(sum(r[0] for r in rates)), float(np.mean([r[1] for r in rates]))


def a3c_rate(env_id, workers, steps, settings) -> dict:
    """The run's summary, plus ``steady_frames_per_second``: the rate between the first
    and the last finished episode, which leaves out starting and stopping the workers;
    and ``frames_per_cpu_second``: frames over the CPU time of the workers, per worker
    (what one worker would do with a core of its own, whatever else the machine runs)."""
    from a3c_course import train

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # fork: the workers are this process's children, so their CPU time is counted.
    result = train("a3c", env_id, n_workers=workers, seed=0, max_steps=steps, live="none",
                   start_method="fork", **settings)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = result.summary()
    summary["frames_per_cpu_second"] = result.steps_this_run * result.frames_per_step / cpu * workers
    if len(result.episodes) < 3:  # too few games ended for a steady rate
        return summary
    first, last = result.episodes[0], result.episodes[-1]
    if last.wall_seconds > first.wall_seconds:
        steps_between = last.global_step - first.global_step
        summary["steady_frames_per_second"] = (steps_between * result.frames_per_step
                                               / (last.wall_seconds - first.wall_seconds))
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="ALE/Pong-v5")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=40_000, help="A3C global steps per run")
    parser.add_argument("--bare-steps", type=int, default=4_000, help="steps per bare process")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--envs-per-worker", type=int, action="append", default=None,
                        metavar="K", help="games per worker of the A3C runs (repeatable; "
                        "default: the Atari default and 1, side by side)")
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        metavar="NAME=VALUE", help="an A3C hyperparameter, e.g. t_max=20")
    args = parser.parse_args()
    settings = parse_settings(args.settings)
    from a3c_course.config import default_hyperparameters

    default_k = default_hyperparameters("atari", "a3c", **settings).envs_per_worker
    ks = args.envs_per_worker or sorted({default_k, 1}, reverse=True)

    rows = []
    for _ in range(args.repeats):
        # Alternate them so that a change in the machine's load hits all alike.
        limit, limit_cpu = bare_limit(args.env, args.workers, args.bare_steps)
        for k in ks:
            summary = a3c_rate(args.env, args.workers, args.steps,
                               {**settings, "envs_per_worker": k})
            frames = summary["frames_per_second"]
            steady = summary.get("steady_frames_per_second", float("nan"))
            cpu_ratio = summary["frames_per_cpu_second"] / args.workers / limit_cpu
            rows.append((limit, k, frames, steady, summary["hyperparameters"]["t_max"], cpu_ratio))
            print(f"  bare limit {limit:,.0f} frames/s; {k} games per worker: A3C {frames:,.0f} "
                  f"frames/s, ratio {frames / limit:.2f}; per CPU second {cpu_ratio:.2f}",
                  file=sys.stderr, flush=True)

    table = [[f"{limit:,.0f}", k, t_max, f"{frames:,.0f}", f"{frames / 4:,.0f}", f"{steady:,.0f}",
              f"{frames / limit:.2f}", f"{steady / limit:.2f}", f"{cpu_ratio:.2f}"]
             for limit, k, frames, steady, t_max, cpu_ratio in rows]
    print(f"A3C on {args.env}, {args.workers} workers, {args.steps:,} steps per run ({machine()})\n")
    print(markdown_table(["bare limit frames/s", "games per worker", "t_max", "A3C frames/s",
                          "A3C agent steps/s", "A3C steady frames/s", "ratio", "steady ratio",
                          "ratio per CPU second"], table))
    print()
    for k in ks:
        ratios = [row[2] / row[0] for row in rows if row[1] == k]
        cpu = [row[5] for row in rows if row[1] == k]
        print(f"{k} game(s) per worker: ratio to the single-game bare limit, median "
              f"{np.median(ratios):.2f} (best {max(ratios):.2f}); per CPU second, median "
              f"{np.median(cpu):.2f}")
    if len(ks) > 1:
        by_k = {k: np.median([row[2] for row in rows if row[1] == k]) for k in ks}
        by_cpu = {k: np.median([row[5] for row in rows if row[1] == k]) for k in ks}
        print(f"{ks[0]} games per worker against 1: {by_k[ks[0]] / by_k[ks[-1]]:.2f} times the "
              f"frames/s, {by_cpu[ks[0]] / by_cpu[ks[-1]]:.2f} times the frames per CPU second "
              f"(medians, measured side by side)")
    frames = max(row[2] for row in rows)
    verdict = "meets" if frames >= TARGET_FRAMES_PER_SECOND else "is below"
    print(f"\nbest A3C rate {frames:,.0f} frames/s {verdict} the target of "
          f"{TARGET_FRAMES_PER_SECOND:,} frames/s.")


if __name__ == "__main__":
    main()
