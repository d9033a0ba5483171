"""The package's layout: rooms by role, no import cycles, small modules, a cheap import."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "a3c_course"

#: Modules allowed past the size where a reader loses the thread, and why.
LONG_MODULES = {}
MAX_LINES = 420


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules():
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported_modules(name: str, path: Path, known) -> set:
    """Every module of the package that ``path`` imports, at the top or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from package import module` imports the module; `from module import name`
            # imports the module that holds the name.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def import_graph():
    known = modules()
    return {name: imported_modules(name, path, known) for name, path in known.items()}


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_two_modules_of_the_package_import_each_other_even_lazily():
    graph = import_graph()
    assert graph["a3c_course.engine.trainer"], "the import graph is empty: the parser broke"
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle_through_a_lazy_import():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def test_every_module_is_short_enough_to_read_or_says_why_not():
    long = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    too_long = {name: lines for name, lines in long.items()
                if lines > MAX_LINES and name not in LONG_MODULES}
    assert not too_long


@pytest.mark.parametrize("room", ["paper", "engine", "envs", "runs", "live", "exercises"])
def test_each_room_says_what_it_holds(room):
    doc = ast.get_docstring(ast.parse((PACKAGE / room / "__init__.py").read_text()))
    assert doc and len(doc.splitlines()) >= 2


def test_importing_the_package_and_its_command_line_imports_neither_torch_nor_gymnasium():
    code = ("import sys, a3c_course, a3c_course.cli, a3c_course.doctor, a3c_course.config; "
            "print(sorted(m for m in ('torch', 'gymnasium', 'numpy', 'matplotlib') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.strip() == "[]"


def test_the_public_names_load_on_first_use():
    import a3c_course

    assert a3c_course.train.__module__ == "a3c_course.engine.trainer"
    assert a3c_course.load_run.__module__ == "a3c_course.runs.result"
    assert a3c_course.make_env.__module__ == "a3c_course.envs.make"
    with pytest.raises(AttributeError):
        a3c_course.no_such_name  # noqa: B018


def test_the_old_flat_module_paths_still_import_the_same_modules():
    import importlib

    from a3c_course._moved import MOVED

    for old, new in MOVED.items():
        module = importlib.import_module(old)
        assert module is importlib.import_module(new)
        assert module.__spec__.name == new, "the alias must not rename the module"
    from a3c_course.trainer import train
    from a3c_course.widgets import Dashboard  # noqa: F401

    assert train is importlib.import_module("a3c_course.engine.trainer").train


def resolve(dotted: str):
    """The object a name in the paper-to-code map stands for, looked up where a reader would."""
    import importlib

    for prefix in ("a3c_course.", "a3c_course.paper.", "a3c_course.engine.",
                   "a3c_course.paper.algorithms.", "a3c_course.engine.worker."):
        parts = (prefix + dotted).split(".")
        for split in range(len(parts), 0, -1):
            try:
                value = importlib.import_module(".".join(parts[:split]))
            except ImportError:
                continue
            try:
                for attribute in parts[split:]:
                    value = getattr(value, attribute)
            except AttributeError:
                break
            return value
    return None


def test_every_name_in_the_map_from_the_paper_to_the_code_exists():
    import re

    from a3c_course.paper import algorithms

    doc = algorithms.__doc__
    section = doc[doc.index("From the paper's pseudo-code"):]
    names = set(re.findall(r"\b[A-Za-z_]+(?:\.[A-Za-z_]+)+\b", section))
    assert len(names) > 15
    missing = sorted(name for name in names if resolve(name) is None)
    assert not missing


def test_names_that_moved_to_a_sibling_module_still_import_from_the_old_path():
    from a3c_course.checking import GENERAL_EXCEPTION_HINTS  # noqa: F401
    from a3c_course.engine import plan, shared
    from a3c_course.fast_acting import sample_from_logits  # noqa: F401
    from a3c_course.progress import make_monitor  # noqa: F401
    from a3c_course.trainer import draw_final_epsilon, main_module_hidden  # noqa: F401
    from a3c_course.widgets import route_clicks_while_busy  # noqa: F401
    from a3c_course.worker import build_shared_state

    assert draw_final_epsilon is plan.draw_final_epsilon
    assert build_shared_state is shared.build_shared_state
    import a3c_course.trainer

    with pytest.raises(AttributeError):
        a3c_course.trainer.no_such_name  # noqa: B018
