"""Atari: the paper's preprocessing, reward clipping, the network with its LSTM variant,
checkpoints, resume, and a tiny Pong run under the test profile."""

import shutil

import cv2
import gymnasium as gym
import numpy as np
import pytest
import torch
from in_process import in_process_worker_loop

from a3c_course import ConfigError, budget, train
from a3c_course.config import RunConfig, default_hyperparameters
from a3c_course.envs import AtariOptions, make_env, read_spaces
from a3c_course.paper import targets
from a3c_course.paper.models import build_model, model_spec
from a3c_course.paper.optim import build_optimizer
from a3c_course.runs.checkpoint import load_checkpoint

PONG = "ALE/Pong-v5"
# The emulator ends each game after this many frames (ALE's own option): short
# episodes, so that a few hundred agent steps see several of them end.
SHORT_GAMES = dict(max_num_frames_per_episode=400)
FAST = dict(live="none", start_method="fork")


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Act in this process as a worker does: one frame at a time is fastest on one thread
    (several threads wait on each other on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def worker_loop(env_id, env_kwargs=None, **settings):
    """A WorkerLoop for an Atari game in this process, with the Atari defaults: no processes."""
    env_kwargs = env_kwargs or {}
    spaces = read_spaces(env_id, env_kwargs)
    hp = default_hyperparameters("atari", **settings)
    spec = model_spec(spaces.observation_space, spaces.action_space, "actor_critic",
                      recurrent=hp.recurrent)
    config = RunConfig(algo="a3c", env_id=env_id, n_workers=1, seed=0, max_steps=10**6,
                       hyperparameters=hp, model_spec=spec, env_kwargs=env_kwargs,
                       frames_per_step=spaces.frames_per_step)
    return in_process_worker_loop(config)


def play_until_a_game_ends(loop, max_rollouts=200):
    """Rollouts of ``loop`` (without learning) up to the end of a game, and the games logged."""
    rollouts, episodes = [], []
    while not episodes and len(rollouts) < max_rollouts:
        rollouts.append(loop._collect_rollout(0))
        while not loop.shared.queue.empty():
            message = loop.shared.queue.get()
            if message[0] == "episode":
                episodes.append((message[4], message[5]))  # (return, length)
    return rollouts, episodes


# -- preprocessing ------------------------------------------------------------------------
def test_observations_are_four_stacked_84x84_grayscale_uint8_frames():
    env = make_env(PONG, seed=0)
    obs, _ = env.reset()
    assert env.observation_space.shape == (4, 84, 84)
    assert env.observation_space.dtype == np.uint8
    assert isinstance(obs, np.ndarray) and obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    next_obs, *_ = env.step(0)
    assert next_obs.dtype == np.uint8
    # The stack slides by one: the three newest frames of before are the three oldest now.
    assert np.array_equal(next_obs[:3], obs[1:])
    assert read_spaces(PONG).frames_per_step == 4
    env.close()


def test_each_observed_frame_is_the_max_of_the_last_two_of_four_emulator_frames():
    # The same game, deterministic (no sticky actions, no random no-ops), twice: once
    # through make_env, once as the bare emulator (RGB), stepped 4 frames per agent step.
    env = make_env(PONG, seed=3, atari=AtariOptions(noop_max=0, repeat_action_probability=0.0))
    raw = gym.make(PONG, frameskip=1, repeat_action_probability=0.0, obs_type="rgb")
    first, _ = env.reset(seed=3)
    screen, _ = raw.reset(seed=3)
    assert np.array_equal(first[-1], targets.atari_frame(screen, screen))
    max_differs_from_last = 0
    for step in range(80):
        action = (0, 2, 3, 2, 0, 3)[step % 6]
        obs, *_ = env.step(action)
        frames = [raw.step(action)[0] for _ in range(4)]
        grey = cv2.cvtColor(np.maximum(frames[2], frames[3]), cv2.COLOR_RGB2GRAY)
        expected = cv2.resize(grey, (84, 84), interpolation=cv2.INTER_AREA)
        assert np.array_equal(obs[-1], expected), f"agent step {step}"
        last_only = cv2.resize(cv2.cvtColor(frames[3], cv2.COLOR_RGB2GRAY), (84, 84),
                               interpolation=cv2.INTER_AREA)
        max_differs_from_last += not np.array_equal(expected, last_only)
    # The max matters: the ball moves between the two frames, so it shows twice.
    assert max_differs_from_last > 10
    env.close()
    raw.close()


def test_a_frame_function_given_to_make_env_makes_every_observed_frame():
    seen = []

    def inverted(previous_frame, frame):
        out = 255 - targets.atari_frame(previous_frame, frame)
        seen.append(out)
        return out

    options = AtariOptions(noop_max=0, repeat_action_probability=0.0)
    mine = make_env(PONG, seed=3, atari=options, atari_frame=inverted)
    library = make_env(PONG, seed=3, atari=options)
    for env in (mine, library):
        env.reset(seed=3)
    for step in range(20):
        obs, *_ = mine.step(step % 6)
        reference, *_ = library.step(step % 6)
        assert np.array_equal(obs[-1], seen[-1])
        assert np.array_equal(obs, 255 - reference)


def test_sticky_actions_follow_the_v5_default_unless_chosen_otherwise():
    def sticky(env):
        return env.unwrapped.ale.getFloat("repeat_action_probability")

    assert sticky(make_env(PONG, seed=0)) == pytest.approx(0.25)
    assert sticky(make_env(PONG, seed=0, atari=AtariOptions(repeat_action_probability=0.0))) == 0
    assert sticky(make_env(PONG, seed=0, repeat_action_probability=0.1)) == pytest.approx(0.1)
    with pytest.raises(ConfigError, match="repeat_action_probability"):
        AtariOptions(repeat_action_probability=2.0)


# -- rewards --------------------------------------------------------------------------------
def test_reward_clipping_changes_what_the_learner_sees_but_not_the_logged_score():
    # Space Invaders pays 5 to 30 points per alien. With the same seeds, the same
    # untrained model plays the same moves whether or not the learner clips.
    played = {}
    for clip in (1.0, None):
        loop = worker_loop("ALE/SpaceInvaders-v5", dict(max_num_frames_per_episode=960),
                           reward_clip=clip)
        rollouts, episodes = play_until_a_game_ends(loop)
        played[clip] = loop, rollouts, episodes
    clipped = [r for rollout in played[1.0][1] for r in rollout.rewards]
    raw = [r for rollout in played[None][1] for r in rollout.rewards]
    assert max(raw) > 1, "this game should pay more than 1 point for some step"
    assert np.array_equal(clipped, np.clip(raw, -1, 1))
    # The log keeps the real score in both cases: the sum of the unclipped rewards.
    assert played[1.0][2] == played[None][2] == [(sum(raw), len(raw))]
    # ...while the loss the learner minimises differs.
    index = next(i for i, rollout in enumerate(played[None][1]) if max(rollout.rewards) > 1)
    losses = [loop.method.loss(loop.local_model, None, rollouts[index]).item()
              for loop, rollouts, _ in played.values()]
    assert losses[0] != pytest.approx(losses[1])


# -- the network -------------------------------------------------------------------------
def test_the_paper_network_and_its_lstm_variant_shape_the_frames_into_policy_and_value():
    spaces = read_spaces(PONG)
    for recurrent in (False, True):
        spec = model_spec(spaces.observation_space, spaces.action_space, "actor_critic",
                          recurrent=recurrent)
        model = build_model(spec)
        convs = [m for m in model.trunk.convs if isinstance(m, torch.nn.Conv2d)]
        assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [
            (16, (8, 8), (4, 4)), (32, (4, 4), (2, 2))]
        assert model.trunk.fc.out_features == 256
        logits, value, state = model(torch.zeros(5, 4, 84, 84, dtype=torch.uint8))
        assert logits.shape == (5, 6) and value.shape == (5,)
        assert (state is not None) == recurrent
        if recurrent:
            assert model.core.cell.hidden_size == 256


def pong_frames(n=40, seed=3):
    """``n`` observations of a game played at random, as a uint8 batch."""
    env = make_env(PONG, seed=seed, atari=AtariOptions(repeat_action_probability=0.0))
    env.reset()
    frames = [np.asarray(env.step(env.action_space.sample())[0]) for _ in range(4 * n)]
    env.close()
    return torch.as_tensor(np.stack(frames[::4]))


def test_the_network_sees_each_frame_minus_its_mean_brightness():
    # A brighter or darker screen with the same objects on it must give the same
    # features: otherwise a filter can be switched off for every screen at once by
    # moving all of its weights the same way, which is what the value loss does to an
    # uncentred first layer while the score does not depend on the screen yet.
    torch.manual_seed(0)
    model = build_model(model_spec(*_pong_spaces(), "actor_critic"))
    frames = pong_frames(8)
    brighter = frames + 15  # Pong's brightest pixels are 236: no wrap-around
    assert int(frames.max()) + 15 <= 255
    with torch.no_grad():
        torch.testing.assert_close(model.trunk(brighter), model.trunk(frames), atol=1e-5, rtol=1e-4)


def test_a_network_saved_before_frames_were_centred_still_gets_the_frames_it_learned_from():
    spec = model_spec(*_pong_spaces(), "actor_critic")
    assert spec["centre_frames"] is True
    old_spec = {k: v for k, v in spec.items() if k != "centre_frames"}
    frames = pong_frames(2)
    assert torch.equal(build_model(old_spec).trunk.network_input(frames), frames.float() / 255)
    assert not torch.equal(build_model(spec).trunk.network_input(frames), frames.float() / 255)


def test_at_initialisation_the_value_and_every_layer_depend_on_the_screen():
    # Pong's ball and paddles are a few dozen of 7,056 pixels. With PyTorch's default
    # convolution scale the value varied by ~0.002 over a game's screens and the
    # policy by ~1e-4; the ReLU scale sqrt(2) keeps each layer's signal at its input's size.
    frames = pong_frames()
    for seed in range(3):
        torch.manual_seed(seed)
        model = build_model(model_spec(*_pong_spaces(), "actor_critic"))
        with torch.no_grad():
            first_layer = torch.relu(model.trunk.convs[0](model.trunk.network_input(frames)))
            _, value, _ = model(frames)
        assert (first_layer.amax(dim=(0, 2, 3)) > 0).float().mean() >= 0.5
        assert float(value.std()) > 0.005, f"seed {seed}: the value hardly sees the screen"


def _pong_spaces():
    spaces = read_spaces(PONG)
    return spaces.observation_space, spaces.action_space


def test_the_lstm_state_carries_across_rollouts_and_resets_when_a_game_ends():
    loop = worker_loop(PONG, SHORT_GAMES, recurrent=True, t_max=5)
    first = loop._collect_rollout(0)
    assert all(torch.count_nonzero(part) == 0 for part in first.initial_state)
    after_first = tuple(part.clone() for part in loop.state)
    assert torch.count_nonzero(after_first[0]) > 0
    second = loop._collect_rollout(5)
    assert all(torch.equal(a, b) for a, b in zip(second.initial_state, after_first))
    # Play on until the game (cut at 100 agent steps) ends inside a rollout.
    rollouts, episodes = play_until_a_game_ends(loop)
    assert len(episodes) == 1 and episodes[0][1] <= 100
    assert all(torch.count_nonzero(part) == 0 for part in loop.state)
    assert all(torch.count_nonzero(p) == 0 for p in loop._collect_rollout(0).initial_state)
    # Training runs through the LSTM from each rollout's carried, detached state.
    loop._train_once(0)
    assert loop.shared.step_counts[0] > 0


# -- a tiny run, its checkpoint, and resuming it ----------------------------------------------
@pytest.fixture(scope="module")
def tiny_pong(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pong")
    # The budget's time limit is a safety net for the notebook; here the run must end on
    # its steps however busy the machine is.
    steps = {**budget("a3c_pong"), "time_limit": 600}
    result = train("a3c", PONG, n_workers=2, seed=0, save_to=folder, **steps, **FAST)
    return result, folder


def test_a_tiny_pong_run_under_the_test_profile_logs_real_scores_and_frames(tiny_pong):
    result, folder = tiny_pong
    plan = budget("a3c_pong", "test")
    assert result.total_steps >= plan["max_steps"]
    # global_step counts agent steps (each 4 frames), summed over the workers.
    assert result.total_steps == sum(w["steps"] for w in result.workers)
    summary = result.summary()
    assert summary["frames_per_step"] == 4
    assert summary["frames_per_second"] == pytest.approx(4 * summary["steps_per_second"])
    assert result.episodes, "games end after 100 agent steps under the test profile"
    for episode in result.episodes:
        assert episode.episode_length <= 100  # the random no-ops at the start use up frames too
        assert float(episode.episode_return).is_integer() and -21 <= episode.episode_return <= 21
    assert (folder / "summary.json").exists() and (folder / "episodes.csv").exists()


def test_the_checkpoint_restores_the_model_the_optimizer_and_the_step(tiny_pong):
    result, folder = tiny_pong
    checkpoint = load_checkpoint(folder)
    assert checkpoint["global_step"] == result.total_steps
    model = build_model(checkpoint["model_spec"])
    model.load_state_dict(checkpoint["model_state"])
    frames = torch.randint(0, 255, (3, 4, 84, 84), dtype=torch.uint8)
    assert torch.equal(model(frames)[0], result.model(frames)[0])
    hp = result.hyperparameters
    optimizer = build_optimizer(hp.optimizer, model.parameters(), hp.lr, hp.rmsprop_alpha,
                                hp.rmsprop_eps)
    optimizer.load_state_dict(checkpoint["optimizer_state"])
    restored = optimizer.state_dict()["state"]
    saved = result.optimizer_state["state"]
    assert restored.keys() == saved.keys()
    for index in saved:
        for key, tensor in saved[index].items():
            assert torch.equal(restored[index][key], tensor), (index, key)
    assert float(saved[0]["step"]) > 0  # the statistics of real updates, not fresh zeros


def test_resume_continues_the_step_count_the_model_and_the_optimizer(tiny_pong, tmp_path):
    result, folder = tiny_pong
    shutil.copytree(folder, tmp_path / "run")
    before = load_checkpoint(tmp_path / "run")
    start = before["global_step"]
    # A learning rate too small to move the weights shows where they came from.
    resumed = train("a3c", PONG, n_workers=2, seed=0, max_steps=start + 200,
                    resume=tmp_path / "run", save_to=tmp_path / "run", lr=1e-12,
                    env_kwargs=SHORT_GAMES, **FAST)
    assert resumed.start_step == start
    # Each of the 2 workers may finish the rollout it is in: up to t_max steps more.
    t_max = default_hyperparameters("atari").t_max
    assert start + 200 <= resumed.total_steps < start + 200 + 2 * t_max
    assert resumed.steps_this_run == resumed.total_steps - start
    assert resumed.episodes[:len(result.episodes)] == result.episodes
    assert all(e.global_step > start for e in resumed.episodes[len(result.episodes):])
    for name, tensor in resumed.model.state_dict().items():
        assert torch.allclose(tensor, before["model_state"][name], atol=1e-6), name
    steps_before = float(before["optimizer_state"]["state"][0]["step"])
    assert float(resumed.optimizer_state["state"][0]["step"]) > steps_before
    assert load_checkpoint(tmp_path / "run")["global_step"] == resumed.total_steps


def test_the_value_methods_train_on_pong_with_the_q_network_version(no_leftover_workers):
    result = train("q", PONG, n_workers=2, seed=0, max_steps=200, env_kwargs=SHORT_GAMES, **FAST)
    assert result.model.spec["head"] == "q_network" and result.model.spec["trunk"] == "atari"
    assert result.total_steps >= 200
    assert result.model(torch.zeros(1, 4, 84, 84, dtype=torch.uint8))[0].shape == (1, 6)
