"""Frames per second on Pong: our A3C against Stable-Baselines3's A2C with the RL Zoo's settings.

    python benchmarks/sb3_a2c_pong.py [--seconds 300] [--repeats 1] [--envs-per-worker K ...]

Needs ``pip install -e ".[bench]"`` (stable-baselines3). Both run for the same wall
time on the same machine, one after the other (alternating when ``--repeats`` > 1):

- **ours**: ``train("a3c", "ALE/Pong-v5")`` with the Atari defaults and 2 workers, once
  for each ``--envs-per-worker`` given (games per worker; the default: the Atari
  default only), each worker playing its games in ale-py's C++ vector environment;
- **SB3 A2C** as the RL Zoo trains it on Atari (its ``a2c.yml``, ``atari`` entry):
  ``make_atari_env`` with 16 environments in one process (its ``AtariWrapper``: no-op
  starts, frame skip 4 with max-pooling, 84x84 grey, episodic life, clipped rewards),
  a stack of 4 frames, ``CnnPolicy``, entropy weight 0.01, value weight 0.25, and
  RMSProp in TensorFlow's form with eps 1e-5 (``RMSpropTFLike``); A2C's own defaults
  otherwise (5 steps per environment per update, learning rate 7e-4).

Reported: frames per second of each (agent steps times the frame skip of 4, over the
wall time of the training, start-up included for both) and their ratio. Learning is
not compared here: a few minutes say nothing about Pong.
"""

import argparse
import time

from common import machine, markdown_table

FRAME_SKIP = 4


def ours(seconds, envs_per_worker=None) -> float:
    from a3c_course import train

    games = {} if envs_per_worker is None else dict(envs_per_worker=envs_per_worker)
    result = train("a3c", "ALE/Pong-v5", n_workers=2, seed=0, max_steps=10**9,
                   time_limit=seconds, live="none", **games)
    return result.summary()["frames_per_second"]


def sb3_a2c(seconds) -> float:
    import ale_py
    import gymnasium as gym
    from stable_baselines3 import A2C
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike
    from stable_baselines3.common.vec_env import VecFrameStack

    gym.register_envs(ale_py)

    class StopAfter(BaseCallback):
        def _on_step(self) -> bool:
            return time.perf_counter() - start < seconds

    start = time.perf_counter()
    env = VecFrameStack(make_atari_env("PongNoFrameskip-v4", n_envs=16, seed=0), n_stack=4)
    model = A2C("CnnPolicy", env, ent_coef=0.01, vf_coef=0.25, seed=0,
                policy_kwargs=dict(optimizer_class=RMSpropTFLike,
                                   optimizer_kwargs=dict(eps=1e-5)))
    model.learn(total_timesteps=10**9, callback=StopAfter())
    elapsed = time.perf_counter() - start
    steps = model.num_timesteps
    env.close()
    return steps * FRAME_SKIP / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--envs-per-worker", type=int, action="append", default=None,
                        help="games per worker of ours (repeat to compare several; default: "
                             "the Atari default)")
    args = parser.parse_args()
    rows = []
    for _ in range(args.repeats):
        for games in args.envs_per_worker or [None]:
            a3c = ours(args.seconds, games)
            a2c = sb3_a2c(args.seconds)
            rows.append(["default" if games is None else games, f"{a3c:,.0f}", f"{a2c:,.0f}",
                         f"{a3c / a2c:.2f}"])
    print(f"Pong, {args.seconds:.0f} s each, one after the other ({machine()})\n")
    print(markdown_table(["games per worker (ours)", "ours: A3C frames/s",
                          "SB3 A2C (RL Zoo settings) frames/s", "ratio, ours / SB3"], rows))


if __name__ == "__main__":
    main()
