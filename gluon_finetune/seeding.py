"""One call to make random augmentations and training repeat exactly."""
import os
import random

import numpy as np


def seed_everything(seed):
    """Seed Python's ``random``, NumPy and MXNet with one number.

    ``mxnet.image``'s augmenters draw from Python's ``random``, the extra
    augmenters here too, NumPy serves data splits and the synthetic data, and
    MXNet's own generator serves parameter initialisation and dropout. Seeding
    all three is what makes a run of augmentations (or a training run on the
    CPU) repeat exactly.

    Python's string hashing is not seeded here: ``PYTHONHASHSEED`` only takes
    effect when an interpreter starts, so setting it in a running process
    changes nothing.

    Parameters
    ----------
    seed : int
        Any non-negative integer.
    """
    import mxnet as mx

    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    mx.random.seed(seed)


def reseed_worker(base_seed=None):
    """Give a forked data-loader worker its own random streams.

    ``gluon.data.DataLoader`` forks its workers, so each starts with a copy of
    the parent's Python and NumPy random state and would produce the same
    "random" crops as its siblings. The worker's index in the pool makes the
    seed distinct and, when ``base_seed`` is given, repeatable.
    """
    import multiprocessing

    identity = multiprocessing.current_process()._identity
    worker = identity[0] if identity else os.getpid()
    if base_seed is None:
        seed = int.from_bytes(os.urandom(4), "little")
    else:
        seed = (int(base_seed) * 1000003 + worker) % (2 ** 32)
    random.seed(seed)
    np.random.seed(seed)
