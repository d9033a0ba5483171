"""The loop that one worker process runs: act, learn, hand the gradients to the shared model.

One iteration, as in the paper's pseudo-code::

    copy the shared weights into the local model          (theta' = theta)
    act for up to t_max steps, or until the episode ends  (no gradients)
    loss of that rollout, in one batched forward pass
    backward; clip the gradient norm
    apply the gradients to the shared parameters          (Hogwild: no lock)
    add the steps to the global step counter (and the update, with its staleness)

Three of the course's exercises run here when a student passes them to ``train()``:
``hogwild_update`` in place of the update (:meth:`WorkerLoop._student_update`; the
default is the same update on the flat buffers), ``shared_rmsprop_step`` inside the
shared optimizer's step, and ``next_lstm_state`` where a recurrent worker carries its
state from one rollout to the next (:meth:`WorkerLoop._carry_state`).

Everything the worker shares with the others arrives in a
:class:`~a3c_course.engine.shared.SharedState`. To see the same loop without the
speed-ups (the flat buffers, acting in NumPy), read
:mod:`a3c_course.paper.a3c_in_one_file` first.
"""

from __future__ import annotations

import math
import multiprocessing
import time
import traceback

import cloudpickle
import gymnasium as gym
import numpy as np
import torch

from ..config import RunConfig
from ..envs.make import make_env, observation_to_array
from ..envs.user_envs import register_in_worker
from ..envs.vector import make_games
from ..paper import targets
from ..paper.acting import env_action
from ..paper.algorithms import Rollout, algorithm_class
from ..paper.models import build_model
from ..paper.return_scale import ReturnScale, learning_reward
from ..paper.segments import batch_loss
from .diagnostics import DiagnosticsAccumulator
from .flat_params import flat_buffer, flatten_gradients, flatten_parameters
from .shared import SharedState, global_step, maybe_update_target, worker_seed
from .student_functions import (StudentFunctionError, checked_student_functions,
                                non_finite_outputs)
from .vector_rollouts import VectorRolloutCollector
from .worker_process import Watchdog, prepare_worker_process

# Messages a worker sends to the parent on the results queue.
EPISODE = "episode"  # (EPISODE, worker, wall_seconds, global_step, episode_return, episode_length)
ERROR = "error"  # (ERROR, worker, kind, message, traceback_text, global_step[, details])
DONE = "done"  # (DONE, worker, steps)
READY = "ready"  # (READY, worker): built its environment and model, about to train

PARENT_CHECK_SECONDS = 1.0


def annealed_lr(lr: float, step: int, max_steps: int, anneal: bool) -> float:
    """The paper anneals the learning rate linearly to 0 over the whole run."""
    if not anneal:
        return lr
    return lr * max(0.0, 1.0 - step / max_steps)


def run_worker(worker: int, config: RunConfig, shared: SharedState, functions_blob: bytes,
               final_epsilon: float | None) -> None:
    """Entry point of a worker process; never raises, reports instead."""
    prepare_worker_process()  # signals; dies with its parent (see worker_process)
    run_worker_loop(worker, config, shared, functions_blob, final_epsilon)


def run_worker_loop(worker: int, config: RunConfig, shared: SharedState, functions_blob: bytes,
                    final_epsilon: float | None, loop_class=None) -> None:
    """A worker's work, wherever it runs; never raises, reports on ``shared.queue`` instead.

    ``loop_class`` is :class:`WorkerLoop`, or a subclass that syncs and updates some
    other way (the Ray backend's, whose worker actors talk to a parameter server and
    call this from their own process, set up by Ray).
    """
    watchdog = Watchdog(worker, shared.step_counts, shared.queue, config.stall_seconds)
    watchdog.start()
    torch.set_num_threads(1)
    loop, functions = None, {}
    try:
        # The student's functions, each checked on its first call (student_functions).
        functions = checked_student_functions(cloudpickle.loads(functions_blob))
        watchdog.own_functions = functions
        register_in_worker(config.env_registration)  # the user's own environment
        loop = (loop_class or WorkerLoop)(worker, config, shared, functions, final_epsilon)
        shared.queue.put((READY, worker))
        watchdog.training = True
        loop.run()
    except NonFiniteLoss as err:
        shared.queue.put((ERROR, worker, "nonfinite", str(err), traceback.format_exc(), err.step,
                          {"non_finite_functions": non_finite_outputs(functions)}))
    except StudentFunctionError as err:
        step = global_step(shared.step_counts)
        shared.queue.put((ERROR, worker, "student", str(err), traceback.format_exc(), step))
    except BaseException as err:  # report everything: the parent decides what to do
        step = global_step(shared.step_counts)
        message = f"{type(err).__name__}: {err}"
        shared.queue.put((ERROR, worker, "exception", message, traceback.format_exc(), step))
    finally:
        if loop is not None:
            loop.close()
        shared.queue.put((DONE, worker, int(shared.step_counts[worker])))


class NonFiniteLoss(ArithmeticError):
    def __init__(self, message, step):
        super().__init__(message)
        self.step = step


class WorkerLoop:
    """One worker's environment, local model and method; :meth:`run` trains until told to stop."""

    def __init__(self, worker, config: RunConfig, shared: SharedState, functions, final_epsilon):
        self.worker = worker
        self.config = config
        self.shared = shared
        self.hp = config.hyperparameters
        seed = worker_seed(config.seed, worker)
        torch.manual_seed(seed)
        frames = {"atari_frame": functions["atari_frame"]} if "atari_frame" in functions else {}
        self.games_per_worker = self.hp.envs_per_worker
        if self.games_per_worker == 1:
            self.env = make_env(config.env_id, seed=seed, **config.env_kwargs, **frames)
        else:  # several games at once: vector_rollouts collects, segments learns
            self.env = make_games(config.game_stepping, config.env_id, self.games_per_worker,
                                  seed, config.env_kwargs, frames.get("atari_frame"))
        self.action_space = self.env.action_space
        self.return_scale = None  # scale_rewards: the rewards' divisor, shared by all workers
        if self.hp.scale_rewards and shared.return_statistics is not None:
            self.return_scale = ReturnScale(self.hp.gamma, self.games_per_worker,
                                            shared.return_statistics, worker)
        self.discrete = isinstance(self.action_space, gym.spaces.Discrete)
        self.method = algorithm_class(config.algo, self.discrete)(
            self.hp, functions, np.random.default_rng(seed), final_epsilon
        )
        self.local_model = build_model(config.model_spec)
        # One flat tensor behind the local weights and one behind their gradients, so
        # that syncing, zeroing and clipping are an operation each (see flat_params).
        self.local_flat = flatten_parameters(self.local_model)
        self.local_grad = flatten_gradients(self.local_model)
        self.local_params = list(self.local_model.parameters())
        self.shared_params = list(shared.model.parameters())
        self.shared_flat = flat_buffer(self.shared_params)  # None for a model built by hand
        if self.hp.optimizer == "rmsprop":
            shared.optimizer.make_statistics_private()
        # The student's exercises, where they replace a step of this loop (the plan has
        # checked that this run uses them).
        self.hogwild_update = functions.get("hogwild_update")
        self.next_lstm_state = functions.get("next_lstm_state", targets.next_lstm_state)
        if "shared_rmsprop_step" in functions:
            shared.optimizer.step_function = functions["shared_rmsprop_step"]
        self.lives = None  # Atari lives left, to notice the loss of one
        self.diagnostics = DiagnosticsAccumulator(worker, shared.queue, shared.optimizer,
                                                  self.hp.max_grad_norm, shared.start_time)
        self.parent = multiprocessing.parent_process()
        self.next_parent_check = time.monotonic() + PARENT_CHECK_SECONDS

    def close(self):
        self.diagnostics.send(global_step(self.shared.step_counts))  # the last updates' row
        if self.return_scale is not None:
            self.return_scale.refresh()  # the last rollout's returns, for the checkpoint
        self.env.close()

    def run(self):
        if self.games_per_worker == 1:
            obs, _ = self.env.reset()
            self.obs = observation_to_array(obs)
            self.state = self.local_model.initial_state()
            self.pending_action = None
        else:
            self.collector = VectorRolloutCollector(self.env, self.method, self.local_model,
                                                    self.hp, self.next_lstm_state,
                                                    self._report_episode, self.return_scale)
        while not self.shared.stop.is_set():
            step = global_step(self.shared.step_counts)
            if step >= self.config.max_steps or not self._parent_alive():
                break
            self._train_once(step)

    def _parent_alive(self) -> bool:
        # A worker whose parent was killed must not run on as an orphan.
        if self.parent is None or time.monotonic() < self.next_parent_check:
            return True
        self.next_parent_check = time.monotonic() + PARENT_CHECK_SECONDS
        return self.parent.is_alive()

    def _train_once(self, step: int) -> None:
        """One iteration of the paper's loop: sync, act, learn, update the shared model."""
        self._sync_local_model()
        self.method.set_global_step(step)
        if self.return_scale is not None:  # the other workers' returns too, now and then
            self.diagnostics.reward_scale = self.return_scale.after_update()
        if self.games_per_worker == 1:
            rollout = self._collect_rollout(step)
            loss = self.method.loss(self.local_model, self.shared.target_model, rollout)
            steps = len(rollout)
        else:
            segments = self.collector.collect(step)
            loss = batch_loss(self.method, self.local_model, self.shared.target_model, segments)
            steps = sum(len(segment) for segment in segments)
        self._rollout_collected(steps)
        if self.hogwild_update is None:
            grad_norm = self._backward(loss, step)
            self._update_shared_model(step)
        else:
            grad_norm = self._student_update(loss, step)
        staleness = self.shared.record_update(self.worker, self.synced_at)
        self.shared.step_counts[self.worker] += steps
        self.diagnostics.after_update(self.method, grad_norm, step + steps, staleness)
        if self.shared.target_model is not None:
            maybe_update_target(self.shared, step + steps, self.hp.target_update_interval)

    def _rollout_collected(self, steps: int) -> None:
        """Called with the number of agent steps the coming update learns from (a backend
        that counts them before the update hears of them here)."""

    def _sync_local_model(self) -> None:
        """theta' <- theta: act and learn on a snapshot that other workers cannot change.

        Notes how many updates the copied weights have seen (``synced_at``), to measure
        the staleness of the update this rollout will make."""
        self.synced_at = self.shared.updates_applied()
        with torch.no_grad():
            if self.shared_flat is not None:
                self.local_flat.copy_(self.shared_flat)
            else:
                torch._foreach_copy_(self.local_params, self.shared_params)

    def _check_finite(self, loss, step) -> None:
        value = loss.item()
        if not math.isfinite(value):
            raise NonFiniteLoss(
                f"the loss became {value} at global step {step} (worker {self.worker})", step
            )

    def _backward(self, loss, step) -> torch.Tensor:
        """Gradients of the rollout's loss on the local model, their norm clipped;
        returns the norm before clipping."""
        self._check_finite(loss, step)
        self.local_grad.zero_()  # not grad = None: backward() then adds into the flat views
        loss.backward()
        # The norm of the flat gradient is the global norm over all parameters; rescale
        # it to at most max_grad_norm (what clip_grad_norm_ does, on one tensor).
        norm = torch.linalg.vector_norm(self.local_grad)
        self.local_grad.mul_(torch.clamp(self.hp.max_grad_norm / (norm + 1e-6), max=1.0))
        return norm

    def _update_shared_model(self, step) -> None:
        """Hand the local gradients to the shared parameters and step: Hogwild, no lock.

        The gradients are views of one flat tensor, and so are the shared parameters
        of a trained model: the optimizer then steps on the flat tensors at once.
        """
        for shared_param, local_param in zip(self.shared_params, self.local_params):
            shared_param.grad = local_param.grad
        optimizer = self.shared.optimizer
        optimizer.set_lr(annealed_lr(self.hp.lr, step, self.config.max_steps, self.hp.lr_anneal))
        optimizer.step()

    def _student_update(self, loss, step) -> float:
        """The student's ``hogwild_update`` in place of :meth:`_backward` and
        :meth:`_update_shared_model`: the same update, written by hand
        (:func:`a3c_course.paper.targets.hogwild_update` is the reference); returns the
        norm it returned, the one before clipping."""
        self._check_finite(loss, step)
        optimizer = self.shared.optimizer
        optimizer.set_lr(annealed_lr(self.hp.lr, step, self.config.max_steps, self.hp.lr_anneal))
        norm = self.hogwild_update(self.local_model, self.shared.model, optimizer, loss,
                                   self.hp.max_grad_norm)
        try:
            return float(norm)
        except (TypeError, ValueError):
            raise TypeError(f"hogwild_update returned {norm!r}; it must return the gradient norm "
                            f"before clipping, a float (check_hogwild_update checks it)") from None

    def _collect_rollout(self, step: int) -> Rollout:
        rollout = Rollout()
        rollout.initial_state = self.state
        method, env = self.method, self.env
        for _ in range(method.rollout_length()):
            obs = self.obs
            if self.pending_action is not None:
                action, self.pending_action = self.pending_action, None
            else:
                action, self.state = method.act(self.local_model, torch.from_numpy(obs), self.state)
            next_obs, reward, terminated, truncated, info = env.step(env_action(action, self.action_space))
            next_obs = observation_to_array(next_obs)
            rollout.observations.append(obs)
            rollout.actions.append(action)
            rollout.rewards.append(learning_reward(reward, self.hp.reward_clip,
                                                   self.return_scale))
            if terminated or truncated:
                if self.return_scale is not None:
                    self.return_scale.episode_ended()
                episode = info["episode"]
                self._report_episode(step + len(rollout), float(episode["r"]), int(episode["l"]))
                self._finish(rollout, next_obs,
                             bool(terminated) or (bool(truncated) and self.hp.time_limit_terminal))
                obs, _ = env.reset()
                self.obs = observation_to_array(obs)
                self._carry_state(episode_ended=True)
                return rollout
            self.obs = next_obs
            if self._lost_life(info):  # the game goes on, and so does the memory
                self._finish(rollout, next_obs, True)
                self._carry_state(episode_ended=False)
                return rollout
        self._finish(rollout, self.obs, False)
        self._carry_state(episode_ended=False)
        return rollout

    def _carry_state(self, episode_ended: bool) -> None:
        """The LSTM state the next rollout starts from (``next_lstm_state``): zeros after
        an episode, else the same values detached, so that the next rollout's gradient
        stops at its first step (truncated backpropagation through time)."""
        if self.state is not None:
            self.state = self.next_lstm_state(self.state, episode_ended)

    def _finish(self, rollout: Rollout, bootstrap_obs, terminated: bool) -> None:
        rollout.bootstrap_observation = bootstrap_obs
        rollout.terminated = terminated
        if self.method.needs_next_action and not terminated:
            # Sarsa learns from the action it will really take next: choose it now,
            # before the update, and take it at the start of the next rollout.
            action, state = self.method.act(
                self.local_model, torch.from_numpy(bootstrap_obs), self.state
            )
            rollout.next_action = action
            if bootstrap_obs is self.obs:
                self.pending_action, self.state = action, state

    def _lost_life(self, info) -> bool:
        if not self.hp.life_loss_terminal or "lives" not in info:
            return False
        lives = int(info["lives"])
        lost = self.lives is not None and lives < self.lives
        self.lives = lives
        return lost

    def _report_episode(self, step, episode_return, episode_length):
        self.lives = None  # the next game starts with a full set of lives
        wall = time.time() - self.shared.start_time
        self.shared.queue.put((EPISODE, self.worker, wall, step, episode_return, episode_length))
