"""Networks: a trunk that turns an observation into features, an optional LSTM, and heads.

=====================  ==========================================  =====================
trunk                  used for                                    features
=====================  ==========================================  =====================
``MLPTrunk``           vector observations (CartPole, MuJoCo)      ``hidden_sizes[-1]``
``AtariTrunk``         ``[4, 84, 84]`` uint8 frames (the paper's)   256
``GridTrunk``          MiniGrid's ``[7, 7, 3]`` egocentric view     128
=====================  ==========================================  =====================

Heads: :class:`ActorCritic` (softmax policy and value, one shared trunk, as the paper's
Atari agent), :class:`QNetwork` (one value per action, for the three value-based
methods) and :class:`GaussianActorCritic` (continuous actions, separate policy and
value networks, as the paper's MuJoCo agent).

Every model has the same call signature, so the worker loop does not care which it runs::

    head, value, state = model(obs, state)

- ``obs``: ``[T, *obs_shape]``, the observations of one rollout in time order
  (``T = 1`` when acting);
- ``head``: ``[T, A]`` logits (actor-critic), ``[T, A]`` action values (Q), or a pair
  ``(mean, std)`` each ``[T, action_dim]`` (Gaussian);
- ``value``: ``[T]`` state values, or ``None`` for a Q-network;
- ``state``: the LSTM's ``(h, c)``, each ``[1, lstm_size]``, or ``None`` without one.

A model is described by a small dict, its *spec*, so that a checkpoint can rebuild it
from plain data (and load with ``torch.load(..., weights_only=True)``).
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LSTM_SIZE = 256


def _init_linear(layer: nn.Linear, gain: float) -> nn.Linear:
    # Orthogonal weights keep activations at a sensible scale in every layer; a small
    # gain on the policy head starts the agent with a near-uniform policy.
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


def _init_conv(layer: nn.Conv2d) -> nn.Conv2d:
    # PyTorch's default initialisation scales a convolution down by about sqrt(3); on
    # Pong, whose informative pixels (ball, paddles) are a few dozen of 7,056, the
    # features then hardly depend on the screen at all, and the first updates, which
    # only see noise, are free to switch every filter of the first layer off. The
    # ReLU-preserving scale sqrt(2) keeps each layer's activations at the input's size.
    nn.init.orthogonal_(layer.weight, math.sqrt(2))
    nn.init.zeros_(layer.bias)
    return layer


class MLPTrunk(nn.Module):
    """Fully connected layers with tanh, for vector observations."""

    def __init__(self, obs_shape, hidden_sizes=(64, 64)):
        super().__init__()
        in_features = int(np.prod(obs_shape))
        layers = []
        for size in hidden_sizes:
            layers += [_init_linear(nn.Linear(in_features, size), math.sqrt(2)), nn.Tanh()]
            in_features = size
        self.layers = nn.Sequential(*layers)
        self.out_features = in_features

    def forward(self, obs):
        return self.layers(obs.float().flatten(1))


class AtariTrunk(nn.Module):
    """The paper's Atari network: conv 16x8x8/4, conv 32x4x4/2, fully connected 256, ReLU."""

    def __init__(self, obs_shape, centre_frames=True):
        super().__init__()
        channels, height, width = obs_shape
        # Models saved before frames were centred carry no "centre_frames" in their
        # spec; they keep being fed the frames they learned from.
        self.centre = centre_frames
        self.convs = nn.Sequential(
            _init_conv(nn.Conv2d(channels, 16, kernel_size=8, stride=4)),
            nn.ReLU(),
            _init_conv(nn.Conv2d(16, 32, kernel_size=4, stride=2)),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.convs(torch.zeros(1, channels, height, width)).shape[1]
        self.fc = _init_linear(nn.Linear(flat, 256), math.sqrt(2))
        self.out_features = 256

    def forward(self, obs):
        return F.relu(self.fc(self.convs(self.network_input(obs))))

    def network_input(self, obs):
        """``[T, 4, 84, 84]`` uint8 screens -> floats in [0, 1], each frame minus its mean."""
        # Frames travel as uint8 (4x less memory than float); scale them here.
        frames = obs.float() / 255.0
        if not self.centre:
            return frames
        # Then take each frame's mean brightness away. Most of a screen is background
        # (Pong's is grey, 0.34): uncentred, a first-layer filter answers mostly to it,
        # and moving all of a filter's weights a little in one direction moves its
        # answer everywhere at once. Early on, when the score does not depend on the
        # screen yet, the value loss pulls every feature towards a constant, and that
        # is the fastest way there: every filter switched off for good (measured on
        # Pong: all 16 within 56k-84k steps with RMSProp; Adam's value went flat by 0.44M). Centred, the
        # background adds nothing and the filters answer to what moves.
        return frames - frames.mean(dim=(-2, -1), keepdim=True)


class GridTrunk(nn.Module):
    """MiniGrid's egocentric ``[7, 7, 3]`` view of (object, colour, state) codes -> 128 features.

    The three numbers of a cell are category codes, not quantities: a key is 5 and a
    ball 6, which says nothing about how alike they are. So each code becomes a
    one-hot plane first (11 objects + 6 colours + 3 door states = 20 planes), and one
    fully connected ReLU layer reads the whole ``7 x 7 x 20`` view. The view is so
    small that a convolution buys little, and one layer costs half as much time per
    step on a CPU, where every agent step is a forward pass of batch size one.
    """

    #: How many values each of the three codes takes (minigrid.core.constants).
    CODE_SIZES = (11, 6, 3)

    def __init__(self, obs_shape, features=128):
        super().__init__()
        height, width, channels = obs_shape
        if channels != len(self.CODE_SIZES):
            raise ValueError(f"GridTrunk expects [H, W, 3] MiniGrid codes, not {list(obs_shape)}")
        self.planes = sum(self.CODE_SIZES)
        offsets = torch.tensor([0, self.CODE_SIZES[0], self.CODE_SIZES[0] + self.CODE_SIZES[1]])
        self.register_buffer("offsets", offsets, persistent=False)
        self.register_buffer("largest", torch.tensor(self.CODE_SIZES) - 1, persistent=False)
        self.fc = _init_linear(nn.Linear(height * width * self.planes, features), math.sqrt(2))
        self.out_features = features

    def one_hot(self, obs):
        """``[T, H, W, 3]`` codes -> ``[T, H, W, 20]`` floats, a one in each code's plane."""
        codes = torch.minimum(obs.long(), self.largest) + self.offsets  # [T, H, W, 3]
        return F.one_hot(codes, self.planes).sum(dim=-2).float()

    def forward(self, obs):
        return F.relu(self.fc(self.one_hot(obs).flatten(1)))


TRUNKS = {"mlp": MLPTrunk, "atari": AtariTrunk, "grid": GridTrunk}


def _build_trunk(spec) -> nn.Module:
    kind = spec["trunk"]
    if kind == "mlp":
        return MLPTrunk(spec["obs_shape"], tuple(spec.get("hidden_sizes", (64, 64))))
    if kind == "atari":
        return AtariTrunk(spec["obs_shape"], bool(spec.get("centre_frames", False)))
    return TRUNKS[kind](spec["obs_shape"])


class Recurrent(nn.Module):
    """An optional LSTM between trunk and heads; the identity when ``size`` is 0.

    Over a rollout of ``T`` steps it runs the cell once per observation, in order,
    starting from ``state``: backpropagation through time is truncated at the rollout
    start, because the worker hands in a detached state.
    """

    def __init__(self, in_features, size):
        super().__init__()
        self.size = size
        self.cell = nn.LSTMCell(in_features, size) if size else None
        self.out_features = size or in_features
        if self.cell is not None:
            nn.init.zeros_(self.cell.bias_ih)
            nn.init.zeros_(self.cell.bias_hh)
            # Forget-gate bias 1 (the gates are ordered input, forget, cell, output): the
            # cell starts by keeping 73% of its memory per step instead of half, so what
            # was seen five steps ago still reaches the output, and its gradient still
            # reaches it back (Jozefowicz et al., 2015).
            nn.init.ones_(self.cell.bias_ih[size:2 * size])

    def forward(self, features, state):
        if self.cell is None:
            return features, None
        if state is None:
            state = self.initial_state()
        if len(features) == 1:  # acting: one step
            h, c = self.cell(features, state)
            return h, (h, c)
        return self.sequence(features, state)

    def sequence(self, features, state):
        """``[T, in]`` features -> ``[T, size]`` outputs and the last state.

        The same recurrence as calling the cell ``T`` times, computed by PyTorch's fused
        LSTM kernel with the cell's own weights: for the 20-step rollouts of a maze its
        forward and backward pass take about a third of the time of a Python loop.
        """
        h, c = state
        weights = [self.cell.weight_ih, self.cell.weight_hh, self.cell.bias_ih, self.cell.bias_hh]
        outputs, h, c = torch.lstm(features.unsqueeze(1), (h.unsqueeze(0), c.unsqueeze(0)),
                                   weights, True, 1, 0.0, self.training, False, False)
        return outputs.squeeze(1), (h.squeeze(0), c.squeeze(0))

    def sequence_by_cell(self, features, state):
        """The reference for :meth:`sequence`: one cell step at a time (tests compare them)."""
        outputs = []
        h, c = state
        for row in features.unsqueeze(1):  # one time step at a time, batch of 1
            h, c = self.cell(row, (h, c))
            outputs.append(h)
        return torch.cat(outputs, dim=0), (h, c)

    def initial_state(self):
        if self.cell is None:
            return None
        zeros = torch.zeros(1, self.size)
        return zeros, zeros.clone()


class ActorCritic(nn.Module):
    """Shared trunk with a softmax policy head and a value head (the paper's A3C agent)."""

    def __init__(self, spec):
        super().__init__()
        self.spec = dict(spec)
        self.trunk = _build_trunk(spec)
        self.core = Recurrent(self.trunk.out_features, spec.get("lstm_size", 0))
        self.policy = _init_linear(nn.Linear(self.core.out_features, spec["n_actions"]), 0.01)
        self.value = _init_linear(nn.Linear(self.core.out_features, 1), 1.0)

    def forward(self, obs, state=None):
        features, state = self.core(self.trunk(obs), state)
        return self.policy(features), self.value(features).squeeze(-1), state

    def initial_state(self):
        return self.core.initial_state()


class QNetwork(nn.Module):
    """A trunk and one output per action, :math:`Q(s, a; \\theta)`, for the value-based methods."""

    def __init__(self, spec):
        super().__init__()
        self.spec = dict(spec)
        self.trunk = _build_trunk(spec)
        self.core = Recurrent(self.trunk.out_features, spec.get("lstm_size", 0))
        self.q = _init_linear(nn.Linear(self.core.out_features, spec["n_actions"]), 1.0)

    def forward(self, obs, state=None):
        features, state = self.core(self.trunk(obs), state)
        return self.q(features), None, state

    def initial_state(self):
        return self.core.initial_state()


class GaussianActorCritic(nn.Module):
    r"""Continuous actions: a Gaussian policy and a separate value network.

    The mean comes from a linear layer and the standard deviation from a softplus,
    both on the policy network's features. As in the paper's continuous-control
    agent, policy and value do not share a trunk. Not as in the paper: its softplus
    gives the variance :math:`\sigma^2`, this one the standard deviation :math:`\sigma`
    (at least ``MIN_STD``), in which the log-density and the entropy are written; and
    its networks have one hidden layer of 200 units, these the trunk of ``hidden_sizes``
    (two of 64). See :data:`a3c_course.config.PAPER_DEPARTURES`.
    """

    MIN_STD = 1e-3

    def __init__(self, spec):
        super().__init__()
        self.spec = dict(spec)
        lstm_size = spec.get("lstm_size", 0)
        self.policy_trunk = _build_trunk(spec)
        self.value_trunk = _build_trunk(spec)
        self.policy_core = Recurrent(self.policy_trunk.out_features, lstm_size)
        self.value_core = Recurrent(self.value_trunk.out_features, lstm_size)
        action_dim = spec["action_dim"]
        self.mean = _init_linear(nn.Linear(self.policy_core.out_features, action_dim), 0.01)
        self.std = _init_linear(nn.Linear(self.policy_core.out_features, action_dim), 0.01)
        self.value = _init_linear(nn.Linear(self.value_core.out_features, 1), 1.0)

    def forward(self, obs, state=None):
        policy_state, value_state = state if state is not None else (None, None)
        policy_features, policy_state = self.policy_core(self.policy_trunk(obs), policy_state)
        value_features, value_state = self.value_core(self.value_trunk(obs), value_state)
        mean = self.mean(policy_features)
        std = F.softplus(self.std(policy_features)) + self.MIN_STD
        new_state = None if policy_state is None else (policy_state, value_state)
        return (mean, std), self.value(value_features).squeeze(-1), new_state

    def initial_state(self):
        policy_state = self.policy_core.initial_state()
        if policy_state is None:
            return None
        return policy_state, self.value_core.initial_state()


MODELS = {"actor_critic": ActorCritic, "q_network": QNetwork, "gaussian": GaussianActorCritic}


def model_spec(
    observation_space: gym.Space,
    action_space: gym.Space,
    head: str,
    hidden_sizes=(64, 64),
    recurrent: bool = False,
    trunk: str | None = None,
) -> dict:
    """The spec of the model for these spaces; ``head`` is a key of :data:`MODELS`.

    ``trunk`` is a key of :data:`TRUNKS`; by default images shaped ``[C, H, W]`` get
    the Atari trunk, ``[H, W, 3]`` grids the MiniGrid one, and vectors the MLP.
    """
    obs_shape = tuple(int(n) for n in observation_space.shape)
    if trunk is None:
        if len(obs_shape) == 3 and obs_shape[-1] == 3:
            trunk = "grid"
        elif len(obs_shape) == 3:
            trunk = "atari"
        else:
            trunk = "mlp"
    if trunk not in TRUNKS:
        raise ValueError(f"unknown trunk {trunk!r}; choose one of {', '.join(TRUNKS)}")
    spec = {"head": head, "trunk": trunk, "obs_shape": list(obs_shape)}
    if trunk == "mlp":
        spec["hidden_sizes"] = [int(n) for n in hidden_sizes]
    if trunk == "atari":
        spec["centre_frames"] = True
    if isinstance(action_space, gym.spaces.Discrete):
        spec["n_actions"] = int(action_space.n)
    else:
        spec["action_dim"] = int(np.prod(action_space.shape))
    spec["lstm_size"] = LSTM_SIZE if recurrent else 0
    return spec


def build_model(spec: dict) -> nn.Module:
    """A freshly initialised model from its spec (see :func:`model_spec`)."""
    return MODELS[spec["head"]](spec)
