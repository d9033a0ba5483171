"""How live notebook 04's dashboard stays on a busy machine, measured in a real kernel.

    python benchmarks/dashboard_live.py [--busy cli|loops|none] [--seconds 60]
    PYTHONPATH=/tmp/before python benchmarks/dashboard_live.py   # another checkout's dashboard

Starts a Jupyter kernel (jupyter_client, as a notebook frontend does), runs the cells of
``notebooks/solutions/04_a3c.ipynb`` up to its training run under the class profile,
with ``time_limit`` cut to ``--seconds``, while a CPU-heavy job runs beside it at the
same priority: ``cli`` trains CartPole from the command line with 2 workers, ``loops``
runs two busy Python loops. It records, as the frontend receives them, every update of
the dashboard's chart and the kernel's status messages, and reports:

- the gaps between chart updates from the first episode on (the acceptance: at most
  3 s each);
- which status messages the frontend saw while the cell ran (an ``idle`` from another
  message than the cell's own is what makes JupyterLab say "Idle" during a run).
"""

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "solutions" / "04_a3c.ipynb"


def notebook_cells(path, seconds):
    """The code cells of the notebook up to and including its first train() call."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    chosen = []
    for cell in cells:
        source = "".join(cell["source"]).replace("### BEGIN SOLUTION", "").replace(
            "### END SOLUTION", "")
        if "NBVAL_CHECK_OUTPUT" in source or "check_" in source:
            continue
        if "train(" in source:
            source = source.replace('**budget("a3c_cartpole"))',
                                    f'**{{**budget("a3c_cartpole"), "time_limit": {seconds}}})')
            chosen.append(source)
            return chosen
        chosen.append(source)
    raise ValueError(f"no train() call in {path}")


def busy_job(kind, seconds, folder):
    if kind == "cli":
        return [subprocess.Popen(
            [sys.executable, "-m", "a3c_course", "train", "--env", "CartPole-v1", "--workers", "2",
             "--max-steps", "100000000", "--time-limit", str(seconds + 60), "--out",
             str(Path(folder) / "busy"), "--quiet"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    if kind == "loops":
        loop = "import time\nend = time.time() + %d\nwhile time.time() < end: sum(range(10000))" % (
            seconds + 60)
        return [subprocess.Popen([sys.executable, "-c", loop]) for _ in range(2)]
    return []


def run(args):
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "A3C_COURSE_PROFILE": "class"}
    cells = notebook_cells(NOTEBOOK, args.seconds)
    with tempfile.TemporaryDirectory() as folder:
        manager, client = start_new_kernel(kernel_name="python3", startup_timeout=120, env=env,
                                           cwd=str(NOTEBOOK.parent))
        busy = []
        try:
            for source in cells[:-1]:
                client.execute_interactive(source, timeout=300, output_hook=lambda msg: None)
            busy = busy_job(args.busy, args.seconds, folder)
            time.sleep(3)  # let the other job get going
            request = client.execute(cells[-1])
            started = time.monotonic()
            chart_models, chart_updates, first_episode, statuses = set(), [], None, []
            errors = []
            while time.monotonic() - started < args.seconds + 120:
                try:
                    msg = client.get_iopub_msg(timeout=0.5)
                except queue.Empty:
                    continue
                now = time.monotonic() - started
                kind, content = msg["msg_type"], msg["content"]
                parent = msg["parent_header"]
                if kind == "status":
                    statuses.append((now, content["execution_state"], parent.get("msg_type"),
                                     parent.get("msg_id") == request))
                    if content["execution_state"] == "idle" and parent.get("msg_id") == request:
                        break
                elif kind == "error":
                    errors.append("\n".join(content["traceback"]))
                elif kind == "comm_open":
                    state = content["data"].get("state", {})
                    if (state.get("_model_name") == "HTMLModel" and "learning curve appears"
                            in state.get("value", "")) or state.get("_model_name") == "ImageModel":
                        chart_models.add(content["comm_id"])  # this chart, or the PNG before it
                elif kind == "comm_msg" and content["comm_id"] in chart_models:
                    data = content["data"]
                    value = data.get("state", {}).get("value", "")
                    if value.startswith("<svg") or "value" in data.get("buffer_paths", [[]])[0]:
                        chart_updates.append(now)
                        if first_episode is None:
                            first_episode = now
        finally:
            for process in busy:
                process.terminate()
                process.wait()
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    if errors:
        print(errors[0])
        sys.exit(1)
    gaps = [b - a for a, b in zip(chart_updates, chart_updates[1:])]
    foreign_idle = [(round(t, 1), what) for t, state, what, own in statuses
                    if state == "idle" and not own]
    print(f"notebook 04's training cell, time limit {args.seconds} s, beside: {args.busy}; "
          f"load average {os.getloadavg()[0]:.1f}\n")
    if not gaps:
        print("the chart was never redrawn")
        return
    print(f"- first chart at {first_episode:.1f} s after the cell started; "
          f"{len(chart_updates)} redraws")
    print(f"- gaps between redraws: median {statistics.median(gaps):.2f} s, "
          f"longest {max(gaps):.2f} s, over 3 s: {sum(g > 3 for g in gaps)}")
    print(f"- idle statuses from other messages while the cell ran: {len(foreign_idle)} "
          f"{foreign_idle[:5]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", choices=["cli", "loops", "none"], default="cli")
    parser.add_argument("--seconds", type=int, default=60)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
