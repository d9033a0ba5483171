"""Watch a trained agent play: record an episode, save it as a GIF or MP4, show it inline.

::

    from a3c_course.watch import play_episode, save_video, show_episode

    episode = play_episode("runs/pong")        # a run folder, a checkpoint or a RunResult
    print(episode.total_return, episode.length)
    save_video(episode.frames, "pong.gif", fps=episode.fps)
    show_episode(episode)                      # in a notebook: the episode, playing inline

From the command line, ``a3c-course watch runs/pong`` writes ``runs/pong/episode.gif``.

The agent sees what it saw in training (for Atari, the preprocessed stack of 84x84
grayscale frames) while the video shows the game as a person would: the full-colour
screen that ``render()`` returns after each of the agent's steps (for Atari, every
4th frame, so 15 frames per second of game time play in real time).

How it acts: an actor-critic samples from its policy, as in training (``greedy=True``
takes the most probable action instead); a Q-network takes the action of highest
value, with probability ``epsilon`` a random one; a Gaussian policy acts with its mean
when greedy, else samples, clipped to the action bounds. An LSTM agent carries its
state from step to step, from zeros at the start of the episode.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CHECKPOINT_NAME, load_checkpoint
from .result import saved_env_kwargs
from ..envs.make import frames_per_step, make_env
from ..envs.rendering import prepare_headless_rendering
from ..errors import ConfigError
from ..paper.acting import ActionChooser, env_action
from ..paper.models import build_model

VIDEO_NAME = "episode.gif"
ATARI_HZ = 60  # the console draws 60 frames per second
VIDEO_SUFFIXES = (".gif", ".mp4")


@dataclass
class Agent:
    """A trained model and the environment it was trained on (with its settings)."""

    model: torch.nn.Module
    env_id: str
    algo: str = ""
    env_kwargs: dict = field(default_factory=dict)

    @property
    def head(self) -> str:
        return self.model.spec["head"]


@dataclass
class PlayedEpisode:
    """What :func:`play_episode` recorded."""

    frames: list = field(default_factory=list)
    """RGB frames ``[H, W, 3]`` uint8, the first before any action, then one per step."""
    total_return: float = 0.0
    """The real score (unclipped), as episodes.csv logs it."""
    length: int = 0
    """Agent steps taken."""
    finished: bool = False
    """False when ``max_steps`` cut the episode short."""
    fps: int = 30
    """Frames per second that replay the game at its real speed."""


def load_agent(source) -> Agent:
    """The agent in ``source``: a run folder, a ``checkpoint.pt``, or a :class:`RunResult`."""
    if hasattr(source, "model") and hasattr(source, "env_id"):
        return Agent(source.model, source.env_id, getattr(source, "algo", ""),
                     dict(getattr(source, "env_kwargs", None) or {}))
    path = Path(source)
    if path.is_dir() and not (path / CHECKPOINT_NAME).exists():
        raise FileNotFoundError(f"{path} holds no {CHECKPOINT_NAME}: give the folder that "
                                "a3c-course train --out (or result.save) wrote")
    checkpoint = load_checkpoint(path)
    model = build_model(checkpoint["model_spec"])
    model.load_state_dict(checkpoint["model_state"])
    return Agent(model, checkpoint["env_id"], checkpoint.get("algo", ""),
                 saved_env_kwargs(path, checkpoint))


def play_episode(source, *, seed=0, max_steps=10_000, greedy=False, epsilon=0.0,
                 env_kwargs=None, record=True) -> PlayedEpisode:
    """Play one episode with the agent in ``source`` and record its frames.

    Args:
        source: a run folder, a ``checkpoint.pt``, a :class:`RunResult` or an :class:`Agent`.
        seed: seeds the environment and the agent's random choices.
        max_steps: agent steps after which the episode is cut short.
        greedy: take the most probable (or mean) action instead of sampling.
        epsilon: Q-networks only: probability of a random action.
        env_kwargs: keywords for :func:`a3c_course.make_env`; by default the run's own
            (saved with it), each one given here replacing the run's.
        record: keep the rendered frames (False: only the score, faster).
    """
    agent = source if isinstance(source, Agent) else load_agent(source)
    rng = np.random.default_rng(seed)
    if record:
        prepare_headless_rendering()
    env = make_env(agent.env_id, seed=seed, render_mode="rgb_array" if record else None,
                   **{**agent.env_kwargs, **(env_kwargs or {})})
    threads = torch.get_num_threads()
    # One observation at a time: one thread is fastest (more only wait on each other).
    torch.set_num_threads(1)
    try:
        return _play(agent, env, max_steps, greedy, epsilon, rng, record)
    finally:
        torch.set_num_threads(threads)
        env.close()


def _play(agent, env, max_steps, greedy, epsilon, rng, record) -> PlayedEpisode:
    obs, _ = env.reset()
    state = agent.model.initial_state()
    chooser = ActionChooser(agent.head, rng)
    fps = env.metadata.get("render_fps") or 30
    frames = frames_per_step(agent.env_id)
    if frames > 1:  # Atari: one video frame per agent step plays in real time
        fps = round(ATARI_HZ / frames)
    episode = PlayedEpisode(fps=int(fps))
    if record:
        episode.frames.append(env.render())
    for _ in range(max_steps):
        action, state = chooser(agent.model, torch.as_tensor(np.asarray(obs)), state,
                                epsilon=epsilon, greedy=greedy)
        obs, reward, terminated, truncated, info = env.step(env_action(action, env.action_space))
        episode.total_return += float(reward)
        episode.length += 1
        if record:
            episode.frames.append(env.render())
        if terminated or truncated:
            episode.finished = True
            break
    return episode


def save_video(frames, path, fps=30) -> Path:
    """Write ``frames`` (RGB ``[H, W, 3]`` uint8) as an animated GIF or an MP4.

    GIF needs nothing beyond Pillow (which matplotlib installs). MP4 is smaller for long
    episodes but needs ``imageio`` with its ffmpeg plugin (``pip install imageio[ffmpeg]``).
    """
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ConfigError(f"write the video as .gif or .mp4, not {path.name!r}")
    if not len(frames):
        raise ValueError("no frames to save: play an episode with record=True first")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gif":
        path.write_bytes(gif_bytes(frames, fps))
        return path
    try:
        import imageio.v2 as imageio

        with imageio.get_writer(path, fps=fps, macro_block_size=1) as writer:
            for frame in frames:
                writer.append_data(np.asarray(frame))
    except (ImportError, ValueError, RuntimeError) as err:
        raise ConfigError(f"writing MP4 needs imageio with ffmpeg (pip install "
                          f"'imageio[ffmpeg]'); or save as .gif instead ({err})") from err
    return path


def gif_bytes(frames, fps=30) -> bytes:
    """An animated GIF of ``frames``, as bytes (looping forever)."""
    from PIL import Image

    images = [Image.fromarray(np.asarray(frame, dtype=np.uint8)) for frame in frames]
    buffer = io.BytesIO()
    # GIF stores delays in hundredths of a second.
    duration = max(20, int(round(1000 / fps / 10)) * 10)
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                   duration=duration, loop=0, optimize=False)
    return buffer.getvalue()


def show_episode(episode_or_frames, fps=None, width=None):
    """Show an episode inline in a notebook, as an animated GIF that plays by itself.

    ``episode_or_frames`` is a :class:`PlayedEpisode` or a list of RGB frames.
    Returns the IPython display object (the cell shows it when it is the last line).
    """
    from IPython.display import Image

    if isinstance(episode_or_frames, PlayedEpisode):
        frames, fps = episode_or_frames.frames, fps or episode_or_frames.fps
    else:
        frames = episode_or_frames
    return Image(data=gif_bytes(frames, fps or 30), format="gif", width=width)


def watch(run, out=None, *, seed=0, max_steps=10_000, greedy=False, epsilon=0.0,
          env_kwargs=None) -> tuple[Path, PlayedEpisode]:
    """Play one episode of the agent in run folder ``run`` and save it as a video.

    ``out`` defaults to ``run/episode.gif``. Returns the path and the episode.
    """
    episode = play_episode(run, seed=seed, max_steps=max_steps, greedy=greedy,
                           epsilon=epsilon, env_kwargs=env_kwargs)
    if out is None:
        folder = Path(run)
        out = (folder if folder.is_dir() else folder.parent) / VIDEO_NAME
    return save_video(episode.frames, out, fps=episode.fps), episode
