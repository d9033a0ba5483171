"""The benchmark suite is not a test; this only checks that it still starts and reports."""

import importlib.util
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
    assert "| reached 475 | median (s) | worst (s) |" in done.stdout
    for variant in ("1 worker", "2 workers", "4 workers"):
        assert f"| {variant} | 1 |" in done.stdout


def test_the_seed_table_of_a_claim_counts_a_missed_seed_at_its_budget(tmp_path, no_leftover_workers):
    cache = tmp_path / "runs"
    command = [sys.executable, "seed_claims.py", "cartpole-a3c", "--quick", "--seeds", "0",
               "--cache", str(cache)]
    done = subprocess.run(command, cwd=BENCHMARKS, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| claim | goal (mean of last N) | budget (steps) | seeds at goal |" in done.stdout
    # a hundredth of 500,000 steps: CartPole is not solved, and the seed counts at the budget
    assert "| cartpole-a3c | 475 (20) | 5,000 | 0 of 1 | - | 5,000 (missed) |" in done.stdout
    assert (cache / "cartpole-a3c-seed0" / "summary.json").exists()
    again = subprocess.run(command, cwd=BENCHMARKS, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "0 of 1" in again.stdout  # read back from the cache


def test_the_seed_table_refuses_an_unknown_claim_in_one_line():
    done = subprocess.run([sys.executable, "seed_claims.py", "pong"], cwd=BENCHMARKS,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "choose from cartpole-a3c" in done.stderr


def test_a_claim_met_early_reports_the_step_at_which_its_mean_first_reached_the_goal(
        tmp_path, no_leftover_workers, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import seed_claims

    # a random CartPole policy averages about 22: a goal of 15 is met within a few episodes
    easy = seed_claims.Claim("easy", "a3c", "CartPole-v1", goal=15, budget=50_000)
    run, reached = seed_claims.run_claim(easy, 0, tmp_path / "run")
    assert reached is not None and run.total_steps < 50_000  # stopped at the goal
    step, seconds = reached
    index = list(run.column("global_step")).index(step)
    assert index >= 19 and run.returns[index - 19:index + 1].mean() >= 15
    assert all(run.returns[i - 19:i + 1].mean() < 15  # the first window that met it, not a later one
               for i in range(19, index))
    table = seed_claims.table([easy], [0, 1], {("easy", 0): reached, ("easy", 1): None})
    assert f"| easy | 15 (20) | 50,000 | 1 of 2 | {step:,} | 50,000 (missed) |" in table


def test_a_recording_with_an_evaluation_writes_the_final_networks_scores_beside_the_curves(
        tmp_path, no_leftover_workers):
    out = tmp_path / "pw.csv"
    done = subprocess.run([sys.executable, "seed_curves.py", "parallel_workers", "--quick",
                           "--seeds", "0", "--csv", str(out)],
                          cwd=BENCHMARKS, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    scores = (tmp_path / "pw_seasons.csv").read_text().splitlines()
    assert scores[0] == "variant,seed,summer,winter"
    assert [line.split(",")[:2] for line in scores[1:]] == [["1 worker", "0"], ["4 workers", "0"]]
    assert all(0.0 <= float(v) <= 1.0 for line in scores[1:] for v in line.split(",")[2:])
    assert "| variant | seed | summer | winter |" in done.stdout


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
    assert cells[4] != "-" and cells[5] == "0/1"
    if importlib.util.find_spec("stable_baselines3") is None:  # the bench extra is not installed
        assert cells[6:8] == ["not installed", "-"] and "SB3 is not installed" in done.stderr
    else:
        assert cells[6] != "-" and cells[7] == "0/1"
