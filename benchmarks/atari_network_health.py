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
"""

import argparse
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from a3c_course.envs import AtariOptions, make_env
from a3c_course.runs.checkpoint import load_checkpoint
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


if __name__ == "__main__":
    main()
