"""The course map: each notebook, where it sits in the paper, and its exercises.

Everything is read from the solution notebooks themselves, so a new notebook appears
on the map as soon as it is in ``notebooks/solutions/``:

- the title from the first cell's ``# N · Title`` line;
- the paper's section from its ``**In the paper:** ...`` line;
- the exercises from the ``### Exercise: `name` `` headings (``### Exercise 2: ...``
  too), each checked against
  :data:`a3c_course.checks.CHECKS` (read from the module's source, so that drawing
  the map needs neither torch nor the checkers).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

TITLE = re.compile(r"^#\s+(?P<number>\d+)\s*[·.:-]\s*(?P<title>.+?)\s*$", re.MULTILINE)
PAPER = re.compile(r"\*\*In the paper:\*\*\s*(?P<where>.+?)(?:\n\s*\n|\Z)", re.DOTALL)
EXERCISE = re.compile(r"^###\s+Exercise(?:\s+\d+)?:\s*`(?P<name>[A-Za-z_][A-Za-z0-9_]*)`",
                      re.MULTILINE)
CHECK_NAME = re.compile(r"""^\s*["'](?P<name>[a-z_0-9]+)["']\s*:\s*check_""", re.MULTILINE)


@dataclass
class NotebookEntry:
    """One notebook on the map."""

    stem: str                 # "03_n_step_q"
    number: int
    title: str
    paper: str                # the text after "**In the paper:**", markdown; "" if absent
    exercises: list[str] = field(default_factory=list)
    has_student: bool = True  # whether notebooks/ holds its student version


def cell_text(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def read_entry(path: Path) -> NotebookEntry:
    """The map's entry for one solution notebook."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = notebook.get("cells", [])
    first = cell_text(cells[0]) if cells else ""
    title = TITLE.search(first)
    number = int(title["number"]) if title else int(re.match(r"\d*", path.stem)[0] or -1)
    paper = PAPER.search(first)
    exercises = []
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            exercises += [m["name"] for m in EXERCISE.finditer(cell_text(cell))]
    return NotebookEntry(
        stem=path.stem,
        number=number,
        title=title["title"] if title else path.stem,
        paper=" ".join(paper["where"].split()) if paper else "",
        exercises=list(dict.fromkeys(exercises)),
    )


def read_course(solutions_dir: Path) -> list[NotebookEntry]:
    """Every solution notebook's entry, in the order of their numbers."""
    entries = [read_entry(p) for p in sorted(Path(solutions_dir).glob("[0-9]*.ipynb"))]
    return sorted(entries, key=lambda e: (e.number, e.stem))


def registered_checks(checks_source: Path) -> set[str]:
    """The exercise names that ``a3c_course.checks.CHECKS`` maps to a checker."""
    return set(CHECK_NAME.findall(Path(checks_source).read_text(encoding="utf-8")))


def course_map_markdown(entries, checks=None) -> str:
    """The landing page's table: notebook (solution and student pages), paper, exercises."""
    rows = ["| notebook | in the paper | exercises |", "| --- | --- | --- |"]
    for entry in entries:
        page = f"[{entry.number} · {entry.title}](solutions/{entry.stem}.ipynb)"
        student = f"<br>[student version](student/{entry.stem}.ipynb)" if entry.has_student else ""
        names = []
        for name in entry.exercises:
            mark = "" if checks is None or name in checks else " (no checker)"
            names.append(f"`{name}`{mark}")
        paper = entry.paper.replace("|", "\\|") or "-"
        rows.append(f"| {page}{student} | {paper} | {', '.join(names) or '-'} |")
    return "\n".join(rows) + "\n"
