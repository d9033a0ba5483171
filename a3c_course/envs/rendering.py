"""Pictures of MuJoCo environments on machines without a screen.

MuJoCo draws with OpenGL, and by default it asks the windowing system for a context:
on a server, in a container or in CI there is none, and ``env.render()`` fails. It can
draw offscreen instead through EGL (GPU drivers or Mesa) or OSMesa (software), chosen
with the environment variable ``MUJOCO_GL``, which Gymnasium reads when an
environment's first frame is rendered::

    from a3c_course.rendering import prepare_headless_rendering, try_render

    prepare_headless_rendering()            # sets MUJOCO_GL=egl where there is no display
    frame, problem = try_render("InvertedPendulum-v5")
    if frame is None:
        print("no pictures here:", problem)  # and carry on without them
"""

from __future__ import annotations

import os
import sys

#: Offscreen OpenGL backends MuJoCo knows, in the order worth trying.
OFFSCREEN_BACKENDS = ("egl", "osmesa")


def has_display() -> bool:
    """Whether a windowing system is there to give MuJoCo an OpenGL context."""
    if not sys.platform.startswith("linux"):
        return True  # macOS and Windows always have one for a logged-in user
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def prepare_headless_rendering(backend: str = "egl") -> str | None:
    """Choose an offscreen OpenGL backend for MuJoCo when there is no display.

    Leaves a ``MUJOCO_GL`` that is already set alone (the user chose). Call it before
    the first MuJoCo environment renders. Returns the backend in use, ``None`` for
    MuJoCo's default (a window system).
    """
    if not has_display():
        if "MUJOCO_GL" not in os.environ:
            os.environ["MUJOCO_GL"] = backend
        # pygame (CartPole's drawing) draws offscreen too; looking for a display it would
        # print "error: XDG_RUNTIME_DIR is invalid" on a machine without one.
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    return os.environ.get("MUJOCO_GL")


def try_render(env_id: str, **make_kwargs):
    """Render the first frame of ``env_id``: ``(frame, None)``, or ``(None, reason)``.

    Never raises for a rendering failure: the reason says what went wrong, so that a
    notebook can say it and go on without pictures.
    """
    from .make import make_env

    env = None
    try:
        env = make_env(env_id, seed=0, render_mode="rgb_array", **make_kwargs)
        frame = env.render()
        if frame is None:
            return None, f"{env_id} returned no frame"
        return frame, None
    except Exception as err:  # OpenGL failures come as many exception types
        backend = os.environ.get("MUJOCO_GL", "the default (a window system)")
        return None, (f"rendering failed with MUJOCO_GL={backend}: {type(err).__name__}: {err}. "
                      f"Without a display, try MUJOCO_GL={' or '.join(OFFSCREEN_BACKENDS)} "
                      "(EGL needs libEGL, OSMesa needs libOSMesa).")
    finally:
        if env is not None:
            try:
                env.close()
            except Exception:
                pass
