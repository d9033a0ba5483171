"""The paper's value-based methods: exploration, target network, gradient accumulation."""

import math
import queue
import threading
import time
from collections import Counter

import pytest
import torch

from a3c_course import train
from a3c_course.config import (
    PAPER_FINAL_EPSILON_PROBS,
    PAPER_FINAL_EPSILONS,
    default_hyperparameters,
)
from a3c_course.engine.plan import draw_final_epsilon, make_plan
from a3c_course.engine.shared import build_shared_state, maybe_update_target
from a3c_course.engine.worker import EPISODE, WorkerLoop
from a3c_course.live.plots import moving_average
from a3c_course.paper.algorithms import annealed_epsilon


def in_process_worker(algo, max_steps, **settings):
    """A worker loop run in this process, with a plain queue and event, to watch it closely."""
    plan = make_plan(algo=algo, env_id="CartPole-v1", n_workers=1, seed=0, max_steps=max_steps,
                 stop_at_return=None, time_limit=None, start_method="fork", resume=None,
                 save_to=None, checkpoint_every=None, env_kwargs=None, settings=settings)
    shared = build_shared_state(plan)
    shared.queue, shared.stop, shared.start_time = queue.Queue(), threading.Event(), time.time()
    loop = WorkerLoop(0, plan.config, shared, {}, plan.final_epsilons[0])
    return loop, shared


def episode_lengths(shared):
    lengths = []
    while not shared.queue.empty():
        message = shared.queue.get()
        if message[0] == EPISODE:
            lengths.append(message[5])
    return lengths


class TestExploration:
    def test_final_epsilons_follow_the_papers_distribution(self):
        draws = Counter(draw_final_epsilon(seed, worker, PAPER_FINAL_EPSILONS, PAPER_FINAL_EPSILON_PROBS)
                        for seed in range(1500) for worker in range(2))
        total = sum(draws.values())
        assert set(draws) == {0.1, 0.01, 0.5}
        for value, prob in zip(PAPER_FINAL_EPSILONS, PAPER_FINAL_EPSILON_PROBS):
            assert abs(draws[value] / total - prob) < 0.03

    def test_the_draw_is_reproducible_per_worker(self):
        first = [draw_final_epsilon(7, w, PAPER_FINAL_EPSILONS, PAPER_FINAL_EPSILON_PROBS) for w in range(16)]
        again = [draw_final_epsilon(7, w, PAPER_FINAL_EPSILONS, PAPER_FINAL_EPSILON_PROBS) for w in range(16)]
        assert first == again and len(set(first)) > 1

    def test_epsilon_anneals_linearly_from_one_to_the_final_value_then_stays(self):
        assert annealed_epsilon(0, 0.1, 1000) == 1.0
        assert annealed_epsilon(500, 0.1, 1000) == pytest.approx(0.55)
        assert annealed_epsilon(1000, 0.1, 1000) == pytest.approx(0.1)
        assert annealed_epsilon(5000, 0.1, 1000) == pytest.approx(0.1)
        assert annealed_epsilon(10, 0.5, 0) == 0.5

    def test_a_worker_explores_with_its_annealed_epsilon(self):
        loop, shared = in_process_worker("q", 100, epsilon_anneal_steps=1000)
        loop.method.set_global_step(250)
        expected = 1.0 + 0.25 * (loop.method.final_epsilon - 1.0)
        assert loop.method.epsilon == pytest.approx(expected)

    def test_the_draws_are_recorded_in_the_result(self):
        result = train("q", "CartPole-v1", n_workers=3, seed=5, max_steps=600, live="none",
                       start_method="fork")
        recorded = [w["final_epsilon"] for w in result.workers]
        assert recorded == [draw_final_epsilon(5, w, PAPER_FINAL_EPSILONS, PAPER_FINAL_EPSILON_PROBS)
                            for w in range(3)]
        assert result.summary()["worker_info"][0]["final_epsilon"] == recorded[0]


class TestTargetNetwork:
    def test_it_is_updated_every_interval_global_steps_and_not_between(self):
        loop, shared = in_process_worker("q", 100, target_update_interval=100)
        online = list(shared.model.parameters())
        target = list(shared.target_model.parameters())

        def perturb():
            with torch.no_grad():
                for p in online:
                    p.add_(0.01)

        def target_equals_online():
            return all(torch.equal(t, o) for t, o in zip(target, online))

        perturb()
        assert not maybe_update_target(shared, 99, 100) and not target_equals_online()
        assert maybe_update_target(shared, 100, 100) and target_equals_online()
        perturb()
        assert not maybe_update_target(shared, 150, 100) and not target_equals_online()
        assert not maybe_update_target(shared, 199, 100)
        assert maybe_update_target(shared, 205, 100) and target_equals_online()
        assert int(shared.target_syncs[0]) == 2

    def test_a_training_worker_syncs_once_per_interval(self):
        loop, shared = in_process_worker("nstep-q", 1_000, target_update_interval=200)
        assert int(shared.target_syncs[0]) == 0
        loop.run()
        steps = int(shared.step_counts.sum())
        assert int(shared.target_syncs[0]) == steps // 200 == 5

    def test_the_target_network_starts_equal_to_the_online_network(self):
        _, shared = in_process_worker("q", 100)
        for t, o in zip(shared.target_model.parameters(), shared.model.parameters()):
            assert torch.equal(t, o) and t.data_ptr() != o.data_ptr()


class TestGradientAccumulation:
    @pytest.mark.parametrize("algo", ["q", "sarsa"])
    @pytest.mark.parametrize("async_update", [1, 5])
    def test_one_update_per_async_update_steps_or_episode_end(self, algo, async_update):
        loop, shared = in_process_worker(algo, 1_500, async_update=async_update)
        updates = []
        step = shared.optimizer.step
        shared.optimizer.step = lambda: (updates.append(1), step())[1]
        loop.run()
        total = int(shared.step_counts.sum())
        lengths = episode_lengths(shared)
        lengths.append(total - sum(lengths))  # the episode still under way
        expected = sum(math.ceil(n / async_update) for n in lengths if n)
        assert len(updates) == expected
        assert int(next(iter(shared.optimizer.state.values()))["step"]) == expected

    def test_nstep_q_updates_once_per_t_max_steps(self):
        loop, shared = in_process_worker("nstep-q", 1_000, t_max=10)
        updates = []
        step = shared.optimizer.step
        shared.optimizer.step = lambda: (updates.append(1), step())[1]
        loop.run()
        lengths = episode_lengths(shared)
        lengths.append(int(shared.step_counts.sum()) - sum(lengths))
        assert len(updates) == sum(math.ceil(n / 10) for n in lengths if n)


class TestSarsa:
    def test_the_next_action_is_chosen_before_the_update_and_then_taken(self):
        loop, shared = in_process_worker("sarsa", 100, async_update=5)
        seen = []
        loss = loop.method.loss
        loop.method.loss = lambda model, target, rollout: (seen.append(rollout), loss(model, target, rollout))[1]
        loop.run()
        for before, after in zip(seen, seen[1:]):
            if not before.terminated and before.bootstrap_observation is after.observations[0]:
                assert after.actions[0] == before.next_action


@pytest.mark.parametrize("algo", ["q", "sarsa", "nstep-q"])
def test_a_short_run_of_each_value_method_learns(algo, no_leftover_workers):
    # Greedy-ish workers (final epsilon 0.01) so that the episode log shows the policy;
    # a random policy averages about 22, an untrained greedy one about 9.
    # The best mean of 20 consecutive episodes must reach 60 within 60,000 steps (seeds 0
    # and 1 reached 83 to 187). n-step Q learned and then fell back (seed 0: 83 at 40,000
    # steps, 11 at the end), so the test holds the peak, not the end.
    result = train(algo, "CartPole-v1", n_workers=2, seed=0, max_steps=60_000,
                   final_epsilons=(0.01,), final_epsilon_probs=(1.0,),
                   epsilon_anneal_steps=10_000, live="none", start_method="fork")
    full_windows = moving_average(result.returns)[19:]
    assert len(full_windows) and full_windows.max() >= 60, result


def test_each_value_method_has_its_own_target_interval_and_atari_keeps_the_papers():
    assert default_hyperparameters(None, "q").target_update_interval == 100
    assert default_hyperparameters(None, "sarsa").target_update_interval == 100
    assert default_hyperparameters(None, "nstep-q").target_update_interval == 1_000
    # The paper's 40,000 frames: 10,000 agent steps of 4 frames.
    assert default_hyperparameters("atari", "q").target_update_interval == 10_000
    assert default_hyperparameters(None, "q", target_update_interval=7).target_update_interval == 7
    result = train("sarsa", "CartPole-v1", max_steps=200, live="none")
    assert result.hyperparameters.target_update_interval == 100


def test_value_methods_refuse_continuous_actions_with_a_hint():
    from a3c_course import ConfigError

    with pytest.raises(ConfigError, match="algo='a3c'"):
        train("sarsa", "Pendulum-v1", max_steps=100)


def test_value_methods_refuse_a_recurrent_network():
    from a3c_course import ConfigError

    with pytest.raises(ConfigError, match="recurrent"):
        train("q", "CartPole-v1", max_steps=100, recurrent=True)
