"""The benchmark suite: CartPole against Stable-Baselines3, scaling, the worker loop, memory.

    python benchmarks/run_suite.py                  # about 15-20 minutes on 2 cores
    python benchmarks/run_suite.py --update-readme  # and put the tables in README.md
    python benchmarks/run_suite.py --smoke          # tiny budgets: does it all still start?
    python benchmarks/run_suite.py --solve-only     # part 1 alone, about 5 minutes

Writes a Markdown report (``benchmarks/results/latest.md`` by default) with:

1. **Time to solve CartPole-v1**: the whole process, from its start until the mean
   return of the last 20 episodes reaches 475, for our A3C with 2 workers (the CLI),
   once with the paper's one game per worker and once with 8 games per worker
   (``--envs-per-worker 8``, whose learning rate follows from it), and for SB3's A2C
   with the RL Zoo's settings (``sb3_a2c_cartpole.py``: 8 environments). The seeds
   alternate between the three, so that a machine that slows down over time slows
   all of them. Medians and their ratios.
2. **Scaling**: steps/s with 1, 2, ... workers (up to the number of cores) on the same
   budget, and time to solve with each: the paper's Table 2 in our figures.
3. **The worker loop's cost per step**, phase by phase, against the bare environment.
4. **Memory**: peak RSS of the parent and each worker, and growth over a 2M-step run.

Needs the ``bench`` extra (``pip install -e ".[bench]"``) for SB3; without it, part 1
reports our times alone. The suite is not part of the tests; one test checks that
``--smoke`` still runs.
"""

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import memory_rss
import worker_loop_profile
import worker_scaling
from common import machine, markdown_table, median, train_with_cli

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
START_MARK, END_MARK = "<!-- benchmark-results:start -->", "<!-- benchmark-results:end -->"

FULL = dict(seeds=5, solve_max_steps=500_000, stop_at=475.0, scaling_steps=200_000,
            scaling_repeats=2, scaling_solve_seeds=3, profile_steps=50_000,
            memory_steps=2_000_000, memory_interval=1.0)
SMOKE = dict(seeds=1, solve_max_steps=2_000, stop_at=475.0, scaling_steps=2_000,
             scaling_repeats=1, scaling_solve_seeds=1, profile_steps=1_000,
             memory_steps=5_000, memory_interval=0.2)


def timed(command):
    """Run ``command``; return its wall seconds, start to exit."""
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=HERE)
    return time.perf_counter() - start


#: Games per worker of the second A3C column: as many as the RL Zoo's A2C steps at once.
GAMES = 8


def ours(seed, workers, budget, tmp, games=1):
    settings = [f"envs_per_worker={games}"] if games > 1 else []
    summary = train_with_cli("CartPole-v1", workers, seed, budget["solve_max_steps"],
                             budget["stop_at"], Path(tmp) / f"a3c-{workers}w-{games}g-{seed}",
                             settings=settings, cwd=HERE)
    return {"seconds": summary["process_seconds"], "solved": summary["solved"],
            "step": summary["solved_at_step"]}


def sb3(seed, budget, tmp):
    out = Path(tmp) / f"sb3-{seed}.json"
    seconds = timed([sys.executable, str(HERE / "sb3_a2c_cartpole.py"), "--seed", str(seed),
                     "--max-steps", str(budget["solve_max_steps"]),
                     "--stop-at-return", str(budget["stop_at"]), "--out", str(out)])
    summary = json.loads(out.read_text())
    return {"seconds": seconds, "solved": summary["solved"], "step": summary["solved_at_step"]}


def solve_section(budget, tmp):
    have_sb3 = importlib.util.find_spec("stable_baselines3") is not None
    runs = {"ours": [], "ours_games": [], "sb3": []}
    for seed in range(budget["seeds"]):
        runs["ours"].append(ours(seed, 2, budget, tmp))
        runs["ours_games"].append(ours(seed, 2, budget, tmp, games=GAMES))
        if have_sb3:
            runs["sb3"].append(sb3(seed, budget, tmp))
        print(f"  seed {seed}: " + ", ".join(f"{k} {v[-1]['seconds']:.1f} s" for k, v in runs.items() if v),
              flush=True)
    rows = []
    for seed in range(budget["seeds"]):
        row = [seed, _run_cell(runs["ours"][seed]), _run_cell(runs["ours_games"][seed])]
        row.append(_run_cell(runs["sb3"][seed]) if have_sb3 else "not installed")
        rows.append(row)
    ours_median = median([r["seconds"] for r in runs["ours"]])
    games_median = median([r["seconds"] for r in runs["ours_games"]])
    sb3_median = median([r["seconds"] for r in runs["sb3"]]) if have_sb3 else None
    rows.append(["**median**", f"**{ours_median:.1f} s**", f"**{games_median:.1f} s**",
                 f"**{sb3_median:.1f} s**" if sb3_median else "-"])
    text = ("Whole process, start to a mean return of the last 20 episodes >= "
            f"{budget['stop_at']:g} (an unsolved run counts with its time to the budget of "
            f"{budget['solve_max_steps']:,} steps):\n\n")
    text += markdown_table(["seed", "our A3C, 2 workers (s, steps)",
                            f"our A3C, 2 workers x {GAMES} games (s, steps)",
                            "SB3 A2C, RL Zoo settings (s, steps)"], rows)
    if sb3_median:
        text += (f"\n\n**Ratio of the medians, ours / SB3: {ours_median / sb3_median:.2f} "
                 f"with one game per worker, {games_median / sb3_median:.2f} with {GAMES}**")
    else:
        text += "\n\nSB3 is not installed (`pip install -e \".[bench]\"`): no comparison."
    return text, runs


def _run_cell(run):
    solved = f"{run['step']:,}" if run["solved"] else "not solved"
    return f"{run['seconds']:.1f} ({solved})"


def scaling_section(budget, tmp, solve_runs_2_workers):
    cores = os.cpu_count() or 1
    counts = [n for n in (1, 2, 4, 8, 16) if n <= max(cores, 2)]
    rates = worker_scaling.measure_rates(counts, budget["scaling_steps"], budget["scaling_repeats"])
    base = max(rates[1])
    rows = []
    for n in counts:
        if n == 2 and solve_runs_2_workers:
            solves = solve_runs_2_workers
        else:
            solves = [ours(seed, n, budget, tmp) for seed in range(budget["scaling_solve_seeds"])]
        rows.append([n, f"{max(rates[n]):,.0f}", f"{max(rates[n]) / base:.2f}x",
                     f"{median([r['seconds'] for r in solves]):.1f}", len(solves)])
    text = (f"A3C on CartPole-v1; steps/s over {budget['scaling_steps']:,} steps (best of "
            f"{budget['scaling_repeats']}), time to solve as above (median of the seeds):\n\n")
    return text + markdown_table(["workers", "steps/s", "speedup", "time to solve (s)", "seeds"], rows)


def memory_section(budget):
    result, stats = memory_rss.measure(budget["memory_steps"], 2, budget["memory_interval"])
    return memory_rss.table(result, stats)


def report(budget, solve_only=False) -> str:
    sections = []
    with tempfile.TemporaryDirectory() as tmp:
        print("1/4 time to solve CartPole-v1", flush=True)
        solve_text, runs = solve_section(budget, tmp)
        sections.append(("Time to solve CartPole-v1", solve_text))
        if solve_only:
            return _report_text(sections)
        print("2/4 scaling", flush=True)
        sections.append(("Scaling with workers", scaling_section(budget, tmp, runs["ours"])))
    print("3/4 worker loop profile", flush=True)
    sections.append(("The worker loop, per step",
                     worker_loop_profile.profile_report("a3c", "CartPole-v1", budget["profile_steps"])))
    print("4/4 memory", flush=True)
    sections.append(("Memory", memory_section(budget)))
    return _report_text(sections)


def _report_text(sections) -> str:
    head = f"Measured {time.strftime('%Y-%m-%d')} on {machine()}.\n"
    return head + "".join(f"\n#### {title}\n\n{text}\n" for title, text in sections)


def update_readme(text: str, readme: Path = README) -> None:
    content = readme.read_text()
    pattern = re.compile(re.escape(START_MARK) + ".*?" + re.escape(END_MARK), re.S)
    if not pattern.search(content):
        raise SystemExit(f"{readme} has no {START_MARK} ... {END_MARK} section to replace")
    readme.write_text(pattern.sub(lambda _: f"{START_MARK}\n{text}\n{END_MARK}", content))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny budgets, to check it runs")
    parser.add_argument("--seeds", type=int, help="seeds for the CartPole comparison (default 5)")
    parser.add_argument("--solve-only", action="store_true",
                        help="only part 1, the time to solve CartPole against SB3")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.md")
    parser.add_argument("--update-readme", action="store_true",
                        help="replace the README's benchmark section with the report")
    args = parser.parse_args()
    budget = dict(SMOKE if args.smoke else FULL)
    if args.seeds:
        budget["seeds"] = args.seeds
    if args.solve_only and args.update_readme:
        parser.error("--update-readme replaces the whole section: run all four parts")
    text = report(budget, args.solve_only)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"\nwrote {args.out}")
    if args.update_readme:
        update_readme(text)
        print(f"updated {README}")
    print("\n" + text)


if __name__ == "__main__":
    main()
