"""Student notebooks come from the solution notebooks, stay in sync, and run up to the stubs."""

import json
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


def code(source, outputs=(), tags=()):
    cell = {"cell_type": "code", "execution_count": 3 if outputs else None, "id": "c",
            "metadata": {"tags": list(tags)} if tags else {}, "outputs": list(outputs),
            "source": source}
    return cell


def notebook(*cells):
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


STREAM = {"name": "stdout", "output_type": "stream", "text": ["hello\n"]}

EXERCISE = """def double(x):
    \"\"\"Twice x.\"\"\"
    ### BEGIN SOLUTION
    ### HINT: multiply by two.
    return 2 * x
    ### END SOLUTION
"""


def sources(nb):
    return ["".join(c["source"]) for c in nb["cells"]]


def test_a_solution_region_becomes_a_stub_that_raises_the_hint_at_the_same_indentation():
    student = student_version(notebook(code(EXERCISE)))
    text = sources(student)[0]
    assert "return 2 * x" not in text and "BEGIN SOLUTION" not in text
    assert '    # YOUR CODE HERE\n    raise NotImplementedError("multiply by two.")' in text
    assert text.startswith('def double(x):\n    """Twice x."""\n')
    namespace = {}
    exec(text, namespace)
    with pytest.raises(NotImplementedError, match="multiply by two"):
        namespace["double"](1)


def test_without_a_hint_the_stub_names_the_function():
    student = student_version(notebook(code(EXERCISE.replace("    ### HINT: multiply by two.\n", ""))))
    assert 'raise NotImplementedError("write double here")' in sources(student)[0]


def test_check_cells_after_a_stub_expect_an_error_and_dependent_cells_are_skipped():
    nb = notebook(code("import math"), code(EXERCISE), code("check_double(double)"),
                  code("train(double=double)"))
    cells = student_version(nb)["cells"]
    assert "tags" not in cells[0]["metadata"]
    assert "tags" not in cells[1]["metadata"], "a stub inside a def does not raise when run"
    assert cells[2]["metadata"]["tags"] == ["raises-exception"]
    assert cells[3]["metadata"]["tags"] == ["nbval-skip", "skip-execution"]


def test_a_top_level_solution_region_expects_an_error():
    cells = student_version(notebook(code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")))["cells"]
    assert cells[0]["metadata"]["tags"] == ["raises-exception"]


def test_outputs_are_cleared_but_reference_outputs_before_the_first_stub_are_kept():
    nb = notebook(code("# NBVAL_CHECK_OUTPUT\nprint('hello')", [STREAM]),
                  code("print('x')", [STREAM]), code(EXERCISE),
                  code("# NBVAL_CHECK_OUTPUT\ncheck_double(double)", [STREAM]))
    cells = student_version(nb)["cells"]
    assert cells[0]["outputs"] == [STREAM]
    assert cells[1]["outputs"] == [] and cells[1]["execution_count"] is None
    assert cells[3]["outputs"] == [] and "NBVAL_CHECK_OUTPUT" not in sources({"cells": cells})[3]


def test_unbalanced_fences_are_refused_with_the_cell_named():
    with pytest.raises(NotebookSourceError, match="cell 0"):
        student_version(notebook(code("### BEGIN SOLUTION\nx = 1")), "01_x.ipynb")
    with pytest.raises(NotebookSourceError, match="without a"):
        student_version(notebook(code("x = 1\n### END SOLUTION")))


def test_solution_cells_get_nbgrader_metadata_named_after_their_function():
    cell = with_nbgrader_metadata(notebook(code("x = 1"), code(EXERCISE)))["cells"][1]
    assert cell["metadata"]["nbgrader"]["solution"] is True
    assert cell["metadata"]["nbgrader"]["grade_id"] == "double"


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
    assert nb == cleared(nb), (f"{path.name} holds outputs: run "
                               "a3c-course make-student --clear-outputs")
    assert nb == with_nbgrader_metadata(nb), f"{path.name}: run a3c-course make-student"


@pytest.mark.parametrize("path", SOLUTION_PATHS, ids=lambda p: p.name)
def test_checked_cells_hold_the_reference_output_nbval_compares_with(path):
    # nbval skips the comparison, silently, for a cell stored without an execution count.
    for index, cell in enumerate(read_notebook(path)["cells"]):
        if cell["cell_type"] == "code" and "# NBVAL_CHECK_OUTPUT" in "".join(cell["source"]):
            assert cell["outputs"] and cell["execution_count"] is not None, (
                f"{path.name} cell {index} is marked # NBVAL_CHECK_OUTPUT but holds no output: "
                "execute the notebook, then run a3c-course make-student --clear-outputs")


def test_the_course_notebooks_hold_the_exercises_of_the_issue():
    exercises = {}
    for path in SOLUTION_PATHS:
        for cell in read_notebook(path)["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if meta.get("solution"):
                exercises[meta["grade_id"]] = path.name
    for name in ("one_step_q_target", "epsilon_greedy", "sarsa_target", "n_step_returns",
                 "actor_critic_loss", "entropy"):
        assert name in exercises, f"no notebook asks for {name}"
    # The asynchronous machinery, in the notebooks the issue names.
    for name, notebook in (("shared_rmsprop_step", "06_parallelism.ipynb"),
                           ("hogwild_update", "06_parallelism.ipynb"),
                           ("atari_frame", "07_atari.ipynb"),
                           ("gaussian_log_prob", "08_continuous_control.ipynb"),
                           ("gaussian_entropy", "08_continuous_control.ipynb"),
                           ("next_lstm_state", "09_memory_mazes.ipynb")):
        assert exercises.get(name) == notebook, f"{notebook} does not ask for {name}"


STUDENT_PATHS = [NOTEBOOKS / p.name for p in SOLUTION_PATHS
                 if "BEGIN SOLUTION" in p.read_text()]


@pytest.mark.parametrize("path", STUDENT_PATHS, ids=lambda p: p.name)
def test_a_student_notebook_runs_to_its_stubs_and_each_check_gives_the_hint(path):
    nbclient = pytest.importorskip("nbclient")
    nb = json.loads(path.read_text())
    import nbformat

    nb = nbformat.reads(json.dumps(nb), as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    checks = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        tags = cell.metadata.get("tags", [])
        if "raises-exception" in tags and "check_" in cell.source:
            assert errors, f"cell {index} should fail: the exercise is not written yet"
            assert errors[0].ename == "ExerciseError", (
                f"cell {index} crashed with {errors[0].ename}: {errors[0].evalue}")
            assert "not implemented yet" in errors[0].evalue
            checks += 1
        elif "raises-exception" not in tags:
            assert not errors, f"cell {index} failed: {errors[0].ename}: {errors[0].evalue}"
    assert checks >= 1
