"""How the checkers show values to a student: as the student would type them.

Numbers are rounded to 4 decimals, tensors become nested lists, shapes ``[3, 2]``
and dtypes ``float32``, so that a message reads like the notebook cell it is about.
"""

from __future__ import annotations

import math

import numpy as np
import torch

#: Hints for error messages that torch and Python give, whatever the exercise.
GENERAL_EXCEPTION_HINTS = (
    ("with a bool tensor is not supported",
     "`terminated` is a bool tensor: invert it with ~terminated, or turn it into "
     "0.0/1.0 first with terminated.float()."),
    ("Boolean value of Tensor with more than one",
     "An `if` or `and`/`or` on a tensor of several values: treat the whole batch at "
     "once, e.g. with torch.where(...) or by multiplying by (~terminated).float()."),
    ("leaf Variable that requires grad is being used in an in-place",
     "You changed an input in place; compute into a new tensor instead."),
    ("Can't call numpy() on Tensor that requires grad",
     "Stay in torch (tensors in, tensors out); if you need numpy, call .detach() first."),
    ("cannot be converted to Scalar",
     ".item(), float() or int() only work on a tensor holding one number."),
    ("only one element tensors can be converted",
     ".item(), float() or int() only work on a tensor holding one number."),
)


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
