"""The dashboard as a person sees it: JupyterLab in headless Chromium, a training cell run.

    python benchmarks/dashboard_browser.py [--seconds 45] [--screenshot dashboard.png]
    PYTHONPATH=/tmp/before python benchmarks/dashboard_browser.py   # another checkout

Needs Playwright's Python package (``pip install playwright``; its own browser download
is not used) and Debian's ``chromium`` at /usr/bin/chromium. It starts JupyterLab on
127.0.0.1 with a fresh notebook of one cell that trains A3C on CartPole for ``--seconds``
with the dashboard (class profile), opens it in a fresh Chromium profile, runs the cell
and, every 0.25 s until it ends, reads the kernel status in JupyterLab's status bar and
the learning curve's SVG. It prints when the status changed (the cell ran throughout,
so anything but "Busy" is wrong) and the gaps between changes of the curve.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CELL = """from a3c_course import train
result = train("a3c", "CartPole-v1", n_workers=2, seed=0, max_steps=10**7, time_limit={seconds})"""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
READ_STATUS = ("() => Array.from(document.querySelectorAll('.jp-StatusBar-Item'))"
               ".map(e => e.innerText).join(' | ')")
READ_CURVE = ("() => { const l = document.querySelector('.jp-OutputArea svg polyline'); "
              "return l ? l.getAttribute('points') : ''; }")
READ_PROMPT = "() => { const e = document.querySelector('.jp-InputPrompt'); return e ? e.innerText : ''; }"


def start_lab(folder, port, token):
    env = {**os.environ, "A3C_COURSE_PROFILE": "class", "JUPYTER_CONFIG_DIR": str(folder / "config"),
           "JUPYTER_RUNTIME_DIR": str(folder / "runtime")}
    lab = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip", "127.0.0.1",
         "--port", str(port), f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
         "--LabApp.news_url=None"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
            return lab
        except OSError:
            time.sleep(1)
    lab.terminate()
    raise RuntimeError("JupyterLab did not start")


def drive(url, seconds, screenshot):
    from playwright.sync_api import sync_playwright

    samples, curve_changes, last = [], [], None
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        browser = playwright.chromium.launch_persistent_context(
            profile, executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1300, "height": 1000})
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=120_000)
        time.sleep(3)  # let JupyterLab finish connecting to the kernel
        page.click(".jp-Notebook .jp-Cell .cm-content")
        page.keyboard.press("Shift+Enter")
        started = time.monotonic()
        while time.monotonic() - started < seconds + 120:
            now = time.monotonic() - started
            status, curve, prompt = (page.evaluate(READ_STATUS), page.evaluate(READ_CURVE),
                                     page.evaluate(READ_PROMPT))
            if curve and curve != last:
                curve_changes.append(now)
                last = curve
            samples.append((now, status))
            if screenshot and len(samples) == int(seconds * 0.6 / 0.25):
                page.screenshot(path=screenshot)
            if "[1]" in prompt:
                break
            time.sleep(0.25)
        browser.close()
    return samples, curve_changes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=45, help="the training cell's time limit")
    parser.add_argument("--port", type=int, default=8899)
    parser.add_argument("--screenshot", metavar="PNG")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        notebook = {"cells": [{"cell_type": "code", "execution_count": None, "id": "train",
                               "metadata": {}, "outputs": [],
                               "source": CELL.format(seconds=args.seconds)}],
                    "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)",
                                                "language": "python", "name": "python3"}},
                    "nbformat": 4, "nbformat_minor": 5}
        (folder / "train.ipynb").write_text(json.dumps(notebook))
        lab = start_lab(folder, args.port, "a3c-course")
        try:
            samples, changes = drive(f"http://127.0.0.1:{args.port}/lab/tree/train.ipynb"
                                     f"?token=a3c-course", args.seconds, args.screenshot)
        finally:
            lab.terminate()
            lab.wait(30)
    transitions, previous = [], None
    for now, status in samples:
        state = next((s for s in ("Busy", "Idle", "Starting") if f"| {s}" in status), "?")
        if state != previous:
            transitions.append(f"{now:.1f} s {state}")
            previous = state
    gaps = [b - a for a, b in zip(changes, changes[1:])]
    print(f"training cell of {args.seconds} s in JupyterLab, load average {os.getloadavg()[0]:.1f}")
    print("- kernel status in the status bar: " + ", ".join(transitions))
    if gaps:
        print(f"- learning curve: first at {changes[0]:.1f} s, {len(changes)} changes, gaps median "
              f"{statistics.median(gaps):.2f} s, longest {max(gaps):.2f} s")
    else:
        print("- the learning curve (an SVG chart) never changed")


if __name__ == "__main__":
    main()
