"""Open the built site in headless Chromium and check what a reader would see.

A local static server serves the built folder; Chromium (Debian's ``chromium``, driven
through Playwright's Python API, never a browser Playwright downloads) opens the landing
page and two notebook pages, and checks on each that

- every image loaded (``naturalWidth > 0``) and no request of the site's own failed;
- the formulas were typeset: MathJax's output is on the page, and no ``$$`` or ``\\(``
  is left in its text outside code;
- every link to another page of the site resolves (each is fetched: no 404);
- nothing is requested from outside the site (it must read offline).

A screenshot of the first notebook page, scrolled to its first figure, is saved beside
the built folder (``screenshot.png``).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin

PAGE_TIMEOUT_MS = 180_000
"""How long a page may take to load and typeset: long, as a busy 2-core machine is slow."""
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]

# The page's text with code taken out, to look for math MathJax left untouched.
_TEXT_OUTSIDE_CODE = """() => {
  const body = document.querySelector('main') || document.body;
  const copy = body.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, mjx-container, .highlight').forEach(e => e.remove());
  return copy.textContent;
}"""
_IMAGES = """() => Array.from(document.images).map(i => ({src: i.currentSrc || i.src,
                                                       width: i.naturalWidth}))"""


@dataclass
class PageReport:
    url: str
    images: int = 0
    formulas: int = 0
    links: int = 0
    problems: list = field(default_factory=list)


@dataclass
class SiteReport:
    pages: list
    screenshot: Path | None = None

    @property
    def problems(self):
        return [f"{p.url}: {problem}" for p in self.pages for problem in p.problems]

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [f"{p.url}: {p.images} images, {p.formulas} formulas, {p.links} site links"
                 for p in self.pages]
        lines += [f"PROBLEM {problem}" for problem in self.problems]
        if self.screenshot:
            lines.append(f"screenshot: {self.screenshot}")
        lines.append("site check: " + ("all good" if self.ok else f"{len(self.problems)} problems"))
        return "\n".join(lines)


def find_chromium() -> str | None:
    for path in (os.environ.get("A3C_COURSE_CHROMIUM"), *CHROMIUM_PATHS, shutil.which("chromium")):
        if path and Path(path).exists():
            return path
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the browser closing a connection it no longer needs is not a problem


class StaticServer:
    """A static HTTP server on a free local port, serving one folder, in a thread."""

    def __init__(self, folder: Path):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def notebook_pages(html_dir: Path, count=2) -> list[str]:
    """The first ``count`` executed notebook pages that hold a figure, relative to the site."""
    pages = sorted((html_dir / "solutions").glob("*.html"))
    with_figures = [p for p in pages if "<img" in p.read_text(encoding="utf-8")]
    chosen = (with_figures + [p for p in pages if p not in with_figures])[:count]
    return [p.relative_to(html_dir).as_posix() for p in chosen]


def link_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def check_page(page, url: str, site_url: str, checked_links: dict) -> PageReport:
    report = PageReport(url=url[len(site_url):] or "index.html")
    failed, external = [], []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}")
            if r.url.startswith(site_url) and r.status >= 400 else None)
    # The site must read offline: a script from elsewhere would not load, or hold the page.
    page.route(lambda u: not u.startswith(site_url) and not u.startswith("data:"),
               lambda route: (external.append(route.request.url), route.abort()))
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(url, wait_until="load")
    # Images below the fold may be lazy: ask for all of them, then wait for each.
    page.evaluate("() => document.querySelectorAll('img').forEach(i => i.loading = 'eager')")
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)",
                           timeout=PAGE_TIMEOUT_MS)
    for image in page.evaluate(_IMAGES):
        report.images += 1
        if not image["width"]:
            report.problems.append(f"broken image {image['src']}")
    has_math = page.evaluate("() => document.querySelector('.math, span.math, div.math') !== null")
    if has_math:
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                               timeout=PAGE_TIMEOUT_MS)
        page.evaluate("() => MathJax.startup.promise")
    report.formulas = page.evaluate("() => document.querySelectorAll('mjx-container').length")
    if has_math and report.formulas == 0:
        report.problems.append("formulas on the page, but MathJax typeset none")
    text = page.evaluate(_TEXT_OUTSIDE_CODE)
    for raw in ("$$", "\\(", "\\["):
        if raw in text:
            at = text.index(raw)
            report.problems.append(f"untypeset math {raw!r} near {text[max(0, at - 40):at + 40]!r}")
    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]'), a => a.href)")
    for href in hrefs:
        target = urldefrag(urljoin(url, href))[0]
        if not target.startswith(site_url):
            continue
        report.links += 1
        if target not in checked_links:
            checked_links[target] = link_status(target)
        if checked_links[target] >= 400:
            report.problems.append(f"link to {target} gives {checked_links[target]}")
    report.problems += [f"request failed: {f}" for f in failed]
    report.problems += [f"request outside the site: {u}" for u in external]
    return report


def check_site(html_dir: Path, pages=None, screenshot: Path | None = None) -> SiteReport:
    """Check the built site in ``html_dir``; see the module docstring."""
    from playwright.sync_api import sync_playwright

    html_dir = Path(html_dir)
    if not (html_dir / "index.html").exists():
        raise FileNotFoundError(f"no built site in {html_dir}: run python -m a3c_course.site build")
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("Chromium was not found: apt-get install -y chromium "
                                "(or set A3C_COURSE_CHROMIUM to its path)")
    pages = ["index.html", *(pages or notebook_pages(html_dir))]
    screenshot = screenshot or html_dir.parent / "screenshot.png"
    reports, checked = [], {}
    with StaticServer(html_dir) as server, sync_playwright() as playwright:
        import tempfile
        with tempfile.TemporaryDirectory(prefix="a3c-site-chromium-") as profile_dir:
            browser = playwright.chromium.launch_persistent_context(
                profile_dir, executable_path=chromium, headless=True,
                args=CHROMIUM_FLAGS, viewport={"width": 1280, "height": 900})
            try:
                for name in pages:
                    page = browser.new_page()
                    reports.append(check_page(page, server.url + name, server.url, checked))
                    if name == pages[1]:
                        page.evaluate("() => { const f = document.querySelector('.cell_output img');"
                                      " if (f) f.scrollIntoView({block: 'center'}); }")
                        page.screenshot(path=str(screenshot))
                    page.close()
            finally:
                browser.close()
    return SiteReport(pages=reports, screenshot=screenshot)
