"""Which monitor a run shows: the dashboard in a notebook, a progress bar in a terminal.

``train(live=...)`` takes ``"auto"`` (the default), ``"widget"``, ``"text"``,
``"static"``, ``"none"`` or a :class:`~a3c_course.live.monitors.Monitor` of your own.
"""

from __future__ import annotations

import sys

from ..errors import ConfigError
from ..profiles import current_profile
from .monitors import Monitor, StaticMonitor, TextMonitor

LIVE_CHOICES = ("auto", "widget", "text", "static", "none")


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where widgets can render), False in a terminal."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def make_monitor(live, *, max_steps, start_step=0, stop_at_return=None, title="training",
                 time_limit=None):
    """The monitor that ``train(live=...)`` asks for.

    ``"auto"`` picks the dashboard in a notebook (the static summary under the test
    profile, where nobody watches), a progress bar in a terminal, nothing otherwise.
    ``"widget"`` outside a Jupyter kernel, where no widget can render, falls back to
    the static summary.
    """
    if isinstance(live, Monitor):
        return live
    if live not in LIVE_CHOICES:
        raise ConfigError(f"live must be one of {', '.join(LIVE_CHOICES)} or a Monitor, not {live!r}")
    if live == "auto":
        if in_notebook():
            live = "static" if current_profile() == "test" else "widget"
        elif sys.stderr is not None and sys.stderr.isatty():
            live = "text"
        else:
            live = "none"
    if live == "widget" and in_notebook():
        try:
            from .dashboard import Dashboard
        except ImportError:  # ipywidgets missing from this environment: no live view
            return StaticMonitor(title)
        return Dashboard(max_steps=max_steps, start_step=start_step,
                         stop_at_return=stop_at_return, title=title, time_limit=time_limit)
    if live == "widget":
        # Outside a Jupyter kernel (a script, terminal IPython) no widget can render.
        return StaticMonitor(title)
    if live == "text":
        return TextMonitor(max_steps, start_step, title, time_limit=time_limit)
    if live == "static":
        return StaticMonitor(title)
    return Monitor()
