"""Build the course's website with Sphinx and MyST-NB: ``python -m a3c_course.site build``.

The solution notebooks are executed under the active profile (``A3C_COURSE_PROFILE``,
``class`` when unset) and their outputs kept in MyST-NB's execution cache
(jupyter-cache), one per profile: a rebuild reruns only a notebook whose code changed.
Everything goes under ``build/site/<profile>/``; the page to open is
``build/site/<profile>/html/index.html``.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ..profiles import current_profile
from .sources import lay_out

REPO = Path(__file__).resolve().parents[2]
CONF_DIR = REPO / "docs" / "site"
MATHJAX = "mathjax@3.2.2"
"""MathJax, from the npm registry, copied into the site: its formulas render offline."""
MATHJAX_PARTS = ("tex-svg.js", "input", "ui")


class SiteError(RuntimeError):
    """The site could not be built; the message says what to do."""


def site_root(profile: str, repo: Path = REPO) -> Path:
    return repo / "build" / "site" / profile


def fetch_mathjax(node_dir: Path) -> Path:
    """The folder that holds ``mathjax/tex-svg.js``, installing MathJax with npm once."""
    static = node_dir / "static"
    if (static / "mathjax" / "tex-svg.js").exists():
        return static
    npm = shutil.which("npm")
    if npm is None:
        raise SiteError("npm was not found: the site needs Node.js and npm (Node 18 or "
                        "newer) to fetch MathJax; install them, e.g. apt-get install nodejs npm")
    node_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--silent",
                    "--prefix", str(node_dir), MATHJAX], check=True)
    es5 = node_dir / "node_modules" / "mathjax" / "es5"
    target = static / "mathjax"
    for part in MATHJAX_PARTS:
        source = es5 / part
        if source.is_dir():
            shutil.copytree(source, target / part, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / part)
    return static


def not_executed(src: Path, execute) -> list[str]:
    """The solution notebooks that no pattern of ``execute`` names (none when it is None)."""
    if execute is None:
        return []
    return [f"solutions/{p.name}" for p in sorted((src / "solutions").glob("*.ipynb"))
            if not any(fnmatch.fnmatch(p.stem, pattern) for pattern in execute)]


def build(profile: str | None = None, fresh: bool = False, repo: Path = REPO,
          quiet: bool = True, execute=None, root: Path | None = None) -> Path:
    """Build the site; the path of its ``index.html``.

    Args:
        profile: the training profile the notebooks run under (default: the active one).
        fresh: forget the executed outputs and the previous build, and start again.
        repo: the repository to build from.
        quiet: print only Sphinx's warnings and errors.
        execute: patterns of the solution notebooks to execute, e.g. ``["04_*"]``; the
            others are shown without outputs. All of them when None (the site).
        root: the build folder (default ``build/site/<profile>``).
    """
    profile = profile or current_profile()
    root = Path(root) if root is not None else site_root(profile, repo)
    if fresh and root.exists():
        shutil.rmtree(root)
    src = root / "src"
    started = time.monotonic()
    entries = lay_out(repo, src, profile)
    static = fetch_mathjax(repo / "build" / "site" / "node")
    env = dict(os.environ, A3C_COURSE_PROFILE=profile,
               A3C_COURSE_SITE_CACHE=str(root / "jupyter_cache"),
               A3C_COURSE_SITE_STATIC=str(static),
               A3C_COURSE_SITE_SKIP=" ".join(not_executed(src, execute)))
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(CONF_DIR),
               "-d", str(root / "doctrees"), str(src), str(root / "html")]
    if quiet:
        command.insert(3, "-q")
    done = subprocess.run(command, env=env, cwd=src)
    if done.returncode != 0:
        raise SiteError(f"Sphinx failed (exit code {done.returncode}); its messages are above. "
                        f"The executed notebooks' logs are under {root / 'html' / 'reports'}")
    index = root / "html" / "index.html"
    print(f"site: {len(entries)} notebooks, profile {profile}, built in "
          f"{time.monotonic() - started:.0f} s: {index}")
    return index
