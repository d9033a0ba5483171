r"""What one update costs at a parameter server: the round trip, and the server's own work.

On one machine a worker's sync is a memory copy and its update a few vector operations
on shared memory. With a parameter server, each update is a round trip: the gradient
travels to the server, the server applies it, the new weights travel back. Two
figures decide how far that scales:

- the **round trip** :math:`t_{rt}`, which each worker waits for once per update (on one
  machine Ray's own overhead; across machines add twice the weights' size over the
  network's bandwidth, plus its latency);
- the server's **work per update** :math:`t_{s}`: it applies updates one at a time, so
  it saturates at :math:`1 / t_s` updates per second. With workers that each spend
  :math:`t_w` computing an update, it can serve about :math:`t_w / t_s` of them before
  they queue up.

:func:`time_updates` measures both for the network a run on ``env_id`` would train.
"""

from __future__ import annotations

import time

import numpy as np

from .parameter_server import ParameterServer


def time_updates(env_id: str = "CartPole-v1", repeats: int = 200) -> dict:
    """Time updates of ``env_id``'s A3C network: through a parameter-server actor (this
    process must be connected to Ray), and the server's work alone, in this process.

    Returns ``parameters``, ``megabytes`` (the weights, one way), ``round_trip_ms``,
    ``server_ms`` (applying one update and preparing the answer) and ``copy_ms`` (a
    shared-memory sync instead: copying the weights once).
    """
    import ray

    from ..plan import make_plan

    plan = make_plan("a3c", env_id, 1, 0, 10**9, None, None, None, None, None, None, None, {})
    args = (plan.config, None, False, 0, plan.functions)
    local = ParameterServer(*args)
    size = local.weights.size
    gradient = np.full(size, 1e-3, dtype=np.float32)

    def push(server_push, version):
        return server_push(0, gradient, version, 1e-4, 0, [], 0)

    version = 0
    start = time.perf_counter()
    for _ in range(repeats):
        push(local.push, version)
        version += 1
    server_seconds = (time.perf_counter() - start) / repeats

    remote = ray.remote(num_cpus=0)(ParameterServer).remote(*args)
    try:
        reply = ray.get(remote.fetch.remote(0, 0, "", 0))
        start = time.perf_counter()
        for _ in range(repeats):
            reply = ray.get(push(remote.push.remote, reply[1]))
        round_trip = (time.perf_counter() - start) / repeats
    finally:
        ray.kill(remote)

    mirror = np.empty_like(local.weights)
    start = time.perf_counter()
    for _ in range(repeats):
        np.copyto(mirror, local.weights)
    copy_seconds = (time.perf_counter() - start) / repeats
    return {"env_id": env_id, "parameters": int(size), "megabytes": size * 4 / 1e6,
            "round_trip_ms": round_trip * 1e3, "server_ms": server_seconds * 1e3,
            "copy_ms": copy_seconds * 1e3}
