"""Long runs from the command line: progress in the run folder, --resume, and watching
the trained agent play (a GIF from the CLI, an inline animation in a notebook)."""

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from a3c_course import ConfigError
from a3c_course.cli import build_parser
from a3c_course.config import default_hyperparameters
from a3c_course.envs import read_spaces
from a3c_course.paper.models import build_model, model_spec
from a3c_course.runs.result import RunResult
from a3c_course.runs.watch import play_episode, show_episode


def cli(*args):
    """Run ``a3c-course ARGS`` in this process (as main() does, less its signal handler)."""
    parsed = build_parser().parse_args([str(a) for a in args])
    assert parsed.handler(parsed) == 0


def progress_rows(folder):
    with open(folder / "progress.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_a_pong_run_from_the_cli_logs_its_progress_and_resumes_where_it_stopped(
        tmp_path, capsys, no_leftover_workers):
    out = tmp_path / "pong"
    cli("train", "--algo", "a3c", "--env", "ALE/Pong-v5", "--workers", "2", "--seed", "1",
        "--max-steps", "300", "--out", out, "--start-method", "fork",
        "--set", "lr=3e-4", "--set", "t_max=10")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total_steps"] >= 300
    assert summary["frames_per_second"] == pytest.approx(4 * summary["steps_per_second"])
    assert "frames/s" in capsys.readouterr().err  # a progress line, as a log file gets it
    (row,) = progress_rows(out)
    assert int(row["global_step"]) == summary["total_steps"]

    # --resume needs neither --env nor the settings: they are the run's own.
    cli("train", "--resume", out, "--max-steps", "600", "--out", out, "--start-method", "fork",
        "--quiet")
    assert "frames/s" not in capsys.readouterr().err
    resumed = json.loads((out / "summary.json").read_text())
    assert resumed["start_step"] == summary["total_steps"]
    assert resumed["total_steps"] >= 600
    assert resumed["env_id"] == "ALE/Pong-v5" and resumed["seed"] == 1
    assert resumed["hyperparameters"] == summary["hyperparameters"]
    assert resumed["hyperparameters"]["lr"] == 3e-4 and resumed["hyperparameters"]["t_max"] == 10
    assert [int(r["global_step"]) for r in progress_rows(out)] == [
        summary["total_steps"], resumed["total_steps"]]


def test_resume_keeps_the_runs_goal_unless_given_again(tmp_path, no_leftover_workers):
    out = tmp_path / "cartpole"
    common = ("--out", out, "--start-method", "fork", "--quiet")
    cli("train", "--env", "CartPole-v1", "--max-steps", "300", "--stop-at-return", "600", *common)
    cli("train", "--resume", out, "--max-steps", "600", *common)
    assert json.loads((out / "summary.json").read_text())["stop_at_return"] == 600
    # Every CartPole episode lasts at least 8 steps, so a goal of 5 is reached at the first
    # episode that ends (a goal near a random policy's mean, 20, was a coin toss).
    cli("train", "--resume", out, "--max-steps", "900", "--stop-at-return", "5", *common)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stop_at_return"] == 5 and summary["stop_reason"] == "solved"


def test_train_without_an_env_asks_for_one():
    args = build_parser().parse_args(["train", "--max-steps", "10", "--out", "nowhere"])
    with pytest.raises(ConfigError, match="--env is required"):
        args.handler(args)


def untrained_run(env_id, folder):
    """A run folder with a freshly initialised model: watching needs no training."""
    spaces = read_spaces(env_id)
    spec = model_spec(spaces.observation_space, spaces.action_space, "actor_critic")
    torch.manual_seed(0)
    RunResult(algo="a3c", env_id=env_id, n_workers=1, seed=0, max_steps=1,
              hyperparameters=default_hyperparameters(), model=build_model(spec)).save(folder)
    return folder


@pytest.mark.parametrize("env_id, size", [("CartPole-v1", (600, 400)),
                                          ("ALE/Pong-v5", (160, 210))])
def test_watch_plays_the_agent_and_writes_a_gif(tmp_path, env_id, size):
    folder = untrained_run(env_id, tmp_path / "run")
    cli("watch", folder, "--max-steps", "40")
    with Image.open(folder / "episode.gif") as gif:
        assert gif.size == size
        assert gif.n_frames > 5  # (identical frames in a row are merged into one)


def test_an_episode_shows_inline_as_an_animation(tmp_path):
    folder = untrained_run("ALE/Pong-v5", tmp_path / "run")
    episode = play_episode(folder, max_steps=20)
    assert len(episode.frames) == episode.length + 1 == 21
    assert episode.frames[0].shape == (210, 160, 3) and episode.frames[0].dtype == np.uint8
    assert episode.fps == 15  # every 4th frame of a 60 Hz game: real time
    shown = show_episode(episode)
    assert shown.format == "gif" and shown.data[:6] == b"GIF89a"


def test_watching_a_folder_without_a_checkpoint_says_what_it_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint.pt"):
        play_episode(tmp_path)
