"""Stable-Baselines3's A2C on CartPole-v1 with the RL Zoo's settings, until it solves it.

    python benchmarks/sb3_a2c_cartpole.py --seed 0 [--max-steps 500000] [--out result.json]

The comparison point for our A3C in ``benchmarks/run_suite.py``. The RL Zoo's
hyperparameters for A2C on CartPole-v1 (``hyperparams/a2c.yml``) are 8 environments
and ``ent_coef: 0.0``, SB3's defaults otherwise (RMSProp, lr 7e-4, 5 steps per update,
MLP 64-64). Training stops as soon as the mean return of the last 20 finished episodes
(of all 8 environments, in the order they finished, from their ``Monitor`` infos)
reaches 475: the criterion our trainer uses. The suite times the whole process.
"""

import argparse
import json
import time

START = time.time()

import numpy as np  # noqa: E402  (imports are part of what the whole-process time includes)
from stable_baselines3 import A2C  # noqa: E402
from stable_baselines3.common.callbacks import BaseCallback  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402

WINDOW = 20


class StopWhenSolved(BaseCallback):
    """Stops training once the mean of the last ``WINDOW`` episode returns reaches ``target``."""

    def __init__(self, target):
        super().__init__()
        self.target = target
        self.returns = []
        self.solved_at_step = None
        self.solved_at_seconds = None

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            episode = info.get("episode")
            if episode is not None:
                self.returns.append(float(episode["r"]))
        if len(self.returns) >= WINDOW and np.mean(self.returns[-WINDOW:]) >= self.target:
            self.solved_at_step = self.num_timesteps
            self.solved_at_seconds = time.time() - START
            return False
        return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=500_000)
    parser.add_argument("--stop-at-return", type=float, default=475.0)
    parser.add_argument("--out", help="write the result here as JSON")
    args = parser.parse_args()
    env = make_vec_env("CartPole-v1", n_envs=8, seed=args.seed)
    model = A2C("MlpPolicy", env, ent_coef=0.0, seed=args.seed, device="cpu", verbose=0)
    callback = StopWhenSolved(args.stop_at_return)
    model.learn(total_timesteps=args.max_steps, callback=callback)
    result = {
        "solved": callback.solved_at_step is not None,
        "solved_at_step": callback.solved_at_step,
        "solved_at_seconds": callback.solved_at_seconds,
        "total_steps": int(model.num_timesteps),
        "episodes": len(callback.returns),
        "seconds": time.time() - START,
    }
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
