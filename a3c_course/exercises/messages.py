"""How the checkers show values to a student: as the student would type them.

Numbers are rounded to 4 decimals, tensors become nested lists, shapes ``[3, 2]``
and dtypes ``float32``, so that a message reads like the notebook cell it is about.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def show(value) -> str:
    """A value as the student would type it, numbers rounded to 4 decimals."""
    if torch.is_tensor(value):
        value = value.detach()
        if value.numel() > 64:
            return f"<a tensor {shape_text(tuple(value.shape))}>"
        if value.dim() == 0:
            return number(value.item())
        return nested(value.tolist())
    if isinstance(value, (list, tuple)) and any(torch.is_tensor(v) for v in value):
        inner = ", ".join(show(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, np.random.Generator):
        return "rng"
    if isinstance(value, torch.nn.Module):
        return f"<a {type(value).__name__} network>"
    if hasattr(value, "param_groups"):
        return "<an optimizer>"
    if isinstance(value, np.ndarray) and value.size > 12:
        return f"<an array {shape_text(value.shape)} of {value.dtype}>"
    if isinstance(value, (float, np.floating)):
        return number(float(value))
    return repr(value)


def nested(values) -> str:
    if isinstance(values, list):
        return "[" + ", ".join(nested(v) for v in values) + "]"
    return number(values)


def number(x) -> str:
    if isinstance(x, bool) or isinstance(x, int):
        return repr(x)
    if math.isfinite(x):
        return repr(round(x, 4) + 0.0)  # + 0.0 turns -0.0 into 0.0
    return repr(x)


def shape_text(shape: tuple) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def dtype_text(dtype) -> str:
    return str(dtype).replace("torch.", "")


def short(value, limit: int = 60) -> str:
    text = show(value) if torch.is_tensor(value) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
