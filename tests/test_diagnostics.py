"""The diagnostics of the updates: right on a rollout worked by hand, and kept in the result,
the run folder and TensorBoard."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from a3c_course.config import Hyperparameters
from a3c_course.engine.diagnostics import DIAGNOSTICS, DiagnosticsAccumulator
from a3c_course.paper.algorithms import A3C, NStepQ, OneStepQ, Rollout
from a3c_course.paper.models import build_model, model_spec
from a3c_course.runs.diagnostics import (DIAGNOSTIC_COLUMNS, DiagnosticsRow, DiagnosticsTable,
                                         read_diagnostics)

OBS = gym.spaces.Box(-1.0, 1.0, (4,))
ACTIONS = gym.spaces.Discrete(2)


def constant_model(head, biases):
    """A model whose every weight is 0: its outputs are its last layer's biases, in any state."""
    model = build_model(model_spec(OBS, ACTIONS, head, (8,), False))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        for name, value in biases.items():
            dict(model.named_parameters())[name].copy_(torch.tensor(value))
    return model


def rollout(rewards, actions, terminated=False):
    rng = np.random.default_rng(0)
    r = Rollout()
    r.observations = [rng.normal(size=4).astype(np.float32) for _ in rewards]
    r.actions = list(actions)
    r.rewards = list(rewards)
    r.bootstrap_observation = rng.normal(size=4).astype(np.float32)
    r.terminated = terminated
    return r


class FakeOptimizer:
    param_groups = [{"lr": 3e-4}]


def accumulator():
    return DiagnosticsAccumulator(worker=1, queue=None, optimizer=FakeOptimizer(),
                                  max_grad_norm=40.0, start_time=0.0, every=3600)


def test_a3c_diagnostics_match_a_rollout_worked_by_hand():
    """pi = (1/4, 3/4) and V = 2 in every state; rewards 1, 0, 2; gamma 0.5; bootstrap V = 2."""
    model = constant_model("actor_critic", {"policy.bias": [0.0, math.log(3.0)],
                                            "value.bias": [2.0]})
    method = A3C(Hyperparameters(gamma=0.5, entropy_beta=0.01))
    method.loss(model, None, rollout([1.0, 0.0, 2.0], [1, 0, 1]))
    diagnostics = accumulator()
    diagnostics.after_update(method, torch.tensor(50.0), global_step=3)
    diagnostics.send(global_step=3)
    (row,) = diagnostics.sent

    returns = [1 + 0.5 * (0 + 0.5 * (2 + 0.5 * 2)), 0 + 0.5 * (2 + 0.5 * 2), 2 + 0.5 * 2]
    assert returns == [1.75, 1.5, 3.0]
    advantages = [1.75 - 2, 1.5 - 2, 3.0 - 2]  # -0.25, -0.5, 1.0
    log_pi = [math.log(0.75), math.log(0.25), math.log(0.75)]  # actions 1, 0, 1
    assert row.policy_loss == pytest.approx(-sum(l * a for l, a in zip(log_pi, advantages)) / 3)
    assert row.entropy == pytest.approx(-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)))
    assert row.value_loss == pytest.approx((0.0625 + 0.25 + 1.0) / 3)
    # R - V = R - 2 varies exactly as R does: a constant value explains nothing, EV = 0.
    assert row.explained_variance == pytest.approx(0.0, abs=1e-9)
    assert row.mean_value == pytest.approx(2.0)
    assert row.grad_norm == 50.0 and row.clip_fraction == 1.0
    assert row.lr == 3e-4 and row.updates == 1 and row.worker == 1 and row.global_step == 3
    assert math.isnan(row.mean_q) and math.isnan(row.epsilon)


def test_explained_variance_pools_the_steps_of_every_update_in_the_row():
    model = constant_model("actor_critic", {"policy.bias": [0.0, 0.0], "value.bias": [1.0]})
    method = A3C(Hyperparameters(gamma=0.0))  # gamma 0: each return is its reward
    diagnostics = accumulator()
    method.loss(model, None, rollout([1.0, 3.0], [0, 1]))
    diagnostics.after_update(method, torch.tensor(10.0), global_step=2)
    method.loss(model, None, rollout([0.0, 2.0, 4.0], [0, 1, 0], terminated=True))
    diagnostics.after_update(method, torch.tensor(30.0), global_step=5)
    row = diagnostics.row(global_step=5)
    returns = np.array([1.0, 3.0, 0.0, 2.0, 4.0])
    errors = returns - 1.0
    assert row.explained_variance == pytest.approx(1 - errors.var() / returns.var())
    assert row.value_loss == pytest.approx((errors ** 2).mean())
    assert row.entropy == pytest.approx(math.log(2))  # a uniform policy over 2 actions
    assert row.grad_norm == 20.0 and row.clip_fraction == 0.0 and row.updates == 2


def test_value_methods_report_q_and_epsilon_and_no_policy_terms():
    """Q = (1, 3) in every state, the target network's too; rewards 1, 1; gamma 0.5."""
    model = constant_model("q_network", {"q.bias": [1.0, 3.0]})
    method = OneStepQ(Hyperparameters(gamma=0.5), final_epsilon=0.1)
    method.set_global_step(0)
    method.loss(model, model, rollout([1.0, 1.0], [0, 1]))
    diagnostics = accumulator()
    diagnostics.after_update(method, torch.tensor(1.0), global_step=2)
    row = diagnostics.row(global_step=2)
    # Targets 1 + 0.5 * max Q = 2.5 for both; Q of the actions taken: 1 and 3.
    assert row.mean_q == pytest.approx(2.0)
    assert row.value_loss == pytest.approx((1.5 ** 2 + 0.5 ** 2) / 2)
    assert math.isnan(row.explained_variance), "targets without variance explain nothing"
    assert row.epsilon == 1.0
    assert math.isnan(row.entropy) and math.isnan(row.policy_loss) and math.isnan(row.mean_value)


def test_n_step_q_regresses_q_to_its_n_step_returns():
    model = constant_model("q_network", {"q.bias": [0.0, 2.0]})
    method = NStepQ(Hyperparameters(gamma=0.5), final_epsilon=0.1)
    method.set_global_step(0)
    method.loss(model, model, rollout([1.0, 0.0], [1, 1]))
    row = accumulator()
    row.after_update(method, torch.tensor(1.0), global_step=2)
    row = row.row(2)
    returns = np.array([1 + 0.5 * (0 + 0.5 * 2.0), 0 + 0.5 * 2.0])  # 1.5, 1.0
    assert row.value_loss == pytest.approx(((returns - 2.0) ** 2).mean())


def test_rows_are_sent_at_a_bounded_rate_and_none_without_updates():
    class Queue:
        def __init__(self):
            self.items = []

        def put(self, item):
            self.items.append(item)

    model = constant_model("actor_critic", {"value.bias": [1.0]})
    method = A3C(Hyperparameters())
    method.loss(model, None, rollout([1.0, 2.0], [0, 1]))
    queue = Queue()
    diagnostics = DiagnosticsAccumulator(0, queue, FakeOptimizer(), 40.0, 0.0, every=3600)
    for step in range(1_000):
        diagnostics.after_update(method, torch.tensor(1.0), global_step=step)
    assert queue.items == [], "a row went out before its interval had passed"
    diagnostics.send(1_000)
    diagnostics.send(1_000)
    assert len(queue.items) == 1, "an empty row was sent"
    kind, row = queue.items[0]
    assert kind == DIAGNOSTICS and row.updates == 1_000


def test_the_table_reads_back_what_it_wrote_and_leaves_missing_values_empty(tmp_path):
    nan = math.nan
    table = DiagnosticsTable([
        (100, 1.5, 0, 12, 0.69, 0.1, 2.0, 0.5, 30.0, 0.25, 7e-4, 3.0, nan, nan),
        (120, 1.6, 1, 10, 0.68, -0.2, 1.5, 0.6, 20.0, 0.0, 6.9e-4, 3.5, nan, nan),
    ])
    (tmp_path / "diagnostics.csv").write_text(table.csv_text())
    lines = (tmp_path / "diagnostics.csv").read_text().splitlines()
    assert lines[0] == ",".join(DIAGNOSTIC_COLUMNS)
    assert "nan" not in "\n".join(lines) and lines[1].endswith(",,")
    back = read_diagnostics(tmp_path)
    assert [tuple(np.nan_to_num(r, nan=-1)) for r in back] == \
        [tuple(np.nan_to_num(r, nan=-1)) for r in table]
    assert back.names == ["entropy", "policy_loss", "value_loss", "explained_variance",
                          "grad_norm", "clip_fraction", "lr", "mean_value"]
    assert back.column("worker").tolist() == [0, 1]
    assert isinstance(back[0], DiagnosticsRow)
    assert len(read_diagnostics(tmp_path / "no such folder")) == 0


def test_a_run_keeps_its_diagnostics_in_the_result_the_csv_and_tensorboard(tmp_path, no_leftover_workers):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from a3c_course import load_run, train

    result = train("a3c", "CartPole-v1", n_workers=2, seed=0, max_steps=3_000, live="none",
                   save_to=tmp_path / "run", tensorboard=tmp_path / "tb")
    table = result.diagnostics
    assert len(table) >= 2 and set(table.column("worker")) == {0, 1}
    assert table.names == ["entropy", "policy_loss", "value_loss", "explained_variance",
                           "grad_norm", "clip_fraction", "lr", "mean_value", "staleness",
                           "reward_scale"]
    assert sum(table.column("updates")) * 5 >= result.total_steps * 0.9, "updates went unreported"
    # Two workers: between a worker's copy and its update, the other applies about one.
    assert result.staleness["updates"] == sum(table.column("updates"))
    assert 0 < result.staleness["mean"] < 5 and result.staleness["max"] >= 1
    assert (table.column("staleness") >= 0).all()
    # Rewards pass unscaled (1) until 1,000 returns are counted, then CartPole's returns,
    # spread over several units, scale them down.
    scale = table.column("reward_scale")
    assert ((0 < scale) & (scale <= 1)).all() and scale[-1] < 0.5
    entropy = table.column("entropy")
    assert ((0 < entropy) & (entropy <= math.log(2) + 1e-6)).all()
    assert (np.diff(sorted(table.column("lr"))) >= 0).all() and table.column("lr").max() <= 7e-4
    assert result.startup_seconds is not None and 0 < result.startup_seconds < result.wall_seconds

    loaded = load_run(tmp_path / "run")
    assert len(loaded.diagnostics) == len(table)
    assert np.allclose(loaded.diagnostics.column("value_loss"), table.column("value_loss"))

    (folder,) = (tmp_path / "tb").iterdir()
    assert folder.name == "a3c_CartPole-v1_1"
    events = EventAccumulator(str(folder))
    events.Reload()
    scalars = events.Tags()["scalars"]
    for name in table.names:
        assert f"diagnostics/{name}" in scalars
    returns = events.Scalars("episode/return")
    assert [e.value for e in returns] == pytest.approx([e.episode_return for e in result.episodes])
    assert [e.step for e in returns] == [e.global_step for e in result.episodes]
    logged = events.Scalars("diagnostics/entropy")
    assert min(e.value for e in logged) >= entropy.min() - 1e-6
    assert max(e.value for e in logged) <= entropy.max() + 1e-6


def test_tensorboard_into_a_file_is_refused_before_any_process_starts(tmp_path):
    from a3c_course import train
    from a3c_course.errors import ConfigError

    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="folder"):
        train("a3c", "CartPole-v1", max_steps=100, live="none", tensorboard=tmp_path / "file")
