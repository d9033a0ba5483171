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


def test_the_generalization_benchmark_prints_a_row_per_environment_with_both_methods(
        tmp_path, no_leftover_workers):
    out = tmp_path / "generalization.md"
    done = subprocess.run([sys.executable, "generalization.py", "--quick", "--out", str(out)],
                          check=False, cwd=BENCHMARKS, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = out.read_text().splitlines()
    assert lines[2] == ("| environment | steps | learned if mean > | random policy | "
                        "A3C (ours, 2 workers) | A3C learned | SB3 A2C | A2C learned | SB3 sees |")
    cells = [cell.strip() for cell in lines[4].strip("|").split("|")]
    assert cells[:3] == ["Acrobot-v1", "3,000", "-100"]
    assert float(cells[3].replace(",", "")) < -400  # a random policy rarely swings up
    # Acrobot's episodes last up to 500 steps: both methods finish some within 3,000 steps,
    # and neither can have learned in so few.
    for summary, learned in ((cells[4], cells[5]), (cells[6], cells[7])):
        assert summary != "-" and learned == "0/1"
