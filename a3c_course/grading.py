"""A course folder for nbgrader, made from the solution notebooks: ``a3c-course grading-course``.

nbgrader works in a folder of its own: ``nbgrader_config.py``, and one folder per
assignment under ``source/``. The solution notebooks already are nbgrader source
notebooks (``a3c-course make-student`` writes their metadata: each solution cell an
autograded answer, each check cell a locked autograder test with points), so the
course folder is only a copy of them, one assignment per notebook::

    a3c-course grading-course ~/a3c-grading
    cd ~/a3c-grading
    nbgrader generate_assignment 03_n_step_q
    A3C_COURSE_PROFILE=test nbgrader autograde 03_n_step_q

Each assignment folder also gets a copy of ``notebooks/data/`` (the recorded runs some
notebooks plot), which nbgrader hands out with the notebook and copies back beside
every submission it grades.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .student_notebooks import (
    cleared,
    exercise_names,
    notebook_text,
    read_notebook,
    with_nbgrader_metadata,
)

#: Seconds nbgrader lets one cell run (its own default is 30). Under the class profile a
#: training cell runs for minutes: a run ends at its score or budget of steps, and its
#: time limit (at most 10 minutes, notebook 4's) is a safety net; the longest cell,
#: notebook 6's speedup table, holds three runs of at most 5 minutes each. Under
#: ``A3C_COURSE_PROFILE=test`` every cell takes seconds.
CELL_TIMEOUT_SECONDS = 1200

CONFIG = f'''\
# nbgrader's settings for the a3c-course notebooks (written by a3c-course grading-course).
c = get_config()
c.CourseDirectory.course_id = "a3c-course"
# A training cell runs for minutes under the class profile (nbgrader's default limit is
# 30 s a cell). Grading needs only the check cells: run nbgrader's validate and
# autograde with A3C_COURSE_PROFILE=test and every training cell takes seconds.
c.Execute.timeout = {CELL_TIMEOUT_SECONDS}
'''


def assignments(solutions_dir="notebooks/solutions") -> list[Path]:
    """The solution notebooks that hold at least one exercise, in name order."""
    return [path for path in sorted(Path(solutions_dir).glob("*.ipynb"))
            if exercise_names(read_notebook(path))]


def make_grading_course(course_dir, solutions_dir="notebooks/solutions", names=None) -> list[Path]:
    """Write an nbgrader course folder; return the source notebooks it wrote.

    Args:
        course_dir: the folder to create (or update); ``nbgrader`` runs from there.
        solutions_dir: the course's solution notebooks.
        names: assignment names (``"03_n_step_q"``, or just ``"03"``) to include;
            default every notebook with an exercise.
    """
    solutions_dir = Path(solutions_dir)
    if not solutions_dir.is_dir():
        raise FileNotFoundError(f"{solutions_dir} is not a folder of solution notebooks; run "
                                "from the repository root or pass --solutions DIR")
    available = assignments(solutions_dir)
    chosen = available if not names else [_pick(name, available) for name in names]
    course = Path(course_dir)
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(CONFIG, encoding="utf-8")
    data = solutions_dir.parent / "data"
    written = []
    for path in chosen:
        folder = course / "source" / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        notebook = cleared(with_nbgrader_metadata(read_notebook(path)))
        target = folder / path.name
        target.write_text(notebook_text(notebook), encoding="utf-8")
        if data.is_dir():
            shutil.copytree(data, folder / "data", dirs_exist_ok=True)
        written.append(target)
    return written


def _pick(name: str, available: list[Path]) -> Path:
    matches = [path for path in available if path.stem == name or path.stem.startswith(f"{name}_")]
    if len(matches) != 1:
        known = ", ".join(path.stem for path in available)
        raise FileNotFoundError(f"no notebook with exercises called {name!r}; the assignments are: {known}")
    return matches[0]
