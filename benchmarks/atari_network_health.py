"""Is an Atari run learning slowly, or is its network dead? Three numbers tell.

    python benchmarks/atari_network_health.py runs/pong [--frames 400]

A Pong curve sits near -21 for the first million steps or more either way, so the
curve alone cannot tell a slow start from a network that stopped seeing the screen.
This plays ``--frames`` agent steps of the run's game at random, feeds the screens to
the run's latest checkpoint, and prints:

- **first-layer filters alive**: the share of the first convolution's filters that are
  positive somewhere on some screen. A filter negative everywhere passes no gradient
  and never comes back; at 0 the network is blind.
- **value spread**: the standard deviation of the value over those screens. A healthy
  network tells a ball coming at it from one going away (0.1 and more once it has
  learned anything); a blind one predicts the same number for every screen (0.0000).
- **policy entropy**, against the uniform policy's ``log(actions)``: blind networks
  often sit at the uniform policy, since nothing in the screen tells actions apart.

Those are a snapshot of the last checkpoint. When the run folder has ``diagnostics.csv``
(the workers' diagnostics, recorded while it trained), the script also prints their
history, in fifths of the run: the same signs over time. A network blind to the screen
predicts one value for every state, so the returns minus the value vary exactly as the
returns do and the **explained variance** sits at 0 (a healthy one climbs above 0 as
the value learns what a screen is worth); its **entropy** stays pinned wherever it was.
"""

import argparse
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from a3c_course.envs import AtariOptions, make_env
from a3c_course.runs.checkpoint import load_checkpoint
from a3c_course.runs.diagnostics import read_diagnostics
from a3c_course.runs.watch import load_agent


def network_health(run: Path, frames: int = 400, seed: int = 3) -> dict:
    """The three numbers above for the checkpoint in ``run``."""
    checkpoint = load_checkpoint(run)
    model = load_agent(run).model
    env = make_env(checkpoint["env_id"], seed=seed,
                   atari=AtariOptions(repeat_action_probability=0.0))
    screens = []
    env.reset()
    for _ in range(frames):
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        screens.append(np.asarray(obs))
        if terminated or truncated:
            env.reset()
    env.close()
    batch = torch.as_tensor(np.stack(screens))
    with torch.no_grad():
        first_layer = model.trunk.convs[0](model.trunk.network_input(batch))
        head, value, _ = model(batch)
        policy = F.softmax(head, dim=-1)
        entropy = -(policy * policy.clamp_min(1e-12).log()).sum(-1)
    return {
        "global_step": int(checkpoint["global_step"]),
        "filters_alive": float((first_layer.amax(dim=(0, 2, 3)) > 0).float().mean()),
        "value_spread": float(value.std()),
        "entropy": float(entropy.mean()),
        "uniform_entropy": math.log(head.shape[-1]),
    }


HISTORY = ("entropy", "explained_variance", "grad_norm", "value_loss")


def diagnostics_history(run: Path, parts: int = 5) -> list:
    """Means of the run's diagnostics over ``parts`` equal spans of its rows, in step order:
    ``[{"global_step": last step of the span, "entropy": ..., ...}, ...]``; ``[]`` without them."""
    table = read_diagnostics(run if run.is_dir() else run.parent)
    if not len(table):
        return []
    order = np.argsort(table.column("global_step"), kind="stable")
    spans = np.array_split(order, min(parts, len(order)))
    columns = {name: table.column(name) for name in HISTORY}
    steps = table.column("global_step")
    return [{"global_step": int(steps[span].max()),
             **{name: float(np.nanmean(columns[name][span])) for name in HISTORY}}
            for span in spans]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder (or its checkpoint.pt)")
    parser.add_argument("--frames", type=int, default=400)
    args = parser.parse_args()
    torch.set_num_threads(1)
    health = network_health(args.run, args.frames)
    print(f"step {health['global_step']:,}: first-layer filters alive "
          f"{health['filters_alive']:.0%}, value spread {health['value_spread']:.4f}, "
          f"policy entropy {health['entropy']:.3f} (uniform {health['uniform_entropy']:.3f})")
    history = diagnostics_history(args.run)
    if history:
        print("\nwhile it trained (diagnostics.csv, means over fifths of the run):")
        print(" ".join(f"{name:>18}" for name in ("up to step",) + HISTORY))
        for span in history:
            print(" ".join([f"{span['global_step']:>18,}"]
                           + [f"{span[name]:>18.4f}" for name in HISTORY]))


if __name__ == "__main__":
    main()
