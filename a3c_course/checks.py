r"""One checker per exercise: run it right under the cell where you wrote the function.

.. code-block:: python

    from a3c_course.checks import check_n_step_returns

    check_n_step_returns(n_step_returns)
    # n_step_returns looks good: 7 cases passed.

A checker calls your function on small cases worked out by hand and compares the
answers with the reference solutions in :mod:`a3c_course.targets`. A right answer
prints one line. A wrong one raises :class:`ExerciseError` whose message names the
mistake, e.g. *your n-step returns bootstrap through the terminal state*, and shows
the case with the expected and the returned values.

How it finds the mistake: every exercise comes with a list of mistakes students
really make (:class:`~a3c_course.checking.Mistake`), each with what a function that
makes it would return. When your answers match one of them, that is the hint you get.
Besides values, the checkers look at what values alone do not show: the shape and the
dtype of the answer, inputs changed in place, whether gradient flows where it should
(and only there), and for ``epsilon_greedy`` the frequencies of the actions.

The conventions are those of :mod:`a3c_course.targets`: tensors in, tensors out,
float32; losses are *sums* over the steps of a rollout. The exercises of the
asynchronous machinery (notebooks 6 to 9) are checked by what they do: the checkers of
``shared_rmsprop_step`` and ``hogwild_update`` run them on real tensors and small
networks, several calls in a row, and look at what changed; ``atari_frame`` works on
NumPy screens; ``next_lstm_state`` on the LSTM's real states, with their graphs.
"""

from __future__ import annotations

from .exercises.actor_critic_loss import check_actor_critic_loss
from .exercises.atari_frame import check_atari_frame
from .exercises.checking import ExerciseError
from .exercises.entropy import check_entropy
from .exercises.epsilon_greedy import check_epsilon_greedy
from .exercises.gaussian_entropy import check_gaussian_entropy
from .exercises.gaussian_log_prob import check_gaussian_log_prob
from .exercises.hogwild_update import check_hogwild_update
from .exercises.n_step_returns import check_n_step_returns
from .exercises.next_lstm_state import check_next_lstm_state
from .exercises.one_step_q_target import check_one_step_q_target
from .exercises.sarsa_target import check_sarsa_target
from .exercises.shared_rmsprop_step import check_shared_rmsprop_step

__all__ = [
    "CHECKS",
    "ExerciseError",
    "check",
    "check_actor_critic_loss",
    "check_atari_frame",
    "check_entropy",
    "check_epsilon_greedy",
    "check_gaussian_entropy",
    "check_gaussian_log_prob",
    "check_hogwild_update",
    "check_n_step_returns",
    "check_next_lstm_state",
    "check_one_step_q_target",
    "check_sarsa_target",
    "check_shared_rmsprop_step",
]

#: The checker of each exercise, by the exercise's name (as ``train()`` accepts it).
CHECKS = {
    "one_step_q_target": check_one_step_q_target,
    "sarsa_target": check_sarsa_target,
    "n_step_returns": check_n_step_returns,
    "epsilon_greedy": check_epsilon_greedy,
    "entropy": check_entropy,
    "actor_critic_loss": check_actor_critic_loss,
    "shared_rmsprop_step": check_shared_rmsprop_step,
    "hogwild_update": check_hogwild_update,
    "atari_frame": check_atari_frame,
    "gaussian_log_prob": check_gaussian_log_prob,
    "gaussian_entropy": check_gaussian_entropy,
    "next_lstm_state": check_next_lstm_state,
}


def check(name: str, fn) -> None:
    """Run the checker of exercise ``name`` on ``fn``: ``check("entropy", entropy)``."""
    __tracebackhide__ = True
    if name not in CHECKS:
        raise KeyError(f"no checker for {name!r}; the exercises are: {', '.join(CHECKS)}")
    CHECKS[name](fn)
