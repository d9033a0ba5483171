"""How a run shows itself while it trains, and its plots afterwards.

- :mod:`~a3c_course.live.monitors`: the monitor interface the trainer talks to, the
  text progress bar, the static summary and the progress log of long runs;
- :mod:`~a3c_course.live.choose`: which monitor ``train(live=...)`` gets;
- :mod:`~a3c_course.live.dashboard`: the notebook dashboard (progress, curve,
  diagnostics, workers, Stop), drawn from :mod:`~a3c_course.live.panels` with the SVG
  charts of :mod:`~a3c_course.live.svg_chart`;
- :mod:`~a3c_course.live.subshell`: how the Stop button's clicks reach a busy kernel;
- :mod:`~a3c_course.live.tensorboard`: TensorBoard logs of returns and diagnostics;
- :mod:`~a3c_course.live.plots`: learning curves and diagnostics, with matplotlib.
"""
