"""The install doctor: every check reports, and a broken piece comes with its fix."""

import importlib
import subprocess
import sys

import pytest

from a3c_course import doctor as doctor_module
from a3c_course.cli import main
from a3c_course.doctor import check_package, check_profile, doctor, run_checks


def test_on_this_install_no_check_finds_a_problem(capsys):
    findings = run_checks(start_worker=False)
    problems = [f for f in findings if f.status == "problem"]
    assert not problems, problems
    assert doctor(start_worker=False)
    assert "Everything the course needs is in place." in capsys.readouterr().out


def test_a_package_that_cannot_be_imported_is_a_problem_with_the_install_command(monkeypatch):
    real_import = importlib.import_module

    def broken(name, *args):
        if name == "mujoco":
            raise ImportError("No module named 'mujoco'")
        return real_import(name, *args)

    monkeypatch.setattr(doctor_module.importlib, "import_module", broken)
    finding = check_package("mujoco", "mujoco", "continuous control")
    assert finding.status == "problem"
    assert "pip install" in finding.fix and "continuous control" in finding.detail


def test_the_test_profile_is_a_warning_that_says_how_to_get_class_budgets(monkeypatch):
    monkeypatch.setenv("A3C_COURSE_PROFILE", "test")
    finding = check_profile()
    assert finding.status == "warning" and "unset" in finding.fix


def test_a_problem_makes_the_report_say_so_and_the_command_fail(monkeypatch, capsys):
    monkeypatch.setenv("A3C_COURSE_PROFILE", "nonsense")
    monkeypatch.setattr(doctor_module, "check_worker_process",
                        lambda: doctor_module.Finding("ok", "worker processes", "skipped"))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "PROBLEM" in out and "fix:" in out and "1 problem(s)" in out


@pytest.mark.parametrize("missing", ["torch", "gymnasium"])
def test_the_doctor_reports_a_missing_core_package_without_a_traceback(missing):
    # sys.modules[name] = None makes every import of it fail, as if it were not installed.
    code = ("import sys; sys.modules[%r] = None\n"
            "from a3c_course.cli import main\n"
            "sys.exit(main(['doctor']))\n" % missing)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("PROBLEM")
                and missing in line)
    assert f"cannot import {missing}" in line
    assert "pip install" in done.stdout
