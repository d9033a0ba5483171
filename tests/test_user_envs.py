"""A user's own environment trains under every start method: registered in an importable
module (``"module:Id"`` or a plain id after ``import module``), in ``__main__`` (a notebook
cell, a script), or passed as a class or a factory (``train(env=...)``)."""

import json
import subprocess
import textwrap

import gymnasium as gym
import numpy as np
import pytest

from a3c_course import ConfigError, train
from a3c_course.envs.user_envs import register_callable
from conftest import PYTHON

MODULE = textwrap.dedent('''
    """A user's module: an environment and its registration, done on import."""
    import gymnasium as gym
    import numpy as np


    class TinyEnv(gym.Env):
        """Say 1: reward 1 for action 1; episodes of 5 steps."""

        observation_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        action_space = gym.spaces.Discrete(2)

        def __init__(self, render_mode=None):
            self.t = 0

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self.t = 0
            return np.zeros(2, dtype=np.float32), {}

        def step(self, action):
            self.t += 1
            return np.zeros(2, dtype=np.float32), float(action), False, self.t >= 5, {}


    gym.register("ModuleTiny-v0", entry_point="tiny_module:TinyEnv")
''')

SCRIPT = textwrap.dedent('''
    import json, sys
    import gymnasium as gym
    import numpy as np
    from a3c_course import train

    method = sys.argv[1]


    class CellEnv(gym.Env):
        """Defined in __main__, as in a notebook cell: episodes of 3 steps."""

        observation_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        action_space = gym.spaces.Discrete(2)

        def __init__(self, render_mode=None, length=3):
            self.length = length
            self.t = 0

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self.t = 0
            return np.zeros(2, dtype=np.float32), {}

        def step(self, action):
            self.t += 1
            return np.zeros(2, dtype=np.float32), 1.0, False, self.t >= self.length, {}


    def make_cell_env():
        return CellEnv(length=4)


    gym.register("CellTiny-v0", entry_point=CellEnv)

    cases = {
        "module:id": dict(env_id="tiny_module:ModuleTiny-v0"),
        "id after import": dict(env_id="ModuleTiny-v0"),
        "id registered in __main__": dict(env_id="CellTiny-v0"),
        "class": dict(env=CellEnv),
        "factory": dict(env=make_cell_env),
    }
    report = {}
    for name, how in cases.items():
        if name == "id after import":
            import tiny_module  # noqa: F401  (registers ModuleTiny-v0)
        result = train("a3c", n_workers=2, max_steps=300, live="none", start_method=method,
                       **how)
        report[name] = sorted({e.episode_length for e in result.episodes})
    print(json.dumps(report))
''')


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_a_users_own_environment_trains_under_every_start_method(method, tmp_path):
    (tmp_path / "tiny_module.py").write_text(MODULE)
    # `python -c`: a __main__ without a file, as a notebook's; the module is importable
    # from the folder the script runs in, as a user's module beside a notebook is.
    done = subprocess.run([PYTHON, "-c", SCRIPT, method], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # Each case trained on its own environment (told apart by episode length).
    assert report == {"module:id": [5], "id after import": [5],
                      "id registered in __main__": [3], "class": [3], "factory": [4]}, report


def test_an_unknown_module_says_what_to_do():
    with pytest.raises(ConfigError, match="cannot be imported"):
        train("a3c", "no_such_module:Tiny-v0", max_steps=100, live="none")


class Unpicklable(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, lock=None, render_mode=None):
        self.lock = lock

    def reset(self, *, seed=None, options=None):
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        return np.zeros(1, dtype=np.float32), 0.0, True, False, {}


def test_an_environment_that_cannot_travel_to_the_workers_says_what_to_do():
    import threading

    lock = threading.Lock()  # an object no other process can have a copy of

    def make_locked(render_mode=None):
        with lock:
            return Unpicklable()

    gym.register("LockedTiny-v0", entry_point=make_locked)
    try:
        with pytest.raises(ConfigError, match="could not be sent to the worker processes"):
            train("a3c", "LockedTiny-v0", max_steps=100, live="none", start_method="spawn")
    finally:
        del gym.registry["LockedTiny-v0"]


def test_env_and_env_id_together_are_refused():
    with pytest.raises(ConfigError, match="not both"):
        train("a3c", "CartPole-v1", env=Unpicklable, max_steps=100, live="none")


def test_a_class_passed_as_env_gets_an_id_a_later_session_is_told_about():
    env_id = register_callable(Unpicklable)
    assert env_id == "user/Unpicklable-v0"
    del gym.registry[env_id]
    with pytest.raises(ConfigError, match="train\\(env=...\\)"):
        train("a3c", env_id, max_steps=100, live="none")


def test_exercise_functions_from_a_users_own_module_travel_by_value(tmp_path):
    """A worker on another machine (the Ray backend) cannot import the user's module:
    the function must arrive whole, while installed packages still travel by name."""
    import sys

    import cloudpickle

    from a3c_course.engine.plan import split_settings

    (tmp_path / "my_solutions.py").write_text(
        "SCALE = 3\n\ndef n_step_returns(rewards, bootstrap_value, terminated, gamma):\n"
        "    return SCALE * rewards\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import my_solutions

        blob, _ = split_settings({"n_step_returns": my_solutions.n_step_returns,
                                  "epsilon_greedy": np.argmax})
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("my_solutions", None)
    functions = cloudpickle.loads(blob)  # my_solutions is no longer importable here
    assert functions["n_step_returns"](np.ones(2), 0.0, None, 0.9).tolist() == [3.0, 3.0]
    assert functions["epsilon_greedy"] is np.argmax  # numpy's, by name
    assert "my_solutions" not in cloudpickle.list_registry_pickle_by_value()  # undone
