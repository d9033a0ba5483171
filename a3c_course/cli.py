"""The ``a3c-course`` command (also ``python -m a3c_course``).

::

    a3c-course train --algo a3c --env CartPole-v1 --workers 2 --seed 0 \\
        --max-steps 500000 --stop-at-return 475 --out runs/cartpole

writes the run folder ``runs/cartpole`` (episodes.csv, diagnostics.csv, summary.json,
checkpoint.pt; with ``--tensorboard LOGDIR`` also TensorBoard logs),
also when the run is interrupted (Ctrl-C, or a SIGTERM from a job scheduler) or a
worker fails, so that nothing trained is lost.

``--backend ray`` trains on a Ray cluster instead (a local one, or with
``--ray-address ADDRESS`` one started with ``ray start --head``), with a parameter server.

``a3c-course watch runs/cartpole`` plays the trained agent and writes
``runs/cartpole/episode.gif``; ``--resume DIR`` continues a run where it stopped.

``a3c-course doctor`` checks the install and says how to fix what is missing.
``a3c-course make-student`` writes the student notebooks ``notebooks/NN_name.ipynb``
from the solution notebooks in ``notebooks/solutions/`` (see
:mod:`a3c_course.student_notebooks`); ``a3c-course grading-course DIR`` writes a course
folder for nbgrader (see :mod:`a3c_course.grading`).
"""

from __future__ import annotations

import argparse
import ast
import gc
import json
import signal
import sys
from pathlib import Path

from .config import ALGORITHM_NAMES
from .errors import A3CCourseError, ConfigError, SaveError, TrainingError


def _parse_setting(text: str):
    """``name=value`` with a Python literal value (``lr=1e-3``, ``hidden_sizes=(128,)``)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--set expects name=value, not {text!r}")
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = value  # a bare word, e.g. optimizer=shared_adam
    return name.strip(), parsed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="a3c-course",
        description="Train and inspect agents from the A3C course (Mnih et al., 2016).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train an agent and write its run folder")
    train.add_argument("--algo", choices=list(ALGORITHM_NAMES),
                       help="a3c (default), q (one-step Q), sarsa (one-step Sarsa), nstep-q")
    train.add_argument("--env", metavar="ENV_ID",
                       help="Gymnasium id, e.g. CartPole-v1 or ALE/Pong-v5 (with --resume: "
                            "the run's own)")
    train.add_argument("--workers", type=int, metavar="N",
                       help="worker processes (default 2; with --resume: the run's own)")
    train.add_argument("--seed", type=int, metavar="S", help="default 0 (with --resume: the run's own)")
    train.add_argument("--max-steps", type=int, required=True, metavar="M",
                       help="budget of global steps (summed over workers)")
    train.add_argument("--stop-at-return", type=float, metavar="R",
                       help="stop when the mean return of the last 20 episodes reaches R "
                            "(with --resume: the run's own)")
    train.add_argument("--time-limit", type=float, metavar="SECONDS")
    train.add_argument("--out", required=True, metavar="DIR",
                       help="run folder to write (one that holds a run already needs --resume "
                            "or --overwrite)")
    train.add_argument("--resume", metavar="DIR",
                       help="continue the run saved in DIR: model, optimizer statistics, global "
                            "step, and its settings (the environment's too) unless given again")
    train.add_argument("--overwrite", action="store_true",
                       help="replace the run that --out holds already")
    train.add_argument("--checkpoint-every", type=float, default=10.0, metavar="MINUTES",
                       help="save the run folder every MINUTES while training (default 10)")
    train.add_argument("--recurrent", action="store_true", help="an LSTM after the trunk (A3C)")
    train.add_argument("--envs-per-worker", type=int, metavar="K",
                       help="games each worker plays at once, acting in all with one batched "
                            "forward pass (default: the environment family's; Atari 8)")
    train.add_argument("--start-method", choices=["fork", "spawn", "forkserver"])
    train.add_argument("--backend", choices=["shared_memory", "ray"], default="shared_memory",
                       help="shared_memory: worker processes sharing the model on this machine "
                            "(default); ray: worker actors and a parameter server on a Ray "
                            "cluster (pip install -e '.[ray]')")
    train.add_argument("--ray-address", metavar="ADDRESS",
                       help="with --backend ray: join the cluster at ADDRESS (HOST:PORT, or "
                            "'auto' for the one `ray start --head` started on this machine) "
                            "instead of starting a local one")
    train.add_argument("--set", dest="settings", action="append", default=[], type=_parse_setting,
                       metavar="NAME=VALUE", help="a hyperparameter, e.g. --set lr=1e-3 (repeatable)")
    train.add_argument("--repeat-action-probability", type=float, metavar="P",
                       help="Atari sticky actions: chance that the previous action repeats "
                            "(ALE v5 default 0.25; 0 turns them off)")
    train.add_argument("--tensorboard", metavar="LOGDIR",
                       help="also write TensorBoard logs (returns and diagnostics) to a new "
                            "subfolder of LOGDIR; view with: tensorboard --logdir LOGDIR")
    train.add_argument("--quiet", action="store_true",
                       help="no progress on the terminal (DIR/progress.csv is still written)")
    train.set_defaults(handler=_train)

    watch = commands.add_parser("watch", help="play a trained agent and save the episode as a video")
    watch.add_argument("run", metavar="DIR", help="run folder (or checkpoint.pt) to watch")
    watch.add_argument("--out", metavar="FILE", help="video to write, .gif or .mp4 "
                       "(default DIR/episode.gif)")
    watch.add_argument("--seed", type=int, default=0, metavar="S")
    watch.add_argument("--max-steps", type=int, default=5_000, metavar="M",
                       help="cut the episode after M agent steps (default 5000)")
    watch.add_argument("--greedy", action="store_true",
                       help="most probable action instead of sampling from the policy")
    watch.add_argument("--epsilon", type=float, default=0.0,
                       help="Q-networks: probability of a random action (default 0)")
    watch.set_defaults(handler=_watch)

    student = commands.add_parser(
        "make-student", help="generate the student notebooks from notebooks/solutions/")
    student.add_argument("--solutions", default="notebooks/solutions", metavar="DIR",
                         help="folder of solution notebooks (default notebooks/solutions)")
    student.add_argument("--out", metavar="DIR",
                         help="folder for the student notebooks (default: the parent of --solutions)")
    student.add_argument("--clear-outputs", action="store_true",
                         help="also clear the solution notebooks' outputs (not those of "
                              "cells tagged nbval-check-output) and widget state")
    student.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 if any student notebook is out of date")
    student.set_defaults(handler=_make_student)

    grading = commands.add_parser(
        "grading-course", help="write an nbgrader course folder from notebooks/solutions/")
    grading.add_argument("course_dir", metavar="DIR", help="the course folder to write")
    grading.add_argument("--solutions", default="notebooks/solutions", metavar="DIR",
                         help="folder of solution notebooks (default notebooks/solutions)")
    grading.add_argument("--notebooks", nargs="+", metavar="NAME",
                         help="only these assignments, e.g. 01 03_n_step_q (default: every "
                              "notebook with an exercise)")
    grading.set_defaults(handler=_grading_course)

    doctor = commands.add_parser("doctor", help="check that this machine is ready for the course")
    doctor.set_defaults(handler=_doctor)
    return parser


def _doctor(args) -> int:
    from .doctor import doctor

    return 0 if doctor() else 1


def _make_student(args) -> int:
    from .student_notebooks import NotebookSourceError, make_student_notebooks

    try:
        reports = make_student_notebooks(args.solutions, args.out, write=not args.check,
                                         clear_solutions=args.clear_outputs)
    except NotebookSourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    stale = []
    for report in reports:
        exercises = ", ".join(report.exercises) or "no exercise"
        state = "up to date"
        if report.changed or report.solution_updated:
            state = "out of date" if args.check else "written"
            stale.append(report.student)
        print(f"{report.student} ({exercises}): {state}")
    if not reports:
        print(f"no solution notebooks in {args.solutions}")
    return 1 if args.check and stale else 0


def _grading_course(args) -> int:
    from .grading import make_grading_course

    try:
        written = make_grading_course(args.course_dir, args.solutions, args.notebooks)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in written:
        print(f"{path}")
    first = written[0].parent.name if written else "NN_name"
    print(f"next: cd {args.course_dir} && nbgrader generate_assignment {first}")
    return 0


def _train(args) -> int:
    _check_train_options(args)
    from .engine.fork_server import start_fork_server, uses_fork_server

    if args.backend != "ray" and uses_fork_server(args.start_method):
        # The server imports torch and the worker while this process imports torch
        # (about a second each): side by side on two cores, not one after the other.
        start_fork_server()
    from .engine.trainer import train

    settings = dict(args.settings)
    if args.recurrent:
        settings["recurrent"] = True
    if args.envs_per_worker is not None:
        settings["envs_per_worker"] = args.envs_per_worker
    env_kwargs = {}
    if args.repeat_action_probability is not None:
        env_kwargs["repeat_action_probability"] = args.repeat_action_probability
    run = _run_arguments(args, settings, env_kwargs)
    _check_sticky_actions(args, run)
    stop_at_return = args.stop_at_return
    if stop_at_return is None and args.resume is not None:
        from .runs.resume import saved_stop_at_return

        stop_at_return = saved_stop_at_return(args.resume)  # the run's own goal
    if args.overwrite:
        (Path(args.out) / "progress.csv").unlink(missing_ok=True)  # it is appended to
    try:
        result = train(
            max_steps=args.max_steps, stop_at_return=stop_at_return,
            time_limit=args.time_limit, start_method=args.start_method,
            live=_monitor(args, run), resume=args.resume, save_to=args.out,
            checkpoint_every=args.checkpoint_every * 60, tensorboard=args.tensorboard,
            backend=args.backend, ray_address=args.ray_address,
            **run,
        )
    except SaveError as err:
        print(f"error: {err.path} could not be written: {err.reason}.", file=sys.stderr)
        if err.previous_kept:
            print(f"The previous {err.path.name} in {args.out} is intact: free some space (or "
                  f"fix the folder) and continue with --resume {args.out}", file=sys.stderr)
        return 1
    except TrainingError as err:
        print(f"error: {err}", file=sys.stderr)
        if err.result is not None:
            print(f"what was learned until then is in {args.out}", file=sys.stderr)
        return 1
    summary = result.summary()
    keys = ("solved", "solved_at_seconds", "solved_at_step", "total_steps", "wall_seconds",
            "startup_seconds", "steps_per_second", "frames_per_second", "final_mean_return",
            "stop_reason")
    shown = {k: summary[k] for k in keys if k in summary}
    if args.backend == "ray":
        shown["cluster_start_seconds"] = (summary["backend"] or {}).get("cluster_start_seconds")
        shown["staleness"] = {k: v for k, v in (summary["staleness"] or {}).items()
                              if k != "histogram"}
    print(json.dumps(shown, indent=2))
    print(f"run folder: {args.out}")
    return 130 if result.interrupted else 0


def _check_train_options(args) -> None:
    """What argparse cannot see: bad numbers, a file where a folder belongs, a run in the way."""
    if args.checkpoint_every <= 0:
        raise ConfigError(f"--checkpoint-every is in minutes and must be more than 0, "
                          f"not {args.checkpoint_every:g}")
    p = args.repeat_action_probability
    if p is not None and not 0.0 <= p <= 1.0:
        raise ConfigError(f"--repeat-action-probability is a probability, in [0, 1], not {p:g}")
    if args.resume is not None:
        resume = Path(args.resume)
        if resume.exists() and not resume.is_dir():
            hint = (f": did you mean --resume {resume.parent}?"
                    if resume.name == "checkpoint.pt" else "")
            raise ConfigError(f"--resume takes a run folder (the --out of a run), not the "
                              f"file {resume}{hint}")
        if not resume.exists():
            raise ConfigError(f"--resume {resume}: no such folder")
    from .runs.folder import holds_run

    out = Path(args.out)
    same = args.resume is not None and out.resolve() == Path(args.resume).resolve()
    if holds_run(out) and not same and not args.overwrite:
        raise ConfigError(f"{out} holds a run already: continue it with --resume {out}, "
                          f"or replace it with --overwrite (or choose another --out)")


def _check_sticky_actions(args, run) -> None:
    from .envs.make import is_atari

    if args.repeat_action_probability is not None and not is_atari(run["env_id"]):
        raise ConfigError(f"--repeat-action-probability (sticky actions) is for Atari games "
                          f"(ALE/...-v5); {run['env_id']} has no such setting")


def _run_arguments(args, settings, env_kwargs) -> dict:
    """algo, env_id, n_workers, seed, env_kwargs and settings; with --resume, the run's own
    by default (each one given again replaces the run's)."""
    if args.resume is not None:
        from .runs.resume import resume_arguments

        return resume_arguments(args.resume, args.algo, args.env, args.workers, args.seed,
                                settings, env_kwargs)
    if args.env is None:
        raise ConfigError("--env is required (e.g. --env ALE/Pong-v5), unless --resume DIR "
                          "continues a run")
    return dict(algo=args.algo or "a3c", env_id=args.env,
                n_workers=2 if args.workers is None else args.workers,
                seed=0 if args.seed is None else args.seed, env_kwargs=env_kwargs, **settings)


def _monitor(args, run):
    """A progress bar on a terminal, a line every 30 s in a log file, and DIR/progress.csv."""
    from .envs.make import frames_per_step as env_frames_per_step
    from .live.monitors import Monitor, ProgressLog, TextMonitor

    frames_per_step = env_frames_per_step(run["env_id"])
    start_step = 0
    if args.resume is not None:
        from .runs.resume import checkpoint_step

        start_step = checkpoint_step(args.resume)
    terminal = not args.quiet and sys.stderr is not None and sys.stderr.isatty()
    title = f"{run['algo']} on {run['env_id']}"
    inner = (TextMonitor(args.max_steps, start_step, title, frames_per_step=frames_per_step,
                         time_limit=args.time_limit) if terminal else Monitor())
    echo = sys.stderr if not args.quiet and not terminal else None
    return ProgressLog(args.out, inner, frames_per_step=frames_per_step, echo=echo)


def _watch(args) -> int:
    from .runs.watch import watch

    path, episode = watch(args.run, args.out, seed=args.seed, max_steps=args.max_steps,
                          greedy=args.greedy, epsilon=args.epsilon)
    ending = "" if episode.finished else f" (cut at {args.max_steps} steps)"
    print(f"return {episode.total_return:g} in {episode.length} steps{ending}; video: {path}")
    return 0


def _terminate_as_interrupt(signum, frame):
    # A scheduler's SIGTERM stops training like Ctrl-C: the run folder is still written.
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        code = args.handler(args)
        if argv is None:
            # Run as the command (argv from sys.argv), whose process ends next, with
            # everything written and closed: the interpreter's last garbage collection,
            # a fifth of a second over torch's objects, would only free memory at exit.
            # A caller that passes argv (a test, a script) keeps its collector as it was.
            gc.freeze()
        return code
    except A3CCourseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before training started (or after it was saved)
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
