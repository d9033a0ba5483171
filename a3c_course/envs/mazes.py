"""A variant of MiniGrid's Memory maze that shows memory on a laptop's budget.

In MiniGrid's Memory mazes the start room holds a cue (a key or a ball) and the split
at the corridor's end holds a key and a ball, one above and one below in a random
order; the agent scores by stepping next to the one that matches the cue. With two
workers, recurrent A3C stayed at chance on ``MiniGrid-MemoryS7-v0`` (a mean return of
0.48 over the last 100 episodes after 539,000 steps), for three reasons:

- the agent starts somewhere in the start room's corridor facing the exit, so in three
  starts out of four the cue is behind it and it must first learn to turn round and
  look, which pays only once it also uses what it saw;
- the way to turn at the split depends on the cue *and* on the order at the split (an
  exclusive or). Averaged over the orders, neither the cue alone nor the order alone
  tells which turn pays, so the policy gradient has nothing to follow until the
  network happens to combine the two. Recurrent A3C stayed at chance for 345,000
  steps on a 7x7 maze facing the cue with the random order (a mean return of 0.52
  over the last 100 episodes), and learned with the order fixed;
- in the 7x7 maze the corridor is short: from the split, turned back towards the start
  room, the cue is in sight. With the order fixed, a *feed-forward* agent learned to
  turn round at the split, look, and turn the right way (a mean return of 0.8 after
  172,000 steps, 0.86 after 336,000), so that maze does not need memory at all.

``MiniGrid-MemoryS11FacingCue-v0`` is the 11x11 maze, whose corridor is long enough
that the cue is out of sight from the split in every direction, with two changes. The
agent starts in the corridor two cells before the split, turned back towards the start
room, with the cue at the far end of its view. (From the start room's exit, eight steps
from the choice, recurrent A3C stayed at chance for 456,000 steps: 0.44.) And the key is
always above the split and the ball below, so the way to turn depends on the cue
alone. To score, the agent must turn round, walk into the split and turn towards the
object that matches, six steps at best. At the split the view is the same whichever
the cue was, so a policy without memory is right half the time; the cue must be
carried for four steps. ``make_env(MEMORY_FACING_CUE, random_split=True)`` restores
MiniGrid's random order, and ``start_x=4`` starts the agent at the start room's exit.

The id starts with ``MiniGrid-`` so that :func:`a3c_course.envs.make_env` treats it as
the MiniGrid family (the 7x7 egocentric view, the MiniGrid defaults).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from minigrid.core.world_object import Ball, Key
from minigrid.envs.memory import MemoryEnv

MEMORY_FACING_CUE = "MiniGrid-MemoryS11FacingCue-v0"

WEST = 2  # MiniGrid's directions: 0 east, 1 south, 2 west, 3 north


class MemoryFacingCue(MemoryEnv):
    """MiniGrid's Memory maze, starting near the split and facing back towards the cue.

    Only the three actions that do something here: turn left (0), turn right (1) and
    forward (2). MiniGrid's other four (pick up, drop, toggle, done) change nothing in
    this maze; an agent that explores them repeats its observation, and every repeat
    is one more LSTM step that can wash out the cue.

    ``random_split=True``: MiniGrid's random order of the key and the ball at the split.
    """

    def __init__(self, size=11, random_split=False, start_x=None, **kwargs):
        self.random_split = random_split
        self.start_x = size - 4 if start_x is None else start_x
        super().__init__(size=size, **kwargs)
        self.action_space = spaces.Discrete(3)

    def _gen_grid(self, width, height):
        super()._gen_grid(width, height)
        # Two cells before the split (x = width - 2), looking back down the corridor at
        # the cue, which lies at the start room's far (west) end, six cells away.
        self.agent_pos = np.array((self.start_x, height // 2))
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
        gym.register(MEMORY_FACING_CUE, entry_point=MemoryFacingCue, kwargs={"size": 11})
