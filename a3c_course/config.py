"""Every setting of a training run: the hyperparameters in one dataclass, and their checks.

Names follow the paper where it names things: ``t_max`` (steps per n-step rollout),
``async_update`` (I_AsyncUpdate, steps between updates of the one-step methods),
``target_update_interval`` (I_target), ``entropy_beta`` (beta).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
from dataclasses import dataclass, field

from .errors import ConfigError
from .settings_report import SOURCE_ORDER, SettingsReport  # noqa: F401  (part of this module's API)

#: The four methods, by the name ``train(algo=...)`` and ``--algo`` take (their code is in
#: :data:`a3c_course.paper.algorithms.ALGORITHMS`).
ALGORITHM_NAMES = ("a3c", "q", "sarsa", "nstep-q")

#: The optimizers, by the name the ``optimizer`` setting takes (see :mod:`a3c_course.paper.optim`).
OPTIMIZERS = {
    "shared_rmsprop": "RMSProp, statistics shared by all workers (the paper's most robust variant)",
    "rmsprop": "RMSProp, each worker keeps its own statistics",
    "shared_adam": "Adam, moments and step count shared by all workers",
}

#: The paper's distribution of each worker's final epsilon (value-based methods).
PAPER_FINAL_EPSILONS = (0.1, 0.01, 0.5)
PAPER_FINAL_EPSILON_PROBS = (0.4, 0.3, 0.3)


@dataclass
class Hyperparameters:
    """Hyperparameters of the four methods; each algorithm reads the ones it uses.

    Defaults suit CartPole; :func:`default_hyperparameters` adjusts them for other
    environment families (Atari, continuous control, MiniGrid).
    """

    gamma: float = 0.99
    """Discount factor, in (0, 1]."""
    lr: float = 7e-4
    """Initial learning rate; annealed linearly to 0 over ``max_steps`` when ``lr_anneal``.

    Ours, not the paper's: the paper drew each run's rate from LogUniform(1e-4, 1e-2) and
    reported the best runs; 7e-4 is one value in that range that solves CartPole in the
    figures of the README (see :data:`PAPER_DEPARTURES`)."""
    lr_anneal: bool = True
    t_max: int = 5
    """n-step methods (A3C, n-step Q): steps per rollout, the largest n of the n-step returns."""
    envs_per_worker: int = 1
    """Games each worker plays at once (K): it acts in all of them with one batched forward
    pass and learns from their K x t_max steps in one update, with n-step returns per
    game. Ours, not the paper's (each of its workers played one game); see
    :mod:`a3c_course.engine.vector_rollouts`."""
    async_update: int = 5
    """One-step methods: steps whose gradients are accumulated before one update (I_AsyncUpdate)."""
    entropy_beta: float = 0.01
    """Weight beta of the entropy bonus (A3C)."""
    value_coef: float = 0.5
    r"""Weight of the value loss :math:`\sum_t (R_t - V(s_t))^2` (A3C).

    Ours: the paper's Algorithm S3 adds the gradient of :math:`(R - V)^2` in full, which is
    ``value_coef = 1``; 0.5 makes the value's gradient the TD error itself, a common choice,
    and the one every figure of this course was measured with."""
    max_grad_norm: float = 40.0
    """Gradients are rescaled so that their global norm is at most this.

    Ours: the paper does not clip gradients. A norm of 40 is rarely reached on a healthy
    run and caps the rare huge gradient (a NaN-bound value error early on)."""
    optimizer: str = "shared_rmsprop"
    """One of :data:`OPTIMIZERS`."""
    rmsprop_alpha: float = 0.99
    """RMSProp decay of the average of squared gradients."""
    rmsprop_eps: float = 1e-5
    """RMSProp epsilon, added to the average under the root as the paper writes it,
    sqrt(g + eps); ``torch.optim.RMSprop`` adds it to the root, sqrt(g) + eps."""
    hidden_sizes: tuple = (64, 64)
    """Widths of the MLP trunk's layers (vector observations)."""
    recurrent: bool = False
    """Put an LSTM of 256 cells between trunk and heads."""
    target_update_interval: int = 2_000
    """Value methods: global steps between copies of the online network into the target (I_target).

    Each value method has its own default for CartPole; see :data:`ALGORITHM_DEFAULTS`."""
    epsilon_anneal_steps: int = 40_000
    """Value methods: global steps over which epsilon falls from 1 to each worker's final value."""
    final_epsilons: tuple = PAPER_FINAL_EPSILONS
    final_epsilon_probs: tuple = PAPER_FINAL_EPSILON_PROBS
    scale_rewards: bool = True
    """Divide each reward, for learning, by the spread of the discounted return (its
    standard deviation, at least half its mean), estimated over all workers as they go:
    values and advantages are then of order one whatever the reward's units (see
    :mod:`a3c_course.paper.return_scale`). The log keeps real scores.

    Ours, not the paper's. On for A3C, where it let the untuned defaults learn Acrobot,
    MiniGrid-Empty and InvertedDoublePendulum (``benchmarks/generalization.py``); off
    for Atari (rewards clipped to [-1, 1] already) and for the value methods, whose
    CartPole figures were measured without it."""
    reward_clip: float | None = None
    """Clip each reward to [-reward_clip, reward_clip] for learning (Atari: 1); the log keeps the real score."""
    life_loss_terminal: bool = False
    """Atari: treat the loss of a life as terminal for learning (the game goes on)."""
    time_limit_terminal: bool = False
    """Treat an episode cut off by a time limit (``truncated``) as if it had reached a
    terminal state, bootstrapping from 0. A mistake, not an option: it is here so that
    notebook 1 can show what it does to learning."""

    def to_dict(self) -> dict:
        """Plain data (lists for tuples), for summary.json and checkpoints."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Hyperparameters":
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**values)


HYPERPARAMETER_NAMES = tuple(f.name for f in dataclasses.fields(Hyperparameters))

#: Where the course's defaults are not the paper's: ``name: (ours, the paper's, why)``.
#: The README's "The paper's settings and ours" has a row for each.
PAPER_DEPARTURES: dict[str, tuple[str, str, str]] = {
    "value_coef": ("0.5", "1 (Algorithm S3 adds the gradient of (R - V)^2 in full)",
                   "the value's gradient is then the TD error itself; every figure of the "
                   "course was measured with it"),
    "max_grad_norm": ("40", "no clipping",
                      "caps the rare huge gradient of an early value error; a healthy run "
                      "rarely reaches it"),
    "lr": ("7e-4 (CartPole), 3e-4 (continuous), 5e-4 with Adam and 8 games per worker "
           "(Atari; 1e-4 with one game per worker)",
           "drawn per run from LogUniform(1e-4, 1e-2), the best runs reported",
           "one rate per family that learned in this course's measured runs, instead of a "
           "search over many runs"),
    "hidden_sizes": ("two layers of 64 for vector observations",
                     "one layer of 200 (continuous control)",
                     "CartPole and InvertedPendulum learn in seconds at this size on a laptop"),
    "gaussian policy": ("softplus gives the standard deviation sigma (at least 0.001)",
                        "softplus gives the variance sigma^2",
                        "the log-density and the entropy are written in sigma, as the "
                        "notebook derives them; the README's MuJoCo runs used it"),
    "scale_rewards": ("on (A3C, except on Atari): rewards divided by the spread of the "
                      "discounted return (its standard deviation, at least half its mean)",
                      "rewards clipped to [-1, 1] on Atari, used as they are elsewhere",
                      "values and advantages of order one on every task: the untuned "
                      "defaults then learn Acrobot, MiniGrid-Empty and "
                      "InvertedDoublePendulum; CartPole's median steps to 475 "
                      "unchanged, its slowest seed twice as fast"),
    "optimizer (Atari)": ("shared Adam", "shared RMSProp",
                          "the paper's RMSProp on uncentred frames switched the first layer "
                          "off in early runs; Adam with shared moments learned Pong"),
}

#: Environment families whose defaults differ from CartPole's.
FAMILY_DEFAULTS: dict[str, dict] = {
    # Atari: Adam with shared moments, lr 1e-4 and 20-step rollouts took 16 workers of one
    # game each on Pong from a mean of -20.3 to +5.0 in 4.2M agent steps (README, "Atari"). The paper's shared
    # RMSProp and 5-step rollouts (with our lr 7e-4), on frames not yet centred, switched
    # every first-layer filter off within 56k-84k agent steps; on centred frames it is unmeasured.
    # Its eps (with optimizer="shared_rmsprop") is 0.01 under the root, the paper's form:
    # on the statistics of 20k agent steps of Pong, sqrt(g + 0.01) gives the median weight the
    # step that sqrt(g) + 0.1 gave it before eps moved under the root (ratio 1.00; eps 0.1
    # under the root would take it to 0.32).
    # The value methods copy the target network every 40,000 frames as the paper does:
    # 10,000 agent steps of 4 frames each (the trainer counts agent steps). Epsilon anneals
    # over the paper's 4 million frames: 1,000,000 agent steps.
    # Eight games per worker (ale-py's C++ vector environment, one batched forward pass
    # for 8 games, one update from their 8 x 20 steps): 2.1 times the frames/s of one game
    # per worker on 2 cores, 1.26 times the single-game bare limit
    # (benchmarks/atari_throughput.py). An update then learns from 8 times the steps, and
    # Adam's step does not grow with the batch, so the learning rate must: with lr 1e-4
    # two such workers stayed at -20 for 1.5M agent steps of Pong, with 5e-4 they reached
    # a mean of +18 in 2.1M agent steps and 22 minutes (README, "Atari"). One game per
    # worker keeps the reference run's 1e-4 (CONDITIONAL_DEFAULTS).
    "atari": dict(optimizer="shared_adam", lr=5e-4, envs_per_worker=8, t_max=20,
                  reward_clip=1.0, scale_rewards=False, rmsprop_eps=0.01,
                  target_update_interval=10_000, epsilon_anneal_steps=1_000_000),
    # Gaussian policies (see benchmarks/inverted_pendulum_solve.py): the paper's entropy
    # cost; lr 7e-4 balanced InvertedPendulum and then collapsed, 1e-4 was too slow;
    # 20-step rollouts bootstrap less from a value that must reach ~100 (1 per step).
    "continuous": dict(entropy_beta=1e-4, lr=3e-4, t_max=20, hidden_sizes=(64, 64)),
    # Mazes: a rollout of 20 steps spans the walk from the cue to the choice in
    # MiniGrid-MemoryS7, so truncated backpropagation reaches back to the cue. Most of
    # the one-hot view's inputs are rarely on (the cue among them): after 30k steps the
    # median weight's average squared gradient was 1.3e-11, and eps 1e-5 under the root
    # (the paper's form) would take its step to 0.4% of the one the recorded runs had
    # (eps 1e-5 added to the root). eps 1e-10 under the root keeps those steps (the two
    # forms agree within a factor of 1.4 when eps inside is the square of eps outside).
    "minigrid": dict(t_max=20, rmsprop_eps=1e-10),
}


#: Family defaults that hold only while another setting has a given value, whoever set
#: it: ``(family, setting, value) -> defaults``. They win over the family's defaults and
#: lose to yours (the settings report names the condition as their source).
CONDITIONAL_DEFAULTS: dict[tuple, dict] = {
    ("atari", "envs_per_worker", 1): dict(lr=1e-4),  # the reference run's, for 20-step updates
    # Vector observations (family None), K games: an update learns from K x 5 steps and
    # RMSProp's step does not grow with the batch. A3C, 2 workers, CartPole to 475: K=4 at
    # 7e-4 took 164k-210k steps, at 2e-3 76k-157k; K=8 at 3e-3 55k-92k (seeds 0-7), at
    # 2e-3 95k-110k, at 4e-3 101k-264k; K=1 at 7e-4 66k-123k (README, "Performance").
    (None, "envs_per_worker", 4): dict(lr=2e-3),
    (None, "envs_per_worker", 8): dict(lr=3e-3),
}


#: Algorithms whose defaults differ from A3C's. An environment family's defaults win
#: over these (Atari copies the target every 10,000 agent steps, the paper's 40,000 frames).
ALGORITHM_DEFAULTS: dict[str, dict] = {
    # The paper copies the target every 40,000 frames of runs of 80M+ frames. CartPole is
    # solved in about 100,000 steps, and its Q-values change fast: a target 2,000 steps old
    # held one-step Q at 270k-380k steps to a mean of 400; copied every 100 steps it got
    # there in 93k-103k (Sarsa 73k-124k), seeds 2, 4, 6 (benchmarks/value_methods_cartpole.py).
    "q": dict(target_update_interval=100, scale_rewards=False),
    "sarsa": dict(target_update_interval=100, scale_rewards=False),
    # n-step targets bootstrap only every t_max-th state from the target network, and lean
    # on it harder: copied every 100 steps, one seed in three collapsed; 1,000 reached a
    # mean of 400 in 226k-371k steps, 500 in 302k-399k.
    "nstep-q": dict(target_update_interval=1_000, scale_rewards=False),
}


def default_hyperparameters(family: str | None = None, algo: str | None = None,
                            **overrides) -> Hyperparameters:
    """The defaults for an algorithm on an environment family, ``overrides`` applied and checked.

    Precedence, lowest first: the dataclass's defaults (A3C on CartPole), the
    algorithm's (:data:`ALGORITHM_DEFAULTS`), the family's (:data:`FAMILY_DEFAULTS`),
    then ``overrides``.
    """
    return resolve_hyperparameters(family, algo, overrides)[0]


def resolve_hyperparameters(family: str | None, algo: str | None,
                            overrides: dict) -> tuple[Hyperparameters, dict]:
    """The hyperparameters of a run, and for each the layer it came from.

    Returns ``(hyperparameters, sources)``, ``sources[name]`` one of ``"default"``,
    ``"algorithm q"``, ``"family atari"``, or ``"yours"`` (given to ``train()`` or
    ``--set``), the last layer that set it.
    """
    sources = {name: "default" for name in HYPERPARAMETER_NAMES}
    values = {}
    for source, layer in ((f"algorithm {algo}", ALGORITHM_DEFAULTS.get(algo, {})),
                          (f"family {family}", FAMILY_DEFAULTS.get(family, {})),
                          ("yours", overrides)):
        values.update(layer)
        sources.update(dict.fromkeys(layer, source))
    unknown = sorted(set(values) - set(HYPERPARAMETER_NAMES))
    if unknown:
        raise ConfigError(unknown_names_message(unknown, HYPERPARAMETER_NAMES))
    fields = Hyperparameters.__dataclass_fields__
    for (condition_family, name, value), layer in CONDITIONAL_DEFAULTS.items():
        if condition_family == family and values.get(name, fields[name].default) == value:
            layer = {key: v for key, v in layer.items() if key not in overrides}
            values.update(layer)
            where = f"family {family}" if family else "default"
            sources.update(dict.fromkeys(layer, f"{where} with {name}={value}"))
    hp = Hyperparameters(**values)
    validate_hyperparameters(hp)
    return hp, sources


#: Names other libraries use for the same settings, to point users to ours.
ALIASES = {
    "learning_rate": "lr",
    "discount": "gamma",
    "beta": "entropy_beta",
    "ent_coef": "entropy_beta",
    "entropy_coef": "entropy_beta",
    "vf_coef": "value_coef",
    "value_loss_coef": "value_coef",
    "n_steps": "t_max",
    "num_steps": "t_max",
    "max_grad": "max_grad_norm",
    "target_update": "target_update_interval",
    "i_target": "target_update_interval",
    "i_async_update": "async_update",
}


def unknown_names_message(unknown, known) -> str:
    parts = []
    for name in unknown:
        close = [ALIASES[name]] if name in ALIASES else difflib.get_close_matches(name, known, n=1)
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return f"unknown setting {', '.join(parts)}; the settings are: {', '.join(known)}"


def _number(name, value, *, integer=False) -> float:
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(f"{name} must be {'an integer' if integer else 'a number'}, not {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, not {value!r}")
    return value


def check_range(name, value, low=None, high=None, *, low_open=False, high_open=False, integer=False):
    """Raise :class:`ConfigError` unless ``value`` is a finite number in the interval."""
    _number(name, value, integer=integer)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise ConfigError(f"{name} must be in {interval}, not {value!r}")


def validate_hyperparameters(hp: Hyperparameters) -> None:
    """Check every hyperparameter; raise :class:`ConfigError` naming the first bad one."""
    check_range("gamma", hp.gamma, 0, 1, low_open=True)
    check_range("lr", hp.lr, 0, None, low_open=True)
    check_range("t_max", hp.t_max, 1, integer=True)
    check_range("async_update", hp.async_update, 1, integer=True)
    check_range("envs_per_worker", hp.envs_per_worker, 1, 256, integer=True)
    check_range("entropy_beta", hp.entropy_beta, 0)
    check_range("value_coef", hp.value_coef, 0)
    check_range("max_grad_norm", hp.max_grad_norm, 0, low_open=True)
    check_range("rmsprop_alpha", hp.rmsprop_alpha, 0, 1, high_open=True)
    check_range("rmsprop_eps", hp.rmsprop_eps, 0, low_open=True)
    check_range("target_update_interval", hp.target_update_interval, 1, integer=True)
    check_range("epsilon_anneal_steps", hp.epsilon_anneal_steps, 0, integer=True)
    if hp.optimizer not in OPTIMIZERS:
        raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {hp.optimizer!r}")
    for name in ("lr_anneal", "recurrent", "scale_rewards", "life_loss_terminal",
                 "time_limit_terminal"):
        if not isinstance(getattr(hp, name), bool):
            raise ConfigError(f"{name} must be True or False, not {getattr(hp, name)!r}")
    sizes = hp.hidden_sizes
    if not isinstance(sizes, (tuple, list)) or not sizes:
        raise ConfigError(f"hidden_sizes must be a non-empty tuple of layer widths, not {sizes!r}")
    for size in sizes:
        check_range("each of hidden_sizes", size, 1, integer=True)
    if hp.reward_clip is not None:
        check_range("reward_clip", hp.reward_clip, 0, low_open=True)
    if len(hp.final_epsilons) != len(hp.final_epsilon_probs) or not hp.final_epsilons:
        raise ConfigError("final_epsilons and final_epsilon_probs must be non-empty and of equal length")
    for value in hp.final_epsilons:
        check_range("each of final_epsilons", value, 0, 1)
    for value in hp.final_epsilon_probs:
        check_range("each of final_epsilon_probs", value, 0, 1)
    if abs(sum(hp.final_epsilon_probs) - 1) > 1e-6:
        raise ConfigError(f"final_epsilon_probs must sum to 1, not {sum(hp.final_epsilon_probs)}")


@dataclass
class RunConfig:
    """Everything a worker needs to know about the run, as plain picklable data."""

    algo: str
    env_id: str
    n_workers: int
    seed: int
    max_steps: int
    hyperparameters: Hyperparameters
    model_spec: dict
    env_kwargs: dict = field(default_factory=dict)
    frames_per_step: int = 1
    env_registration: bytes = b""
    """The environment's Gymnasium registration, by value (cloudpickle), for ids that a fresh
    worker process would not know: registered in a notebook, a script or a user's module
    (see :mod:`a3c_course.envs.user_envs`)."""
    stall_seconds: float | None = None
    """A worker that has taken no step for this long says which function it is in."""
    game_stepping: str = "python"
    """How a worker with several games steps them: ``"ale-vector"`` (ale-py's C++ vector
    environment) or ``"python"`` (see :func:`a3c_course.envs.vector.choose_stepping`)."""
