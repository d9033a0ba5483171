"""What a run uses, and where each setting came from: the report printed at its start.

The settings of a run come from layers (:func:`a3c_course.config.resolve_hyperparameters`
names them); :class:`SettingsReport` groups them by layer, highest first, for people
(``str(report)``) and for ``summary.json`` (``report.to_dict()``).
"""

import textwrap
from dataclasses import dataclass

#: The layers settings come from, the highest first (see :class:`SettingsReport`).
SOURCE_ORDER = ("yours", "profile", "family", "algorithm", "default")


@dataclass
class SettingsReport:
    """What a run uses, and where each setting came from.

    The effective settings come from layers, highest first: yours (arguments of
    ``train()``, ``--set``), the profile (``budget(...)``), the environment family's
    defaults, the algorithm's defaults, and the defaults of :class:`Hyperparameters`
    and ``train()``. Printed at the start of every run (``str(report)``) and kept in
    summary.json (``report.to_dict()``).
    """

    title: str
    values: dict
    """name -> value, run settings (workers, budget) first, then every hyperparameter."""
    sources: dict
    """name -> the layer it came from."""

    def grouped(self) -> list:
        """``[(source, [(name, value), ...]), ...]``, the highest layer first."""
        def rank(source):
            return next(i for i, prefix in enumerate(SOURCE_ORDER) if source.startswith(prefix))
        groups = {}
        for name, value in self.values.items():
            groups.setdefault(self.sources[name], []).append((name, value))
        return sorted(groups.items(), key=lambda item: rank(item[0]))

    def __str__(self) -> str:
        lines = [f"{self.title}: settings, by where they came from"]
        for source, items in self.grouped():
            text = f"{source}: " + ", ".join(f"{n}={_show(v)}" for n, v in items)
            lines += textwrap.wrap(text, width=100, initial_indent="  ",
                                   subsequent_indent="      ", break_on_hyphens=False)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {name: {"value": _plain(value), "source": self.sources[name]}
                for name, value in self.values.items()}


def _show(value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    return str(value)


def _plain(value):
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return {key: _plain(v) for key, v in value.items()}
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return repr(value)
