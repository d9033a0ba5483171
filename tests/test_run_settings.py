"""Settings that must survive and mean what they say: the paper's units, the
environment's settings through --resume and watch, workers' signals under fork, a
student's function that does not fit continuous actions, and which settings are ours."""

import json
import re
import signal
import time
from pathlib import Path

import pytest
import torch

from a3c_course import ConfigError, train
from a3c_course.cli import _terminate_as_interrupt, build_parser
from a3c_course.config import FAMILY_DEFAULTS, PAPER_DEPARTURES, default_hyperparameters
from a3c_course.envs.make import frames_per_step
from a3c_course.live.monitors import Monitor
from a3c_course.paper.targets import actor_critic_loss, n_step_returns
from a3c_course.runs.resume import resume_arguments
from a3c_course.runs.result import load_run
from a3c_course.runs.watch import play_episode

REPO = Path(__file__).resolve().parent.parent
FAST = dict(live="none", start_method="fork")


def cli(*args):
    parsed = build_parser().parse_args([str(a) for a in args])
    assert parsed.handler(parsed) == 0


# -- 2: the paper's units ---------------------------------------------------------------
def test_the_atari_target_network_is_copied_every_40000_frames_as_in_the_paper():
    for algo in ("q", "sarsa", "nstep-q"):
        hp = default_hyperparameters("atari", algo)
        assert hp.target_update_interval * frames_per_step("ALE/Pong-v5") == 40_000
    assert FAMILY_DEFAULTS["atari"]["target_update_interval"] == 10_000  # agent steps


def test_counts_of_steps_say_frames_or_agent_steps():
    readme = (REPO / "README.md").read_text()
    assert "40,000 frames" in readme and "10,000 agent steps" in readme
    assert "every 40,000 steps" not in readme


# -- 3: the environment's settings survive --resume and watch ----------------------------
def test_env_kwargs_are_saved_and_restored_by_resume_and_watch(tmp_path, no_leftover_workers):
    folder = tmp_path / "capped"
    train("a3c", "CartPole-v1", n_workers=1, max_steps=1_000, save_to=folder,
          env_kwargs={"max_episode_steps": 20}, **FAST)
    assert json.loads((folder / "summary.json").read_text())["env_kwargs"] == {
        "max_episode_steps": 20}
    assert load_run(folder).env_kwargs == {"max_episode_steps": 20}
    assert resume_arguments(folder)["env_kwargs"] == {"max_episode_steps": 20}
    assert resume_arguments(folder, env_kwargs={"max_episode_steps": 30})["env_kwargs"] == {
        "max_episode_steps": 30}  # given again: replaced
    cli("train", "--resume", folder, "--out", folder, "--max-steps", 6_000, "--quiet",
        "--start-method", "fork", "--set", "lr=3e-3")
    resumed = load_run(folder)
    assert resumed.env_kwargs == {"max_episode_steps": 20}
    new_episodes = [e for e in resumed.episodes if e.global_step > 1_000]
    assert new_episodes and max(e.episode_length for e in new_episodes) <= 20
    assert play_episode(folder, max_steps=500, record=False).length <= 20


def test_a_run_folder_from_before_env_kwargs_loads_with_a_warning(tmp_path, no_leftover_workers):
    folder = tmp_path / "old"
    train("a3c", "CartPole-v1", n_workers=1, max_steps=300, save_to=folder, **FAST)
    summary = json.loads((folder / "summary.json").read_text())
    del summary["env_kwargs"]
    (folder / "summary.json").write_text(json.dumps(summary))
    checkpoint = torch.load(folder / "checkpoint.pt", weights_only=True)
    del checkpoint["env_kwargs"]
    torch.save(checkpoint, folder / "checkpoint.pt")
    with pytest.warns(UserWarning, match="did not record the environment's settings"):
        result = load_run(folder)
    assert result.env_kwargs == {}


# -- 4: workers under fork do not inherit the CLI's SIGTERM handler ----------------------
def returns_that_sleep_after_a_while(rewards, bootstrap_value, terminated, gamma):
    import os

    marker = Path(os.environ["A3C_TEST_MARKER"])
    if marker.exists():
        marker.write_text("asleep")
        time.sleep(120)  # still here when the parent stops the run
    marker.write_text("awake")
    return n_step_returns(rewards, bootstrap_value, terminated, gamma)


class StopWhenAsleep(Monitor):
    def __init__(self, marker):
        self.marker = marker

    def update(self, global_step, episodes, elapsed_seconds):
        self.stop_requested = self.marker.exists() and self.marker.read_text() == "asleep"


def test_a_worker_that_is_terminated_under_fork_stops_cleanly_not_as_an_error(
        tmp_path, monkeypatch, no_leftover_workers):
    marker = tmp_path / "marker"
    monkeypatch.setenv("A3C_TEST_MARKER", str(marker))
    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)  # as the CLI does
    try:
        result = train("a3c", "CartPole-v1", n_workers=1, max_steps=10**9, time_limit=120,
                       n_step_returns=returns_that_sleep_after_a_while,
                       live=StopWhenAsleep(marker), start_method="fork")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert result.stop_reason == "stopped"  # terminate() ended the sleeping worker: no error


# -- 6: a student's discrete-policy function with continuous actions -------------------
@pytest.mark.parametrize("name", ["actor_critic_loss", "entropy"])
def test_a_students_logits_function_is_refused_for_continuous_actions(name):
    from a3c_course.paper import targets

    with pytest.raises(ConfigError, match="continuous actions.*would not be used"):
        train("a3c", "Pendulum-v1", max_steps=100, live="none", **{name: getattr(targets, name)})


# -- 7: which settings are the paper's and which are ours ---------------------------------
def test_every_departure_from_the_paper_is_said_with_its_reason():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### The paper's settings and ours"):]
    section = section[:section.index("\n## ")]
    for name, (ours, papers, why) in PAPER_DEPARTURES.items():
        assert f"`{name}`" in section, name
        assert ours and papers and len(why) > 20
    assert not re.search(r"7e-4[^.\n]*the paper's (setting|value)", readme)


def test_the_a3c_loss_weights_the_value_loss_as_documented():
    # value_coef 0.5 halves the gradient of the paper's (R - V)^2: the TD error itself.
    values = torch.tensor([0.5], requires_grad=True)
    _, _, value_loss, _ = actor_critic_loss(torch.zeros(1, 2), values, torch.tensor([0]),
                                            torch.tensor([2.0]), 0.0, 0.5)
    (0.5 * value_loss).backward()
    assert values.grad.item() == pytest.approx(-(2.0 - 0.5))
