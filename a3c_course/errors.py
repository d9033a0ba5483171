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
