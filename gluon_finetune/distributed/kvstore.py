"""Where this process stands in a training job: alone, or one worker of several.

MXNet's pip wheel carries its parameter-server engine (ps-lite: ``DIST_KVSTORE``
in ``mx.runtime.Features()``). A worker joins it by creating a ``dist_*``
kvstore, with the ``DMLC_*`` environment that ``gluon-finetune launch`` sets.
The servers sum the workers' gradients and run the optimizer
(``update_on_kvstore``, the only mode ``dist_async`` supports); every worker
pulls the same new weights after each step.

The rules a job follows (see also :class:`gluon_finetune.data.ShardedBatchSampler`):

- ``--batch-size`` is per worker; a step uses ``batch x workers`` images, and
  the gradient is their mean, so ``--lr`` means what it means for one process
  with that effective batch.
- all workers shuffle alike (one seed, from ``--seed`` or from the launcher) and
  each reads its own slice of every global batch;
- only rank 0 writes the run folder and prints; the others train silently;
- one distributed kvstore per process: a worker trains one run.

Leaving: MXNet's gradient exchange is asynchronous, and at interpreter exit
MXNet's own ``atexit`` handler (``MXNotifyShutdown``) makes its engine skip the
operations still queued. A worker that left right after its last step would
drop its last gradient push, and the others would wait for it forever (rank 0
stuck in its last evaluation, the others in the kvstore's exit barrier). So a
distributed :class:`Cluster` waits for every queued operation before MXNet shuts
down (:meth:`Cluster.finish`, also registered with ``atexit``).

What a step sends: each worker pushes the gradient of every trainable parameter
and pulls the new weights, the same number of bytes each way
(:func:`exchange_per_step`). Frozen features and BatchNorm's running
statistics stay on the worker.
"""
import atexit
import collections
import os

from ..errors import UserError

#: The launcher's shared seed when the user gave none: every worker must shuffle alike.
SEED_ENV = "GLUON_FINETUNE_JOB_SEED"

#: The distributed kvstore of this process, once created (ps-lite allows one per process).
_JOB = {}


class Cluster:
    """This process's place in the job: ``rank``, ``workers`` and the kvstore to train with.

    Parameters
    ----------
    kvstore : str
        ``device``/``local`` (one process) or ``dist_sync``, ``dist_device_sync``,
        ``dist_async`` (a job started by ``gluon-finetune launch``).
    """

    def __init__(self, kvstore="device"):
        import mxnet as mx

        self.name = kvstore
        self.distributed = kvstore.startswith("dist")
        if not self.distributed and os.environ.get("DMLC_ROLE") == "worker":
            # Each worker would train alone and all would write the same run folder.
            raise UserError("this process is a worker of a distributed job (DMLC_ROLE=worker), but "
                            "--kvstore %s trains alone; use --kvstore dist_sync, dist_device_sync "
                            "or dist_async" % kvstore)
        if self.distributed:
            if "DMLC_ROLE" not in os.environ:
                raise UserError("--kvstore %s needs a scheduler, servers and workers; start the job "
                                "with `gluon-finetune launch -n WORKERS -s SERVERS -- train ...`" % kvstore)
            if kvstore not in ("dist_sync", "dist_device_sync", "dist_async"):
                raise UserError("--kvstore %s is not a distributed kvstore; use dist_sync, "
                                "dist_device_sync or dist_async" % kvstore)
            if _JOB:
                raise UserError("this process already trained in a distributed job (%s); a worker "
                                "trains one run: launch one job per run (`gluon-finetune compare` "
                                "cannot run under `launch`)" % _JOB["kv"].type)
            self.kv = mx.kv.create(kvstore)
            _JOB["kv"] = self.kv
            # Registered after MXNet's own handler, so it runs first (atexit is last in,
            # first out): the queued exchange completes before the engine shuts down.
            atexit.register(_drain)
            self.rank, self.workers = self.kv.rank, self.kv.num_workers
        else:
            if kvstore not in ("device", "local"):
                raise UserError("--kvstore must be device, local, dist_sync, dist_device_sync or "
                                "dist_async, got %r" % kvstore)
            self.kv, self.rank, self.workers = None, 0, 1

    def finish(self):
        """Wait until this worker's queued gradient exchange has completed.

        Call it when training ends: until then the last step's push may still be
        queued, and the other workers wait for it. A no-op for one process.
        """
        if self.distributed:
            _drain()

    @property
    def is_root(self):
        """Rank 0: the process that writes the run folder and the log."""
        return self.rank == 0

    @property
    def kvstore(self):
        """What ``gluon.Trainer`` takes: the kvstore object, or its name for one process."""
        return self.kv if self.distributed else self.name

    @property
    def shard(self):
        """``(rank, workers)`` for :func:`gluon_finetune.data.make_loaders`, or None alone."""
        return (self.rank, self.workers) if self.distributed else None

    def job_seed(self, seed):
        """The seed every worker uses: ``seed``, else the launcher's shared one."""
        if seed is not None or not self.distributed:
            return seed
        if SEED_ENV in os.environ:
            return int(os.environ[SEED_ENV])
        raise UserError("distributed training needs --seed (all workers must shuffle alike) "
                        "when not started by `gluon-finetune launch`")


def _drain():
    import mxnet as mx

    mx.nd.waitall()


#: What one worker sends and receives per step (see :func:`exchange_per_step`).
Exchange = collections.namedtuple("Exchange", "params bytes frozen_params")


def exchange_per_step(net):
    """The parameters one worker exchanges with the servers per training step.

    ``gluon.Trainer`` pushes the gradient of every parameter that has one
    (``grad_req != 'null'``) and pulls the updated weights of the same
    parameters, so ``bytes`` go each way, every step, per worker (``float32``:
    4 bytes a number). Parameters without a gradient (``--freeze-features``,
    BatchNorm running statistics) are sent once at start-up, never per step.

    Parameters
    ----------
    net : gluon.Block
        With known parameter shapes (run one forward pass first if some are deferred).

    Returns
    -------
    Exchange
        ``(params, bytes, frozen_params)``: numbers exchanged, bytes each way,
        numbers that stay home.
    """
    import numpy as np

    params = nbytes = frozen = 0
    for name, p in net.collect_params().items():
        if p.shape is None or any(d == 0 for d in p.shape):
            raise ValueError("the shape of %s is not known yet; run one forward pass first" % name)
        size = int(np.prod(p.shape))
        if p.grad_req == "null":
            frozen += size
        else:
            params += size
            nbytes += size * np.dtype(p.dtype).itemsize
    return Exchange(params, nbytes, frozen)
