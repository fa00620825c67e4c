"""Worker processes: how many a loader or a check starts, and their one thread each.

:func:`default_workers` chooses the number of processes for this machine (the
loaders of :mod:`gluon_finetune.data.loader` and the decode check of
:mod:`gluon_finetune.data.check` share it); :func:`limit_worker_threads` runs
in each forked loader worker so that ``k`` workers use ``k`` cores.
"""
import ctypes
import os

from mxnet.base import _LIB

__all__ = ["MIN_IMAGES_FOR_WORKERS", "default_workers", "limit_worker_threads"]

#: Below this many training images :func:`default_workers` loads in-process.
MIN_IMAGES_FOR_WORKERS = 256


def default_workers(n_images=None, batch_size=128):
    """Loader worker processes for this machine: one per 4 cores (1 to 4), or 0 for tiny sets.

    The training process computes on every core (:mod:`gluon_finetune.threads`)
    and decoding plus the uint8 augmentations cost far less per image than a
    training step, so a few single-threaded workers keep the input ahead
    without taking cores from the step (the README's Performance section has
    the measurement behind the choice). A set of fewer than
    :data:`MIN_IMAGES_FOR_WORKERS` images (or under two batches) is loaded
    in-process: starting the worker processes costs more than they save.
    """
    cores = _cores()
    if cores < 2:
        return 0
    if n_images is not None and (n_images < MIN_IMAGES_FOR_WORKERS or n_images < 2 * batch_size):
        return 0
    return min(4, max(1, cores // 4))


def _cores():
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def limit_worker_threads():
    """Run this (forked loader worker) process's MXNet operators on one OpenMP thread.

    Forked workers inherit ``OMP_NUM_THREADS``; two workers with two threads
    each oversubscribe two cores. (OpenCV is set to one thread before the fork,
    by :func:`gluon_finetune.augment.single_thread_opencv`: reconfiguring its
    thread pool inside a forked child can hang.)
    """
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        _LIB.MXSetNumOMPThreads(ctypes.c_int(1))
    except AttributeError:  # an MXNet build without the call
        pass
