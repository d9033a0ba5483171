"""The user's own environments, in every worker, under every start method.

Under ``spawn`` (macOS, Windows) and ``forkserver`` (Linux's default here) a worker is a
fresh process. It knows Gymnasium's ids and the course's, but not an id that a
notebook cell, a script or the user's own module registered, and it never re-imports
the user's main module (:func:`a3c_course.engine.processes.main_module_hidden`). So the
registration travels with the run:

- ``"my_module:Tiny-v0"`` (Gymnasium's own form): every process imports ``my_module``
  before it makes the environment, and the module registers it;
- a plain id (``"Tiny-v0"``, registered by ``import my_module``, in a script or in a
  notebook cell): its :class:`~gymnasium.envs.registration.EnvSpec` is sent to the
  workers by value with cloudpickle, as the exercise functions are, and registered
  there. A class defined in ``__main__`` travels by value; one from an importable
  module, by reference (the worker imports the module);
- ``train(env=MyEnv)`` or ``train(env=make_my_env)``: the class or factory is
  registered under the id ``user/MyEnv-v0`` and then sent the same way.
"""

from __future__ import annotations

import importlib
import re
import sys
from dataclasses import replace

import cloudpickle
import gymnasium as gym
from gymnasium.envs.registration import EnvSpec

from ..errors import ConfigError

#: The namespace of the ids given to classes and factories passed as ``train(env=...)``.
USER_NAMESPACE = "user"

#: Entry points that every process knows without help: Gymnasium's, the ALE's,
#: MiniGrid's and the course's own.
KNOWN_PACKAGES = ("gymnasium.", "ale_py", "minigrid", "a3c_course.", "shimmy")


def register_callable(env) -> str:
    """Register a class or a factory (``train(env=...)``) under an id; returns the id.

    The environment is made with the keywords of ``env_kwargs``, and with
    ``render_mode="rgb_array"`` only to watch it play (a factory that should be
    watched takes ``render_mode``).
    """
    if isinstance(env, EnvSpec):
        gym.registry[env.id] = env
        return env.id
    if not callable(env):
        raise ConfigError(f"env must be a Gymnasium id, an environment class or a function "
                          f"that returns an environment, not {env!r}")
    name = getattr(env, "__name__", "") or type(env).__name__
    name = re.sub(r"\W", "", name) or "Env"
    env_id = f"{USER_NAMESPACE}/{name}-v0"
    gym.registry[env_id] = EnvSpec(id=env_id, entry_point=env)
    return env_id


def _spec_for(env_id: str) -> EnvSpec | None:
    return gym.registry.get(env_id)


def _needs_sending(spec: EnvSpec) -> bool:
    entry = spec.entry_point
    if isinstance(entry, str):
        return not entry.startswith(KNOWN_PACKAGES)
    module = getattr(entry, "__module__", "") or ""
    return not (module + ".").startswith(KNOWN_PACKAGES)


def _resolved_main_entry(spec: EnvSpec) -> EnvSpec:
    """``"__main__:MyEnv"`` names an object the workers cannot import: send the object."""
    entry = spec.entry_point
    if isinstance(entry, str) and entry.startswith("__main__:"):
        name = entry.partition(":")[2]
        obj = getattr(sys.modules.get("__main__"), name, None)
        if obj is None:
            raise ConfigError(f"{spec.id} is registered with entry_point={entry!r}, which "
                              f"names nothing in __main__; pass the class itself: "
                              f"gymnasium.register({spec.id!r}, entry_point={name})")
        return replace(spec, entry_point=obj)
    return spec


def registration_for_workers(env_id: str) -> bytes:
    """What a worker needs to know ``env_id``, by value; ``b""`` when it knows it already.

    Raises :class:`ConfigError` when the registration cannot be sent, saying what to do.
    """
    if ":" in env_id:
        return b""  # "module:Id": every process imports the module itself
    spec = _spec_for(env_id)
    if spec is None or not _needs_sending(spec):
        return b""
    spec = _resolved_main_entry(spec)
    try:
        return cloudpickle.dumps(spec)
    except Exception as err:
        raise ConfigError(
            f"the environment {env_id!r} could not be sent to the worker processes ({err}). "
            "Define its class (or the function that makes it) at the top level of a module "
            "or a notebook cell, and keep objects that cannot be copied (open files, locks, "
            "a running simulator) out of its registration's kwargs") from err


def register_in_worker(blob: bytes) -> None:
    """In a worker: register the environment the parent sent (see :func:`registration_for_workers`)."""
    if not blob:
        return
    spec = cloudpickle.loads(blob)
    if spec.id in gym.registry:
        return  # unpickling imported the module that registers it
    entry = spec.entry_point
    if isinstance(entry, str) and ":" in entry:
        # Importing the entry point's module runs its own registrations (and their warnings) first.
        try:
            importlib.import_module(entry.partition(":")[0])
        except ImportError:
            pass
        if spec.id in gym.registry:
            return
    gym.registry[spec.id] = spec


def import_module_of(env_id: str) -> str:
    """For Gymnasium's ``"module:Id"`` form: import the module; returns the plain id."""
    module, _, plain_id = env_id.partition(":")
    try:
        importlib.import_module(module)
    except ImportError as err:
        raise ConfigError(f"env_id {env_id!r}: module {module!r} cannot be imported ({err}); "
                          "it must be importable from the folder you run in (or on "
                          "sys.path)") from err
    return plain_id
