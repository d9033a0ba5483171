"""train(..., backend="ray"): worker actors, a parameter server, and the same parent loop.

One local cluster (2 CPUs) serves every test that joins one; it is started once, by a
helper process (tests/ray_cluster.py), and stopped at the end of the session. One
test starts a cluster of its own through the command line, to check that train()
stops everything it started.
"""

import json
import os
import subprocess
import uuid

import pytest
import torch

from a3c_course import ConfigError, WorkerError, train
from a3c_course.live.monitors import Monitor
from a3c_course.runs.result import load_run
from conftest import PYTHON, REPO, InterruptAfter, wait_until_gone
from ray_cluster import ClusterDidNotStart, HeldCluster, processes_with_token, running

pytest.importorskip("ray")


@pytest.fixture(scope="session")
def cluster():
    """A local Ray cluster for the session; RAY_ADDRESS names it to the notebooks too."""
    try:
        held = HeldCluster(cpus=2)
    except ClusterDidNotStart as err:
        # Ray's own fixed start-up limits, not this package's code: on a quiet machine
        # (CI) the cluster starts in seconds.
        pytest.skip(str(err))
    # The test cluster runs without token authentication (see HeldCluster); a process
    # that joins it says so too.
    previous = {name: os.environ.get(name) for name in ("RAY_ADDRESS", "RAY_AUTH_MODE")}
    os.environ.update(RAY_ADDRESS=held.address, RAY_AUTH_MODE="disabled")
    yield held
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    leftover = held.stop()
    assert not leftover, f"Ray processes outlived their cluster: {leftover}"


def on_ray(cluster, **kwargs):
    return dict(backend="ray", ray_address=cluster.address, live="none", **kwargs)


def _server_and_workers(algo="a3c", n_workers=1, **settings):
    """A parameter server and its workers' loops, all in this process: the server's
    methods are called directly, as an actor's would be, one at a time."""
    import time

    from a3c_course.engine.plan import make_plan
    from a3c_course.engine.ray_backend.parameter_server import ParameterServer
    from a3c_course.engine.ray_backend.remote_worker import RayWorkerLoop, RemoteState

    plan = make_plan(algo, "CartPole-v1", n_workers, 0, 100_000, None, None, None, None, None,
                     None, None, dict(settings))
    server = ParameterServer(plan.config, None, plan.method.uses_target_network, 0,
                             plan.functions)
    loops = []
    for i in range(n_workers):
        state = RemoteState(i, plan.config, server, time.time(),
                            plan.method.uses_target_network,
                            call=lambda method, *args: method(*args))
        loop = RayWorkerLoop(i, plan.config, state, {}, plan.final_epsilons[i])
        obs, _ = loop.env.reset()  # what run() does before its first iteration
        loop.obs, loop.state, loop.pending_action = obs, loop.local_model.initial_state(), None
        loops.append(loop)
    return plan, server, loops


def test_the_parameter_server_applies_exactly_the_updates_shared_memory_would():
    """Same seeds, same rollouts: the server's weights after 30 updates are the shared
    model's, to the bit. Only where the update is applied differs."""
    from in_process import in_process_worker_loop

    plan, server, (remote,) = _server_and_workers()
    local = in_process_worker_loop(plan.config)
    with torch.no_grad():
        server.model.load_state_dict(local.shared.model.state_dict())
    for _ in range(30):
        local._train_once(int(local.shared.step_counts.sum()))
        remote._train_once(int(remote.shared.step_counts.sum()))
    for name, value in local.shared.model.state_dict().items():
        assert torch.equal(server.model.state_dict()[name], value), name
    assert server.version == 30 and server.staleness == {0: 30}  # alone: never stale
    assert int(server.counts[0]) == int(remote.shared.step_counts[0]) > 30


def test_staleness_counts_the_updates_others_applied_since_the_weights_were_sent():
    plan, server, (first, second) = _server_and_workers(n_workers=2)
    # Both fetch version 0, then update in turn: the second's gradient is one update old.
    first.shared.fetch()
    second.shared.fetch()
    for loop in (first, second):
        loop._train_once(0)
    assert dict(server.staleness) == {0: 1, 1: 1}
    # From now on each answer carries the newest weights: taking turns, each update
    # finds exactly one other update applied since its weights were sent.
    for _ in range(5):
        for loop in (first, second):
            loop._train_once(int(loop.shared.step_counts.sum()))
    assert dict(server.staleness) == {0: 1, 1: 11}
    assert second.shared.record_update(1, second.synced_at) == 1
    messages, counts = server.poll()
    assert sum(counts) == int(first.shared.step_counts[0] + second.shared.step_counts[1])


@pytest.mark.parametrize("kwargs, message", [
    (dict(backend="rya"), "unknown backend"),
    (dict(ray_address="auto"), "ray_address is for backend='ray'"),
    (dict(backend="ray", start_method="fork"), "start_method is for the shared-memory"),
])
def test_bad_backend_options_are_refused_before_anything_starts(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        train("a3c", "CartPole-v1", max_steps=100, live="none", **kwargs)


def test_a_short_run_learns_and_measures_staleness_at_the_parameter_server(cluster):
    # A random policy averages about 22 on CartPole; a broken update stays there.
    result = train("a3c", "CartPole-v1", n_workers=2, seed=0, max_steps=30_000,
                   lr_anneal=False, **on_ray(cluster))
    assert result.mean_return() >= 40, result
    assert result.stop_reason == "max_steps"
    assert 30_000 <= result.total_steps < 30_000 + 4 * 5
    assert {e.worker for e in result.episodes} == {0, 1}
    assert all(w["steps"] > 0 for w in result.workers)
    pids = [w["pid"] for w in result.workers]
    assert len(set(pids)) == 2 and os.getpid() not in pids
    assert result.backend["backend"] == "ray" and result.start_method == "ray"
    assert result.backend["started_cluster"] is False  # joined: the cluster stays up
    assert cluster.processes(), "train() stopped a cluster it did not start"
    # Every update was counted once, by the server; two workers take turns, mostly.
    staleness = result.staleness
    assert staleness["updates"] == sum(staleness["histogram"].values())
    assert staleness["updates"] * 5 >= result.total_steps * 0.9
    assert 0 < staleness["mean"] < 10 and staleness["max"] >= 1
    column = result.diagnostics.column("staleness")
    assert len(column) >= 2 and (column >= 0).all()
    assert "staleness" in result.describe()
    assert not wait_until_gone(pids, timeout=60.0)


def broken_returns(rewards, bootstrap_value, terminated, gamma):
    raise ValueError("this student function is broken")


def test_a_worker_exception_surfaces_with_its_traceback_and_the_result(cluster):
    with pytest.raises(WorkerError) as caught:
        train("a3c", "CartPole-v1", n_workers=2, max_steps=10**9, time_limit=120,
              n_step_returns=broken_returns, **on_ray(cluster))
    err = caught.value
    assert "this student function is broken" in str(err)
    assert "Traceback" in err.worker_traceback and "broken_returns" in err.worker_traceback
    assert err.result is not None and err.result.stop_reason == "error"


def test_an_interrupt_returns_the_partial_result_and_ends_the_actors(cluster, tmp_path):
    result = train("a3c", "CartPole-v1", n_workers=2, seed=0, max_steps=10**9,
                   backend="ray", ray_address=cluster.address, live=InterruptAfter(2_000),
                   save_to=tmp_path / "run")
    assert result.interrupted and result.total_steps >= 2_000 and result.episodes
    logits, value, _ = result.model(torch.zeros(1, 4))
    assert logits.shape == (1, 2) and torch.isfinite(value).all()
    assert not wait_until_gone([w["pid"] for w in result.workers], timeout=60.0)
    # The same run folder as the shared-memory engine writes.
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {
        "checkpoint.pt", "episodes.csv", "diagnostics.csv", "summary.json"}
    loaded = load_run(tmp_path / "run")
    assert loaded.staleness == result.staleness and loaded.backend["backend"] == "ray"


def test_a_value_method_runs_with_the_target_network_at_the_server(cluster):
    # One of the three: they share everything the backend touches (the target network
    # at the server, the epsilons); test_value_methods runs each on shared memory.
    algo = "nstep-q"
    result = train(algo, "CartPole-v1", n_workers=2, seed=0, max_steps=3_000,
                   target_update_interval=500, **on_ray(cluster))
    assert result.stop_reason == "max_steps" and result.total_steps >= 3_000
    assert result.episodes and result.staleness["updates"] > 0
    assert result.target_model_state is not None
    # The target network was refreshed at the server: it is a recent copy of the model,
    # not the initial weights it started with.
    target = result.target_model_state
    assert any(not torch.equal(target[name], value) for name, value in
               _initial_state(algo).items())
    assert {e.worker for e in result.episodes} == {0, 1}
    assert all(w["final_epsilon"] is not None for w in result.workers)


def _initial_state(algo):
    """The weights a run of ``algo`` on CartPole starts from (seed 0)."""
    from a3c_course.engine.plan import make_plan
    from a3c_course.engine.shared import build_learner

    plan = make_plan(algo, "CartPole-v1", 2, 0, 3_000, None, None, None, None, None, None,
                     None, {"target_update_interval": 500})
    model, _, _ = build_learner(plan.config, None, False, shared=False)
    return model.state_dict()


def test_a_killed_worker_actor_is_reported_not_waited_for(cluster):
    class KillWorker(Monitor):
        done = False

        def update(self, global_step, episodes, elapsed_seconds):
            if not self.done and episodes:
                self.done = True
                actors = [p for p in cluster.processes()
                          if " ".join(p.cmdline()).startswith("ray::RayWorker")]
                actors[-1].kill()

    with pytest.raises(WorkerError, match="lost its Ray actor") as caught:
        train("a3c", "CartPole-v1", n_workers=2, max_steps=10**9, time_limit=120,
              backend="ray", ray_address=cluster.address, live=KillWorker())
    assert caught.value.result is not None and caught.value.result.total_steps > 0


def test_the_command_line_starts_its_own_cluster_and_leaves_no_ray_process(tmp_path):
    token = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["A3C_COURSE_TEST_TOKEN"] = token
    out = tmp_path / "run"
    done = subprocess.run(
        [PYTHON, "-m", "a3c_course", "train", "--backend", "ray", "--algo", "a3c",
         "--env", "CartPole-v1", "--workers", "2", "--max-steps", "500", "--quiet",
         "--out", str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode == 2 and "a local Ray cluster did not start" in done.stderr:
        pytest.skip(f"Ray did not start a local cluster (load average "
                    f"{os.getloadavg()[0]:.0f} on {os.cpu_count()} cores)")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["backend"]["started_cluster"] is True
    assert summary["backend"]["cluster_start_seconds"] > 0
    assert summary["total_steps"] >= 500 and summary["staleness"]["updates"] > 0
    leftover = wait_until_gone_processes(processes_with_token(token), timeout=15.0)
    assert not leftover, [" ".join(p.cmdline())[:80] for p in leftover]


def wait_until_gone_processes(processes, timeout):
    import time

    deadline = time.monotonic() + timeout
    alive = [p for p in processes if running(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if running(p)]
    return alive
