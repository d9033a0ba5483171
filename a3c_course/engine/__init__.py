"""The machinery that runs the paper's methods: one parent and N worker processes.

- :mod:`~a3c_course.engine.trainer`: ``train()``, the parent: shared model, workers,
  stop conditions, the result;
- :mod:`~a3c_course.engine.plan`: the checks and choices made before any process starts;
- :mod:`~a3c_course.engine.backend`: what the parent's loop asks of the machinery that
  runs the workers; :mod:`~a3c_course.engine.shared_memory_backend` (processes sharing
  the model's memory, the paper's way) and :mod:`~a3c_course.engine.ray_backend`
  (Ray actors and a parameter server, on one machine or a cluster) answer it;
- :mod:`~a3c_course.engine.processes`: starting worker processes safely (start
  methods, interrupts, the user's main module);
- :mod:`~a3c_course.engine.fork_server`: the process Linux's workers are forked from,
  and starting it before the parent imports torch;
- :mod:`~a3c_course.engine.worker`: the loop each worker runs;
- :mod:`~a3c_course.engine.worker_process`: what a worker process sets up around its loop
  (signals, dying with its parent, saying where it is stuck);
- :mod:`~a3c_course.engine.student_functions`: what each exercise function must return,
  checked on its first call in the worker;
- :mod:`~a3c_course.engine.capacity`: how many workers the machine can hold;
- :mod:`~a3c_course.engine.leftovers`: what a killed run can leave (semaphores), cleared;
- :mod:`~a3c_course.engine.diagnostics`: what a worker sums over its updates and
  reports twice a second;
- :mod:`~a3c_course.engine.flat_params` and :mod:`~a3c_course.engine.fast_acting`: the
  two speed-ups of the worker loop (one flat tensor behind the weights; acting in NumPy).

To see the idea without the speed-ups, read :mod:`a3c_course.paper.a3c_in_one_file`.
"""
