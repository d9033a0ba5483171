"""Every run says what it uses: each setting with the layer it came from."""

import json

from a3c_course import budget, train
from a3c_course.engine.plan import make_plan
from a3c_course.live.monitors import Monitor


def plan(algo="a3c", env_id="CartPole-v1", n_workers=2, seed=0, max_steps=1_000,
         stop_at_return=None, time_limit=None, env_kwargs=None, **settings):
    return make_plan(algo, env_id, n_workers, seed, max_steps, stop_at_return, time_limit,
                     "fork", None, None, None, env_kwargs, settings)


def test_each_setting_names_the_highest_layer_that_set_it():
    sources = plan("q", "ALE/Pong-v5", lr=3e-4, **budget("a3c_pong", "test")).settings.sources
    assert sources["lr"] == "yours"  # over the Atari family's 5e-4
    assert sources["t_max"] == "family atari"
    assert sources["target_update_interval"] == "family atari"  # over q's own 100
    assert sources["max_steps"] == "profile test, budget a3c_pong"
    assert sources["env_kwargs"] == "profile test, budget a3c_pong"
    assert sources["gamma"] == "default"
    assert sources["n_workers"] == "default" and sources["seed"] == "default"


def test_atari_learns_from_8_games_per_worker_at_5e_4_and_from_one_at_the_reference_1e_4():
    eight = plan("a3c", "ALE/Pong-v5", **budget("a3c_pong", "test")).settings
    assert eight.values["envs_per_worker"] == 8 and eight.values["lr"] == 5e-4
    assert eight.sources["lr"] == "family atari"
    one = plan("a3c", "ALE/Pong-v5", envs_per_worker=1, **budget("a3c_pong", "test")).settings
    assert one.values["lr"] == 1e-4
    assert one.sources["lr"] == "family atari with envs_per_worker=1"
    assert "family atari with envs_per_worker=1: lr=0.0001" in str(one)
    yours = plan("a3c", "ALE/Pong-v5", envs_per_worker=1, lr=3e-4, **budget("a3c_pong", "test"))
    assert yours.settings.values["lr"] == 3e-4 and yours.settings.sources["lr"] == "yours"
    cartpole = plan("a3c", "CartPole-v1", envs_per_worker=1).settings
    assert cartpole.values["lr"] == 7e-4, "the condition belongs to the Atari family only"


def test_several_cartpole_games_per_worker_take_the_learning_rate_measured_for_their_batch():
    one = plan("a3c", "CartPole-v1").settings
    assert one.values["envs_per_worker"] == 1 and one.values["lr"] == 7e-4
    eight = plan("a3c", "CartPole-v1", envs_per_worker=8).settings
    assert eight.values["lr"] == 3e-3 and eight.sources["lr"] == "default with envs_per_worker=8"
    assert "default with envs_per_worker=8: lr=0.003" in str(eight)
    assert str(eight).index("yours:") < str(eight).index("default with envs_per_worker=8")
    four = plan("a3c", "CartPole-v1", envs_per_worker=4).settings
    assert four.values["lr"] == 2e-3
    yours = plan("a3c", "CartPole-v1", envs_per_worker=8, lr=1e-3).settings
    assert yours.values["lr"] == 1e-3 and yours.sources["lr"] == "yours"
    pendulum = plan("a3c", "InvertedPendulum-v5", envs_per_worker=8).settings
    assert pendulum.values["lr"] == 3e-4, "continuous control keeps its family's rate"


def test_the_algorithm_layer_shows_where_no_family_overrides_it():
    report = plan("q", n_workers=3)
    assert report.settings.sources["target_update_interval"] == "algorithm q"
    assert report.settings.sources["n_workers"] == "yours"
    assert report.settings.values["target_update_interval"] == 100


def test_the_report_reads_highest_layer_first_and_names_every_setting():
    report = plan(lr=1e-3, **budget("a3c_cartpole", "class")).settings
    text = str(report)
    assert text.index("yours: lr=0.001") < text.index("profile class") < text.index("default:")
    assert "max_steps=300,000" in text
    for name in report.values:
        assert f"{name}=" in text


def test_the_values_of_a_budget_are_plain_numbers_for_the_run():
    config = plan(**budget("a3c_cartpole", "test")).config
    assert type(config.max_steps) is int


class Recording(Monitor):
    def __init__(self):
        self.calls = []

    def show_settings(self, report):
        self.calls.append(("settings", report))

    def start(self):
        self.calls.append(("start", None))


def test_a_run_shows_its_settings_before_it_starts_and_keeps_them(tmp_path):
    monitor = Recording()
    result = train("a3c", "CartPole-v1", n_workers=1, max_steps=300, start_method="fork",
                   live=monitor, save_to=tmp_path, lr=2e-3)
    assert [kind for kind, _ in monitor.calls] == ["settings", "start"]
    saved = json.loads((tmp_path / "summary.json").read_text())["settings"]
    assert saved["lr"] == {"value": 2e-3, "source": "yours"}
    assert saved["max_steps"] == {"value": 300, "source": "yours"}
    assert result.settings == saved
