"""How a run shows itself while it trains, and its plots afterwards.

- :mod:`~a3c_course.live.monitors`: the monitor interface the trainer talks to, the
  text progress bar, the static summary and the progress log of long runs;
- :mod:`~a3c_course.live.dashboard`: the notebook dashboard (curve, workers, Stop);
- :mod:`~a3c_course.live.subshell`: how the Stop button's clicks reach a busy kernel;
- :mod:`~a3c_course.live.plots`: learning curves.
"""
