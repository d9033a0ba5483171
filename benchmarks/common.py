"""Helpers shared by the benchmark scripts: machine description and Markdown tables."""

import os
import platform
import statistics

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
