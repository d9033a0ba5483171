"""The run folder: what the CLI and RunResult.save write, and load_run reads back."""

import csv
import json
import subprocess

import pytest
import torch

from a3c_course import load_run, train
from a3c_course.runs.checkpoint import load_checkpoint
from conftest import PYTHON, REPO

SUMMARY_KEYS = {"algo", "env_id", "workers", "seed", "solved", "solved_at_seconds",
                "solved_at_step", "total_steps", "wall_seconds", "steps_per_second",
                "final_mean_return"}


@pytest.fixture(scope="module")
def short_run():
    return train("a3c", "CartPole-v1", n_workers=2, seed=3, max_steps=3_000,
                 stop_at_return=1e6, live="none", start_method="fork")


def test_a_run_folder_round_trips(short_run, tmp_path):
    short_run.save(tmp_path / "run")
    loaded = load_run(tmp_path / "run")
    assert loaded.episodes == short_run.episodes
    assert loaded.total_steps == short_run.total_steps
    assert loaded.hyperparameters == short_run.hyperparameters
    obs = torch.randn(5, 4)
    assert torch.equal(loaded.model(obs)[0], short_run.model(obs)[0])


def test_summary_json_holds_the_contract_fields(short_run, tmp_path):
    short_run.save(tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert summary["solved"] is False and summary["solved_at_step"] is None
    assert summary["workers"] == 2 and summary["algo"] == "a3c"
    assert summary["steps_per_second"] == pytest.approx(
        summary["total_steps"] / summary["wall_seconds"])


def test_episodes_csv_has_the_contract_columns(short_run, tmp_path):
    short_run.save(tmp_path)
    with open(tmp_path / "episodes.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["wall_seconds", "global_step", "worker", "episode_return", "episode_length"]
    assert len(rows) - 1 == len(short_run.episodes)


def test_the_checkpoint_loads_with_weights_only(short_run, tmp_path):
    short_run.save(tmp_path)
    checkpoint = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert checkpoint["global_step"] == short_run.total_steps
    assert set(checkpoint["model_state"]) == set(short_run.model.state_dict())
    assert load_checkpoint(tmp_path)["optimizer_state"]["state"]


def test_load_run_of_a_missing_folder_says_what_it_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="run folder"):
        load_run(tmp_path / "nothing here")


def test_the_cli_trains_and_writes_the_run_folder(tmp_path):
    out = tmp_path / "cartpole"
    done = subprocess.run(
        [PYTHON, "-m", "a3c_course", "train", "--algo", "a3c", "--env", "CartPole-v1",
         "--workers", "2", "--seed", "0", "--max-steps", "2000", "--stop-at-return", "475",
         "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "step" in done.stderr  # the progress bar
    summary = json.loads((out / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary) and summary["total_steps"] >= 2000
    assert json.loads(done.stdout.split("run folder")[0])["stop_reason"] == "max_steps"


def test_the_cli_refuses_an_unknown_env_with_a_hint(tmp_path):
    done = subprocess.run(
        [PYTHON, "-m", "a3c_course", "train", "--env", "CartPol-v1", "--max-steps", "10",
         "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "CartPole-v1" in done.stderr and "Traceback" not in done.stderr


def test_the_cli_passes_hyperparameters_with_set(tmp_path):
    done = subprocess.run(
        [PYTHON, "-m", "a3c_course", "train", "--env", "CartPole-v1", "--max-steps", "500",
         "--workers", "1", "--set", "lr=0.002", "--set", "hidden_sizes=(32,)", "--quiet",
         "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    hp = json.loads((tmp_path / "summary.json").read_text())["hyperparameters"]
    assert hp["lr"] == 0.002 and hp["hidden_sizes"] == [32]
