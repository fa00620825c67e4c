"""Loaders: an image folder's train and test batches, the same with any number of workers.

:func:`make_loaders` checks a folder (:mod:`gluon_finetune.data.check`), builds
its datasets (:mod:`gluon_finetune.data.dataset`) with the augmentation lists of
:mod:`gluon_finetune.augment` and returns the train and test loaders with the
class names (:class:`FolderData`). Batches are built in NumPy, pixels stay
``uint8`` until the batch is normalised, every image carries its own
augmentation seed (:class:`SeededBatches`) and every worker process runs one
thread. :class:`ShardedBatchSampler` gives a distributed worker its share of
each global batch.
"""
import atexit
import gc
import threading
from collections import namedtuple

import numpy as np
from mxnet import gluon, nd

from .. import augment
from ..errors import UserError
from .check import check_folder
from .dataset import AugmentedDataset, FolderDataset
from .folders import scan_folder
from .sampling import SAMPLERS, BalancedSampler
from .workers import default_workers

__all__ = ["FolderData", "make_loaders", "folder_loader", "SeededBatches", "FolderLoader",
           "ShardedBatchSampler"]

FolderData = namedtuple("FolderData", "train test classes report train_set test_set val val_set",
                        defaults=(None, None))
FolderData.__doc__ = """What :func:`make_loaders` returns.

train, test : FolderLoader
    Gluon ``DataLoader``\\ s of ``(data, label)`` batches: data float32
    (N, 3, size, size), label int; ``.batches`` is the sampler they follow.
classes : list of str
    ``classes[label]``.
report : FolderReport
    What the check found.
train_set, test_set : FolderDataset
    The datasets before augmentation (paths, labels, raw images).
val, val_set : FolderLoader, FolderDataset or None
    The validation images (a ``val/`` folder or ``val_split``), with the test
    augmentations, in order; None when there are none.
"""


def make_loaders(root, batch_size=128, size=224, num_workers=None, train_augs=None,
                 test_augs=None, seed=None, split=None, split_seed=0, strict=False,
                 check=True, last_batch="keep", check_workers=None, quiet=False, shard=None,
                 val_split=None, val_seed=0, sampler="random", path_col=None, label_col=None):
    """Check ``root`` and build its train and test ``DataLoader``\\ s.

    Parameters
    ----------
    root : str or path
        ``root/train/<class>`` + ``root/test/<class>``, or ``root/<class>``, or a CSV
        file of paths and labels (:mod:`~gluon_finetune.data.csv_labels`, its columns
        named by ``path_col`` and ``label_col``).
    batch_size : int
        The book's 128 by default.
    size : int
        Side of the square crops of the default augmentation lists.
    num_workers : int, optional
        Loader worker processes; None (default) chooses for this machine
        (:func:`default_workers`). Each worker runs one thread (OpenCV and
        MXNet's OpenMP), so ``k`` workers use ``k`` cores, and the images and
        their augmentations are the same with any number of workers.
    train_augs, test_augs : list of augmenters, optional
        Default: :func:`gluon_finetune.augment.train_augs` / ``test_augs`` of ``size``.
        Any aug_list works; crops, resizes and flips run on the NumPy fast path
        (:func:`gluon_finetune.augment.compile_aug_list`).
    seed : int, optional
        Mixed into the seed of every image's augmentation. The augmentations of
        an epoch, like its shuffle order, follow NumPy's global generator when
        the epoch starts: after ``seed_everything(n)`` an epoch is the same
        whatever the number of workers (see :class:`SeededBatches`).
    split, split_seed
        Held-out fraction and seed for a single-folder layout (:func:`scan_folder`).
    val_split, val_seed
        Fraction of each class's training images held out for validation, and
        its seed, when ``root`` has no ``val/`` folder (:func:`scan_folder`).
    strict : bool
        Refuse unreadable files instead of skipping them.
    check : bool
        Decode every file first (:func:`check_folder`); False only lists them
        (the dataset still replaces files that fail later).
    last_batch : {'keep', 'rollover', 'discard'}
        Training only (test always keeps every image). ``'keep'``, the book's
        choice, ends each epoch with a smaller batch: every epoch sees every
        image once, and a resumed run repeats the same epochs. ``'rollover'``
        carries the leftover images into the next epoch (every step a full
        batch) but that carried-over state is not in a checkpoint, and a
        training set smaller than one batch then gives empty epochs.
    check_workers : int, optional
        Decoding processes of the check (see :func:`check_folder`).
    quiet : bool
        No progress bar.
    shard : (int, int), optional
        ``(rank, workers)`` in distributed training: this worker's batches of
        each global batch (:class:`ShardedBatchSampler`); the test loader stays whole.
    sampler : {"random", "balanced"}
        The training order: a shuffle (the book's), or every class equally often
        (:class:`gluon_finetune.training.imbalance.BalancedSampler`); both seeded by
        NumPy's global generator.

    Returns
    -------
    FolderData
        ``(train, test, classes, report, train_set, test_set)``; ``train`` and
        ``test`` are :class:`FolderLoader`\\ s (Gluon ``DataLoader``\\ s) of
        ``(data, label)`` NDArray batches.
    """
    if int(batch_size) < 1:
        raise UserError("batch size must be at least 1, got %s" % batch_size)
    if int(size) < 1:
        raise UserError("image size must be at least 1 pixel, got %s" % size)
    if num_workers is not None and int(num_workers) < 0:
        raise UserError("number of loader workers must be 0 or more, got %s" % num_workers)
    if last_batch not in ("keep", "rollover", "discard"):
        raise UserError("last_batch must be 'keep', 'rollover' or 'discard', got %r"
                        % (last_batch,))
    if check:
        report = check_folder(root, split=split, split_seed=split_seed, strict=strict,
                              workers=check_workers, quiet=quiet, val_split=val_split,
                              val_seed=val_seed, path_col=path_col, label_col=label_col)
    else:
        report = scan_folder(root, split=split, split_seed=split_seed, val_split=val_split,
                             val_seed=val_seed, path_col=path_col, label_col=label_col)
    train_set = FolderDataset.from_report(report, "train")
    test_set = FolderDataset.from_report(report, "test")
    if num_workers is None:
        num_workers = default_workers(len(train_set), int(batch_size))
    num_workers = int(num_workers)
    train_list = augment.train_augs(size) if train_augs is None else train_augs
    test_list = augment.test_augs(size) if test_augs is None else test_augs
    train_data = AugmentedDataset(train_set, train_list)
    if sampler not in SAMPLERS:
        raise UserError("sampler must be one of %s, got %r" % (", ".join(SAMPLERS), sampler))
    if shard is None:
        order = (BalancedSampler([label for _, label in train_set.items]) if sampler == "balanced"
                 else gluon.data.RandomSampler(len(train_set)))
        batches = gluon.data.BatchSampler(order, int(batch_size), last_batch)
    else:
        rank, workers = shard
        if len(train_set) < int(batch_size) * workers:
            raise UserError("%d training images cannot fill one step of %d workers x batch %d; "
                            "use a smaller --batch-size" % (len(train_set), workers, batch_size))
        batches = ShardedBatchSampler(len(train_set), int(batch_size), rank, workers)
    train = FolderLoader(train_data, SeededBatches(batches, seed=seed), num_workers)
    # The test set is not sharded (rank 0 measures it whole).
    test = folder_loader(test_set, test_list, int(batch_size), num_workers, seed=seed)
    val_set = val = None
    if "val" in report.items:
        val_set = FolderDataset.from_report(report, "val")
        val = folder_loader(val_set, test_list, int(batch_size), num_workers, seed=seed)
    return FolderData(train, test, list(report.classes), report, train_set, test_set, val, val_set)


def folder_loader(dataset, augs, batch_size, num_workers=0, seed=None):
    """An in-order :class:`FolderLoader` of ``dataset`` with ``augs`` (every image once).

    Every pass gives the same images: each image's augmentation is seeded the
    same way every time, so even a random test list evaluates repeatably.
    """
    batches = gluon.data.BatchSampler(gluon.data.SequentialSampler(len(dataset)),
                                      int(batch_size), "keep")
    return FolderLoader(AugmentedDataset(dataset, augs),
                        SeededBatches(batches, seed=seed, fresh=False), num_workers)


def _mix(*values):
    """A 32-bit seed from integers (splitmix64 steps): nearby inputs give unrelated seeds."""
    x = 0x9E3779B97F4A7C15
    for v in values:
        x = (x ^ (int(v) & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        x = (x ^ (x >> 31)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 29
    return x & 0x7FFFFFFF


class SeededBatches(gluon.data.Sampler):
    """Batches of ``(index, seed)``: each image carries the seed of its own augmentation.

    With Gluon's loaders the random draws of an augmentation happen wherever the
    image is loaded: in the training process or in one of the worker processes,
    whose random state was copied when they started. So the crops depended on
    the number of workers and, with persistent workers, could not be repeated by
    a resumed run. Here one number is drawn from NumPy's global generator when
    an epoch starts (after the shuffle order's draws are set up by the same
    generator), and every image's seed follows from it, ``seed`` and the
    image's index. The loading process seeds Python's ``random`` and NumPy
    with it before running the aug_list: the same epoch gives the same images
    with 0, 1 or 8 workers.

    Parameters
    ----------
    batches : Sampler
        Yields lists of indices (e.g. ``gluon.data.BatchSampler``).
    seed : int, optional
        Mixed into every image's seed.
    fresh : bool
        Draw a new number every epoch (training); False gives the same seeds at
        every pass (evaluation).
    """

    def __init__(self, batches, seed=None, fresh=True):
        self.batches = batches
        self.seed = 0 if seed is None else int(seed)
        self.fresh = fresh

    def __iter__(self):
        epoch = int(np.random.randint(0, 2 ** 31 - 1)) if self.fresh else 0
        key = _mix(self.seed, epoch)
        for batch in self.batches:
            yield [(int(i), _mix(key, i)) for i in batch]

    def __len__(self):
        return len(self.batches)


class FolderLoader(gluon.data.DataLoader):
    """A Gluon ``DataLoader`` of an :class:`AugmentedDataset` that yields NDArray batches.

    Workers (and the main process with ``num_workers=0``) build each batch in
    NumPy (:meth:`AugmentedDataset.collate`); the loader finishes it (to-tensor
    and normalise) and hands it to MXNet without a copy, as ``(data, label)``
    NDArrays, ``data`` float32 NCHW for the book's lists.

    Parameters
    ----------
    dataset : AugmentedDataset
    batch_sampler : Sampler
        Usually a :class:`SeededBatches`; kept as :attr:`batches`.
    num_workers : int
    """

    def __init__(self, dataset, batch_sampler, num_workers=0):
        self.batches = batch_sampler
        super().__init__(dataset, batch_sampler=batch_sampler, batchify_fn=dataset.collate,
                         num_workers=int(num_workers),
                         # MXNet's default timeout (120 s) can fire on a busy machine
                         # with a slow aug_list; a real hang is still reported.
                         timeout=600)
        self.num_workers = int(num_workers)

    def __iter__(self):
        plan = self._dataset.plan
        for data, label in super().__iter__():
            yield _to_ndarray(plan.finish_batch(data)), nd.array(label, dtype=label.dtype)


def _to_ndarray(arr):
    """A NumPy batch as an NDArray, sharing its memory when MXNet can (no copy of the batch)."""
    arr = np.ascontiguousarray(arr)
    try:
        shared = nd.from_numpy(arr, zero_copy=True)
    except Exception:  # a dtype DLPack or MXNet does not take (e.g. bool): copy it
        return nd.array(arr, dtype=arr.dtype)
    if not _DRAIN_AT_EXIT:
        _DRAIN_AT_EXIT.append(atexit.register(_drain_shared_batches))
    return shared


#: Whether :func:`_drain_shared_batches` is registered (once, at the first shared batch).
_DRAIN_AT_EXIT = []


def _drain_shared_batches():
    """Free the batches that share NumPy's memory while Python can still be called back.

    A shared NDArray gives its memory back through a ctypes callback, which MXNet's
    engine thread calls when the array is freed. A batch still alive when the
    interpreter shuts down (a run stopped by Ctrl-C mid-epoch, its frames just
    released) would be freed during finalization, and the callback then aborts
    the process ("Fatal Python error: PyThreadState_Get ... finalizing", seen once
    in the suite's Ctrl-C test: exit status -6 instead of 130). At exit, before
    finalization, collect such batches and wait for the engine to run their callbacks,
    for a few seconds at most (an exchange with a parameter server that died would
    never finish, and a process that is stopping must not hang on it).
    """
    gc.collect()
    waiter = threading.Thread(target=nd.waitall, daemon=True)
    waiter.start()
    waiter.join(DRAIN_SECONDS)


#: The longest the exit waits for MXNet's engine (:func:`_drain_shared_batches`).
DRAIN_SECONDS = 5.0


class ShardedBatchSampler(gluon.data.Sampler):
    """Training batches of one worker of ``workers``, cut from shared global batches.

    Every worker draws the same permutation (the same seed: NumPy's global
    generator, which the fit loop reseeds every epoch), cuts it into global
    batches of ``batch_size * workers`` and keeps its own slice of each. So the
    workers read disjoint shards, and a step of all of them sees exactly the
    global batch a single process would see with ``batch_size * workers``. A
    last, incomplete global batch is dropped: a worker with nothing to push would
    stall the others at the gradient exchange.
    """

    def __init__(self, length, batch_size, rank, workers, shuffle=True):
        self.length, self.batch_size = length, batch_size
        self.rank, self.workers, self.shuffle = rank, workers, shuffle

    def __iter__(self):
        order = np.random.permutation(self.length) if self.shuffle else np.arange(self.length)
        step = self.batch_size * self.workers
        for start in range(0, len(self) * step, step):
            mine = start + self.rank * self.batch_size
            yield order[mine:mine + self.batch_size].tolist()

    def __len__(self):
        return self.length // (self.batch_size * self.workers)
