"""Is this machine ready for the course? A short check that says what is wrong and how to fix it.

In a notebook::

    from a3c_course.doctor import doctor
    doctor()

From a terminal: ``a3c-course doctor``. Each line is one check, ``ok``, ``warning``
(the course runs, with something missing) or ``PROBLEM`` (fix it first), and every
warning or problem comes with the command or setting that fixes it.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .profiles import PROFILE_VARIABLE, current_profile

INSTALL = 'python -m pip install -c constraints.txt -e ".[dev]"  (from the course folder)'

#: (import name, distribution name, what the course uses it for)
PACKAGES = (
    ("torch", "torch", "the networks and the shared-memory workers"),
    ("gymnasium", "gymnasium", "every environment"),
    ("numpy", "numpy", "arrays"),
    ("matplotlib", "matplotlib", "learning curves"),
    ("cloudpickle", "cloudpickle", "sending your functions to the workers"),
    ("psutil", "psutil", "process checks"),
    ("ipywidgets", "ipywidgets", "the live dashboard"),
    ("cv2", "opencv-python-headless", "Atari frame preprocessing"),
    ("ale_py", "ale-py", "Atari games"),
    ("minigrid", "minigrid", "the maze tasks"),
    ("mujoco", "mujoco", "continuous control"),
)

#: (environment id, notebook that needs it, fix when it cannot be made)
ENVIRONMENTS = (
    ("CartPole-v1", "every notebook", INSTALL),
    ("ALE/Pong-v5", "07_atari", 'python -m pip install "ale-py>=0.9" (it ships the game ROMs)'),
    ("MiniGrid-MemoryS11FacingCue-v0", "09_memory_mazes", "python -m pip install minigrid"),
    ("InvertedPendulum-v5", "08_continuous_control", 'python -m pip install "gymnasium[mujoco]"'),
)

MIN_SHARED_MEMORY_MB = 256
STOP_BUTTON_IPYKERNEL = (7, 4)


@dataclass
class Finding:
    """The result of one check."""

    status: str
    """``"ok"``, ``"warning"`` or ``"problem"``."""
    what: str
    detail: str
    fix: str = ""


def doctor(start_worker=True) -> bool:
    """Print every check; return True when nothing is a problem (warnings allowed).

    Runs without torch or gymnasium: their absence is what it must report.
    """
    findings = run_checks(start_worker=start_worker)
    width = max(len(f.what) for f in findings)
    for f in findings:
        label = {"ok": "ok", "warning": "warning", "problem": "PROBLEM"}[f.status]
        print(f"{label:8} {f.what:{width}}  {f.detail}")
        if f.fix:
            print(f"{'':8} {'':{width}}  fix: {f.fix}")
    problems = sum(f.status == "problem" for f in findings)
    if problems:
        print(f"\n{problems} problem(s): fix them, restart the kernel (or the terminal) "
              "and run the doctor again.")
    else:
        print("\nEverything the course needs is in place.")
    return problems == 0


def run_checks(start_worker=True) -> list[Finding]:
    """Every check, in order; none of them raises."""
    findings = [check_python()]
    findings += [check_package(*p) for p in PACKAGES]
    findings += [check_cpus(), check_shared_memory()]
    if start_worker:
        findings.append(check_worker_process())
    findings += [check_environment(*e) for e in ENVIRONMENTS]
    findings += [check_stop_button(), check_profile()]
    return findings


def check_python() -> Finding:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info < (3, 10):
        return Finding("problem", "python", f"Python {version}",
                       "the course needs Python 3.10 or newer: make a new virtual environment "
                       "with a newer Python, then " + INSTALL)
    return Finding("ok", "python", f"Python {version} ({sys.executable})")


def check_package(module, distribution, purpose) -> Finding:
    try:
        importlib.import_module(module)
    except Exception as err:  # ImportError, or a broken binary install
        return Finding("problem", distribution, f"cannot import {module} ({err}); needed for "
                       f"{purpose}", INSTALL)
    try:
        version = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        version = "?"
    pinned = _pins().get(_normalise(distribution))
    if pinned and version != pinned and not version.startswith(pinned + "+"):
        return Finding("warning", distribution, f"{version}, but the course is tested with "
                       f"{pinned}", INSTALL)
    return Finding("ok", distribution, version)


def check_cpus() -> Finding:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    if cores < 2:
        return Finding("warning", "CPU cores", f"{cores}: the workers will take turns",
                       "the course runs, more slowly; use n_workers=1 or 2")
    return Finding("ok", "CPU cores", f"{cores} (n_workers up to {cores} run truly in parallel)")


def check_shared_memory() -> Finding:
    try:
        import torch

        tensor = torch.zeros(1024).share_memory_()
        assert tensor.is_shared()
    except Exception as err:
        return Finding("problem", "shared memory", f"torch cannot share a tensor ({err})",
                       "in Docker, start the container with --shm-size=1g")
    if sys.platform.startswith("linux") and Path("/dev/shm").exists():
        free_mb = shutil.disk_usage("/dev/shm").free // 2**20
        if free_mb < MIN_SHARED_MEMORY_MB:
            return Finding("warning", "shared memory", f"only {free_mb} MB free in /dev/shm",
                           "in Docker, start the container with --shm-size=1g")
        return Finding("ok", "shared memory", f"{free_mb:,} MB free in /dev/shm")
    return Finding("ok", "shared memory", "works")


def _worker_probe():
    import a3c_course.engine.worker  # noqa: F401  (what every worker imports first)


def check_worker_process() -> Finding:
    try:
        import torch.multiprocessing as mp
    except Exception as err:  # the package checks above say how to install it
        return Finding("problem", "worker processes", f"not checked: torch cannot be "
                       f"imported ({err})", INSTALL)
    from .engine.fork_server import default_start_method

    method = default_start_method()
    start = time.perf_counter()
    try:
        process = mp.get_context(method).Process(target=_worker_probe, daemon=True)
        process.start()
        process.join(120)
        if process.is_alive():
            process.kill()
            return Finding("problem", "worker processes", f"a {method} process did not finish "
                           "importing the course in 2 minutes", "check that the machine is "
                           "not out of memory, then restart the kernel")
        if process.exitcode != 0:
            return Finding("problem", "worker processes", f"a {method} process failed to import "
                           f"a3c_course (exit code {process.exitcode})", INSTALL)
    except Exception as err:
        return Finding("problem", "worker processes", f"cannot start a {method} process ({err})",
                       "run the notebook from a normal local Jupyter, not a restricted sandbox")
    seconds = time.perf_counter() - start
    return Finding("ok", "worker processes", f"{method} worker started and ready in {seconds:.1f} s")


def check_environment(env_id, needed_by, fix) -> Finding:
    try:
        from .envs.make import make_env

        make_env(env_id, seed=0).close()
    except Exception as err:
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        status = "problem" if env_id == "CartPole-v1" else "warning"
        return Finding(status, env_id, f"cannot be made ({first_line[:120]}); needed by "
                       f"{needed_by}", fix)
    return Finding("ok", env_id, "can be made")


def check_stop_button() -> Finding:
    try:
        version = metadata.version("ipykernel")
    except metadata.PackageNotFoundError:
        return Finding("warning", "ipykernel", "not installed: no notebook kernel", INSTALL)
    numbers = tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
    if numbers < STOP_BUTTON_IPYKERNEL:
        return Finding("warning", "ipykernel", f"{version}: the dashboard's Stop button needs "
                       "7.4 or newer; until then stop training with the kernel's interrupt (the "
                       "square button)", INSTALL)
    return Finding("ok", "ipykernel", f"{version} (the dashboard's Stop button works)")


def check_profile() -> Finding:
    try:
        profile = current_profile()
    except Exception as err:
        return Finding("problem", "profile", str(err), f"unset {PROFILE_VARIABLE}, or set it to "
                       "class")
    if profile == "test":
        return Finding("warning", "profile", f"{PROFILE_VARIABLE}=test: tiny training budgets, "
                       "for automated tests; the curves will not show learning",
                       f"unset {PROFILE_VARIABLE} for class")
    return Finding("ok", "profile", f"{profile} (training budgets sized for class)")


def _normalise(name):
    return name.lower().replace("_", "-").replace(".", "-")


def _pins() -> dict:
    """The versions of constraints.txt, when the course folder is at hand (editable install)."""
    path = Path(__file__).resolve().parent.parent / "constraints.txt"
    pins = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, sep, version = line.strip().partition("==")
            if sep and not name.startswith("#"):
                pins[_normalise(name)] = version.strip()
    return pins
