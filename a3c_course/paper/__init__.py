"""What a student reads next to the paper.

- :mod:`~a3c_course.paper.targets`: the reference solutions of the exercises, the
  small pure functions every method is built from (targets, returns, losses);
- :mod:`~a3c_course.paper.algorithms`: the four methods, a screenful each, with a map
  from each line of the paper's pseudo-code to the code that does it;
- :mod:`~a3c_course.paper.models`: the networks (MLP, the Atari CNN, the LSTM, heads);
- :mod:`~a3c_course.paper.optim`: RMSProp and Adam with statistics in shared memory;
- :mod:`~a3c_course.paper.return_scale`: rewards divided by the spread of the returns
  (``scale_rewards``), ours, not the paper's: why the untuned defaults need it;
- :mod:`~a3c_course.paper.a3c_in_one_file`: the whole of A3C in one short file that
  runs as it is. Read it first.
"""
