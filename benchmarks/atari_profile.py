"""Where a worker's time goes on Atari: one A3C worker loop, run in this process, by phase.

    python benchmarks/atari_profile.py [--env ALE/Pong-v5] [--steps 4000] [--set t_max=20]
    python benchmarks/atari_profile.py --cprofile     # and the top functions, by own time

The worker is :class:`a3c_course.engine.worker.WorkerLoop`, exactly as a training process runs
it, but in this process (one thread, as in a worker) with its shared model and
optimizer, so that each phase can be timed:

- emulator: ``env.step``/``env.reset`` (the ALE, frame skip and max, resize, stacking);
- act: one forward pass of the network per step and the sampling of the action;
- loss: the batched forward pass over the rollout and the loss arithmetic;
- backward, gradient clipping, optimizer step, copy of the shared weights;
- other: the loop itself (rollout bookkeeping, counting steps).

Times are CPU time of this process (``time.process_time``), which a busy machine
inflates less than wall time. The *bare limit* of a worker is emulator + act: what it
would cost to only play; its share of the total is the best ratio of A3C's frames/s
to the bare limit that this loop could reach.
"""

import argparse
import cProfile
import pstats
import time
from collections import defaultdict

import cloudpickle
import torch
from common import machine, markdown_table, parse_settings

from a3c_course.engine.plan import make_plan
from a3c_course.engine.shared import build_shared_state
from a3c_course.engine.worker import WorkerLoop

PHASES = ("emulator", "act", "loss", "backward", "clip", "optimizer", "weight copy")


def in_process_worker(algo, env_id, max_steps, settings) -> WorkerLoop:
    """A worker loop with the shared state train() would build, in this process."""
    plan = make_plan(algo, env_id, 1, 0, max_steps, None, None, None, None, None, None, None,
                     settings)
    shared = build_shared_state(plan)
    shared.start_time = time.time()
    return WorkerLoop(0, plan.config, shared, cloudpickle.loads(plan.functions),
                      plan.final_epsilons[0])


class PhaseClock:
    """Wraps callables so that the CPU time spent inside each adds to a named phase."""

    def __init__(self):
        self.seconds = defaultdict(float)

    def wrap(self, phase, function):
        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[phase] += time.process_time() - start
        return timed


def instrument(loop: WorkerLoop, clock: PhaseClock):
    loop.env.step = clock.wrap("emulator", loop.env.step)
    loop.env.reset = clock.wrap("emulator", loop.env.reset)
    loop.method.act = clock.wrap("act", loop.method.act)
    loop.method.loss = clock.wrap("loss", loop.method.loss)
    loop.shared.optimizer.step = clock.wrap("optimizer", loop.shared.optimizer.step)
    # The worker looks these up on torch at each call, so wrapping them here times them.
    torch.Tensor.backward = clock.wrap("backward", torch.Tensor.backward)
    torch.nn.utils.clip_grad_norm_ = clock.wrap("clip", torch.nn.utils.clip_grad_norm_)
    torch._foreach_copy_ = clock.wrap("weight copy", torch._foreach_copy_)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="ALE/Pong-v5")
    parser.add_argument("--steps", type=int, default=4_000)
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        metavar="NAME=VALUE", help="a hyperparameter, e.g. t_max=20")
    parser.add_argument("--cprofile", action="store_true", help="also print cProfile's top 20")
    args = parser.parse_args()
    settings = parse_settings(args.settings)

    torch.set_num_threads(1)
    loop = in_process_worker("a3c", args.env, args.steps, settings)
    clock = PhaseClock()
    instrument(loop, clock)
    profiler = cProfile.Profile(time.process_time) if args.cprofile else None
    start = time.process_time()
    if profiler:
        profiler.runcall(loop.run)
    else:
        loop.run()
    total = time.process_time() - start
    steps = int(loop.shared.step_counts[0])

    rows = []
    for phase in PHASES + ("other",):
        seconds = clock.seconds[phase] if phase != "other" else total - sum(clock.seconds.values())
        rows.append([phase, f"{seconds / steps * 1e3:.3f}", f"{100 * seconds / total:.0f}%"])
    rows.append(["total", f"{total / steps * 1e3:.3f}", "100%"])
    bare = clock.seconds["emulator"] + clock.seconds["act"]
    t_max = loop.hp.t_max
    print(f"One A3C worker on {args.env}, t_max={t_max}, {steps:,} steps, CPU time ({machine()})\n")
    print(markdown_table(["phase", "ms per agent step", "share"], rows))
    print(f"\nbare limit (emulator + act): {bare / steps * 1e3:.3f} ms per step = "
          f"{4 * steps / bare:,.0f} frames/s per core; this loop: {4 * steps / total:,.0f} "
          f"frames/s per core, {bare / total:.2f} of the bare limit.")
    if profiler:
        print()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
