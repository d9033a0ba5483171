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


def test_a_missing_file_names_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        find_recorded("nowhere.csv", folders=[tmp_path])


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_the_committed_recordings_hold_several_seeds_of_every_variant(name):
    curves = read_seed_curves(find_recorded(name, folders=[DATA]))
    assert tuple(curves) == RECORDED[name]
    for curve in curves.values():
        assert len(curve.seeds) >= 3 and len(curve.steps) >= 20
        assert not np.isnan(curve.returns).any()
    ax = plot_seed_curves(curves)
    assert len(ax.lines) == len(curves)

