"""Several games per worker (``envs_per_worker``): per-game semantics equal to one game's.

A scripted game whose rewards, episode ends and lives are fixed in advance lets the
tests compare, game by game, what a worker with K games collects and learns from with
what a worker with one game does: the same steps, the same n-step returns, the same
bootstrapping, the same episodes logged with their real scores.
"""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from in_process import in_process_worker_loop

from a3c_course import train
from a3c_course.config import RunConfig, default_hyperparameters
from a3c_course.engine.shared import worker_seed
from a3c_course.engine.vector_rollouts import VectorRolloutCollector
from a3c_course.envs import AtariOptions, make_env
from a3c_course.envs.vector import ALE_VECTOR, PYTHON, AleGames, PythonGames, game_seed
from a3c_course.paper import targets
from a3c_course.paper.algorithms import OneStepSarsa
from a3c_course.paper.models import build_model, model_spec
from a3c_course.paper.segments import batch_loss
from a3c_course.runs.checkpoint import load_checkpoint

SCRIPTED = "a3c_course_tests/Scripted-v0"
PONG = "ALE/Pong-v5"
FAST = dict(live="none", start_method="fork")


class ScriptedGame(gym.Env):
    """Episodes of scripted lengths, ended alternately by termination and truncation.

    The reward of step ``t`` of episode ``e`` is ``1 + t + 10 e`` (large, so that reward
    clipping shows); with ``lives``, a life is lost at step 5 of every episode longer
    than 5. The observation ``(t, e, tag)`` names the step, the episode and the game
    (``tag`` is drawn from the seed at the first reset), and the actions change nothing.
    """

    def __init__(self, lengths=(5, 10, 5, 15), lives=False):
        self.lengths, self.with_lives = lengths, lives
        self.observation_space = spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.episode, self.t, self.tag = -1, 0, None

    def _obs(self):
        return np.array([self.t / 10, self.episode / 10, self.tag], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if self.tag is None:
            self.tag = float(self.np_random.random())
            self.offset = int(self.np_random.integers(len(self.lengths)))
        self.episode += 1
        self.t = 0
        self.lives = 2
        return self._obs(), {"lives": self.lives} if self.with_lives else {}

    def step(self, action):
        reward = 1.0 + self.t + 10 * self.episode
        self.t += 1
        length = self.lengths[(self.episode + self.offset) % len(self.lengths)]
        if self.with_lives and self.t == 5 and length > 5:
            self.lives -= 1
        ended = self.t >= length
        terminated, truncated = ended and self.episode % 2 == 0, ended and self.episode % 2 == 1
        info = {"lives": self.lives} if self.with_lives else {}
        return self._obs(), reward, terminated, truncated, info


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One thread, as in a worker: on a busy machine several only wait on each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


if SCRIPTED not in gym.registry:
    gym.register(SCRIPTED, entry_point=ScriptedGame)


def worker_loop(env_kwargs=None, **settings):
    hp = default_hyperparameters(None, "a3c", **settings)
    env = make_env(SCRIPTED, seed=0, **(env_kwargs or {}))
    spec = model_spec(env.observation_space, env.action_space, "actor_critic", hp.hidden_sizes,
                      hp.recurrent)
    config = RunConfig(algo="a3c", env_id=SCRIPTED, n_workers=1, seed=0, max_steps=10**6,
                       hyperparameters=hp, model_spec=spec, env_kwargs=env_kwargs or {})
    loop = in_process_worker_loop(config)
    loop._sync_local_model()
    return loop


def episodes_logged(loop):
    episodes = []
    while not loop.shared.queue.empty():
        message = loop.shared.queue.get()
        if message[0] == "episode":
            episodes.append((message[4], message[5]))
    return episodes


def by_game(segments, returns):
    """``{tag: [(observations, rewards, terminated, bootstrap, returns), ...]}`` in time order."""
    games, start = {}, 0
    for segment in segments:
        end = start + len(segment)
        games.setdefault(float(segment.observations[0][2]), []).append((
            np.stack(segment.observations), list(segment.rewards), segment.terminated,
            segment.bootstrap_observation, returns[start:end]))
        start = end
    return games


def vector_collection(k, blocks, env_kwargs=None, **settings):
    loop = worker_loop(env_kwargs, **settings)
    games = PythonGames(SCRIPTED, k, worker_seed(0, 0), env_kwargs or {})
    collector = VectorRolloutCollector(games, loop.method, loop.local_model, loop.hp,
                                       loop.next_lstm_state, loop._report_episode)
    segments, returns = [], []
    for _ in range(blocks):
        block = collector.collect(0)
        batch_loss(loop.method, loop.local_model, None, block)
        segments += block
        returns += loop.method.last_terms.targets.tolist()
    return by_game(segments, returns), episodes_logged(loop)


def single_game_collection(seed, steps, env_kwargs=None, **settings):
    loop = worker_loop(env_kwargs, **settings)
    loop.env = make_env(SCRIPTED, seed=seed, **(env_kwargs or {}))
    loop.obs, _ = loop.env.reset()
    segments, returns = [], []
    while sum(len(s) for s in segments) < steps:
        rollout = loop._collect_rollout(0)
        loop.method.loss(loop.local_model, None, rollout)
        segments.append(rollout)
        returns += loop.method.last_terms.targets.tolist()
    return by_game(segments, returns), episodes_logged(loop)


@pytest.mark.parametrize("lives", [False, True])
def test_each_game_learns_what_a_worker_with_that_one_game_learns(lives):
    """Episode ends and lives lost fall on rollout boundaries here (lengths are multiples
    of t_max = 5), so both workers cut the same rollouts: they must agree exactly."""
    k, blocks = 3, 12
    settings = dict(reward_clip=1.0, life_loss_terminal=lives)
    env_kwargs = {"lives": lives}
    vector, vector_episodes = vector_collection(k, blocks, env_kwargs, **settings)
    assert len(vector) == k
    single_episodes = []
    for game in range(k):
        single, episodes = single_game_collection(game_seed(worker_seed(0, 0), game),
                                                  blocks * 5, env_kwargs, **settings)
        single_episodes += episodes
        (tag, expected), = single.items()
        got = vector[tag]
        assert len(got) == len(expected)
        for (obs, rewards, term, boot, ret), (obs1, rewards1, term1, boot1, ret1) in zip(got, expected):
            np.testing.assert_array_equal(obs, obs1)
            assert rewards == rewards1 and max(rewards) <= 1.0  # clipped for learning
            assert term == term1
            np.testing.assert_array_equal(boot, boot1)
            np.testing.assert_allclose(ret, ret1, rtol=1e-5, atol=1e-5)
    # Every finished game is logged once, with its real (unclipped) score and length.
    assert sorted(vector_episodes) == sorted(single_episodes)
    assert len(vector_episodes) >= 2 * k and max(score for score, _ in vector_episodes) > 20


def test_a_game_that_ends_inside_a_rollout_starts_a_new_segment_in_the_same_update():
    """Episodes of 3 (terminal) and 7 (truncated) steps, cut by blocks of t_max = 5 steps."""
    games, episodes = vector_collection(2, 4, {"lengths": (3, 7)})
    ended_inside = False
    for segments in games.values():
        done = 0
        for i, (obs, rewards, terminated, boot, returns) in enumerate(segments):
            assert len(set(obs[:, 1].tolist())) == 1  # one episode
            assert done // 5 == (done + len(rewards) - 1) // 5  # one block
            done += len(rewards)
            last_t = round(obs[-1][0] * 10)
            if terminated:  # no bootstrap: the discounted sum of the rewards left
                expected = [sum(0.99 ** j * r for j, r in enumerate(rewards[n:]))
                            for n in range(len(rewards))]
                np.testing.assert_allclose(returns, expected, rtol=1e-5)
            else:  # truncated, or cut by the block: from the next state of the same episode
                assert round(boot[0] * 10) == last_t + 1 and boot[1] == obs[-1][1]
            if i + 1 < len(segments):
                following = segments[i + 1][0][0]
                if following[1] != obs[-1][1]:  # a new episode starts at its first state
                    assert round(following[0] * 10) == 0 and last_t + 1 in (3, 7)
                    ended_inside |= done % 5 != 0
                else:
                    assert round(following[0] * 10) == last_t + 1
        assert done == 4 * 5
    assert ended_inside
    assert len(episodes) >= 4 and {length for _, length in episodes} <= {3, 7}
    for score, length in episodes:  # the real score: the sum of 1 + t + 10 e over the game
        episode = (score - length - length * (length - 1) / 2) / (10 * length)
        assert episode == int(episode) >= 0


def test_recurrent_games_each_keep_their_own_state():
    """With an LSTM, every game's segment starts from that game's state: zeros at the
    start of its episodes, and the loss of K games is the sum of each game's."""
    loop = worker_loop(None, recurrent=True)
    games = PythonGames(SCRIPTED, 2, 0, {"lengths": (3, 7)})
    collector = VectorRolloutCollector(games, loop.method, loop.local_model, loop.hp,
                                       loop.next_lstm_state, loop._report_episode)
    collector.collect(0)
    block = collector.collect(0)
    for segment in block:
        h, c = segment.initial_state
        starts_episode = round(float(segment.observations[0][0]) * 10) == 0
        assert (h.abs().sum() == 0) == starts_episode
        assert not h.requires_grad
    total = batch_loss(loop.method, loop.local_model, None, block)
    summed = sum(loop.method.loss(loop.local_model, None, s) for s in block)
    torch.testing.assert_close(total, summed)


def test_sarsa_takes_in_each_game_the_next_action_it_learned_from():
    hp = default_hyperparameters(None, "sarsa")
    model = build_model(model_spec(ScriptedGame().observation_space, spaces.Discrete(2),
                                   "q_network", hp.hidden_sizes))
    method = OneStepSarsa(hp, rng=np.random.default_rng(0), final_epsilon=0.5)
    method.set_global_step(0)  # epsilon 1: every choice is a coin toss
    collector = VectorRolloutCollector(PythonGames(SCRIPTED, 3, 0, {}), method, model, hp,
                                       targets.next_lstm_state, lambda *episode: None)
    block, checked = collector.collect(0), 0
    for _ in range(12):
        current = {float(obs[2]): obs for obs in collector.obs}
        chosen = {}
        for segment in block:
            tag = float(segment.observations[0][2])
            if not segment.terminated and np.array_equal(segment.bootstrap_observation,
                                                          current[tag]):
                chosen[tag] = segment.next_action
        block = collector.collect(0)
        first = {}
        for segment in block:
            first.setdefault(float(segment.observations[0][2]), segment.actions[0])
        for tag, action in chosen.items():
            assert first[tag] == action
            checked += 1
    assert checked >= 12


def test_ale_vector_frames_match_make_env_for_the_same_game():
    """Same game, no sticky actions, no no-ops, same actions: the same frames, up to the
    rounding of grey (ALE's palette against the RGB formula) and the first stack, which
    ALE pads with zeros where make_env repeats the first frame."""
    options = {"atari": AtariOptions(noop_max=0, repeat_action_probability=0.0)}
    ale, python = AleGames(PONG, 2, 3, options), PythonGames(PONG, 2, 3, options)
    try:
        first_ale, first_python = ale.reset(), python.reset()
        np.testing.assert_array_equal(first_ale[:, -1], first_python[:, -1])
        rng = np.random.default_rng(0)
        for t in range(120):
            actions = rng.integers(0, 6, size=2)
            a, p = ale.step(actions), python.step(actions)
            np.testing.assert_array_equal(a.rewards, p.rewards)
            np.testing.assert_array_equal(a.terminated, p.terminated)
            if t >= 3:  # the stack holds 4 real frames from here on
                difference = np.abs(a.obs.astype(int) - p.obs)
                assert difference.mean() < 0.5 and np.mean(difference > 2) < 0.01
    finally:
        ale.close(), python.close()


def test_a_short_pong_run_with_several_games_per_worker_logs_real_scores(no_leftover_workers):
    games = dict(max_num_frames_per_episode=160)  # 40 agent steps a game
    result = train("a3c", PONG, n_workers=1, seed=0, max_steps=150, envs_per_worker=3, t_max=5,
                   env_kwargs=games, **FAST)
    assert result.settings["games_stepped_by"]["value"].startswith(ALE_VECTOR)
    episodes = result.episodes
    # 3 games of 40 steps each, 50 steps each: every game logged once, as a real score.
    assert len(episodes) == 3
    assert all(e.episode_length == 40 for e in episodes)
    assert all(float(e.episode_return).is_integer() and -21 <= e.episode_return <= 21
               for e in episodes)
    assert result.total_steps == 150  # updates of 3 x 5 steps


def test_checkpoints_and_resume_carry_on_with_several_games_per_worker(tmp_path,
                                                                        no_leftover_workers):
    run = dict(n_workers=2, seed=0, envs_per_worker=3, t_max=5, **FAST)
    first = train("a3c", "CartPole-v1", max_steps=600, save_to=tmp_path / "run", **run)
    assert first.total_steps % 15 == 0  # updates of 3 games x 5 steps
    before = load_checkpoint(tmp_path / "run")
    assert before["global_step"] == first.total_steps
    resumed = train("a3c", "CartPole-v1", max_steps=before["global_step"] + 150, lr=1e-12,
                    resume=tmp_path / "run", save_to=tmp_path / "run", **run)
    assert resumed.start_step == before["global_step"]
    # Each of the 2 workers may finish the update it is in: up to 15 steps more.
    assert before["global_step"] + 150 <= resumed.total_steps < before["global_step"] + 180
    assert resumed.episodes[:len(first.episodes)] == first.episodes
    assert resumed.hyperparameters.envs_per_worker == 3
    for name, tensor in resumed.model.state_dict().items():
        assert torch.allclose(tensor, before["model_state"][name], atol=1e-6), name


def test_a_students_atari_frame_sends_the_games_to_python_and_says_so():
    from a3c_course.envs.vector import choose_stepping
    stepping, why = choose_stepping(PONG, {}, 4, ("atari_frame",))
    assert stepping == PYTHON and "atari_frame" in why
    assert choose_stepping(PONG, {}, 4)[0] == ALE_VECTOR
    assert choose_stepping("CartPole-v1", {}, 4)[0] == PYTHON


def test_eight_cartpole_games_per_worker_learn_at_their_default_learning_rate(no_leftover_workers):
    # a random policy averages about 22; the rate that follows K = 8 (3e-3) took 55k-92k
    # steps to a mean of 475 on seeds 0-7, so 195 within 150k is met by a working update
    result = train("a3c", "CartPole-v1", n_workers=2, seed=0, envs_per_worker=8,
                   max_steps=150_000, stop_at_return=195, live="none")
    assert result.hyperparameters.lr == 3e-3
    assert result.solved, f"mean of the last 20 episodes {result.mean_return():.0f} after {result.total_steps:,} steps"
