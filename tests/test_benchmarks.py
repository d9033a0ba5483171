"""The benchmark suite is not a test; this only checks that it still starts and reports."""

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_the_benchmark_suite_runs_on_tiny_budgets(tmp_path, no_leftover_workers):
    out = tmp_path / "report.md"
    done = subprocess.run([sys.executable, "run_suite.py", "--smoke", "--out", str(out)],
                          cwd=BENCHMARKS, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = out.read_text()
    for heading in ("Time to solve CartPole-v1", "Scaling with workers",
                    "The worker loop, per step", "Memory"):
        assert f"#### {heading}" in report
    assert "| worker 1 |" in report and "| **total** |" in report


def test_a_recording_against_the_clock_writes_seconds_and_reports_time_to_the_score(
        tmp_path, no_leftover_workers):
    out = tmp_path / "speedup.csv"
    done = subprocess.run([sys.executable, "seed_curves.py", "speedup", "--quick", "--seeds", "0",
                           "--csv", str(out)],
                          cwd=BENCHMARKS, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert out.read_text().splitlines()[0] == "variant,seed,wall_seconds,mean_return"
    assert "| reached 195 | median (s) | worst (s) |" in done.stdout
    for variant in ("1 worker", "2 workers", "4 workers"):
        assert f"| {variant} | 1 |" in done.stdout
