"""A checkpoint is never left half-written: a process killed while it writes one leaves
the previous checkpoint, whole, and the next write clears what the killed one left."""

import io
import multiprocessing
import os
import random
import signal
import time

import pytest
import torch

from a3c_course.runs import checkpoint as checkpoint_module
from a3c_course.runs.checkpoint import load_checkpoint, save_checkpoint

FORK = multiprocessing.get_context("fork")
# Big enough that a write takes a while, so that a kill at a random moment often
# lands inside one.
WEIGHTS = 2_000_000


def make_checkpoint(step):
    return {"algo": "a3c", "env_id": "CartPole-v1", "model_spec": {}, "global_step": step,
            "model_state": {"weight": torch.full((WEIGHTS,), float(step))}}


def assert_whole(path):
    data = load_checkpoint(path)
    step = data["global_step"]
    weight = data["model_state"]["weight"]
    assert weight.shape == (WEIGHTS,) and bool((weight == step).all()), step
    return step


def temporaries(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _child_setup():
    # A forked child must not use the parent's thread pool (it would wait forever on it).
    torch.set_num_threads(1)


def start_child(target, *args):
    child = FORK.Process(target=target, args=args, daemon=True)
    child.start()
    return child


def kill(child):
    if child.is_alive():
        os.kill(child.pid, signal.SIGKILL)
    child.join(10)


def _write_one_then_die_halfway(path, halfway):
    _child_setup()
    save_checkpoint(path, make_checkpoint(1))
    real_save = torch.save

    def save_half_then_hang(obj, f):
        buffer = io.BytesIO()
        real_save(obj, buffer)
        data = buffer.getvalue()
        f.write(data[: len(data) // 2])
        f.flush()
        halfway.set()
        time.sleep(60)  # killed here

    checkpoint_module.torch.save = save_half_then_hang  # this child process only
    save_checkpoint(path, make_checkpoint(2))


def _write_forever(path, first_written):
    _child_setup()
    step = 1
    while True:
        save_checkpoint(path, make_checkpoint(step))
        first_written.set()
        step += 1


def test_a_kill_halfway_through_a_write_leaves_the_previous_checkpoint_whole(tmp_path):
    path = tmp_path / "checkpoint.pt"
    halfway = FORK.Event()
    child = start_child(_write_one_then_die_halfway, path, halfway)
    try:
        assert halfway.wait(60), "the child never reached the middle of its second write"
    finally:
        kill(child)
    assert child.exitcode == -signal.SIGKILL
    assert assert_whole(path) == 1
    # The half-written file exists (the kill did land mid-write) and is unreadable...
    (leftover,) = temporaries(tmp_path)
    with pytest.raises(Exception):
        torch.load(tmp_path / leftover, weights_only=True)
    # ...and the next write removes it.
    save_checkpoint(path, make_checkpoint(3))
    assert assert_whole(path) == 3
    assert temporaries(tmp_path) == []


def test_kills_at_random_moments_never_leave_a_broken_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.pt"
    rng = random.Random(0)
    steps, cut_short = [], 0
    for _ in range(5):
        first_written = FORK.Event()
        child = start_child(_write_forever, path, first_written)
        try:
            assert first_written.wait(60)
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            kill(child)
        assert child.exitcode == -signal.SIGKILL
        steps.append(assert_whole(path))
        assert len(temporaries(tmp_path)) <= 1  # at most the one write the kill cut short
        cut_short += len(temporaries(tmp_path))
    assert all(step >= 1 for step in steps)
    # Writing is most of what the child does, so kills land mid-write (a plain
    # torch.save to the path, killed the same way, leaves a corrupt file most times).
    assert cut_short >= 1
