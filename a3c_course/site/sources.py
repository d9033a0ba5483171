"""Lay out the site's sources: the notebooks, the landing page, the results, the API.

The site is built from a folder of its own, ``build/site/<profile>/src``, made fresh
from the repository at every build; a file is rewritten only when its content
changed, so that Sphinx rereads (and the execution cache looks up) only what moved.

- ``solutions/NN_*.ipynb``: the solution notebooks, executed by the build, with a
  line at the top that links the student version;
- ``student/NN_*.ipynb``: the student notebooks as they are (not executed), with a
  line at the top that links the solution page: the site shows the stub above each
  exercise, never the answer;
- ``data/``: ``notebooks/data`` (the solutions read ``../data``);
- ``figures/``: the recorded curves of ``docs/*.png``;
- ``index.md`` (the course map), ``results.md`` (the README's reference results),
  ``api.rst`` (the library, from its docstrings).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from .course_map import course_map_markdown, read_course, registered_checks

#: README sections that hold the reference results, in the order the page shows them.
RESULT_SECTIONS = (
    "The notebooks",
    "The value-based methods on CartPole",
    "The paper's settings and ours",
    "Atari: long runs, resume, and watching the agent",
    "Continuous control",
    "Memory and mazes",
    "Performance",
)

#: The modules the API page documents, with a heading each.
API_MODULES = (
    ("Training", ["a3c_course.engine.trainer", "a3c_course.runs.result"]),
    ("The paper's pieces", ["a3c_course.paper.targets", "a3c_course.paper.algorithms",
                            "a3c_course.paper.acting", "a3c_course.paper.models",
                            "a3c_course.paper.optim"]),
    ("Environments", ["a3c_course.envs.make"]),
    ("Checking exercises", ["a3c_course.checks"]),
    ("Settings and budgets", ["a3c_course.config", "a3c_course.profiles"]),
    ("Plots and live views", ["a3c_course.live.plots", "a3c_course.live.monitors"]),
)


def write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def copy_if_changed(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_bytes() != source.read_bytes():
        shutil.copyfile(source, target)


def markdown_cell(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def with_note(notebook_path: Path, note: str) -> str:
    """The notebook's JSON with a markdown note as its second cell (after the title)."""
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    cells = notebook.setdefault("cells", [])
    cells.insert(1 if cells else 0, markdown_cell(note))
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def readme_sections(readme: str, titles=RESULT_SECTIONS) -> str:
    """The README's sections with these titles (each up to the next heading of its level)."""
    lines = readme.splitlines()
    heads = [(i, len(m[1]), m[2].strip()) for i, line in enumerate(lines)
             if (m := re.match(r"^(#{2,4})\s+(.*)$", line))]
    parts = []
    for title in titles:
        for k, (start, level, text) in enumerate(heads):
            if text != title:
                continue
            end = next((i for i, lev, _ in heads[k + 1:] if lev <= level), len(lines))
            part = "\n".join(lines[start:end]).strip()
            # Each section a chapter of the page (##), its own subsections below it.
            shift = level - 2
            parts.append(re.sub(r"^(#{2,6}) ", lambda m: "#" * (len(m[1]) - shift) + " ", part,
                                flags=re.MULTILINE))
    body = "\n\n".join(parts)
    body = re.sub(r"<!--.*?-->\n?", "", body, flags=re.DOTALL)
    return re.sub(r"\]\(docs/([^)]+\.png)\)", r"](figures/\1)", body)


def index_page(entries, checks) -> str:
    return f"""# a3c-course

A hands-on course on **"Asynchronous Methods for Deep Reinforcement Learning"**
([Mnih et al., ICML 2016](https://arxiv.org/abs/1602.01783)), taught by building it.
Each notebook below is shown twice: **executed**, with its plots, training runs and
worked solutions, and as the **student version** you work through, where each exercise
is a stub to write and a check to pass.

## The course map

{course_map_markdown(entries, checks)}
The reference results (long runs, benchmarks, the paper's settings and ours) are on
[Results](results.md); the library's functions and classes on [API](api.rst).

```{{toctree}}
:hidden:
:caption: Notebooks

{chr(10).join(f"solutions/{e.stem}" for e in entries)}
```

```{{toctree}}
:hidden:
:caption: Student versions

{chr(10).join(f"student/{e.stem}" for e in entries if e.has_student)}
```

```{{toctree}}
:hidden:
:caption: Reference

results
api
```
"""


def results_page(readme: str, data_files) -> str:
    data = "\n".join(f"- {{download}}`data/{p.name}`" for p in data_files)
    return f"""# Results

The reference runs and measurements of the course, as the README records them, with
their curves. The notebooks' own plots are on their pages, executed by the build.

## Recorded data

The recorded curves the notebooks read:

{data or "- (none)"}

{readme_sections(readme)}
"""


def api_page() -> str:
    parts = ["API", "===", "",
             "The library the notebooks use, from its docstrings. Start with",
             ":func:`a3c_course.engine.trainer.train` and"
             " :class:`a3c_course.runs.result.RunResult`.", ""]
    for heading, modules in API_MODULES:
        parts += [heading, "-" * len(heading), ""]
        for module in modules:
            parts += [f".. automodule:: {module}", "   :members:", ""]
    return "\n".join(parts) + "\n"


def lay_out(repo: Path, src: Path, profile: str = "class") -> list:
    """Write the site's sources from the repository into ``src``; the map's entries."""
    solutions_dir = repo / "notebooks" / "solutions"
    entries = read_course(solutions_dir)
    checks = registered_checks(repo / "a3c_course" / "checks.py")
    wanted = set()
    for entry in entries:
        solution = solutions_dir / f"{entry.stem}.ipynb"
        student = repo / "notebooks" / f"{entry.stem}.ipynb"
        note = (f"*Executed under the course's `{profile}` profile, with its outputs. The "
                f"exercises' answers are shown: to work them yourself, take the "
                f"[student version](../student/{entry.stem}.ipynb).*")
        write_if_changed(src / "solutions" / solution.name, with_note(solution, note))
        wanted.add(Path("solutions") / solution.name)
        if student.exists():
            note = (f"*Student version: each exercise is a stub to write, checked by the "
                    f"cell below it. The worked solutions and the executed runs, with "
                    f"their plots, are on the [solution page](../solutions/{entry.stem}.ipynb).*")
            write_if_changed(src / "student" / student.name, with_note(student, note))
            wanted.add(Path("student") / student.name)
        entry.has_student = student.exists()
    for folder in ("solutions", "student"):  # a notebook removed from the course leaves
        for old in (src / folder).glob("*.ipynb"):
            if Path(folder) / old.name not in wanted:
                old.unlink()
    data_files = sorted(p for p in (repo / "notebooks" / "data").glob("*") if p.is_file())
    for path in data_files:
        copy_if_changed(path, src / "data" / path.name)
    for path in sorted((repo / "docs").glob("*.png")):
        copy_if_changed(path, src / "figures" / path.name)
    write_if_changed(src / "index.md", index_page(entries, checks))
    readme = (repo / "README.md").read_text(encoding="utf-8")
    write_if_changed(src / "results.md", results_page(readme, data_files))
    write_if_changed(src / "api.rst", api_page())
    return entries
