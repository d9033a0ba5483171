"""Faults and bad input: a full disk, a killed parent, litter, malformed files, an
interrupt during start-up, a folder that cannot be written, a student's function with
the wrong shape or that never returns, too many workers. Each test is bounded in time
and leaves no process, mount or semaphore behind, also when it fails."""

import gc
import io
import os
import shutil
import signal
import subprocess
import textwrap
import time
import warnings
from pathlib import Path

import psutil
import pytest
import torch

from a3c_course import ConfigError, NonFiniteLossError, RunFolderError, SaveError, WorkerError, train
from a3c_course import cli
from a3c_course.engine import trainer
from a3c_course.engine.capacity import check_worker_count
from a3c_course.engine.leftovers import NamedSemaphores, records_folder, remove_stale_semaphores
from a3c_course.live.monitors import Monitor
from a3c_course.runs import checkpoint as checkpoint_module
from a3c_course.runs.result import load_run
from conftest import PYTHON, REPO, wait_until_gone, worker_pids

FAST = dict(live="none", start_method="fork")
SHM = Path("/dev/shm")


def run_main(argv):
    """``a3c-course ARGV`` in this process; its SIGTERM handler is put back afterwards."""
    previous = signal.getsignal(signal.SIGTERM)
    try:
        return cli.main([str(a) for a in argv])
    finally:
        signal.signal(signal.SIGTERM, previous)


def one_clear_line(capsys, *words):
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def cartpole_run(tmp_path_factory):
    """A small finished run folder (2,000 steps), made once."""
    folder = tmp_path_factory.mktemp("cartpole") / "run"
    train("a3c", "CartPole-v1", n_workers=1, max_steps=2_000, save_to=folder, **FAST)
    return folder


def copy_run(source, target):
    shutil.copytree(source, target)
    return target


# -- 8: a full disk at the final save --------------------------------------------------
def disk_full_save(obj, f):
    """What torch.save does when the disk fills up halfway through a checkpoint."""
    f.write(b"PK\x03\x04 half a checkpoint")
    raise RuntimeError("[enforce fail at inline_container.cc:672] . PytorchStreamWriter "
                       "failed writing file data/0: file write failed")


def test_a_full_disk_at_the_final_save_keeps_the_last_checkpoint_and_attaches_the_result(
        tmp_path, cartpole_run, monkeypatch, no_leftover_workers):
    folder = copy_run(cartpole_run, tmp_path / "run")
    saved_step = load_run(folder).total_steps
    monkeypatch.setattr(checkpoint_module.torch, "save", disk_full_save)
    with pytest.raises(SaveError) as caught:
        train("a3c", "CartPole-v1", n_workers=1, max_steps=4_000, resume=folder, save_to=folder,
              **FAST)
    err = caught.value
    assert "checkpoint.pt" in str(err) and "file write failed" in str(err)
    assert "err.result" in str(err) and err.result is not None
    assert err.result.total_steps >= 4_000  # everything this run learned
    monkeypatch.undo()
    assert load_run(folder).total_steps == saved_step  # the last good checkpoint, whole
    assert not list(folder.glob(".*.tmp"))
    err.result.save(tmp_path / "elsewhere")  # what a notebook user does next
    assert load_run(tmp_path / "elsewhere").total_steps == err.result.total_steps


def test_a_real_full_disk_from_the_cli_says_which_file_and_keeps_the_checkpoint(
        tmp_path, cartpole_run, capsys, no_leftover_workers):
    """On a tmpfs of a few MiB (as root; elsewhere the patched write above stands in)."""
    disk = tmp_path / "small_disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
                             capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("cannot mount a tmpfs here (not root)")
    try:
        folder = copy_run(cartpole_run, disk / "run")
        saved_step = load_run(folder).total_steps
        filler = disk / "filler"
        try:
            with open(filler, "wb", buffering=0) as f:  # fill the disk up, to the last block
                while True:
                    f.write(b"\0" * 4096)
        except OSError:
            pass
        code = run_main(["train", "--resume", folder, "--out", folder, "--max-steps", 3_000,
                         "--start-method", "fork", "--quiet"])
        assert code == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and "enforce fail" not in err, err
        assert "could not be written" in err and "is intact" in err, err
        filler.unlink()
        assert load_run(folder).total_steps == saved_step
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


# -- 9, 10, 17: a parent killed while a worker is inside a student's function --------
STUCK_SCRIPT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from a3c_course import train
    from a3c_course.paper.targets import n_step_returns as reference

    MARKERS = Path(sys.argv[2])

    # Note the names of the run's semaphores, so that the test can look for exactly these
    # (other programs on the machine make semaphores of their own meanwhile).
    from a3c_course.engine import leftovers
    recorded = leftovers.NamedSemaphores.__init__

    def recording(self, *objects):
        recorded(self, *objects)
        (MARKERS.parent / "semaphores.txt").write_text("\\n".join(self.names))

    leftovers.NamedSemaphores.__init__ = recording

    def stuck_returns(rewards, bootstrap_value, terminated, gamma):
        (MARKERS / str(os.getpid())).write_text("in")  # one marker per worker
        time.sleep(600)
        return reference(rewards, bootstrap_value, terminated, gamma)

    train("a3c", "CartPole-v1", n_workers=2, max_steps=10**9, live="none",
          start_method=sys.argv[1], n_step_returns=stuck_returns)
""")


def start_stuck_run(tmp_path, method):
    """A parent whose two workers are both inside a student's function that sleeps, and
    whose semaphores' names are unlinked (its record of them is gone)."""
    markers = tmp_path / "markers"
    markers.mkdir()
    parent = subprocess.Popen([PYTHON, "-c", STUCK_SCRIPT, method, str(markers)], cwd=tmp_path,
                              start_new_session=True, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and parent.poll() is None:
        recorded = list(records_folder().glob(f"{parent.pid}-*")) if records_folder().is_dir() else []
        if len(list(markers.iterdir())) == 2 and not recorded:
            return parent
        time.sleep(0.1)
    parent.kill()
    raise AssertionError("the workers never reached the student's function: "
                         + (parent.stderr.read().decode() if parent.poll() is not None else ""))


def run_semaphores_left(tmp_path):
    """Which of the stuck run's named semaphores are still in /dev/shm."""
    names = (tmp_path / "semaphores.txt").read_text().split()
    return [name for name in names if (SHM / f"sem.{name.lstrip('/')}").exists()]


def kill_everything(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.mark.parametrize("method", ["forkserver", "fork", "spawn"])
def test_a_killed_parent_takes_its_workers_stuck_in_a_student_function_with_it(tmp_path, method):
    parent = start_stuck_run(tmp_path, method)
    family = [p.pid for p in psutil.Process(parent.pid).children(recursive=True)]
    try:
        assert len(family) >= 2  # the workers, and the fork server and resource tracker if any
        parent.kill()  # the parent alone, as when a kernel dies
        parent.wait(10)
        left = wait_until_gone(family, timeout=20)
        assert not left, f"still running 20 s after the parent was killed: {left}"
    finally:
        kill_everything(family + [parent.pid])
    assert not run_semaphores_left(tmp_path)


def test_a_killed_process_group_leaves_no_semaphores(tmp_path):
    """A kernel restarted the hard way: SIGKILL to its whole process group, resource
    tracker included, so that nobody is left to unlink a semaphore's name."""
    parent = start_stuck_run(tmp_path, "forkserver")
    family = [p.pid for p in psutil.Process(parent.pid).children(recursive=True)]
    try:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait(10)
        assert not wait_until_gone(family, timeout=20)
    finally:
        kill_everything(family + [parent.pid])
    assert not run_semaphores_left(tmp_path)


def test_semaphores_recorded_by_a_process_that_died_are_unlinked_at_the_next_start():
    import multiprocessing

    lock = multiprocessing.get_context("spawn").Lock()  # a named semaphore
    names = NamedSemaphores(lock)
    (name,) = names.names
    assert (SHM / f"sem.{name[1:]}").exists()
    dead = subprocess.run([PYTHON, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    record = names.record
    stale = record.with_name(f"{dead}-1-0.txt")
    record.rename(stale)
    names.record = None
    our_lock = multiprocessing.get_context("spawn").Lock()
    ours = NamedSemaphores(our_lock)  # recorded by a living process: kept
    try:
        assert name in [n for n in remove_stale_semaphores()]
        assert not (SHM / f"sem.{name[1:]}").exists() and not stale.exists()
        assert ours.record.exists()
        assert all((SHM / f"sem.{n[1:]}").exists() for n in ours.names)
    finally:
        ours.release()
        names.release()
    assert records_folder().is_dir()


def test_temporary_checkpoints_of_dead_writers_are_cleared_when_a_run_saves_there(
        tmp_path, no_leftover_workers):
    folder = tmp_path / "run"
    folder.mkdir()
    dead = subprocess.run([PYTHON, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = folder / f".checkpoint.pt.{dead}.abc123.tmp"
    living = folder / f".checkpoint.pt.{os.getppid()}.def456.tmp"  # a live process's
    for path in (stale, living):
        path.write_bytes(b"half a checkpoint")
    train("a3c", "CartPole-v1", n_workers=1, max_steps=200, save_to=folder, **FAST)
    assert not stale.exists() and living.exists()


# -- 11: malformed files and options: one clear line, exit code 2 ---------------------
def truncated(data):
    return data[: len(data) // 3]


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage", "foreign", "code"])
def test_a_damaged_checkpoint_gets_one_clear_line(tmp_path, cartpole_run, capsys, damage):
    folder = copy_run(cartpole_run, tmp_path / "run")
    path = folder / "checkpoint.pt"
    if damage == "truncated":
        path.write_bytes(truncated(path.read_bytes()))
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "garbage":
        path.write_bytes(b"this is not a checkpoint\n" * 40)
    elif damage == "foreign":
        torch.save({"weight": torch.zeros(3)}, path)
    else:
        torch.save({"callable": io.BytesIO()}, path)  # an object: refused by weights_only
    with pytest.raises(RunFolderError, match="checkpoint.pt cannot be read"):
        load_run(folder)
    assert run_main(["watch", folder, "--max-steps", 5]) == 2
    one_clear_line(capsys, "checkpoint.pt")
    assert run_main(["train", "--resume", folder, "--out", folder, "--max-steps", 9_000]) == 2
    one_clear_line(capsys, "checkpoint.pt")


def test_a_truncated_summary_or_a_bad_episode_row_gets_one_clear_line(tmp_path, cartpole_run,
                                                                         capsys):
    folder = copy_run(cartpole_run, tmp_path / "run")
    summary = folder / "summary.json"
    good = summary.read_text()
    summary.write_text(truncated(good))
    with pytest.raises(RunFolderError, match="summary.json"):
        load_run(folder)
    assert run_main(["train", "--resume", folder, "--out", folder, "--max-steps", 9_000]) == 2
    one_clear_line(capsys, "summary.json")
    summary.write_text(good)
    episodes = folder / "episodes.csv"
    lines = episodes.read_text().splitlines()
    lines[3] = "1.0,not-a-step,0,12.0,12"
    episodes.write_text("\n".join(lines) + "\n")
    with pytest.raises(RunFolderError, match="line 4"):
        load_run(folder)


@pytest.mark.parametrize("argv, words", [
    (["--resume", "{run}/checkpoint.pt"], ["--resume", "did you mean"]),
    (["--env", "LunarLander-v3"], ["LunarLander-v3", "not installed"]),
    (["--env", "CartPole-v1", "--repeat-action-probability", "0"], ["Atari"]),
    (["--env", "ALE/Pong-v5", "--repeat-action-probability", "2"], ["[0, 1]"]),
    (["--env", "CartPole-v1", "--workers", "0"], ["n_workers"]),
    (["--env", "CartPole-v1", "--checkpoint-every", "-1"], ["-1", "minutes"]),
])
def test_bad_options_get_one_clear_line_and_exit_code_2(tmp_path, cartpole_run, capsys, argv,
                                                         words):
    argv = [a.replace("{run}", str(cartpole_run)) for a in argv]
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    code = run_main(["train", *argv, "--out", tmp_path / "new", "--max-steps", 100])
    assert code == 2
    one_clear_line(capsys, *words)
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


def test_a_bad_env_id_found_after_the_fork_server_started_leaves_no_process(tmp_path):
    """The command starts the fork server before it imports torch (to save a second);
    an id that only the trainer's checks refuse must not leave that server behind
    once the command has exited."""
    marker = f"a3c-course-test-{os.getpid()}-{time.monotonic_ns()}"
    env = {**os.environ, "A3C_COURSE_TEST_MARKER": marker}
    done = subprocess.run(
        [PYTHON, "-m", "a3c_course", "train", "--env", "ALE/Pongg-v5", "--max-steps", "100",
         "--out", str(tmp_path / "run")],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "Did you mean 'ALE/Pong-v5'" in errors[0]  # Atari's ids registered on demand
    assert not wait_until_gone(_fork_servers_marked(marker)), "a fork server outlived the command"


def _fork_servers_marked(marker):
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if "multiprocessing.forkserver" in " ".join(process.info["cmdline"] or ()) \
                    and process.environ().get("A3C_COURSE_TEST_MARKER") == marker:
                found.append(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found


def test_out_onto_an_existing_run_needs_resume_or_overwrite(tmp_path, cartpole_run, capsys,
                                                            no_leftover_workers):
    folder = copy_run(cartpole_run, tmp_path / "run")
    steps = load_run(folder).total_steps
    common = ["--env", "CartPole-v1", "--max-steps", 300, "--out", folder, "--quiet",
              "--start-method", "fork"]
    assert run_main(["train", *common]) == 2
    one_clear_line(capsys, "--resume", "--overwrite")
    assert load_run(folder).total_steps == steps  # untouched
    frozen = gc.get_freeze_count()
    assert run_main(["train", *common, "--overwrite"]) == 0
    assert load_run(folder).total_steps < steps
    # Only the command itself skips the last garbage collection: a caller's is kept.
    assert gc.get_freeze_count() == frozen


# -- 12: an interrupt during start-up, in a real kernel --------------------------------
SETUP_CELL = "from a3c_course import train"
TRAIN_CELL = """
print("STARTED", flush=True)
result = train("a3c", "CartPole-v1", n_workers=2, seed=0, max_steps=10**9, time_limit=90,
               live="widget")
print("RESULT", result.stop_reason, result.total_steps)
"""
FINAL_CELL = """
result = train("a3c", "CartPole-v1", n_workers=2, seed=0, max_steps=3_000, live="widget")
print("RESULT", result.stop_reason, result.total_steps)
"""


def run_cell(client, code, interrupt_after=None, manager=None, timeout=120):
    """Execute ``code``; interrupt the kernel ``interrupt_after`` seconds after the cell
    printed STARTED (so that the interrupt lands in train(), not before the cell runs).
    Returns (the RESULT line or None, error texts, seconds from interrupt to idle)."""
    import queue

    request = client.execute(code)
    started = time.monotonic()
    running_since, interrupted_at, outputs, errors = None, None, [], []
    while time.monotonic() - started < timeout:
        if interrupt_after is not None and interrupted_at is None and running_since and \
                time.monotonic() - running_since >= interrupt_after:
            manager.interrupt_kernel()
            interrupted_at = time.monotonic()
        try:
            msg = client.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != request:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            outputs.append(content["text"])
            if running_since is None and "STARTED" in content["text"]:
                running_since = time.monotonic()
        elif kind == "error":
            errors.append(f"{content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            break
    else:
        raise AssertionError(f"the cell did not finish within {timeout} s")
    line = next((l for l in "".join(outputs).splitlines() if l.startswith("RESULT")), None)
    took = time.monotonic() - interrupted_at if interrupted_at else None
    return line, errors, took


def test_interrupts_during_start_up_stop_the_run_and_leave_the_kernel_usable():
    pytest.importorskip("jupyter_client")
    from jupyter_client.manager import start_new_kernel
    from conftest import worker_processes

    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=120)
    try:
        line, errors, _ = run_cell(client, SETUP_CELL)
        assert not errors, errors
        # A fresh kernel: the first interrupt lands while the fork server, the dashboard's
        # matplotlib and the workers start; the later ones at other moments of start-up.
        for delay in (0.3, 1.0, 2.0, 0.6):
            line, errors, took = run_cell(client, TRAIN_CELL, interrupt_after=delay,
                                          manager=manager)
            assert not errors, f"interrupt after {delay} s: {errors}"
            assert line is not None and line.split()[1] == "interrupted", line
            assert took < 30, f"the run went on for {took:.0f} s after the interrupt"
        line, errors, _ = run_cell(client, FINAL_CELL)
        assert not errors, errors
        _, reason, steps = line.split()
        assert reason == "max_steps" and int(steps) >= 3_000
        kernel_pid = manager.provisioner.process.pid
        leftover = [p.pid for p in worker_processes(kernel_pid)]
        assert not wait_until_gone(leftover), f"workers still running: {leftover}"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


# -- 13: a folder that cannot be written is found before training ----------------------
def test_a_save_to_that_cannot_be_written_is_refused_before_any_process_starts(tmp_path,
                                                                               monkeypatch):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with pytest.raises(ConfigError, match="is a file"):
        train("a3c", "CartPole-v1", max_steps=100, save_to=a_file, **FAST)
    with pytest.raises(ConfigError, match="which is a file"):
        train("a3c", "CartPole-v1", max_steps=100, save_to=a_file / "run", **FAST)

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    from a3c_course.runs import folder as folder_module

    monkeypatch.setattr(folder_module.tempfile, "mkstemp", read_only)
    with pytest.raises(ConfigError, match="Read-only file system"):
        train("a3c", "CartPole-v1", max_steps=100, save_to=tmp_path / "run", **FAST)
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


# -- 14: the wrong shape from a student's function -------------------------------------
def returns_as_a_column(rewards, bootstrap_value, terminated, gamma):
    from a3c_course.paper.targets import n_step_returns

    return n_step_returns(rewards, bootstrap_value, terminated, gamma).unsqueeze(1)


def returns_as_a_scalar(rewards, bootstrap_value, terminated, gamma):
    return rewards.sum()


@pytest.mark.parametrize("wrong", [returns_as_a_column, returns_as_a_scalar])
def test_a_student_function_with_the_wrong_shape_stops_the_run_naming_it(wrong,
                                                                         no_leftover_workers):
    with pytest.raises(WorkerError, match=r"your n_step_returns returned .* shape \[\d+\]") as caught:
        train("a3c", "CartPole-v1", n_workers=2, max_steps=10**9, time_limit=60,
              n_step_returns=wrong, **FAST)
    assert caught.value.result.total_steps < 100  # stopped at the first call, not after


# -- 15: a student's function that never returns ---------------------------------------
def returns_that_hang(rewards, bootstrap_value, terminated, gamma):
    time.sleep(600)


class StopOnWarning(Monitor):
    """Presses Stop once a warning has been recorded in ``caught``, as a user would."""

    def __init__(self, caught):
        self.caught = caught

    def update(self, global_step, episodes, elapsed_seconds):
        self.stop_requested = bool(self.caught)


def test_a_run_stuck_in_a_student_function_says_where_and_can_be_stopped(monkeypatch,
                                                                         no_leftover_workers):
    monkeypatch.setattr(trainer, "STALL_SECONDS", 1.0)
    start = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", trainer.StalledRunWarning)
        result = train("a3c", "CartPole-v1", n_workers=1, max_steps=10**9, time_limit=120,
                       n_step_returns=returns_that_hang, live=StopOnWarning(caught),
                       start_method="forkserver")
    stalled = [w for w in caught if issubclass(w.category, trainer.StalledRunWarning)]
    assert stalled, [str(w.message) for w in caught]
    assert "your function n_step_returns" in str(stalled[0].message)
    assert result.stop_reason == "stopped" and result.total_steps == 0
    assert time.monotonic() - start < 100
    assert not wait_until_gone(worker_pids(result))


# -- 16: more workers than the machine holds -------------------------------------------
def test_a_worker_count_that_cannot_fit_in_memory_is_refused(no_leftover_workers):
    with pytest.raises(ConfigError, match="GiB"):
        train("a3c", "CartPole-v1", n_workers=10_000, max_steps=100, **FAST)


def test_many_workers_per_core_or_a_huge_closure_get_a_warning():
    cores = os.cpu_count()
    with pytest.warns(UserWarning, match="take turns"):
        check_worker_count(5 * cores, 10_000, 1_000)
    with pytest.warns(UserWarning, match="MiB once pickled"):
        check_worker_count(1, 10_000, 300 * 2**20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_worker_count(cores, 10_000, 1_000)


# -- 18: smaller ones -------------------------------------------------------------------
def returns_with_a_nan(rewards, bootstrap_value, terminated, gamma):
    return torch.full_like(rewards, float("nan"))


def test_a_nan_made_by_a_student_function_is_blamed_on_it_not_on_lr(no_leftover_workers):
    with pytest.raises(NonFiniteLossError) as caught:
        train("a3c", "CartPole-v1", n_workers=1, max_steps=10**9, time_limit=60,
              n_step_returns=returns_with_a_nan, **FAST)
    message = str(caught.value)
    assert "Your n_step_returns returned a NaN" in message
    assert "smaller lr" not in message


def test_watch_prints_no_display_errors(tmp_path, cartpole_run):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                            "XDG_RUNTIME_DIR", "SDL_VIDEODRIVER")}
    done = subprocess.run([PYTHON, "-m", "a3c_course", "watch", str(cartpole_run),
                           "--max-steps", "5", "--out", str(tmp_path / "e.gif")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "XDG_RUNTIME_DIR" not in done.stderr, done.stderr
