"""The install files agree with each other, and the README holds its two commands."""

import re
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parent.parent


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(text):
    return normalise(re.match(r"[A-Za-z0-9_.\-]+", text.strip()).group(0))


def pyproject():
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def constraints():
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[normalise(name)] = version
    return pins


def environment_yml_pip_lines():
    lines = (REPO / "environment.yml").read_text().splitlines()
    start = lines.index("  - pip:")
    return [l.strip()[2:] for l in lines[start + 1:]
            if l.strip().startswith("- ") and not l.strip().startswith("- --")]


CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = pyproject()["project"]
    declared = {requirement_name(d) for d in project["dependencies"]}
    declared |= {requirement_name(d) for d in project["optional-dependencies"]["dev"]}
    listed = {requirement_name(l) for l in environment_yml_pip_lines() if not l.startswith("-e")}
    assert listed == declared, f"only in pyproject: {declared - listed}; only in environment.yml: {listed - declared}"


def test_environment_yml_pins_the_versions_of_constraints_txt():
    pins = constraints()
    for line in environment_yml_pip_lines():
        if line.startswith("-e"):
            continue
        name, _, version = line.partition("==")
        assert version == pins[requirement_name(name)], f"{line} differs from constraints.txt"


def test_every_declared_package_is_pinned_in_constraints_txt():
    project = pyproject()["project"]
    pins = constraints()
    every = project["dependencies"] + [d for extra in project["optional-dependencies"].values()
                                       for d in extra]
    missing = sorted(requirement_name(d) for d in every if requirement_name(d) not in pins)
    assert not missing, f"not pinned in constraints.txt: {missing}"


def test_torch_is_pinned_to_the_cpu_build_version():
    assert constraints()["torch"] == "2.13.0"


def test_readme_holds_the_setup_and_test_commands_that_ci_runs():
    readme = (REPO / "README.md").read_text()
    assert ('<!-- setup-command -->\n```bash\npython -m pip install -c constraints.txt -e ".[dev]"'
            f" --extra-index-url {CPU_INDEX}\n") in readme
    assert "<!-- test-command -->\n```bash\npython -m pytest\n" in readme
    assert "jupyter lab notebooks/" in readme and "--allow-root" in readme
    assert "bash" in (REPO / ".ci" / "run").read_text()


def test_the_console_script_is_declared():
    assert pyproject()["project"]["scripts"]["a3c-course"] == "a3c_course.cli:main"


def test_linux_without_a_gpu_gets_the_cpu_build_of_torch_from_both_install_files():
    readme = (REPO / "README.md").read_text()
    assert f"--extra-index-url {CPU_INDEX}" in readme
    environment = (REPO / "environment.yml").read_text()
    assert f"- --extra-index-url {CPU_INDEX}" in environment
    # Where a route could not be tried from the development machine, the README says so.
    assert "could not be run" in readme


def test_the_python_versions_agree():
    requires = pyproject()["project"]["requires-python"]
    assert requires == ">=3.11"  # the pinned NumPy 2.4, matplotlib 3.11, mujoco 4 need 3.11
    assert "Python 3.11 or newer" in (REPO / "README.md").read_text()
    assert "python=3.11" in (REPO / "environment.yml").read_text()
