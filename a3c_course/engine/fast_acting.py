"""Choosing actions with a small MLP without PyTorch's per-call overhead.

A worker chooses every action with a forward pass of batch size one. For CartPole's
4 -> 64 -> 64 -> 2 network that is a few thousand multiply-adds, which take well
under a microsecond; what costs is PyTorch's dispatch around each of the half-dozen
modules and operations (``torch.no_grad``, ``Module.__call__``, tensor allocation),
some 80 microseconds per step on one core. NumPy does it in a sixth of that, so for
feed-forward MLP models the action is computed here, from NumPy *views* of the
model's own parameters: no copy, and the in-place copy of the shared weights into
the local model before each rollout is seen at once.

The gradient step still runs in PyTorch: it needs autograd, and it runs once per
rollout, not once per step. Convolutional and recurrent models keep PyTorch for
acting too (their forward pass is real work, where PyTorch's kernels are faster).
"""

from __future__ import annotations

import numpy as np
import torch


class NumpyMLPHead:
    """One head of a feed-forward MLP model, ``trunk -> head``, evaluated in NumPy.

    ``NumpyMLPHead(model, model.policy)(obs)`` gives the same logits as
    ``model(obs[None])[0][0]`` (up to float32 rounding), for one observation.
    """

    def __init__(self, model: torch.nn.Module, head: torch.nn.Linear):
        self.model = model
        self.layers = []  # (weight transposed [in, out], bias [out]); tanh between them
        for layer in model.trunk.layers:
            if isinstance(layer, torch.nn.Linear):
                self.layers.append(_numpy_view(layer))
        self.head = _numpy_view(head)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        x = np.asarray(obs, dtype=np.float32).reshape(-1)
        for weight_t, bias in self.layers:
            x = np.tanh(x @ weight_t + bias)
        weight_t, bias = self.head
        return x @ weight_t + bias

    def batch(self, obs: np.ndarray) -> np.ndarray:
        """The head's output for a batch of observations, ``[B, *obs_shape] -> [B, out]``."""
        x = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)
        for weight_t, bias in self.layers:
            x = np.tanh(x @ weight_t + bias)
        weight_t, bias = self.head
        return x @ weight_t + bias


def _numpy_view(layer: torch.nn.Linear):
    # detach() shares the parameter's memory; .T is a view too: nothing is copied, so
    # in-place updates of the parameters (the sync from the shared model) show here.
    return layer.weight.detach().numpy().T, layer.bias.detach().numpy()


def numpy_head(model: torch.nn.Module, head_name: str) -> NumpyMLPHead | None:
    """A NumPy evaluator of ``model``'s head ``head_name``, or None where PyTorch must act.

    Only feed-forward models on the MLP trunk qualify (``spec["trunk"] == "mlp"``
    and no LSTM), on the CPU in float32.
    """
    spec = getattr(model, "spec", None)
    if not spec or spec.get("trunk") != "mlp" or spec.get("lstm_size", 0):
        return None
    head = getattr(model, head_name, None)
    if not isinstance(head, torch.nn.Linear):
        return None
    trunk_layers = getattr(getattr(model, "trunk", None), "layers", ())
    if not all(isinstance(layer, (torch.nn.Linear, torch.nn.Tanh)) for layer in trunk_layers):
        return None
    if any(p.device.type != "cpu" or p.dtype != torch.float32 for p in model.parameters()):
        return None
    return NumpyMLPHead(model, head)


class CachedHead:
    """``numpy_head`` for whichever model a method is asked to act with, built once per model."""

    def __init__(self, head_name: str):
        self.head_name = head_name
        self.model = None
        self.head = None

    def get(self, model) -> NumpyMLPHead | None:
        if model is not self.model:
            self.model = model
            self.head = numpy_head(model, self.head_name)
        return self.head
