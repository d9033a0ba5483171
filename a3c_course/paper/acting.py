"""Choosing an action from a network: the one place the methods, the workers and ``watch`` use.

Three heads, three rules:

- a softmax policy (A3C on discrete actions): sample :math:`a \\sim \\pi(\\cdot \\mid s)`, or
  take its most probable action when ``greedy``;
- a Q-network (the value methods): epsilon-greedy over :math:`Q(s, \\cdot)`, with the
  exercise's ``epsilon_greedy`` (the student's, when they passed theirs to ``train``);
- a Gaussian policy (continuous actions): :math:`a = \\mu(s) + \\sigma(s)\\,\\xi`,
  :math:`\\xi \\sim \\mathcal N(0, I)`, or the mean when ``greedy``. The action is not
  clipped here: learning uses it as sampled, and only what reaches the environment
  is clipped to its bounds (:func:`env_action`).

Random choices draw from one NumPy generator per actor, so a worker's or a replay's
choices are reproducible from its seed.

Small MLP models are evaluated in NumPy on views of their weights, which for
CartPole's network takes a sixth of PyTorch's time per call
(:mod:`a3c_course.engine.fast_acting`); every other model in PyTorch.
"""

from __future__ import annotations

import numpy as np
import torch

from ..engine.fast_acting import CachedHead
from . import targets

#: The attribute of each kind of model that holds the layer the NumPy path evaluates.
_NUMPY_HEADS = {"actor_critic": "policy", "q_network": "q"}


class ActionChooser:
    """Chooses the actions of one kind of model (``head``: a key of :data:`models.MODELS`).

    Args:
        head: ``"actor_critic"``, ``"q_network"`` or ``"gaussian"``.
        rng: the NumPy generator every random choice draws from.
        epsilon_greedy: the epsilon-greedy rule of the Q-network head
            (default: the reference, :func:`a3c_course.paper.targets.epsilon_greedy`).
    """

    def __init__(self, head: str, rng: np.random.Generator, epsilon_greedy=None):
        self.head = head
        self.rng = rng
        self.epsilon_greedy = epsilon_greedy or targets.epsilon_greedy
        self.numpy_head = CachedHead(_NUMPY_HEADS[head]) if head in _NUMPY_HEADS else None

    def __call__(self, model, obs: torch.Tensor, state, *, epsilon: float = 0.0,
                 greedy: bool = False):
        """The action in observation ``obs`` (one observation, no batch dimension).

        Returns ``(action, state)``: an ``int`` (discrete) or a float32 array
        (continuous), and the model's recurrent state after this step.
        """
        output, state = self._forward(model, obs, state)
        if self.head == "q_network":
            return self.epsilon_greedy(torch.as_tensor(output), epsilon, self.rng), state
        if self.head == "gaussian":
            mean, std = output
            if greedy:
                return mean, state
            noise = self.rng.standard_normal(mean.shape).astype(np.float32)
            return mean + std * noise, state
        if greedy:
            return int(np.argmax(output)), state
        return sample_from_logits(output, self.rng), state

    def batch(self, model, obs: torch.Tensor, *, epsilon: float = 0.0,
              greedy: bool = False) -> list:
        """The actions in a batch of observations ``[B, *obs_shape]``, from one forward pass.

        For feed-forward models only (a recurrent model's games each carry their own
        state: act in each with :meth:`__call__`). Returns a list of ``B`` actions, each
        chosen by the same rule as :meth:`__call__`.
        """
        fast = self.numpy_head.get(model) if self.numpy_head is not None else None
        if fast is not None:
            output = fast.batch(obs.numpy())
        else:
            with torch.no_grad():
                output, _, _ = model(obs)
            output = tuple(o.numpy() for o in output) if self.head == "gaussian" else output.numpy()
        if self.head == "q_network":
            return [self.epsilon_greedy(torch.as_tensor(row), epsilon, self.rng) for row in output]
        if self.head == "gaussian":
            mean, std = output
            if greedy:
                return list(mean)
            return list(mean + std * self.rng.standard_normal(mean.shape).astype(np.float32))
        if greedy:
            return output.argmax(axis=1).tolist()
        return sample_rows_from_logits(output, self.rng).tolist()

    def _forward(self, model, obs, state):
        """The head's output for one observation, as NumPy; on the fast path where it applies."""
        fast = self.numpy_head.get(model) if self.numpy_head is not None else None
        if fast is not None:  # a feed-forward MLP: no recurrent state to carry
            return fast(obs.numpy()), state
        with torch.no_grad():
            output, _, state = model(obs.unsqueeze(0), state)
        if self.head == "gaussian":
            return (output[0][0].numpy(), output[1][0].numpy()), state
        return output[0].numpy(), state


def sample_from_logits(logits: np.ndarray, rng: np.random.Generator) -> int:
    """Draw an action from softmax(``logits``) by inverting the cumulative distribution.

    One uniform number and a search in the running sum: no normalising division,
    no temporary distribution object.
    """
    weights = np.exp(logits - logits.max())
    cumulative = np.cumsum(weights)
    index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return min(index, len(cumulative) - 1)  # guards the rounding at the very top


def sample_rows_from_logits(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw from softmax(row) for each row of ``logits`` ``[B, A]``, as
    :func:`sample_from_logits` draws one: the inverse of each row's running sum."""
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    cumulative = np.cumsum(weights, axis=1)
    thresholds = rng.random(len(logits)) * cumulative[:, -1]
    index = (cumulative <= thresholds[:, None]).sum(axis=1)  # searchsorted, side="right"
    return np.minimum(index, logits.shape[1] - 1)


def env_action(action, action_space):
    """What is sent to the environment: a continuous action clipped to the space's bounds.

    The Gaussian is unbounded; learning uses the action as sampled, so only this copy
    is clipped. Discrete actions pass unchanged.
    """
    low = getattr(action_space, "low", None)
    if low is None:
        return action
    return np.clip(action, low, action_space.high)
