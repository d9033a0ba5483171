"""A variant of MiniGrid's Memory maze that shows memory on a laptop's budget.

In ``MiniGrid-MemoryS7-v0`` the start room holds a cue (a key or a ball) and the split
at the corridor's end holds a key and a ball, one above and one below in a random
order; the agent scores by stepping next to the one that matches the cue. Two things
make it slow to learn with two workers:

- the agent starts somewhere along the start room's corridor facing the exit, so in
  three starts out of four the cue is behind it and it must first learn to turn round
  and look, which pays only once it also uses what it saw;
- the way to turn at the split depends on the cue *and* on the order at the split (an
  exclusive or). Averaged over the orders, neither the cue alone nor the order alone
  tells which turn pays, so the policy gradient has nothing to follow until the
  network happens to combine the two. Recurrent A3C with two workers stayed at chance
  (mean return 0.48) for 345,000 steps on the variant below with the random order
  (README, "Memory and mazes").

``MiniGrid-MemoryS7FacingCue-v0`` keeps the maze, the objects, the reward and the time
limit, and changes two things. The agent starts at the start room's exit, turned back
towards the cue, which is in its view at the first step. And the key is always above
the split and the ball below, so the way to turn depends on the cue alone. To score
the agent must still turn round, step into the split and turn towards the object that
matches. There the cue is out of sight and the view is the same whichever it was, so
a policy without memory is right half the time; the cue must be carried for four
steps. ``make_env(MEMORY_FACING_CUE, random_split=True)`` restores MiniGrid's random
order at the split.

The id starts with ``MiniGrid-`` so that :func:`a3c_course.envs.make_env` treats it as
the MiniGrid family (the 7x7 egocentric view, the MiniGrid defaults).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from minigrid.core.world_object import Ball, Key
from minigrid.envs.memory import MemoryEnv

MEMORY_FACING_CUE = "MiniGrid-MemoryS7FacingCue-v0"

WEST = 2  # MiniGrid's directions: 0 east, 1 south, 2 west, 3 north


class MemoryFacingCue(MemoryEnv):
    """MiniGrid's Memory maze, starting at the start room's exit and facing the cue.

    Only the three actions that do something here: turn left (0), turn right (1) and
    forward (2). MiniGrid's other four (pick up, drop, toggle, done) change nothing in
    this maze; an agent that explores them repeats its observation, and every repeat
    is one more LSTM step that can wash out the cue.

    ``random_split=True``: MiniGrid's random order of the key and the ball at the split.
    """

    def __init__(self, size=7, random_split=False, **kwargs):
        self.random_split = random_split
        super().__init__(size=size, **kwargs)
        self.action_space = spaces.Discrete(3)

    def _gen_grid(self, width, height):
        super()._gen_grid(width, height)
        # MemoryEnv's start room ends at x = width - 3, where the corridor leads to the
        # split; the cue lies at the room's far (west) end, in view from here.
        self.agent_pos = np.array((width - 3, height // 2))
        self.agent_dir = WEST
        if not self.random_split:
            # The key above the split and the ball below, always: the way to turn then
            # depends on the cue alone.
            x, upper, lower = width - 2, height // 2 - 2, height // 2 + 2
            self.grid.set(x, upper, Key("green"))
            self.grid.set(x, lower, Ball("green"))
            if self.grid.get(1, height // 2 - 1).type == "key":
                self.success_pos, self.failure_pos = (x, upper + 1), (x, lower - 1)
            else:
                self.success_pos, self.failure_pos = (x, lower - 1), (x, upper + 1)


def register() -> None:
    """Register the variant with Gymnasium (idempotent)."""
    if MEMORY_FACING_CUE not in gym.registry:
        gym.register(MEMORY_FACING_CUE, entry_point=MemoryFacingCue, kwargs={"size": 7})
