"""The same training on a Ray cluster: worker actors and a parameter server.

The paper's trainer lives on one machine: the workers share the model's memory and
write their updates into it without a lock (Hogwild). Across machines there is no
shared memory, so this backend does what Gorila (Nair et al., 2015) and DistBelief
(Dean et al., 2012) did before A3C: one **parameter server** holds the model and the
optimizer's statistics, and the workers talk to it over the network.

================================  ============================  ==============================
                                  shared memory (Hogwild)       parameter server (Ray)
================================  ============================  ==============================
where the weights live            one copy in shared memory     the server's copy
worker's sync (theta' = theta)    copy from shared memory       weights sent by the server
worker's update                   writes into the shared        sends its clipped gradient;
                                  weights, no lock              the server applies it
order of updates                  interleaved, may overlap      one at a time, in arrival order
RMSProp statistics                shared memory                 in the server's process
staleness                         counted by the workers        counted by the server (exact)
================================  ============================  ==============================

- :mod:`~a3c_course.engine.ray_backend.cluster`: start a local cluster, or join one;
  leave no Ray process behind when this run started it;
- :mod:`~a3c_course.engine.ray_backend.parameter_server`: the server actor;
- :mod:`~a3c_course.engine.ray_backend.remote_worker`: the worker actor; it runs the
  same :class:`~a3c_course.engine.worker.WorkerLoop` as a worker process does, with the
  sync and the update going to the server;
- :mod:`~a3c_course.engine.ray_backend.backend`: what ``train(..., backend="ray")``
  plugs into the parent's loop.

The exercise functions travel to the workers as they do to worker processes (pickled by
value), and run in the same places of the same loop. One worker round trip per update
carries the gradient there and the new weights back; the episodes and diagnostics a
worker reports ride along with it, and the parent collects them from the server.
"""
