r"""The checker of ``atari_frame``: two RGB screens to the network's 84x84 grey frame (notebook 7).

The cases are screens drawn like an Atari's: a coloured background, a textured band
(where interpolation methods differ), a red and a blue sprite of the same brightness
in grey but not in colour order, a sprite that only one of the two screens shows (the
flicker the max is for), a one-pixel ball, and a screen that is not symmetric (so a
transposed answer shows). The answer is held against the library's cv2 pipeline; a
hand-written grey conversion may differ from cv2's by one grey level through rounding,
which the check allows.
"""

from __future__ import annotations

import numpy as np
import torch

from ..paper import targets
from .checking import Case, Exercise, call, check_signature, checker, fail
from .common import report_success
from .messages import shape_text

ATARI_FRAME = Exercise(
    name="atari_frame",
    parameters=("previous_frame", "frame"),
    goal="np.maximum(previous_frame, frame) (pixel-wise max of the two RGB screens), then "
         "grey with cv2.cvtColor(..., cv2.COLOR_RGB2GRAY), then cv2.resize(..., (84, 84), "
         "interpolation=cv2.INTER_AREA); an [84, 84] uint8 array.",
    shapes="previous_frame and frame are [210, 160, 3] uint8 RGB screens; the answer [84, 84] uint8",
    exception_hints=(
        ("Unsupported depth of input image",
         "cv2 works on uint8 (or float32) images: take the max of the two uint8 screens "
         "with np.maximum, which keeps uint8."),
        ("scn",
         "cv2.cvtColor(..., cv2.COLOR_RGB2GRAY) needs the [210, 160, 3] colour screen; "
         "convert to grey once, after the max."),
    ),
)

HEIGHT, WIDTH = 210, 160
SIZE = targets.ATARI_FRAME_SIZE


def _screens(seed, background):
    """Two consecutive screens, as the emulator would draw them (uint8 RGB)."""
    rng = np.random.default_rng(seed)
    first = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    first[:] = background
    first[20:60, :] = rng.integers(0, 256, (40, WIDTH, 3), dtype=np.uint8)  # textured band
    first[150:170, 10:25] = (200, 72, 40)  # a red sprite
    first[150:170, 40:55] = (40, 72, 200)  # a blue sprite: the same grey in BGR order as the red in RGB
    first[180:184, 130:134] = (236, 236, 236)  # a white block, near the bottom right corner
    second = first.copy()
    first[90:110, 60:64] = (92, 186, 92)  # a paddle drawn only on the first screen (flicker)
    second[100:102, 100:102] = (236, 236, 236)  # the ball, on the second screen only
    second[20:60, :] = rng.integers(0, 256, (40, WIDTH, 3), dtype=np.uint8)  # the band moved
    return first, second


ATARI_FRAME_CASES = (
    Case("two screens of a game: a paddle on the first only, the ball on the second only",
         _screens(0, (144, 72, 17))),
    Case("the same scene on a dark background, other textures", _screens(1, (0, 0, 40))),
    Case("the same screen twice (after a reset)", (_screens(2, (60, 60, 60))[0],) * 2),
)


# ------------------------------------------------------------------ the mistakes, as code


def _cv2():
    import cv2

    return cv2


def _resize(image, interpolation=None):
    cv2 = _cv2()
    return cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_AREA if interpolation is None
                      else interpolation)


def _grey(image, code=None):
    cv2 = _cv2()
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY if code is None else code)


class FrameMistake:
    """A known wrong frame: a key, the hint, and the function that makes it."""

    def __init__(self, key, hint, frame):
        self.key, self.hint, self.frame = key, hint, frame


def _pipeline(combine=np.maximum, grey=_grey, resize=_resize):
    return lambda previous, frame: resize(grey(combine(previous, frame)))


def _interpolated(name):
    return lambda previous, frame: _resize(_grey(np.maximum(previous, frame)),
                                           getattr(_cv2(), name))


ATARI_FRAME_MISTAKES = (
    FrameMistake("no_max",
                 "your frame is made from the last screen alone: the Atari draws some "
                 "sprites only on every other frame (they flicker), so one screen can miss "
                 "the ball; take the pixel-wise max of both, np.maximum(previous_frame, frame).",
                 _pipeline(combine=lambda previous, frame: frame)),
    FrameMistake("previous_only",
                 "your frame is made from previous_frame alone; take the pixel-wise max of "
                 "both screens, np.maximum(previous_frame, frame).",
                 _pipeline(combine=lambda previous, frame: previous)),
    FrameMistake("averaged",
                 "your frame averages the two screens: a sprite on only one of them comes "
                 "out at half its brightness. Take the pixel-wise max, np.maximum(...).",
                 _pipeline(combine=lambda a, b: ((a.astype(np.uint16) + b) // 2).astype(np.uint8))),
    FrameMistake("overflowing_sum",
                 "your frame adds the two uint8 screens, which wraps around above 255 "
                 "(200 + 100 = 44 in uint8); take the pixel-wise max, np.maximum(...).",
                 _pipeline(combine=lambda a, b: a + b)),
    FrameMistake("minimum",
                 "your frame takes the pixel-wise *minimum*, which keeps only what both "
                 "screens show; the max keeps what either shows: np.maximum(...).",
                 _pipeline(combine=np.minimum)),
    FrameMistake("bgr_order",
                 "your grey conversion reads the screen as BGR (cv2.COLOR_BGR2GRAY, OpenCV's "
                 "usual order): the emulator's screens are RGB, so red and blue swap weights "
                 "(0.299 and 0.114). Use cv2.COLOR_RGB2GRAY.",
                 _pipeline(grey=lambda image: _grey(image, _cv2().COLOR_BGR2GRAY))),
    FrameMistake("channel_mean",
                 "your grey is the plain mean of R, G and B; grey weighs them by how bright "
                 "they look, 0.299 R + 0.587 G + 0.114 B (cv2.COLOR_RGB2GRAY).",
                 _pipeline(grey=lambda image: image.mean(axis=-1).round().astype(np.uint8))),
    FrameMistake("one_channel",
                 "your grey is one colour channel of the screen; grey weighs all three, "
                 "0.299 R + 0.587 G + 0.114 B (cv2.COLOR_RGB2GRAY).",
                 _pipeline(grey=lambda image: np.ascontiguousarray(image[..., 0]))),
    FrameMistake("grey_truncated",
                 "your grey conversion rounds down (.astype(np.uint8) truncates 0.299 R + "
                 "0.587 G + 0.114 B): round to the nearest level first (np.round), or let "
                 "cv2.cvtColor(..., cv2.COLOR_RGB2GRAY) do it.",
                 _pipeline(grey=lambda image: (image.astype(np.float32)
                                               @ np.array([0.299, 0.587, 0.114], np.float32))
                           .astype(np.uint8))),
    FrameMistake("grey_before_max",
                 "your frame takes the max of the two screens *after* converting them to "
                 "grey; the max comes first, over the RGB screens (as DQN and the paper "
                 "do). The two differ where sprites of different colours overlap: the max "
                 "of a green paddle and a brown background is a third colour.",
                 lambda previous, frame: _resize(np.maximum(_grey(previous), _grey(frame)))),
    FrameMistake("resized_before_max",
                 "your frame resizes the screens before taking their max; take the max of "
                 "the full screens first, then convert to grey, then resize: a small sprite "
                 "is averaged away by the resize before the max could keep it.",
                 lambda previous, frame: _grey(np.maximum(_resize(previous), _resize(frame)))),
    FrameMistake("linear_interpolation",
                 "your resize interpolates linearly (cv2.resize's default, INTER_LINEAR), "
                 "which samples the screen at a few points and can skip a small sprite; "
                 "area interpolation averages every pixel each output pixel covers: "
                 "interpolation=cv2.INTER_AREA.",
                 _interpolated("INTER_LINEAR")),
    FrameMistake("nearest_interpolation",
                 "your resize takes the nearest pixel (INTER_NEAREST), which can drop a "
                 "one-pixel ball entirely; use interpolation=cv2.INTER_AREA.",
                 _interpolated("INTER_NEAREST")),
    FrameMistake("cubic_interpolation",
                 "your resize interpolates cubically (INTER_CUBIC); use interpolation=cv2.INTER_AREA, "
                 "which averages the area each output pixel covers.",
                 _interpolated("INTER_CUBIC")),
    FrameMistake("transposed",
                 "your frame is transposed (rows and columns swapped): keep the screen's "
                 "orientation; cv2.resize takes the size as (width, height), and both are 84 "
                 "here, so no transpose is needed.",
                 lambda previous, frame: np.ascontiguousarray(targets.atari_frame(previous, frame).T)),
)


# ------------------------------------------------------------------------- checking


def _expect_frame(value, case):
    """An ``[84, 84]`` uint8 NumPy array; otherwise say what it is instead."""
    __tracebackhide__ = True
    on = f"on the case \"{case.description}\""
    if value is None:
        fail(f"atari_frame returned None {on}: did you forget the `return` statement?",
             "returns_none")
    if torch.is_tensor(value):
        fail(f"atari_frame returned a torch tensor {on}; the environment hands the worker "
             f"NumPy arrays: return the NumPy array (cv2 returns one).", "not_an_array")
    if not isinstance(value, np.ndarray):
        fail(f"atari_frame returned a {type(value).__name__} {on}; return an [84, 84] uint8 "
             f"NumPy array.", "not_an_array")
    shape = tuple(value.shape)
    if shape != (SIZE, SIZE):
        if shape == (SIZE, SIZE, 1):
            hint = ("There is an extra channel axis of size 1: the grey frame is [84, 84] "
                    "(drop the axis: frame[..., 0], or do not add one).")
        elif shape == (SIZE, SIZE, 3):
            hint = "It is still in colour: convert to grey with cv2.COLOR_RGB2GRAY."
        elif shape[:2] == (HEIGHT, WIDTH):
            hint = "It is not resized: cv2.resize(grey, (84, 84), interpolation=cv2.INTER_AREA)."
        else:
            hint = "Resize to (84, 84) with cv2.resize."
        fail(f"atari_frame returned an array of shape {shape_text(shape)} {on}, expected "
             f"[84, 84]. {hint}", "wrong_shape")
    if value.dtype != np.uint8:
        scaled = value.dtype.kind == "f" and float(np.max(value)) <= 1.0
        hint = ("Its values are in [0, 1]: the network scales the frames itself; keep "
                "0..255." if scaled else "cv2 keeps uint8 when it gets uint8: take the max "
                "with np.maximum (not an average, which makes floats), or convert back with "
                ".astype(np.uint8).")
        fail(f"atari_frame returned {value.dtype} {on}, expected uint8: frames travel between "
             f"processes as bytes, a quarter of the size of float32. {hint}", "wrong_dtype")


def _matches(answer, expected):
    """Equal, up to one grey level of rounding (a grey conversion written by hand)."""
    if answer is None or answer.shape != expected.shape:
        return False
    return int(np.abs(answer.astype(np.int16) - expected.astype(np.int16)).max()) <= 1


def _difference(answer, expected, case):
    differ = np.abs(answer.astype(np.int16) - expected.astype(np.int16))
    row, column = np.unravel_index(int(np.argmax(differ)), differ.shape)
    return (f"  case: \"{case.description}\"\n"
            f"  {int((differ > 1).sum())} of {SIZE * SIZE} pixels differ by more than one grey "
            f"level; the largest difference is at [{row}, {column}]: you returned "
            f"{int(answer[row, column])}, expected {int(expected[row, column])}")


def _try(mistake, case):
    try:
        return np.asarray(mistake.frame(*(arg.copy() for arg in case.args)))
    except Exception:
        return None


@checker
def check_atari_frame(fn) -> None:
    r"""Check ``atari_frame(previous_frame, frame)``.

    .. math::
        x = \operatorname{resize}_{84 \times 84}\big(\operatorname{grey}(\max(f_{k-1}, f_k))\big)

    Verifies, on two pairs of screens drawn like an Atari's (coloured sprites, a
    sprite on one screen only, a one-pixel ball, textures) and on one screen given
    twice:

    - the answer is an ``[84, 84]`` uint8 NumPy array (not ``[84, 84, 1]``, colour,
      floats, scaled to [0, 1] or a tensor);
    - the screens are not modified (``np.maximum(a, b, out=frame)`` would);
    - the values, within one grey level of cv2's; a wrong answer is matched against
      the usual mistakes: no max (the last screen alone, or the previous), an average,
      a wrapping uint8 sum, a minimum, BGR order, the mean of the channels, one
      channel, a grey that rounds down, the max taken after the grey conversion or after the resize, linear,
      nearest or cubic interpolation, a transposed frame.
    """
    __tracebackhide__ = True
    check_signature(fn, ATARI_FRAME)
    answers = []
    for case in ATARI_FRAME_CASES:
        args = tuple(arg.copy() for arg in case.args)
        answer = call(fn, ATARI_FRAME, case, args=args)
        for name, arg, original in zip(ATARI_FRAME.parameters, args, case.args):
            if not np.array_equal(arg, original):
                fail(f"atari_frame changed its input `{name}` in place (on the case "
                     f"\"{case.description}\"), e.g. with np.maximum(previous_frame, frame, "
                     f"out={name}). The emulator's screens are not yours to change: let "
                     f"np.maximum return a new array.", "modifies_input")
        _expect_frame(answer, case)
        answers.append(answer)
    expected = [targets.atari_frame(*case.args) for case in ATARI_FRAME_CASES]
    wrong = [k for k, (a, e) in enumerate(zip(answers, expected)) if not _matches(a, e)]
    if not wrong:
        report_success(ATARI_FRAME, len(ATARI_FRAME_CASES))
        return
    first = wrong[0]
    details = _difference(answers[first], expected[first], ATARI_FRAME_CASES[first])
    outputs = {m.key: [_try(m, case) for case in ATARI_FRAME_CASES] for m in ATARI_FRAME_MISTAKES}
    fits = [m for m in ATARI_FRAME_MISTAKES
            if all(_matches(a, o) for a, o in zip(answers, outputs[m.key]))]
    fits = fits or [m for m in ATARI_FRAME_MISTAKES if _matches(answers[first], outputs[m.key][first])]
    if fits:
        fail(f"atari_frame: {fits[0].hint}\n{details}", fits[0].key)
    fail(f"atari_frame: the frame differs from the library's.\n{details}\n"
         f"Reminder: {ATARI_FRAME.goal}", "differs")
