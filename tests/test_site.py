"""The course's website: its course map, and a quick build read in headless Chromium.

The quick build is the site itself (every page, the course map, the results, the API)
from the test profile, with two of the solution notebooks executed to keep CI short;
``python -m a3c_course.site build`` executes them all.
"""

import json
import os
from pathlib import Path

import pytest

from a3c_course.site.course_map import course_map_markdown, read_course, registered_checks

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "notebooks" / "solutions"
EXECUTED = ["01_*", "04_*"]  # quick to run, with figures and formulas


def test_the_course_map_has_every_notebook_its_paper_section_and_its_exercises():
    entries = read_course(SOLUTIONS)
    assert [e.stem for e in entries] == sorted(p.stem for p in SOLUTIONS.glob("[0-9]*.ipynb"))
    assert [e.number for e in entries] == sorted(e.number for e in entries)
    checks = registered_checks(REPO / "a3c_course" / "checks.py")
    named = [name for e in entries for name in e.exercises]
    assert sorted(named) == sorted(checks), "every exercise on the map once, with its checker"
    from a3c_course.checks import CHECKS  # the map reads the registry's source: same names

    assert checks == set(CHECKS)
    table = course_map_markdown(entries, checks)
    for entry in entries:
        assert f"(solutions/{entry.stem}.ipynb)" in table
        assert all(f"`{name}`" in table for name in entry.exercises)
    assert "(no checker)" not in table
    with_paper = [e for e in entries if e.paper]
    assert all("Mnih et al., 2016" in e.paper or "Section" in e.paper for e in with_paper)


def test_an_exercise_without_a_checker_is_marked_on_the_map(tmp_path):
    cells = [{"cell_type": "markdown", "metadata": {},
              "source": "# 3 · Something\n\n**In the paper:** Section 9 of the paper.\n\nText."},
             {"cell_type": "markdown", "metadata": {}, "source": "### Exercise: `made_up`\n"}]
    (tmp_path / "03_something.ipynb").write_text(json.dumps({"cells": cells}))
    [entry] = read_course(tmp_path)
    assert (entry.number, entry.title, entry.paper) == (3, "Something", "Section 9 of the paper.")
    assert "`made_up` (no checker)" in course_map_markdown([entry], {"other"})


@pytest.fixture(scope="module")
def quick_site():
    from a3c_course.site.build import build

    index = build(profile="test", execute=EXECUTED, root=REPO / "build" / "site" / "quick")
    return index.parent


def test_the_built_site_links_every_notebook_and_hides_the_answers(quick_site):
    landing = (quick_site / "index.html").read_text()
    for notebook in SOLUTIONS.glob("[0-9]*.ipynb"):
        assert f'href="solutions/{notebook.stem}.html"' in landing
        student = (quick_site / "student" / f"{notebook.stem}.html").read_text()
        assert f'href="../solutions/{notebook.stem}.html"' in student
        assert "BEGIN SOLUTION" not in student
    executed = (quick_site / "solutions" / "04_a3c.html").read_text()
    assert "<img" in executed and "cell_output" in executed
    api = (quick_site / "api.html").read_text()
    assert 'id="a3c_course.engine.trainer.train"' in api and "math notranslate" in api
    assert "figures/pong_curve.png" in (quick_site / "results.html").read_text() or \
        "pong_curve" in (quick_site / "results.html").read_text()


def test_the_site_reads_in_headless_chromium(quick_site):
    from a3c_course.site.browser_check import check_site, find_chromium

    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs it (apt-get install -y chromium)")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    pages = sorted(p.relative_to(quick_site).as_posix()
                   for pattern in EXECUTED for p in (quick_site / "solutions").glob(f"{pattern}.html"))
    pages.append("student/" + Path(pages[-1]).name)
    report = check_site(quick_site, pages=pages)
    print(report.summary())
    assert report.ok, report.summary()
    by_page = {p.url: p for p in report.pages}
    assert set(by_page) == {"index.html", *pages}
    for page in pages[:2]:
        assert by_page[page].images >= 1 and by_page[page].formulas >= 1, report.summary()
    assert by_page["index.html"].links >= len(list(SOLUTIONS.glob("[0-9]*.ipynb")))
    assert report.screenshot.exists() and report.screenshot.stat().st_size > 10_000


def test_the_readme_gives_the_command_that_builds_the_site():
    readme = (REPO / "README.md").read_text()
    assert "<!-- site-command -->\n```bash\npython -m a3c_course.site build\n" in readme
    assert "build/site/class/html/index.html" in readme
    assert (REPO / "docs" / "site_notebook_page.png").exists()


def test_the_results_page_takes_the_readme_sections_with_their_figures():
    from a3c_course.site.sources import readme_sections

    readme = ("# t\n\n## Keep\n\ntext ![a curve](docs/curve.png)\n\n### Sub\n\nmore\n\n"
              "## Drop\n\nno\n\n### Also kept\n\n<!-- marker -->\nyes\n")
    page = readme_sections(readme, titles=("Keep", "Also kept", "Missing"))
    assert page.splitlines()[0] == "## Keep" and "### Sub" in page and "more" in page
    assert "](figures/curve.png)" in page and "no\n" not in page
    assert "## Also kept" in page and "yes" in page and "marker" not in page


def test_a_quick_build_executes_only_the_notebooks_it_names(tmp_path):
    from a3c_course.site.build import not_executed

    for stem in ("00_setup", "01_one", "04_a3c"):
        (tmp_path / "solutions").mkdir(exist_ok=True)
        (tmp_path / "solutions" / f"{stem}.ipynb").write_text("{}")
    assert not_executed(tmp_path, None) == []
    assert not_executed(tmp_path, ["01_*", "04_*"]) == ["solutions/00_setup.ipynb"]
