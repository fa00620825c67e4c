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
- only rank 0 writes the run folder and prints; the others train silently.
"""
import os

import mxnet as mx

from .errors import UserError

#: The launcher's shared seed when the user gave none: every worker must shuffle alike.
SEED_ENV = "GLUON_FINETUNE_JOB_SEED"


class Cluster:
    """This process's place in the job: ``rank``, ``workers`` and the kvstore to train with.

    Parameters
    ----------
    kvstore : str
        ``device``/``local`` (one process) or ``dist_sync``, ``dist_device_sync``,
        ``dist_async`` (a job started by ``gluon-finetune launch``).
    """

    def __init__(self, kvstore="device"):
        self.name = kvstore
        self.distributed = kvstore.startswith("dist")
        if self.distributed:
            if "DMLC_ROLE" not in os.environ:
                raise UserError("--kvstore %s needs a scheduler, servers and workers; start the job "
                                "with `gluon-finetune launch -n WORKERS -s SERVERS -- train ...`" % kvstore)
            if kvstore not in ("dist_sync", "dist_device_sync", "dist_async"):
                raise UserError("--kvstore %s is not a distributed kvstore; use dist_sync, "
                                "dist_device_sync or dist_async" % kvstore)
            self.kv = mx.kv.create(kvstore)
            self.rank, self.workers = self.kv.rank, self.kv.num_workers
        else:
            if kvstore not in ("device", "local"):
                raise UserError("--kvstore must be device, local, dist_sync, dist_device_sync or "
                                "dist_async, got %r" % kvstore)
            self.kv, self.rank, self.workers = None, 0, 1

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
