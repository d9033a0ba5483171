"""One contiguous buffer behind all of a model's parameters, and one behind their gradients.

A worker's update touches every parameter tensor several times: copy the shared
weights in, zero the gradients, clip their norm, add them into the optimizer's
statistics, step. CartPole's network has 8 parameter tensors, so each of those is 8
small operations, and on a CPU a small operation costs a few microseconds of
dispatch whatever its size. When the parameters are *views* of one flat 1-D tensor,
each becomes a single operation on the flat tensor: the same arithmetic, a fraction
of the overhead. Modules, autograd and ``state_dict`` keep working on the views.
"""

from __future__ import annotations

import torch


def flatten_parameters(module: torch.nn.Module) -> torch.Tensor:
    """Move ``module``'s parameters into one new 1-D tensor and make them views of it.

    The values are kept. Call it before ``share_memory()`` and before anything keeps a
    reference to a parameter's old storage (an optimizer, a NumPy view).
    """
    params = list(module.parameters())
    flat = _zeros_for(params)
    for param, view in zip(params, views_like(flat, params)):
        view.copy_(param.detach())
        param.data = view
    return flat


def flatten_gradients(module: torch.nn.Module) -> torch.Tensor:
    """Give every parameter a ``.grad`` that is a view of one zeroed 1-D tensor, returned.

    ``backward()`` adds into an existing ``.grad`` in place, so the views stay views:
    zero the flat tensor before each backward pass instead of setting grads to None.
    """
    params = list(module.parameters())
    flat = _zeros_for(params)
    for param, view in zip(params, views_like(flat, params)):
        param.grad = view
    return flat


def views_like(flat: torch.Tensor, tensors):
    """Consecutive views of the 1-D ``flat``, one shaped like each of ``tensors``."""
    offset = 0
    for tensor in tensors:
        n = tensor.numel()
        yield flat[offset:offset + n].view_as(tensor)
        offset += n


def _zeros_for(tensors) -> torch.Tensor:
    return torch.zeros(sum(t.numel() for t in tensors), dtype=tensors[0].dtype)


def flat_buffer(tensors) -> torch.Tensor | None:
    """The 1-D tensor of which ``tensors`` are consecutive, contiguous views, or None.

    Used to notice, cheaply, whether the flat fast path applies: the parameters of a
    model built by the trainer are flat; those of a model built by hand are not.
    """
    tensors = list(tensors)
    if not tensors:
        return None
    first = tensors[0]
    storage = first.untyped_storage().data_ptr()
    start = offset = first.storage_offset()
    for tensor in tensors:
        if (tensor.untyped_storage().data_ptr() != storage or tensor.storage_offset() != offset
                or not tensor.is_contiguous() or tensor.dtype != first.dtype):
            return None
        offset += tensor.numel()
    return first.detach().as_strided((offset - start,), (1,), start)
