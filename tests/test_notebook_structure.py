"""The course's notebook conventions, read from the notebook files.

Every notebook names the part of the paper it follows; every exercise states its
specification before its stub, then unfolds at least two hints, then checks; every
notebook ends with what it showed, questions with hidden answers, challenges and further
reading; at least four notebooks set a failure-mode ("silent bug") challenge; nothing
stored shows a test marker or widget state.
"""

import re
from pathlib import Path

import pytest

from a3c_course.student_notebooks import read_notebook

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "notebooks" / "solutions"
ALL_NOTEBOOKS = sorted(SOLUTIONS.glob("*.ipynb")) + sorted((REPO / "notebooks").glob("*.ipynb"))
PAPER = "https://arxiv.org/abs/1602.01783"

#: The notebooks held to the conventions of this file: all of them.
COURSE = sorted(path.stem for path in SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
SILENT_BUGS_AT_LEAST = 4

HINT = re.compile(r"<details>\s*<summary>\s*Hint \d\s*</summary>", re.IGNORECASE)
ANSWER = re.compile(r"<details>\s*<summary>\s*Answer\s*</summary>", re.IGNORECASE)
EXERCISE = re.compile(r"^###\s+Exercise:\s+`(\w+)`", re.MULTILINE)
CHECK_CALL = re.compile(r"\bcheck_(\w+)\s*\(")


def cells(name):
    return read_notebook(SOLUTIONS / f"{name}.ipynb")["cells"]


def text(cell):
    return "".join(cell["source"])


def markdown(name):
    return [text(c) for c in cells(name) if c["cell_type"] == "markdown"]


def section(name, title):
    """The markdown of the section ``## title`` (up to the next ``## `` heading)."""
    joined = "\n\n".join(markdown(name))
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", joined, re.MULTILINE | re.DOTALL)
    assert match, f"{name} has no section '## {title}'"
    return match.group(1)


@pytest.mark.parametrize("name", COURSE)
def test_a_notebook_opens_with_its_title_and_the_part_of_the_paper_it_follows(name):
    first = text(cells(name)[0])
    number = int(name[:2])
    assert first.startswith(f"# {number} · "), f"{name}: the first line is '# {number} · Title'"
    header = first.split("\n\n")[1] if "\n\n" in first else ""
    assert header.startswith("**In the paper:**") and PAPER in header, (
        f"{name}: the line after the title names the section, algorithm or table it "
        f"follows and links the paper ({PAPER})")
    assert re.search(r"Section|Algorithm|Table|Figure", header), f"{name}: name the part of the paper"


@pytest.mark.parametrize("name", COURSE)
def test_a_notebook_ends_with_a_summary_questions_challenges_and_reading(name):
    headings = [line for cell in markdown(name) for line in cell.split("\n") if line.startswith("## ")]
    assert headings[-4:] == ["## What this notebook showed", "## Check your understanding",
                             "## Challenges", "## Further reading"], (
        f"{name} ends with {headings[-4:]}")
    bullets = re.findall(r"^- ", section(name, "What this notebook showed"), re.MULTILINE)
    assert 3 <= len(bullets) <= 5, f"{name}: {len(bullets)} bullets in its summary"
    questions = section(name, "Check your understanding")
    numbered = re.findall(r"^\d+\. ", questions, re.MULTILINE)
    assert 3 <= len(numbered) <= 5, f"{name}: {len(numbered)} questions"
    assert len(ANSWER.findall(questions)) == len(numbered), f"{name}: a question without its hidden answer"
    challenges = section(name, "Challenges")
    assert 1 <= len(re.findall(r"^\*\*[^*]+\*\*", challenges, re.MULTILINE)) <= 2, (
        f"{name}: one or two challenges, each starting with a bold title")
    assert re.search(r"https?://", section(name, "Further reading")), f"{name}: reading with links"


def test_the_conventions_hold_for_every_notebook_of_the_course():
    assert COURSE[0] == "00_setup" and len(COURSE) >= 10, COURSE


def test_at_least_four_notebooks_set_a_silent_bug_challenge():
    with_bug = [name for name in COURSE
                if re.search(r"^\*\*Silent bug: ", section(name, "Challenges"), re.MULTILINE)]
    assert len(with_bug) >= SILENT_BUGS_AT_LEAST, f"silent-bug challenges only in {with_bug}"


def exercises(name):
    """(name, index of its heading cell, index of its stub cell) for each exercise."""
    found = []
    nb = cells(name)
    for index, cell in enumerate(nb):
        if cell["cell_type"] == "markdown":
            for exercise in EXERCISE.findall(text(cell)):
                stub = next(i for i in range(index + 1, len(nb))
                            if nb[i]["cell_type"] == "code" and "BEGIN SOLUTION" in text(nb[i]))
                found.append((exercise, index, stub))
    return found


@pytest.mark.parametrize("name", COURSE)
def test_every_exercise_states_its_specification_then_hints_then_checks(name):
    nb = cells(name)
    solution_cells = [i for i, c in enumerate(nb) if c["cell_type"] == "code" and "BEGIN SOLUTION" in text(c)]
    found = exercises(name)
    assert len(found) == len(solution_cells), (
        f"{name}: each solution cell follows its own '### Exercise: `name`' heading")
    for exercise, heading, stub in found:
        assert f"def {exercise}(" in text(nb[stub]), f"{name}: the exercise {exercise} defines {exercise}"
        spec = "\n".join(text(c) for c in nb[heading:stub] if c["cell_type"] == "markdown")
        assert "$" in spec, f"{name}, {exercise}: the specification gives the formula"
        assert re.search(r"\[[A-Z](, [A-Z])*\]|`\[", spec), f"{name}, {exercise}: ... and the shapes"
        assert "**Worked example.**" in spec, f"{name}, {exercise}: ... and a worked example by hand"
        hints = nb[stub + 1]
        assert hints["cell_type"] == "markdown" and len(HINT.findall(text(hints))) >= 2, (
            f"{name}, {exercise}: at least two hints in <details> blocks right after the stub")
        check = nb[stub + 2]
        assert check["cell_type"] == "code" and f"check_{exercise}(" in text(check), (
            f"{name}, {exercise}: the check cell follows the hints")


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_notebook_shows_a_test_marker_or_stores_widget_state(path):
    nb = read_notebook(path)
    assert "widgets" not in nb["metadata"], f"{path.name} stores widget state"
    for index, cell in enumerate(nb["cells"]):
        assert "NBVAL" not in text(cell), f"{path.name} cell {index} shows an nbval marker"
        assert "### HINT" not in text(cell), f"{path.name} cell {index} holds a ### HINT line"
        for output in cell.get("outputs", []):
            assert "application/vnd.jupyter.widget-view+json" not in output.get("data", {}), (
                f"{path.name} cell {index} stores a widget's output")
