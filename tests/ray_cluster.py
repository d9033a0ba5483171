"""A local Ray cluster for the tests, held by a helper process, and a check for leftovers.

The cluster lives in a process of its own (this file, run as a script): it starts Ray,
prints the cluster's address, and stops Ray when its standard input closes. The tests
join it with ``ray_address``, as a user joins a cluster started with ``ray start
--head``; this test process never holds Ray itself, so that the tests after it can
still fork worker processes safely. Every process of the cluster descends from the
helper, so that stopping it can be checked, and anything left killed, by process id.
"""

import json
import os
import subprocess
import sys
import time

import psutil

HERE = os.path.dirname(os.path.abspath(__file__))
START_ATTEMPTS = 2


class ClusterDidNotStart(RuntimeError):
    """Ray gave up starting a local cluster (its raylet waits a fixed time for its helper
    processes, which a machine loaded far beyond its cores can exceed)."""


def running(process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def processes_with_token(token: str) -> list:
    """Running processes whose environment holds ``A3C_COURSE_TEST_TOKEN=token``: every
    process a command started with it, however deep (Ray's raylet passes its own
    environment on to the worker processes it starts)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("A3C_COURSE_TEST_TOKEN") == token and running(process):
                found.append(process)
        except psutil.Error:
            continue
    return found


class HeldCluster:
    """A Ray cluster with ``cpus`` CPUs in a helper process; ``address`` to join it."""

    def __init__(self, cpus=2):
        last_error = ""
        for _ in range(START_ATTEMPTS):
            # Without token authentication: the cluster serves these tests on this
            # machine only, and a cluster started by ray.init() keeps its token to itself,
            # so a process joining by address could not present it.
            self.helper = subprocess.Popen(
                [sys.executable, __file__, str(cpus)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True, cwd=HERE,
                env={**os.environ, "RAY_AUTH_MODE": "disabled"})
            line = self.helper.stdout.readline()
            if line.startswith("{"):
                self.address = json.loads(line)["address"]
                return
            last_error = line
            self.stop()
        raise ClusterDidNotStart(f"no local Ray cluster started in {START_ATTEMPTS} attempts "
                                 f"(load average {os.getloadavg()[0]:.0f} on {os.cpu_count()} "
                                 f"cores): {last_error.strip()}")

    def processes(self) -> list:
        try:
            return [p for p in psutil.Process(self.helper.pid).children(recursive=True)
                    if running(p)]
        except psutil.Error:
            return []

    def stop(self, timeout=30.0) -> list:
        """Stop the cluster; returns the processes that had to be killed (none, if Ray
        stopped everything it started)."""
        processes = self.processes()
        try:
            self.helper.stdin.close()
        except OSError:
            pass
        try:
            self.helper.wait(timeout)
        except subprocess.TimeoutExpired:
            self.helper.kill()
            self.helper.wait()
        deadline = time.monotonic() + 15
        while any(running(p) for p in processes) and time.monotonic() < deadline:
            time.sleep(0.1)
        leftover = [p for p in processes if running(p)]
        for process in leftover:
            try:
                process.kill()
            except psutil.Error:
                pass
        return leftover


def _hold(cpus: int) -> None:
    import logging

    import ray

    try:
        ray.init(num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING)
    except Exception as err:  # a start-up timeout on a busy machine: the caller retries
        print(f"failed: {str(err).splitlines()[0]}", flush=True)
        ray.shutdown()
        return
    print(json.dumps({"address": ray.get_runtime_context().gcs_address}), flush=True)
    sys.stdin.read()  # until the tests close it
    ray.shutdown()


if __name__ == "__main__":
    _hold(int(sys.argv[1]))
