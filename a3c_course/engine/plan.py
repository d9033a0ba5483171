"""What ``train()`` decides before any process starts: every input checked, the run planned.

A mistake in the arguments (an unknown environment, zero workers, a value method on
continuous actions, a student's function that cannot be sent to a worker) is found
here, in the notebook's own process, and reported as a
:class:`~a3c_course.errors.ConfigError` that says what to do. Nothing has started yet,
so nothing needs stopping.
"""

from __future__ import annotations

import contextlib
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import cloudpickle
import gymnasium as gym
import numpy as np

from ..config import (
    HYPERPARAMETER_NAMES,
    RunConfig,
    SettingsReport,
    check_range,
    resolve_hyperparameters,
    unknown_names_message,
)
from ..envs.make import check_env_id, is_atari, is_minigrid, read_spaces
from ..envs.user_envs import registration_for_workers
from ..envs.vector import choose_stepping
from ..errors import ConfigError
from ..paper import targets
from ..paper.algorithms import ALGORITHMS, ValueMethod, algorithm_class
from ..paper.models import build_model, model_spec
from ..paper.targets import ATARI_FRAME_SIZE
from ..profiles import origin_of
from ..runs.checkpoint import load_checkpoint, remove_stale_temporaries
from ..runs.diagnostics import read_diagnostics
from ..runs.folder import check_writable
from ..runs.result import read_episodes
from .backend import BACKENDS, RAY, SHARED_MEMORY
from .capacity import check_worker_count
from .processes import start_context
from .shared import worker_seed


@dataclass
class RunPlan:
    """The checked inputs of a run, and what was decided from them."""

    config: RunConfig
    """What every worker needs to know (plain, picklable data)."""
    context: object
    """The multiprocessing context of the chosen start method."""
    functions: bytes
    """The student's exercise functions, by name, pickled by value (cloudpickle)."""
    method: type
    """The class of the method (:mod:`a3c_course.paper.algorithms`)."""
    stop_at_return: float | None
    time_limit: float | None
    checkpoint: dict | None
    """The checkpoint to resume from, or None."""
    previous_episodes: list
    start_step: int
    final_epsilons: list
    """Each worker's final epsilon (value methods), or None per worker."""
    save_to: object
    checkpoint_every: float | None
    settings: SettingsReport
    """Every setting of the run, with the layer it came from (printed as the run starts)."""
    function_names: tuple = ()
    """The names of the student's functions the workers run."""
    previous_diagnostics: list = field(default_factory=list)
    """The diagnostics rows the resumed run's folder logged so far."""
    backend: str = SHARED_MEMORY
    """``shared_memory`` (processes of this machine) or ``ray`` (see :mod:`~a3c_course.engine.backend`)."""
    ray_address: str | None = None
    """With ``backend="ray"``: None (a local cluster) or the address of one to join."""


def make_plan(algo, env_id, n_workers, seed, max_steps, stop_at_return, time_limit, start_method,
              resume, save_to, checkpoint_every, env_kwargs, settings,
              backend=SHARED_MEMORY, ray_address=None) -> RunPlan:
    """Check every input of :func:`~a3c_course.engine.trainer.train` and plan the run.

    Raises :class:`~a3c_course.errors.ConfigError` for the first bad input, before any
    process starts.
    """
    given = dict(n_workers=n_workers, seed=seed, max_steps=max_steps,
                 stop_at_return=stop_at_return, time_limit=time_limit, env_kwargs=env_kwargs or {},
                 backend=backend)
    if algo not in ALGORITHMS:
        raise ConfigError(f"unknown algo {algo!r}; choose one of {', '.join(ALGORITHMS)}")
    check_range("n_workers", n_workers, 1, integer=True)
    check_range("seed", seed, 0, integer=True)
    check_range("max_steps", max_steps, 1, integer=True)
    if stop_at_return is not None:
        check_range("stop_at_return", stop_at_return)
    if time_limit is not None:
        check_range("time_limit", time_limit, 0, low_open=True)
    if checkpoint_every is not None:
        check_range("checkpoint_every", checkpoint_every, 0, low_open=True)
        if save_to is None:
            raise ConfigError("checkpoint_every needs save_to, the folder to write checkpoints to")
    check_backend(backend, ray_address, start_method)
    context = start_context(start_method)
    functions, hp_overrides = split_settings(settings)
    function_names = tuple(name for name in settings if name in targets.EXERCISE_FUNCTIONS)
    check_env_id(env_id)
    env_kwargs = dict(env_kwargs or {})
    spaces = read_spaces(env_id, env_kwargs)
    env_registration = registration_for_workers(env_id)
    discrete = isinstance(spaces.action_space, gym.spaces.Discrete)
    method = algorithm_class(algo, discrete)
    refuse_discrete_only_functions(function_names, discrete, env_id)
    if issubclass(method, ValueMethod) and not discrete:
        raise ConfigError(
            f"{algo!r} is a value-based method: it needs a discrete action space to take "
            f"max_a Q(s, a), but {env_id} has continuous actions {spaces.action_space}. "
            "Use algo='a3c', whose Gaussian policy handles continuous actions."
        )
    if not discrete and not isinstance(spaces.action_space, gym.spaces.Box):
        raise ConfigError(f"{env_id} has action space {spaces.action_space}; the course handles "
                          "Discrete and Box action spaces")
    family = environment_family(env_id, discrete)
    hp, sources = resolve_hyperparameters(family, algo, hp_overrides)
    if hp.recurrent and issubclass(method, ValueMethod):
        raise ConfigError("recurrent=True is for algo='a3c'; the value-based methods use "
                          "feed-forward Q-networks, as in the paper")
    spec = model_spec(spaces.observation_space, spaces.action_space, method.head,
                      hp.hidden_sizes, hp.recurrent)
    if backend != RAY or ray_address is None:  # workers of this machine (a cluster's: its own)
        check_worker_count(n_workers, count_parameters(spec), len(functions))
    check_functions_are_used([name for name in settings if name in targets.EXERCISE_FUNCTIONS],
                             env_id, env_kwargs, discrete, hp)

    checkpoint, previous_episodes, previous_diagnostics = None, [], []
    if resume is not None:
        checkpoint, previous_episodes = read_resume(resume, algo, env_id, spec)
        previous_diagnostics = read_diagnostics(resume).rows
    start_step = int(checkpoint["global_step"]) if checkpoint else 0
    if start_step >= max_steps:
        raise ConfigError(f"the run to resume is at global step {start_step} already; "
                          f"give a larger max_steps than {max_steps} to train further")

    if save_to is not None:  # found now, not after an hour of training
        check_writable(save_to, "save_to")
        remove_stale_temporaries(save_to)  # what a killed earlier save left there

    final_epsilons = [
        draw_final_epsilon(seed, i, hp.final_epsilons, hp.final_epsilon_probs)
        if issubclass(method, ValueMethod) else None
        for i in range(n_workers)
    ]
    settings_report = _settings_report(f"{algo} on {env_id}", hp, sources, given)
    stepping, why = choose_stepping(env_id, env_kwargs, hp.envs_per_worker, function_names)
    if hp.envs_per_worker > 1:  # said at the start of the run, never silently
        settings_report.values["games_stepped_by"] = f"{stepping} ({why})"
        settings_report.sources["games_stepped_by"] = sources["envs_per_worker"]
    n_workers, seed, max_steps = int(n_workers), int(seed), int(max_steps)  # plain numbers
    config = RunConfig(algo=algo, env_id=env_id, n_workers=n_workers, seed=seed,
                       max_steps=max_steps, hyperparameters=hp, model_spec=spec,
                       env_kwargs=env_kwargs, frames_per_step=spaces.frames_per_step,
                       env_registration=env_registration, game_stepping=stepping)
    return RunPlan(config=config, context=context, functions=functions, method=method,
                   stop_at_return=stop_at_return, time_limit=time_limit, checkpoint=checkpoint,
                   previous_episodes=previous_episodes, start_step=start_step,
                   final_epsilons=final_epsilons, save_to=save_to,
                   checkpoint_every=checkpoint_every, settings=settings_report,
                   function_names=function_names,
                   previous_diagnostics=previous_diagnostics, backend=backend,
                   ray_address=ray_address)


#: train()'s own defaults of the run settings (any other value was the user's choice).
RUN_DEFAULTS = dict(n_workers=2, seed=0, max_steps=100_000, stop_at_return=None,
                    time_limit=None, env_kwargs={}, backend=SHARED_MEMORY)


def _settings_report(title, hp, sources, run_values) -> SettingsReport:
    """The report of a run's settings: the run's own (workers, budget), then every hyperparameter."""
    values, origins = {}, {}
    for name, value in run_values.items():
        origins[name] = origin_of(value) or ("default" if value == RUN_DEFAULTS[name] else "yours")
        values[name] = value
    for name in HYPERPARAMETER_NAMES:
        values[name] = getattr(hp, name)
        origins[name] = sources[name]
    return SettingsReport(title, values, origins)


def check_backend(backend, ray_address, start_method) -> None:
    """The backend exists, its options go with it, and Ray is installed if it is chosen."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend != RAY:
        if ray_address is not None:
            raise ConfigError("ray_address is for backend='ray'; add backend='ray' to train "
                              "on a Ray cluster")
        return
    if start_method is not None:
        raise ConfigError("start_method is for the shared-memory backend; Ray starts its "
                          "own worker processes: leave start_method out with backend='ray'")
    if ray_address is not None and not isinstance(ray_address, str):
        raise ConfigError(f"ray_address must be 'auto' or 'HOST:PORT', not {ray_address!r}")
    try:
        import ray  # noqa: F401
    except ImportError as err:
        raise ConfigError(f"backend='ray' needs the ray package ({err}); install it with: "
                          'pip install -c constraints.txt -e ".[ray]"') from err


def environment_family(env_id, discrete):
    """The key of :data:`~a3c_course.config.FAMILY_DEFAULTS` for this environment, or None."""
    if is_atari(env_id):
        return "atari"
    if is_minigrid(env_id):
        return "minigrid"
    return None if discrete else "continuous"


def split_settings(settings):
    """Exercise functions (by name) apart from hyperparameters; unknown names refused."""
    functions, hp_overrides = {}, {}
    for name, value in settings.items():
        if name in targets.EXERCISE_FUNCTIONS:
            if not callable(value):
                raise ConfigError(f"{name} must be a function like "
                                  f"a3c_course.targets.{name}, not {value!r}")
            functions[name] = value
        elif name in HYPERPARAMETER_NAMES:
            hp_overrides[name] = value
        else:
            known = HYPERPARAMETER_NAMES + tuple(targets.EXERCISE_FUNCTIONS)
            raise ConfigError(unknown_names_message([name], known))
    try:
        with users_own_modules_by_value(functions.values()):
            blob = cloudpickle.dumps(functions)
    except Exception as err:
        raise ConfigError(f"the exercise functions could not be sent to the workers ({err}); "
                          "define them at the top level of a cell or module") from err
    return blob, hp_overrides


@contextlib.contextmanager
def users_own_modules_by_value(functions):
    """Send functions from the user's own modules by value, not by a module name.

    A function from ``__main__`` travels by value anyway; one from a module of the user's
    (``my_solutions.py`` beside a notebook) would travel as ``my_solutions.name``, which
    a worker on another machine (the Ray backend) cannot import. Installed packages,
    the standard library and this package keep travelling by name.
    """
    registered = []
    for function in functions:
        name = getattr(function, "__module__", None) or ""
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if (module is None or path is None or name == "__main__"
                or name.split(".")[0] == "a3c_course"
                or {"site-packages", "dist-packages"} & set(Path(path).parts)
                or Path(path).is_relative_to(Path(sysconfig.get_paths()["stdlib"]))):
            continue
        if name not in registered:
            cloudpickle.register_pickle_by_value(module)
            registered.append(name)
    try:
        yield
    finally:
        for name in registered:
            cloudpickle.unregister_pickle_by_value(sys.modules[name])


def refuse_discrete_only_functions(names, discrete, env_id) -> None:
    """A student's ``actor_critic_loss`` and ``entropy`` work on logits of discrete actions;
    with continuous actions the Gaussian policy's loss would silently not use them."""
    written_for_logits = [name for name in names if name in ("actor_critic_loss", "entropy")]
    if written_for_logits and not discrete:
        raise ConfigError(
            f"{' and '.join(written_for_logits)} work on the logits of a discrete policy, but "
            f"{env_id} has continuous actions, where A3C's Gaussian policy has no logits: "
            "your function would not be used. Train it on a discrete environment "
            "(e.g. CartPole-v1); for continuous actions the Gaussian policy's own pieces are "
            "gaussian_log_prob and gaussian_entropy (notebook 8)")


def count_parameters(spec) -> int:
    """The number of weights of the model ``spec`` describes."""
    return sum(p.numel() for p in build_model(spec).parameters())


#: Exercises that only some runs call: the name, when a run calls it, and what to change.
_USED_WHEN = {
    "shared_rmsprop_step": (
        lambda env_id, discrete, hp: hp.optimizer in ("shared_rmsprop", "rmsprop"),
        "it is the RMSProp optimizer's step, and this run uses optimizer={optimizer!r}: "
        "add optimizer='shared_rmsprop'"),
    "atari_frame": (
        lambda env_id, discrete, hp: is_atari(env_id),
        "it makes the frames of Atari games, and {env_id} is not one: train on an "
        "'ALE/...' id, e.g. 'ALE/Pong-v5'"),
    "gaussian_log_prob": (
        lambda env_id, discrete, hp: not discrete,
        "it is the Gaussian policy's, and {env_id} has discrete actions (a softmax "
        "policy): train on continuous actions, e.g. 'InvertedPendulum-v5'"),
    "gaussian_entropy": (
        lambda env_id, discrete, hp: not discrete,
        "it is the Gaussian policy's, and {env_id} has discrete actions (a softmax "
        "policy): train on continuous actions, e.g. 'InvertedPendulum-v5'"),
    "next_lstm_state": (
        lambda env_id, discrete, hp: hp.recurrent,
        "it carries the LSTM's state, and this run has no LSTM: add recurrent=True"),
}


def check_functions_are_used(names, env_id, env_kwargs, discrete, hp) -> None:
    """Refuse a student's function that this run would never call (it would not be tested)."""
    for name in names:
        if name not in _USED_WHEN:
            continue
        used, why = _USED_WHEN[name]
        if not used(env_id, discrete, hp):
            raise ConfigError(f"this run would never call your {name}: "
                              + why.format(optimizer=hp.optimizer, env_id=env_id))
    options = env_kwargs.get("atari")
    if "atari_frame" in names and options is not None and options.screen_size != ATARI_FRAME_SIZE:
        raise ConfigError(f"atari_frame makes {ATARI_FRAME_SIZE}x{ATARI_FRAME_SIZE} frames, and "
                          f"this run asks for {options.screen_size}x{options.screen_size} "
                          "(AtariOptions.screen_size): leave screen_size at its default")


def read_resume(resume, algo, env_id, spec):
    """The checkpoint to resume from, and the episodes its run folder logged so far."""
    checkpoint = load_checkpoint(resume)
    if checkpoint["algo"] != algo or checkpoint["env_id"] != env_id:
        raise ConfigError(f"{resume} holds a {checkpoint['algo']} run on {checkpoint['env_id']}; "
                          f"it cannot resume as {algo} on {env_id}")
    if checkpoint["model_spec"] != spec:
        raise ConfigError(f"{resume} holds a model {checkpoint['model_spec']}, but these settings "
                          f"build {spec}; resume with the settings of the original run")
    folder = Path(resume) if Path(resume).is_dir() else Path(resume).parent
    episodes = read_episodes(folder) if (folder / "episodes.csv").exists() else []
    return checkpoint, episodes


def draw_final_epsilon(seed, worker, values, probs) -> float:
    """Worker ``worker``'s final epsilon, drawn from ``values`` with ``probs`` (the paper's
    0.1, 0.01, 0.5 with 0.4, 0.3, 0.3), reproducibly from the run's seed."""
    rng = np.random.default_rng(worker_seed(seed, worker) + 1)
    return float(rng.choice(np.asarray(values, dtype=float), p=np.asarray(probs, dtype=float)))
