"""How many workers this machine can hold, checked before any of them starts.

Each worker is a process with its own interpreter, PyTorch, environment and copy of
the model: about 60 MiB on CartPole, measured as the memory a worker adds, more with
a bigger model or environment, and more again for whatever the student's functions
carry with them (a closure that holds a 300 MB array is copied into every worker).
A count whose memory clearly exceeds what the machine has free is refused; a count
far above the number of cores only takes turns on them, which is allowed (the paper
ran 16 threads) but gets a warning.
"""

from __future__ import annotations

import os
import warnings

import psutil

from ..errors import ConfigError

#: What a worker process adds, measured on CartPole (interpreter, PyTorch, environment).
WORKER_BASE_BYTES = 60 * 2**20
#: Workers per core above which the run gets a warning.
WORKERS_PER_CORE_WARNING = 4
#: The student's functions, pickled, above this size get a warning.
LARGE_FUNCTIONS_BYTES = 50 * 2**20


def worker_bytes(model_parameters: int, functions_bytes: int) -> int:
    """The memory one worker needs, roughly: its base, four copies of the model's
    numbers (weights, gradients, and the loss's activations and buffers), and twice
    the student's functions (the pickle and the objects it becomes)."""
    return WORKER_BASE_BYTES + 4 * 4 * model_parameters + 2 * functions_bytes


def check_worker_count(n_workers: int, model_parameters: int, functions_bytes: int) -> None:
    """Refuse ``n_workers`` that cannot fit in memory; warn about many per core."""
    per_worker = worker_bytes(model_parameters, functions_bytes)
    available = psutil.virtual_memory().available
    if n_workers * per_worker > available:
        fit = max(1, available // per_worker)
        raise ConfigError(
            f"n_workers={n_workers} would need about {n_workers * per_worker / 2**30:,.1f} GiB "
            f"(about {per_worker / 2**20:,.0f} MiB each) and this machine has "
            f"{available / 2**30:,.1f} GiB free; use at most {fit} (the paper used 16)")
    cores = os.cpu_count() or 1
    if n_workers > WORKERS_PER_CORE_WARNING * cores:
        warnings.warn(f"n_workers={n_workers} on {cores} CPU cores: the workers take turns on "
                      "the cores, so each runs slower; more than a few per core rarely helps",
                      stacklevel=4)
    if functions_bytes > LARGE_FUNCTIONS_BYTES:
        warnings.warn(f"your exercise functions take {functions_bytes / 2**20:,.0f} MiB once "
                      "pickled (a large array or model they refer to?), and every worker gets "
                      "a copy: define large data inside the function, or pass less",
                      stacklevel=4)
