"""Student notebooks come from the solution notebooks, stay in sync, and run up to the stubs."""

import re
import shutil
from pathlib import Path

import pytest

from a3c_course.cli import main
from a3c_course.student_notebooks import (
    NotebookSourceError,
    cleared,
    make_student_notebooks,
    notebook_text,
    read_notebook,
    student_version,
    with_nbgrader_metadata,
)

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
SOLUTION_PATHS = sorted(SOLUTIONS.glob("*.ipynb"))
EXECUTION_TAGS = {"raises-exception", "nbval-skip", "skip-execution", "nbval-raises-exception"}


def code(source, outputs=(), tags=(), nbgrader=None):
    metadata = {"tags": list(tags)} if tags else {}
    if nbgrader:
        metadata["nbgrader"] = nbgrader
    return {"cell_type": "code", "execution_count": 3 if outputs else None, "id": "c",
            "metadata": metadata, "outputs": list(outputs), "source": source}


def notebook(*cells, metadata=None):
    return {"cells": list(cells), "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": 5}


STREAM = {"name": "stdout", "output_type": "stream", "text": ["hello\n"]}

EXERCISE = """def double(x):
    \"\"\"Twice x.\"\"\"
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
"""


def sources(nb):
    return ["".join(c["source"]) for c in nb["cells"]]


def test_a_solution_region_becomes_a_stub_that_names_the_function_at_the_same_indentation():
    student = student_version(notebook(code(EXERCISE)))
    text = sources(student)[0]
    assert "return 2 * x" not in text and "BEGIN SOLUTION" not in text
    assert '    # YOUR CODE HERE\n    raise NotImplementedError("write double here")' in text
    assert text.startswith('def double(x):\n    """Twice x."""\n')
    namespace = {}
    exec(text, namespace)
    with pytest.raises(NotImplementedError, match="write double here"):
        namespace["double"](1)


def test_a_hint_inside_the_solution_region_is_refused_with_where_hints_go():
    with_hint = EXERCISE.replace("    return", "    ### HINT: multiply by two.\n    return")
    with pytest.raises(NotebookSourceError, match="cell 0.*<details>"):
        student_version(notebook(code(with_hint)), "01_x.ipynb")


def test_the_student_version_carries_no_execution_tags_so_a_filled_in_notebook_runs_everything():
    nb = notebook(code("import math"), code(EXERCISE), code("check_double(double)"),
                  code("train(double=double)", tags=["skip-execution", "nbval-skip", "mine"]),
                  code("check_double(double)", tags=["raises-exception"]))
    cells = student_version(nb)["cells"]
    assert all(not EXECUTION_TAGS & set(c["metadata"].get("tags", [])) for c in cells)
    assert cells[3]["metadata"]["tags"] == ["mine"], "the author's own tags stay"


def test_outputs_are_cleared_but_checked_outputs_before_the_first_stub_are_kept():
    nb = notebook(code("print('hello')", [STREAM], tags=["nbval-check-output"]),
                  code("print('x')", [STREAM]), code(EXERCISE),
                  code("double(2)", [STREAM], tags=["nbval-check-output"]))
    cells = student_version(nb)["cells"]
    assert cells[0]["outputs"] == [STREAM] and cells[0]["metadata"]["tags"] == ["nbval-check-output"]
    assert cells[1]["outputs"] == [] and cells[1]["execution_count"] is None
    # After a stub the student's cell cannot reproduce the solution's output.
    assert cells[3]["outputs"] == [] and "tags" not in cells[3]["metadata"]


def test_the_visible_nbval_comment_becomes_the_tag_nbval_reads():
    nb = with_nbgrader_metadata(notebook(code("# NBVAL_CHECK_OUTPUT\nprint('hello')", [STREAM])))
    cell = nb["cells"][0]
    assert sources(nb)[0] == "print('hello')"
    assert cell["metadata"]["tags"] == ["nbval-check-output"] and cell["outputs"] == [STREAM]


def test_unbalanced_fences_are_refused_with_the_cell_named():
    with pytest.raises(NotebookSourceError, match="cell 0"):
        student_version(notebook(code("### BEGIN SOLUTION\nx = 1")), "01_x.ipynb")
    with pytest.raises(NotebookSourceError, match="without a"):
        student_version(notebook(code("x = 1\n### END SOLUTION")))


def test_solution_cells_are_answers_and_check_cells_locked_graded_tests():
    nb = with_nbgrader_metadata(notebook(code("x = 1"), code(EXERCISE),
                                         code("from a3c_course.checks import check_double\n\n"
                                              "check_double(double)")))
    plain, answer, test = (cell["metadata"] for cell in nb["cells"])
    assert "nbgrader" not in plain
    assert answer["nbgrader"]["solution"] is True and answer["nbgrader"]["grade"] is False
    assert answer["nbgrader"]["grade_id"] == "double"
    assert test["nbgrader"]["grade"] is True and test["nbgrader"]["locked"] is True
    assert test["nbgrader"]["solution"] is False and test["nbgrader"]["points"] == 1
    assert test["nbgrader"]["grade_id"] == "check_double"


def test_points_an_instructor_set_are_kept():
    meta = {"grade": True, "grade_id": "check_double", "locked": True, "points": 3,
            "schema_version": 3, "solution": False, "task": False}
    nb = with_nbgrader_metadata(notebook(code("check_double(double)", nbgrader=meta)))
    assert nb["cells"][0]["metadata"]["nbgrader"]["points"] == 3


def test_clearing_removes_widget_state_and_the_student_version_has_none():
    nb = notebook(code("x = 1", [STREAM]), metadata={"widgets": {"state": {"a": 1}}})
    assert "widgets" not in cleared(nb)["metadata"]
    assert "widgets" not in student_version(nb)["metadata"]


def test_make_student_check_reports_stale_notebooks(tmp_path, capsys):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    (solutions / "01_double.ipynb").write_text(notebook_text(notebook(code(EXERCISE))))
    assert main(["make-student", "--solutions", str(solutions), "--check"]) == 1
    assert main(["make-student", "--solutions", str(solutions)]) == 0
    assert "01_double.ipynb (double): written" in capsys.readouterr().out
    assert main(["make-student", "--solutions", str(solutions), "--check"]) == 0
    assert (tmp_path / "01_double.ipynb").exists()


def test_make_student_without_a_solutions_folder_says_where_to_run_it(tmp_path, capsys):
    assert main(["make-student", "--solutions", str(tmp_path / "nowhere")]) == 2
    assert "repository root" in capsys.readouterr().err


# -- the course's own notebooks ------------------------------------------------------
def test_every_solution_notebook_has_its_generated_student_notebook(tmp_path):
    assert SOLUTION_PATHS, "no solution notebooks found"
    copy = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS, copy)
    make_student_notebooks(copy, tmp_path)
    for solution in SOLUTION_PATHS:
        committed = NOTEBOOKS / solution.name
        assert committed.exists(), f"{committed.name} is missing: run a3c-course make-student"
        assert committed.read_text() == (tmp_path / solution.name).read_text(), (
            f"{committed.name} differs from what its solution generates: run a3c-course make-student")
    generated = {p.name for p in NOTEBOOKS.glob("*.ipynb")}
    assert generated == {p.name for p in SOLUTION_PATHS}, "a student notebook without a solution"


@pytest.mark.parametrize("path", SOLUTION_PATHS, ids=lambda p: p.name)
def test_solution_notebooks_are_committed_clean_and_ready_for_nbgrader(path):
    nb = read_notebook(path)
    assert nb == cleared(nb), (f"{path.name} holds outputs or widget state: run "
                               "a3c-course make-student --clear-outputs")
    assert nb == with_nbgrader_metadata(nb), f"{path.name}: run a3c-course make-student"


@pytest.mark.parametrize("path", SOLUTION_PATHS, ids=lambda p: p.name)
def test_checked_cells_hold_the_reference_output_nbval_compares_with(path):
    # nbval skips the comparison, silently, for a cell stored without an execution count.
    for index, cell in enumerate(read_notebook(path)["cells"]):
        if "nbval-check-output" in cell["metadata"].get("tags", []):
            assert cell["outputs"] and cell["execution_count"] is not None, (
                f"{path.name} cell {index} is tagged nbval-check-output but holds no output: "
                "execute the notebook, then run a3c-course make-student --clear-outputs")


def test_the_course_notebooks_hold_the_exercises_of_the_issue():
    exercises, checks = {}, set()
    for path in SOLUTION_PATHS:
        for cell in read_notebook(path)["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if meta.get("solution"):
                exercises[meta["grade_id"]] = path.name
            if meta.get("grade"):
                checks.add(meta["grade_id"])
    for name in ("one_step_q_target", "epsilon_greedy", "sarsa_target", "n_step_returns",
                 "actor_critic_loss", "entropy"):
        assert name in exercises, f"no notebook asks for {name}"
        assert f"check_{name}" in checks, f"no graded test cell checks {name}"
    # The asynchronous machinery, in the notebooks the issue names.
    for name, notebook in (("shared_rmsprop_step", "06_parallelism.ipynb"),
                           ("hogwild_update", "06_parallelism.ipynb"),
                           ("atari_frame", "07_atari.ipynb"),
                           ("gaussian_log_prob", "08_continuous_control.ipynb"),
                           ("gaussian_entropy", "08_continuous_control.ipynb"),
                           ("next_lstm_state", "09_memory_mazes.ipynb")):
        assert exercises.get(name) == notebook, f"{notebook} does not ask for {name}"
        assert f"check_{name}" in checks, f"no graded test cell checks {name}"


STUDENT_PATHS = [NOTEBOOKS / p.name for p in SOLUTION_PATHS
                 if "BEGIN SOLUTION" in p.read_text()]


def _error_text(output):
    return f"{output.ename}: {output.evalue}\n" + "\n".join(output.get("traceback", []))


@pytest.mark.parametrize("path", STUDENT_PATHS, ids=lambda p: p.name)
def test_a_student_notebook_runs_to_its_stubs_and_each_check_says_what_to_write(path):
    """Run the student version as it is, up to its last check, and read every error.

    No cell is tagged to be skipped: a cell that needs a stub fails, and the test
    accepts exactly that. Each check fails with the checker's "not implemented yet";
    any other error must come from a stub (a NotImplementedError, raised here or in a
    worker) or from a name that an earlier failing cell would have defined.
    """
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    nb = nbformat.reads(path.read_text(), as_version=4)
    last_check = max(i for i, cell in enumerate(nb.cells)
                     if cell.cell_type == "code" and re.search(r"\bcheck_\w+\(", cell.source))
    nb.cells = nb.cells[: last_check + 1]
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    checks, failed_sources, seen_stub = 0, [], False
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        seen_stub = seen_stub or "raise NotImplementedError" in cell.source
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if re.search(r"\bcheck_\w+\(", cell.source):
            assert errors, f"cell {index} should fail: the exercise is not written yet"
            assert errors[0].ename == "ExerciseError", (
                f"cell {index} crashed with {errors[0].ename}: {errors[0].evalue}")
            assert "not implemented yet" in errors[0].evalue
            assert "Hint:" not in errors[0].evalue, "the stub's message is no hint"
            checks += 1
        elif errors:
            error = errors[0]
            assert seen_stub, f"cell {index}, before any stub, failed: {_error_text(error)}"
            missing = re.match(r"name '(\w+)' is not defined", error.evalue or "")
            from_a_failed_cell = missing and any(
                re.search(rf"\b{missing.group(1)}\b", s) for s in failed_sources)
            assert "NotImplementedError" in _error_text(error) or from_a_failed_cell, (
                f"cell {index} failed for another reason than a stub: {_error_text(error)}")
        if errors:
            failed_sources.append(cell.source)
    assert checks >= 1
