"""Recorded curves over several seeds: the files the notebooks plot, and their reader."""

from pathlib import Path

import numpy as np
import pytest

from a3c_course.runs.recorded import (
    SeedCurves,
    curve_at,
    find_recorded,
    plot_seed_curves,
    read_seed_curves,
    write_seed_curves,
)
from a3c_course.runs.result import Episode, RunResult

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "notebooks" / "data"

#: The recorded comparisons the notebooks show: file -> its variants.
RECORDED = {
    "sarsa_vs_q.csv": ("one-step Sarsa", "one-step Q-learning"),
    "n_step.csv": ("t_max = 5", "n = 1"),
    "speedup.csv": ("1 worker", "2 workers", "4 workers"),
    "parallel_workers.csv": ("1 worker", "4 workers"),
    "optimizer_statistics.csv": ("shared statistics, lr 0.0007", "per-worker statistics, lr 0.0007",
                                 "shared statistics, lr 0.003", "per-worker statistics, lr 0.003"),
}


def test_curves_written_are_read_back_by_variant_and_seed(tmp_path):
    steps = np.array([1_000, 2_000, 3_000])
    curves = {"a": SeedCurves("a", [0, 1], steps, np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])),
              "b": SeedCurves("b", [0, 1], steps, np.array([[0.5, 0.5, 0.5], [1.5, 1.5, 1.5]]))}
    write_seed_curves(tmp_path / "x.csv", curves)
    back = read_seed_curves(tmp_path / "x.csv")
    assert list(back) == ["a", "b"]
    np.testing.assert_array_equal(back["a"].steps, steps)
    np.testing.assert_allclose(back["a"].returns, curves["a"].returns)
    np.testing.assert_allclose(back["a"].median(), [2.0, 3.0, 4.0])
    np.testing.assert_allclose(back["b"].final(), [0.5, 1.5])


def test_a_run_is_sampled_as_the_mean_of_its_last_episodes_at_each_step():
    episodes = [Episode(0.0, 100 * (i + 1), 0, float(i), 10) for i in range(10)]
    result = RunResult("a3c", "CartPole-v1", 1, 0, 1_000, None, None, episodes)
    sampled = curve_at(result, [50, 300, 1_000], window=2)
    assert np.isnan(sampled[0]), "no episode had finished by step 50"
    np.testing.assert_allclose(sampled[1:], [(1 + 2) / 2, (8 + 9) / 2])


def test_curves_against_the_clock_keep_their_unit_and_tell_when_each_seed_got_there(tmp_path):
    seconds = np.array([1.0, 2.0, 3.0, 4.0])
    curves = {"fast": SeedCurves("fast", [0, 1], seconds, np.array([[np.nan, 50, 200, 210],
                                                                     [np.nan, 196, 199, 201]]),
                                 x="wall_seconds")}
    write_seed_curves(tmp_path / "t.csv", curves)
    assert (tmp_path / "t.csv").read_text().splitlines()[0] == "variant,seed,wall_seconds,mean_return"
    back = read_seed_curves(tmp_path / "t.csv")
    assert back["fast"].x == "wall_seconds"
    np.testing.assert_array_equal(back["fast"].first_reaching(195), [3.0, 2.0])
    np.testing.assert_array_equal(back["fast"].first_reaching(300), [np.nan, np.nan])
    assert plot_seed_curves(back).get_xlabel() == "seconds since the start"
    mixed = {**curves, "steps": SeedCurves("steps", [0], seconds, np.ones((1, 4)))}
    with pytest.raises(ValueError, match="one file"):
        write_seed_curves(tmp_path / "mixed.csv", mixed)


def test_a_run_is_sampled_against_the_clock_when_asked():
    episodes = [Episode(1.5 * (i + 1), 100 * (i + 1), 0, float(i), 10) for i in range(4)]
    result = RunResult("a3c", "CartPole-v1", 1, 0, 1_000, None, None, episodes)
    sampled = curve_at(result, [1.0, 3.0, 10.0], window=2, x="wall_seconds")
    assert np.isnan(sampled[0])
    np.testing.assert_allclose(sampled[1:], [(0 + 1) / 2, (2 + 3) / 2])


def test_a_missing_file_names_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        find_recorded("nowhere.csv", folders=[tmp_path])


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_the_committed_recordings_hold_several_seeds_of_every_variant(name):
    curves = read_seed_curves(find_recorded(name, folders=[DATA]))
    assert tuple(curves) == RECORDED[name]
    for curve in curves.values():
        assert len(curve.seeds) >= 3 and len(curve.steps) >= 20
        # A point is missing only before a seed's first finished episode.
        for row in curve.returns:
            assert not np.isnan(row[np.argmax(~np.isnan(row)):]).any()
    ax = plot_seed_curves(curves)
    assert len(ax.lines) == len(curves)



def test_the_recorded_parallel_workers_show_what_notebook_6_says_they_show():
    """Notebook 6, section 7 and the README quote these: one worker forgets a season,
    four with the same updates know both (a new recording must tell the same story)."""
    import csv

    with open(find_recorded("parallel_workers_seasons.csv", folders=[DATA])) as f:
        rows = list(csv.DictReader(f))
    worse = {}
    for row in rows:
        worse.setdefault(row["variant"], []).append(min(float(row["summer"]), float(row["winter"])))
    assert sorted(worse) == ["1 worker", "4 workers"] and all(len(v) >= 5 for v in worse.values())
    assert min(worse["4 workers"]) > 0.8, "four workers know both seasons on every seed"
    assert sum(w < 0.5 for w in worse["1 worker"]) >= 3, "one worker has forgotten a season on most seeds"
    curves = read_seed_curves(find_recorded("parallel_workers.csv", folders=[DATA]))
    after = curves["1 worker"].steps >= 10_000
    assert (curves["1 worker"].returns[:, after].min(axis=1) < 2.5).all(), "every single worker falls"
    assert (curves["4 workers"].returns[:, after].min(axis=1) > 5).all(), "no four-worker run falls"
