"""A worker's rollouts when it plays several games at once (``envs_per_worker = K > 1``).

Each of the ``t_max`` steps of a collection chooses the actions of all K games in one
batched forward pass and steps all the games at once (:mod:`a3c_course.envs.vector`).
Every game keeps what a worker with a single game keeps, per game:

- its own rollout, cut into *segments* where its episode ends (terminal, or
  truncated: then it bootstraps from the state it ended in) or, with
  ``life_loss_terminal``, where it loses a life; every segment is a
  :class:`~a3c_course.paper.algorithms.Rollout`, with its own n-step returns
  (:mod:`a3c_course.paper.segments` sums their losses);
- its episode's real score and length, reported as an episode when the game ends;
- its Atari lives; its LSTM state (reset when its episode ends, detached between
  rollouts, by ``next_lstm_state``); Sarsa's next action, chosen at the end of a
  rollout and taken at the start of the next.

With K = 1 the worker does not use this module: :class:`~a3c_course.engine.worker.WorkerLoop`
keeps its single-game loop, which ends a rollout at the end of an episode.
"""

from __future__ import annotations

import numpy as np
import torch

from ..paper.acting import env_action
from ..paper.algorithms import Rollout
from ..paper.return_scale import learning_reward


class VectorRolloutCollector:
    """Collects ``t_max`` steps of each of ``games.num_games`` games per call.

    Args:
        games: :class:`~a3c_course.envs.vector.AleGames` or ``PythonGames``.
        method: the algorithm (its ``act``, ``act_batch``, ``rollout_length``,
            ``needs_next_action``).
        model: the worker's local model (acted with; synced by the worker).
        hp: the hyperparameters (``reward_clip``, ``life_loss_terminal``).
        next_lstm_state: carries a game's LSTM state from one rollout to the next.
        report_episode: ``report_episode(global_step, score, length)`` per finished game.
        return_scale: the worker's :class:`~a3c_course.paper.return_scale.ReturnScale`
            (``scale_rewards``), which keeps a running return per game; ``None``: off.
    """

    def __init__(self, games, method, model, hp, next_lstm_state, report_episode,
                 return_scale=None):
        self.games = games
        self.method = method
        self.model = model
        self.hp = hp
        self.next_lstm_state = next_lstm_state
        self.report_episode = report_episode
        self.return_scale = return_scale
        k = games.num_games
        self.obs = games.reset()
        self.states = [model.initial_state() for _ in range(k)]
        self.recurrent = self.states[0] is not None
        self.pending = [None] * k  # Sarsa: the action already chosen for the next step
        self.lives = [None] * k
        self.scores = np.zeros(k)
        self.lengths = np.zeros(k, dtype=np.int64)

    def collect(self, step: int) -> list[Rollout]:
        """``t_max`` steps of every game, as a list of segments (see the module docstring).

        ``step`` is the global step before these steps (finished episodes are logged at
        ``step`` plus the steps collected until then).
        """
        k = self.games.num_games
        open_segments = [self._start_segment(i) for i in range(k)]
        segments, collected = [], 0
        for _ in range(self.method.rollout_length()):
            actions = self._act()
            result = self.games.step([env_action(a, self.games.action_space) for a in actions])
            for i in range(k):
                segment = open_segments[i]
                reward = float(result.rewards[i])
                segment.observations.append(self.obs[i])
                segment.actions.append(actions[i])
                segment.rewards.append(learning_reward(reward, self.hp.reward_clip,
                                                       self.return_scale, i))
                self.scores[i] += reward
                self.lengths[i] += 1
                collected += 1
                if result.terminated[i] or result.truncated[i]:
                    if self.return_scale is not None:
                        self.return_scale.episode_ended(i)
                    self.report_episode(step + collected, float(self.scores[i]), int(self.lengths[i]))
                    self.scores[i], self.lengths[i], self.lives[i] = 0.0, 0, None
                    self._finish(segment, i, result.final_obs[i], bool(result.terminated[i]),
                                 at_block_end=False)
                    self._carry_state(i, episode_ended=True)
                    segments.append(segment)
                    open_segments[i] = self._start_segment(i)
                elif self._lost_life(i, result.lives):  # the game goes on, so does the memory
                    self._finish(segment, i, result.obs[i], True, at_block_end=False)
                    self._carry_state(i, episode_ended=False)
                    segments.append(segment)
                    open_segments[i] = self._start_segment(i)
            self.obs = result.obs
        for i, segment in enumerate(open_segments):
            if len(segment):
                self._finish(segment, i, self.obs[i], False, at_block_end=True)
                self._carry_state(i, episode_ended=False)
                segments.append(segment)
        return segments

    def close(self):
        self.games.close()

    def _start_segment(self, game: int) -> Rollout:
        segment = Rollout()
        segment.initial_state = self.states[game]
        return segment

    def _act(self) -> list:
        """Every game's action: the pending one (Sarsa), else the method's choice, in
        one forward pass for a feed-forward model, game by game for a recurrent one."""
        k = self.games.num_games
        if self.recurrent:
            actions = []
            for i in range(k):
                if self.pending[i] is not None:
                    actions.append(self.pending[i])
                    continue
                action, self.states[i] = self.method.act(
                    self.model, torch.from_numpy(self.obs[i]), self.states[i])
                actions.append(action)
        else:
            actions = self.method.act_batch(self.model, torch.from_numpy(self.obs))
            actions = [p if p is not None else a for p, a in zip(self.pending, actions)]
        self.pending = [None] * k
        return actions

    def _finish(self, segment: Rollout, game: int, bootstrap_obs, terminated: bool,
                at_block_end: bool) -> None:
        segment.bootstrap_observation = bootstrap_obs
        segment.terminated = terminated
        if self.method.needs_next_action and not terminated:
            # Sarsa learns from the action it will really take next: chosen now; taken at
            # the start of the next rollout when the game goes on from this state.
            action, state = self.method.act(self.model, torch.from_numpy(bootstrap_obs),
                                            self.states[game])
            segment.next_action = action
            if at_block_end:
                self.pending[game], self.states[game] = action, state

    def _carry_state(self, game: int, episode_ended: bool) -> None:
        if self.states[game] is not None:
            self.states[game] = self.next_lstm_state(self.states[game], episode_ended)

    def _lost_life(self, game: int, lives) -> bool:
        if not self.hp.life_loss_terminal or lives is None:
            return False
        now = int(lives[game])
        lost = self.lives[game] is not None and now < self.lives[game]
        self.lives[game] = now
        return lost
