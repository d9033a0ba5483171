"""What a run leaves behind, and what can be done with it afterwards.

- :mod:`~a3c_course.runs.result`: ``RunResult`` and its folder on disk (``load_run``);
- :mod:`~a3c_course.runs.diagnostics`: the table of the updates' diagnostics
  (entropy, losses, gradient norm, explained variance...) and its CSV;
- :mod:`~a3c_course.runs.checkpoint`: checkpoints, written atomically, read safely;
- :mod:`~a3c_course.runs.folder`: a run folder as a place (writable? holds a run?) and
  its small files;
- :mod:`~a3c_course.runs.resume`: continuing a run with its own settings;
- :mod:`~a3c_course.runs.watch`: watching a trained agent play.
"""
