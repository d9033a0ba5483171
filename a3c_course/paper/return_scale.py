r"""Rewards divided by the spread of the discounted return, so that values are of order one.

The critic learns returns in the units of the reward. CartPole's returns run from 0 to
about 100 (1 a step, discounted by 0.99), Acrobot's sit near -100 in every state (-1 a
step), InvertedDoublePendulum's near 90 early on, MiniGrid's are at most 1. With one
trunk shared by the policy and the value, and one cap on the norm of the whole
gradient, the value's scale decides what the policy gets:

- a large value error makes large gradients: on InvertedDoublePendulum every update
  hit the cap of 40 (a norm of about 20,000), so the value's error set the size of
  every step of the policy as well;
- a value of -100 in every state is learned by driving the shared trunk's units into
  saturation (Acrobot): the policy then sees the same features in every state;
- a return of at most 1 makes advantages so small (MiniGrid: an RMS of 0.002 per step)
  that an entropy bonus of 0.01 outweighs them and keeps the policy uniform.

So each reward the workers learn from is divided by the standard deviation of the
discounted return :math:`G_t = r_t + \gamma G_{t-1}` (0 at the start of each episode),
estimated over every step of every worker since the start of the run, as
Stable-Baselines3's ``VecNormalize(norm_reward=True)`` and Gymnasium's
``NormalizeReward`` do, but never by less than half the returns' mean size:

.. math::

    \tilde r_t = \frac{r_t}{\max\big(\sqrt{\mathrm{Var}(G) + \epsilon},\ |\bar G| / 2\big)} .

Values and advantages are then of order one whatever the reward's units, and the
entropy bonus weighs the same against them on every task. Rewards are divided, not
centred: a constant shift of the rewards would change what the agent wants (a reward
for staying alive becomes a cost).

Why the floor: where the returns are nearly all alike, their deviation is nearly 0.
On notebook 5's treasure corridor, once the agent takes the coin (2) every time, it
fell to about 0.1, which multiplied the rewards by 10: the coin became 20 and the
treasure 100, and the clip below made them equal; and the surer the policy, the
smaller the deviation and the weaker the entropy bonus against the advantages. With
the floor, a mean return of 2 divides by at least 1: the coin stays at most 2 and the
treasure 10. Dividing by the root mean square instead (deviation and mean together)
also avoids that, but it took CartPole to 475 in 98k-261k steps (4 seeds) where the
deviation with the floor took 31k-97k (5 seeds).

Each worker adds its returns to its own row of a shared table (no lock: no row has two
writers) and reads the sum of the rows, every :data:`REFRESH_EVERY` updates. Until
:data:`MIN_RETURNS` returns have been counted, or while they are all 0 (a sparse reward
not yet found), rewards pass unchanged. A scaled reward is clipped to ``±``
:data:`SCALED_REWARD_CLIP`: the first rare reward, divided by a size estimated from a
few of them, cannot become a value target of thousands.

The log keeps the real scores; the diagnostics' values and returns are in the scaled
units (``reward_scale`` in the diagnostics is the factor in effect).
"""

from __future__ import annotations

import math

import torch

#: Returns counted (over all workers) before rewards are scaled.
MIN_RETURNS = 1_000

#: Added to the variance under the root.
EPSILON = 1e-8

#: The divisor is at least this times the returns' mean size.
MEAN_FLOOR = 0.5

#: Updates between two refreshes of a worker's factor (see :meth:`ReturnScale.after_update`).
REFRESH_EVERY = 8

#: A scaled reward is clipped to this magnitude.
SCALED_REWARD_CLIP = 10.0

#: Columns of a row of the statistics table: returns counted, their sum, their sum of squares.
STATISTICS_COLUMNS = ("count", "sum", "sum_of_squares")


def learning_reward(reward: float, clip: float | None, return_scale=None, game: int = 0) -> float:
    """A reward as the learner sees it: clipped to ``[-clip, clip]`` (``reward_clip``,
    Atari), then scaled by the worker's :class:`ReturnScale` (``scale_rewards``), either
    step skipped when off. The log keeps the real reward."""
    reward = float(reward)
    if clip is not None:
        reward = min(max(reward, -clip), clip)
    return reward if return_scale is None else return_scale.scale(reward, game)


def new_statistics(rows: int) -> torch.Tensor:
    """A table of ``rows`` rows (one per worker, one for a resumed run's), float64."""
    return torch.zeros(rows, len(STATISTICS_COLUMNS), dtype=torch.float64)


def scale_from_statistics(totals) -> float:
    """The factor rewards are multiplied by, from the summed ``(count, sum, sum of squares)``."""
    count, total, total_sq = (float(x) for x in totals)
    if count < MIN_RETURNS:
        return 1.0
    mean = total / count
    deviation = math.sqrt(max(total_sq / count - mean * mean, 0.0) + EPSILON)
    divisor = max(deviation, MEAN_FLOOR * abs(mean))
    if divisor <= 2 * math.sqrt(EPSILON):  # every return 0 so far: no size to speak of
        return 1.0
    return 1.0 / divisor


class ReturnScale:
    """One worker's side of the scaling: its games' running returns and its row.

    Args:
        gamma: the discount of the running return.
        games: how many games the worker plays at once (each has its own return).
        statistics: the shared table (:func:`new_statistics`), a float64 tensor.
        row: this worker's row of it.

    Per step, ``scale(reward, game)`` adds the game's running return to the worker's
    pending sums and returns the scaled reward; :meth:`episode_ended` starts the game's
    return again from 0; :meth:`refresh` adds the pending sums to the worker's row and
    reads the factor from all the rows, every :data:`REFRESH_EVERY` updates
    (:meth:`after_update`) and when the worker stops.
    """

    def __init__(self, gamma: float, games: int, statistics: torch.Tensor, row: int):
        self.gamma = gamma
        self.returns = [0.0] * games
        self.table = statistics.numpy()  # a view: writes go to the shared memory
        self.row = row
        self.count = self.total = self.total_sq = 0.0  # not yet in the table
        self.factor = 1.0
        self.updates = 0

    def scale(self, reward: float, game: int = 0) -> float:
        g = self.gamma * self.returns[game] + reward
        self.returns[game] = g
        # Plain floats: a numpy element's += costs several times as much, every step.
        self.count += 1.0
        self.total += g
        self.total_sq += g * g
        scaled = reward * self.factor
        return min(max(scaled, -SCALED_REWARD_CLIP), SCALED_REWARD_CLIP)

    def episode_ended(self, game: int = 0) -> None:
        self.returns[game] = 0.0

    def after_update(self) -> float:
        """Called once per update; refreshes every :data:`REFRESH_EVERY` updates (the factor
        moves slowly, and a refresh costs tens of microseconds where a CartPole update
        costs about a millisecond); returns the factor in effect."""
        self.updates += 1
        if self.updates % REFRESH_EVERY == 1:
            return self.refresh()
        return self.factor

    def refresh(self) -> float:
        """Publish this worker's new returns and read the factor in effect; returns it."""
        row = self.table[self.row]
        row[0] += self.count
        row[1] += self.total
        row[2] += self.total_sq
        self.count = self.total = self.total_sq = 0.0
        self.factor = scale_from_statistics(self.table.sum(axis=0))
        return self.factor
