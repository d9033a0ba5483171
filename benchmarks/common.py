"""Helpers shared by the benchmark scripts: the machine, Markdown tables, runs of the CLI."""

import ast
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch


def machine() -> str:
    cores = os.cpu_count()
    return (f"{platform.processor() or platform.machine()}, {cores} CPU cores, "
            f"Python {platform.python_version()}, PyTorch {torch.__version__}")


def markdown_table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def parse_settings(texts) -> dict:
    """``["t_max=20", "optimizer=shared_adam"]`` -> ``{"t_max": 20, "optimizer": "shared_adam"}``."""
    settings = {}
    for text in texts:
        name, _, value = text.partition("=")
        try:
            settings[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            settings[name] = value  # a bare word, e.g. optimizer=shared_adam
    return settings


def train_with_cli(env_id, workers, seed, max_steps, stop_at_return, out, settings=(), cwd=None):
    """Train A3C through ``a3c-course train`` (design.md's contract) in a new process.

    Returns the run's summary.json, plus ``process_seconds``: the whole process, from
    its start to its exit, interpreter start-up and imports included.
    """
    command = [sys.executable, "-m", "a3c_course", "train", "--algo", "a3c", "--env", env_id,
               "--workers", str(workers), "--seed", str(seed), "--max-steps", str(max_steps),
               "--out", str(out), "--quiet"]
    if stop_at_return is not None:  # None: train for the whole budget
        command += ["--stop-at-return", str(stop_at_return)]
    for setting in settings:
        command += ["--set", setting]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=cwd)
    summary = json.loads((Path(out) / "summary.json").read_text())
    summary["process_seconds"] = time.perf_counter() - start
    return summary
