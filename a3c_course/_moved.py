"""Old import paths of modules that moved into subpackages, kept working.

Until version 0.2 the package was one flat folder (``a3c_course.trainer``,
``a3c_course.widgets``...). Code written against it, a student's notebook or a script,
keeps importing those names: :class:`MovedModuleFinder` answers an import of an old
name with the module at its new place, the same module object, so that
``a3c_course.trainer.train is a3c_course.engine.trainer.train``.

A few old modules were split in two or more (``a3c_course.trainer`` into the trainer,
the plan and the process plumbing). Their names that moved to a sibling
(``a3c_course.trainer.draw_final_epsilon``) are looked up there too: :data:`SPLIT`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

#: old module name -> the module that holds its contents now.
MOVED = {
    "a3c_course.targets": "a3c_course.paper.targets",
    "a3c_course.algorithms": "a3c_course.paper.algorithms",
    "a3c_course.models": "a3c_course.paper.models",
    "a3c_course.optim": "a3c_course.paper.optim",
    "a3c_course.trainer": "a3c_course.engine.trainer",
    "a3c_course.worker": "a3c_course.engine.worker",
    "a3c_course.flat_params": "a3c_course.engine.flat_params",
    "a3c_course.fast_acting": "a3c_course.engine.fast_acting",
    "a3c_course.course_envs": "a3c_course.envs.course_envs",
    "a3c_course.mazes": "a3c_course.envs.mazes",
    "a3c_course.rendering": "a3c_course.envs.rendering",
    "a3c_course.results": "a3c_course.runs.result",
    "a3c_course.checkpoint": "a3c_course.runs.checkpoint",
    "a3c_course.resume": "a3c_course.runs.resume",
    "a3c_course.watch": "a3c_course.runs.watch",
    "a3c_course.progress": "a3c_course.live.monitors",
    "a3c_course.widgets": "a3c_course.live.dashboard",
    "a3c_course.plotting": "a3c_course.live.plots",
    "a3c_course.checking": "a3c_course.exercises.checking",
}


#: old module name -> the other modules that took some of its names.
SPLIT = {
    "a3c_course.trainer": ("a3c_course.engine.plan", "a3c_course.engine.processes",
                           "a3c_course.engine.shared"),
    "a3c_course.worker": ("a3c_course.engine.shared",),
    "a3c_course.progress": ("a3c_course.live.choose",),
    "a3c_course.widgets": ("a3c_course.live.subshell",),
    "a3c_course.fast_acting": ("a3c_course.paper.acting",),
    "a3c_course.checking": ("a3c_course.exercises.messages",),
}


def _look_in_siblings(old_name: str, module):
    """Give ``module`` a fallback for the names that moved to the modules in SPLIT."""
    siblings = SPLIT.get(old_name)
    if not siblings or getattr(module, "__getattr__", None) is not None:
        return

    def __getattr__(name):  # PEP 562: called only for names the module itself lacks
        for sibling in siblings:
            value = getattr(importlib.import_module(sibling), name, _MISSING)
            if value is not _MISSING:
                return value
        raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")

    module.__getattr__ = __getattr__


_MISSING = object()


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self.own_spec = module.__spec__
        _look_in_siblings(spec.name, module)
        return module

    def exec_module(self, module):
        # The module has run already, at its new place. The import machinery has just
        # given it the old name's spec: give it back its own, which multiprocessing
        # and importlib.reload read.
        module.__spec__ = self.own_spec


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Imports an old module name as the module that now holds it."""

    def find_spec(self, fullname, path=None, target=None):
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(new))


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once per process)."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
