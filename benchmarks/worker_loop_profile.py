"""Where a worker's time goes: the cost of each phase of its loop, per agent step.

    python benchmarks/worker_loop_profile.py [--algo a3c] [--env CartPole-v1] [--steps 50000]

One worker loop runs in this process (one torch thread, a real multiprocessing queue
drained by a thread, as in training) and every phase is timed in CPU time of this
thread, so that other programs on the machine disturb the figures little:

==========  ==============================================================
env         ``env.step`` (with the course's wrappers)
act         choosing each action: one forward pass without gradient, sampling
rollout     the rest of collecting a rollout (arrays, bookkeeping)
sync        copying the shared weights into the local model
loss        the batched forward pass of the rollout and its loss
backward    backpropagation and gradient-norm clipping
hand-over   handing the gradients to the shared model (and the annealed learning rate)
optimizer   the shared optimizer's step (RMSProp statistics and weights, in shared memory)
queue       sending finished episodes (and the diagnostics' rows) to the parent
diagnostics adding each update into the diagnostics' sums (``engine/diagnostics.py``)
other       the rest of the loop (step counter, target network, checks)
==========  ==============================================================

It also times the bare environment (random actions) and the environment plus one
forward pass per step: the limit the loop could approach.
"""

import argparse
import multiprocessing
import threading
import time
from collections import defaultdict

import numpy as np
import torch
from common import machine, markdown_table

from a3c_course.engine.fast_acting import numpy_head
from a3c_course.engine.plan import make_plan
from a3c_course.engine.shared import build_shared_state
from a3c_course.engine.worker import WorkerLoop
from a3c_course.envs import make_env, observation_to_array

clock = time.thread_time


class PhaseClock:
    def __init__(self):
        self.seconds = defaultdict(float)

    def wrap(self, name, function):
        seconds = self.seconds

        def timed(*args, **kwargs):
            start = clock()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[name] += clock() - start

        return timed


def profiled_loop(algo, env_id, steps, settings):
    plan = make_plan(algo=algo, env_id=env_id, n_workers=1, seed=0, max_steps=steps,
                 stop_at_return=None, time_limit=None, start_method="fork", resume=None,
                 save_to=None, checkpoint_every=None, env_kwargs=None, settings=settings)
    shared = build_shared_state(plan)
    shared.stop, shared.start_time = threading.Event(), time.time()
    shared.queue = multiprocessing.get_context("fork").Queue()
    drainer = threading.Thread(target=_drain_forever, args=(shared.queue,), daemon=True)
    drainer.start()
    loop = WorkerLoop(0, plan.config, shared, {}, plan.final_epsilons[0])
    phases = PhaseClock()
    loop.env.step = phases.wrap("env", loop.env.step)
    loop.method.act = phases.wrap("act", loop.method.act)
    loop.method.loss = phases.wrap("loss", loop.method.loss)
    shared.queue.put = phases.wrap("queue", shared.queue.put)
    shared.optimizer.step = phases.wrap("optimizer", shared.optimizer.step)
    for name in ("_sync_local_model", "_collect_rollout", "_backward", "_update_shared_model"):
        setattr(loop, name, phases.wrap(name, getattr(loop, name)))
    diagnostics = getattr(loop, "diagnostics", None)  # absent from checkouts before them
    if diagnostics is not None:
        diagnostics.after_update = phases.wrap("diagnostics", diagnostics.after_update)
    start = clock()
    loop.run()
    total = clock() - start
    done = int(shared.step_counts.sum())
    s = phases.seconds
    breakdown = {
        "env": s["env"],
        "act": s["act"],
        "rollout": s["_collect_rollout"] - s["env"] - s["act"] - s["queue"],
        "sync": s["_sync_local_model"],
        "loss": s["loss"],
        "backward": s["_backward"],
        "hand-over": s["_update_shared_model"] - s["optimizer"],
        "optimizer": s["optimizer"],
        "queue": s["queue"],
        "diagnostics": s["diagnostics"],  # (its rare queue puts count under "queue" too)
    }
    breakdown["other"] = total - sum(breakdown.values())
    loop.close()
    return {name: seconds / done * 1e6 for name, seconds in breakdown.items()}, total / done * 1e6


def _drain_forever(queue):
    try:
        while True:
            queue.get()
    except (EOFError, OSError, ValueError):  # the queue closed as the program ends
        pass


def bare_env_us(env_id, steps, model=None):
    """CPU microseconds per step of the environment alone (random actions), or with
    one forward pass of ``model`` per step, as acting needs (in NumPy where the worker
    acts in NumPy, see a3c_course.engine.fast_acting)."""
    env = make_env(env_id, seed=0)
    obs, _ = env.reset()
    rng = np.random.default_rng(0)
    n_actions = getattr(env.action_space, "n", None)
    fast = None if model is None else numpy_head(model, "policy")
    start = clock()
    for _ in range(steps):
        if fast is not None:
            fast(observation_to_array(obs))
        elif model is not None:
            with torch.no_grad():
                model(torch.from_numpy(observation_to_array(obs)).unsqueeze(0))
        action = int(rng.integers(n_actions)) if n_actions else env.action_space.sample()
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
    return (clock() - start) / steps * 1e6


def profile_report(algo="a3c", env_id="CartPole-v1", steps=50_000) -> str:
    """The per-phase table and its comparison with the bare environment, as Markdown."""
    torch.set_num_threads(1)
    per_step, total = profiled_loop(algo, env_id, steps, {})
    from a3c_course.paper.models import build_model, model_spec
    env = make_env(env_id)
    head = "q_network" if algo != "a3c" else "actor_critic"
    model = build_model(model_spec(env.observation_space, env.action_space, head))
    bare = bare_env_us(env_id, min(steps, 20_000))
    with_forward = bare_env_us(env_id, min(steps, 20_000), model)
    rows = [[name, f"{us:.1f}", f"{us / total:.0%}"] for name, us in per_step.items()]
    rows.append(["**total**", f"{total:.1f}", "100%"])
    return (
        f"{algo} on {env_id}: CPU microseconds per agent step, one worker ({steps:,} steps)\n\n"
        + markdown_table(["phase", "us/step", "share"], rows)
        + f"\n\nBare environment: {bare:.1f} us/step; with one forward pass per step: "
        f"{with_forward:.1f} us/step. The loop costs {total / bare:.1f}x the bare environment "
        f"and {total / with_forward:.1f}x environment + forward pass: at most "
        f"{1e6 / total:,.0f} steps/s per core."
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", default="a3c")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--steps", type=int, default=50_000)
    args = parser.parse_args()
    print(f"({machine()})\n")
    print(profile_report(args.algo, args.env, args.steps))


if __name__ == "__main__":
    main()
