"""Starting a local Ray cluster, or joining one, and leaving nothing behind.

Three cases, by ``ray_address``:

- ``None``, and this process is not connected to Ray yet: start a local cluster sized
  to this machine (one CPU per core, or per worker if there are more workers), and stop
  it at the end: every process it started (the GCS server, the raylet, its agents and
  the worker processes) is gone when ``train()`` returns;
- ``None``, and this process is connected already (``ray.init()`` was called before,
  by a notebook or a test): use that cluster and leave it as it was;
- ``"auto"`` or ``"HOST:PORT"`` (or ``None`` with the environment variable
  ``RAY_ADDRESS`` set, as Ray itself reads it): join the cluster started with
  ``ray start --head`` (and ``ray start --address=HOST:PORT`` on the other machines);
  disconnect at the end and leave the cluster running.

On a busy machine a local cluster can take a while to start: its half-dozen processes
each import Ray, and Ray gives up when its raylet has not registered within 30 s.
:meth:`RayCluster.connect` tries twice, then says what to do instead.
"""

from __future__ import annotations

import logging
import os
import signal
import time

import psutil

from ...errors import A3CCourseError, ConfigError

START_ATTEMPTS = 2
EXIT_SECONDS = 15.0
"""How long the processes of a stopped local cluster get to exit before they are killed."""


class ClusterError(A3CCourseError, RuntimeError):
    """The Ray cluster could not be started or joined."""


class RayCluster:
    """The connection to Ray of one ``train()`` call (see the module's docstring)."""

    def __init__(self, address: str | None, n_workers: int):
        self.address = address
        self.n_workers = n_workers
        self.started = False  # this run started a local cluster, and stops it
        self.connected = False  # this run connected, and disconnects
        self.start_seconds = None
        self.cpus = None
        self.nodes = None
        self._before = set()

    def connect(self) -> None:
        import ray

        start = time.monotonic()
        # ray.init() installs its own SIGTERM handler (exit at once); this process's own
        # (the CLI's, which turns SIGTERM into a clean stop that saves the run) stays.
        sigterm = signal.getsignal(signal.SIGTERM)
        try:
            self._connect(ray)
        finally:
            if sigterm is not None and _in_main_thread():
                signal.signal(signal.SIGTERM, sigterm)
        self.start_seconds = time.monotonic() - start
        resources = ray.cluster_resources()
        self.cpus = resources.get("CPU", 0.0)
        self.nodes = len([node for node in ray.nodes() if node.get("Alive")])
        if self.cpus < self.n_workers:
            self.close()
            raise ConfigError(
                f"the Ray cluster has {self.cpus:g} CPUs, and each of the {self.n_workers} "
                "workers needs one: ask for fewer workers, or add machines with "
                "`ray start --address=HEAD:6379`")

    def _connect(self, ray) -> None:
        if self.address is None and os.environ.get("RAY_ADDRESS"):
            self.address = os.environ["RAY_ADDRESS"]  # Ray's own way to name a cluster
        if ray.is_initialized():
            pass  # someone connected this process already: theirs to end
        elif self.address is None:
            self._start_local_cluster(ray)
        else:
            try:
                ray.init(address=self.address, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise ClusterError(
                    f"could not join the Ray cluster at {self.address!r} ({err}); start one "
                    "with `ray start --head`, or leave ray_address out to start a local one. "
                    "A cluster with token authentication (Ray's default) is joined by address "
                    "only with RAY_AUTH_MODE=token set and its token in ~/.ray/auth_token "
                    "(`ray get-auth-token` on the head machine prints it)"
                ) from err
            self.connected = True

    def _start_local_cluster(self, ray) -> None:
        cpus = max(os.cpu_count() or 1, self.n_workers)
        self._before = _descendants()
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                ray.init(num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING)
                self.started = True
                self.address = ray.get_runtime_context().gcs_address
                return
            except Exception as err:  # Ray raises plain Exception on a start-up timeout
                self.started = True  # whatever it started must go
                self.close()
                if attempt == START_ATTEMPTS:
                    raise ClusterError(
                        f"a local Ray cluster did not start ({err}). On a busy machine its "
                        "processes can take longer than Ray waits for them: try again, or "
                        "start one yourself with `ray start --head --num-cpus N` and pass "
                        "ray_address='auto' (--ray-address auto)") from err

    def info(self) -> dict:
        return {"address": self.address, "started_cluster": self.started,
                "cluster_start_seconds": self.start_seconds, "cpus": self.cpus,
                "nodes": self.nodes}

    def close(self) -> None:
        """Disconnect; if this run started the cluster, stop it and wait for its
        processes to exit (killing, by their ids, any that outlive ``EXIT_SECONDS``)."""
        import ray

        if self.started:
            cluster_processes = _descendants() - self._before
            ray.shutdown()
            leftover = wait_until_gone(cluster_processes, EXIT_SECONDS)
            for process in leftover:
                try:
                    process.kill()
                except psutil.Error:
                    pass
            wait_until_gone(leftover, 5.0)
        elif self.connected:
            ray.shutdown()  # disconnects this process; the cluster keeps running
        self.started = self.connected = False


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _descendants() -> set:
    try:
        return set(psutil.Process().children(recursive=True))
    except psutil.Error:
        return set()


def wait_until_gone(processes, timeout: float) -> list:
    """The processes still running after ``timeout`` seconds (zombies count as gone)."""
    deadline = time.monotonic() + timeout
    alive = list(processes)
    while alive:
        alive = [p for p in alive if _running(p)]
        if not alive or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    return alive


def _running(process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def ray_processes() -> list:
    """Every process of this machine that belongs to a Ray cluster (for checks and tests):
    GCS servers, raylets, Ray's agents and worker processes, zombies left out."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        try:
            name = process.info["name"] or ""
            cmdline = " ".join(process.info["cmdline"] or [])
        except psutil.Error:
            continue
        if not _running(process):
            continue
        if (name in ("raylet", "gcs_server") or cmdline.startswith("ray::")
                or "/site-packages/ray/" in cmdline):
            found.append(process)
    return found
