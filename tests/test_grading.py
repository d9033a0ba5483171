"""Grading with nbgrader itself: an instructor's round trip on one notebook of the course.

``a3c-course grading-course``, then nbgrader's own ``generate_assignment``,
``autograde`` (under the test profile, as the README tells instructors), ``export`` and
``generate_feedback``, on two submissions of the released notebook: one whose stubs
hold the reference solutions (full marks), one with a wrong answer (the check's point
lost, and the checker's message in the student's feedback); and ``validate`` on the
unfilled release, which must not say "Success!". Notebook 3 keeps it short: one
exercise, one check, two training runs of a thousand steps.
"""

import csv
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from a3c_course.cli import main
from a3c_course.grading import CELL_TIMEOUT_SECONDS

pytest.importorskip("nbgrader")

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "notebooks" / "solutions"
ASSIGNMENT = "03_n_step_q"  # one exercise, two short training runs
WRONG = ("running = 0.0 if bool(terminated) else float(bootstrap_value)",
         "running = float(bootstrap_value)")
CHECKER_SAYS = "bootstrap through the terminal state"


def nbgrader(course, *args):
    env = dict(os.environ, A3C_COURSE_PROFILE="test")
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def solution_bodies(source):
    """grade_id -> the lines between the solution fences of the source notebook."""
    bodies = {}
    for cell in json.loads(source.read_text())["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            lines = "".join(cell["source"]).split("\n")
            begin = next(i for i, l in enumerate(lines) if l.strip() == "### BEGIN SOLUTION")
            end = next(i for i, l in enumerate(lines) if l.strip() == "### END SOLUTION")
            bodies[cell["metadata"]["nbgrader"]["grade_id"]] = lines[begin + 1:end]
    return bodies


def submit(release, bodies, destination, wrong=None):
    """The released notebook, its stubs replaced by the reference (``wrong``: one changed)."""
    notebook = json.loads(release.read_text())
    filled = 0
    for cell in notebook["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if not meta.get("solution"):
            continue
        lines = "".join(cell["source"]).split("\n")
        stub = next(i for i, l in enumerate(lines) if l.strip() == "# YOUR CODE HERE")
        assert "raise NotImplementedError" in lines[stub + 1]
        text = "\n".join(lines[:stub] + bodies[meta["grade_id"]] + lines[stub + 2:])
        if wrong and wrong[0] in text:
            text = text.replace(*wrong)
        cell["source"] = text
        filled += 1
    assert filled == len(bodies)
    destination.parent.mkdir(parents=True)
    destination.write_text(json.dumps(notebook))


def test_an_instructor_generates_validates_autogrades_and_returns_feedback_with_nbgrader(tmp_path, capsys):
    course = tmp_path / "course"
    assert main(["grading-course", str(course), "--solutions", str(SOLUTIONS),
                 "--notebooks", "03"]) == 0
    assert f"nbgrader generate_assignment {ASSIGNMENT}" in capsys.readouterr().out
    config = (course / "nbgrader_config.py").read_text()
    assert f"c.Execute.timeout = {CELL_TIMEOUT_SECONDS}" in config

    nbgrader(course, "generate_assignment", ASSIGNMENT)
    release = course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    released = release.read_text()
    assert "BEGIN SOLUTION" not in released and WRONG[0] not in released
    assert "NBVAL" not in released and "skip-execution" not in released

    # A student's validate fails on the unfilled stub, naming the function.
    env = dict(os.environ, A3C_COURSE_PROFILE="test")
    done = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(release)], cwd=course,
                          env=env, capture_output=True, text=True, timeout=600)
    said = done.stdout + done.stderr
    assert "Success!" not in said
    assert "n_step_returns is not implemented yet" in said

    bodies = solution_bodies(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    submitted = course / "submitted"
    submit(release, bodies, submitted / "right" / ASSIGNMENT / release.name)
    submit(release, bodies, submitted / "wrong" / ASSIGNMENT / release.name, wrong=WRONG)
    nbgrader(course, "autograde", ASSIGNMENT, "--create")
    nbgrader(course, "export")
    with open(course / "grades.csv") as f:
        grades = {row["student_id"]: row for row in csv.DictReader(f)}
    assert float(grades["right"]["max_score"]) == 1.0, "one check of one point"
    assert float(grades["right"]["score"]) == 1.0
    assert float(grades["wrong"]["score"]) == 0.0

    # The right submission ran to its end: its training runs were executed, not skipped.
    graded = json.loads((course / "autograded" / "right" / ASSIGNMENT / release.name).read_text())
    runs = [c for c in graded["cells"] if c["cell_type"] == "code" and "train(" in "".join(c["source"])]
    assert runs and all(c["execution_count"] and c["outputs"] for c in runs)

    nbgrader(course, "generate_feedback", ASSIGNMENT)
    feedback = (course / "feedback" / "wrong" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", feedback))
    assert CHECKER_SAYS in text
    assert "at t=2 you returned 8.0, expected 3.0" in text


def test_grading_course_names_the_assignments_when_one_is_unknown(tmp_path, capsys):
    assert main(["grading-course", str(tmp_path), "--solutions", str(SOLUTIONS),
                 "--notebooks", "42"]) == 2
    assert "01_one_step_q" in capsys.readouterr().err
