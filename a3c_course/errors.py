"""The errors the course raises, each with a message that says what to do next."""


class A3CCourseError(Exception):
    """Base class for every error this package raises on purpose."""


class ConfigError(A3CCourseError, ValueError):
    """Bad input, found before any worker process starts."""


class TrainingError(A3CCourseError, RuntimeError):
    """Training stopped because something went wrong inside it.

    ``result`` holds what was learned up to that point (episodes, model), so that
    a crash never throws away a run: ``err.result.save("runs/partial")``.
    """

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


class WorkerError(TrainingError):
    """A worker process raised; ``worker_traceback`` is its traceback as text."""

    def __init__(self, message, worker_traceback="", worker=None, result=None):
        super().__init__(message, result)
        self.worker_traceback = worker_traceback
        self.worker = worker


class NonFiniteLossError(WorkerError):
    """A worker's loss became NaN or infinite; ``global_step`` says when."""

    def __init__(self, message, global_step, worker_traceback="", worker=None, result=None):
        super().__init__(message, worker_traceback, worker, result)
        self.global_step = global_step


class RunFolderError(A3CCourseError, ValueError):
    """A run folder, or one of its files, cannot be read (cut short, empty, not ours)."""


class SaveError(TrainingError):
    """A file of the run folder could not be written (a full disk, a read-only folder).

    The previous version of that file is left as it was (every file is written to a
    temporary one, then renamed). ``path`` is the file, ``reason`` why; ``result``, when
    raised by ``train()``, holds everything the run learned: ``err.result.save(elsewhere)``.
    """

    def __init__(self, path, reason, previous_kept=False, result=None):
        self.path = path
        self.reason = reason
        self.previous_kept = previous_kept
        kept = (f"; the previous {path.name} there is intact" if previous_kept else "")
        super().__init__(f"could not write {path}: {reason}{kept}", result)
