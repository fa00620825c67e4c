"""Datasets of image files: a forgiving one, and the same with an aug_list.

:class:`FolderDataset` is a Gluon ``Dataset`` of ``(path, label)`` items that
returns ``(HWC uint8 image, label)`` and survives files that go bad after the
check (it serves another image of the same class in their place).
:class:`AugmentedDataset` runs an aug_list over it on the NumPy fast path of
:mod:`gluon_finetune.augment`, one seed per image, as the loaders of
:mod:`gluon_finetune.data.loader` use it.
"""
import os
import random
import warnings

import numpy as np
from mxnet import gluon

from ..augment import compile_aug_list
from ..errors import UserError
from ..imageio import ImageReadError, read_image, read_image_nd
from .folders import DataWarning, _display
from .workers import limit_worker_threads

__all__ = ["FolderDataset", "AugmentedDataset"]


class FolderDataset(gluon.data.Dataset):
    """A Gluon dataset of ``(path, label)`` items that returns ``(image, label)``.

    ``image`` is an RGB ``uint8`` ``mx.nd.NDArray`` of shape (H, W, 3), whatever
    the file (grayscale, RGBA, palette, 16-bit, CMYK), so that
    ``dataset.transform_first(AugTransform(train_augs(size)))`` works.

    A file that fails to read (deleted, truncated or overwritten after the
    check) does not end the run: with ``on_error="substitute"`` the dataset
    warns once per file (per worker process) and returns the next readable image
    of the same class instead. The same class keeps the label true and the class
    balance intact, the batch keeps its size (Gluon's batchify cannot drop a
    sample), and "next in order" keeps an evaluation repeatable. Only when every
    image of the class fails does it raise :class:`UserError`.

    Parameters
    ----------
    items : list of (str, int)
        Image paths and labels.
    classes : list of str
        ``classes[label]`` is the name of ``label``.
    on_error : {"substitute", "raise"}
        ``"raise"`` re-raises the :class:`ImageReadError` instead.
    """

    def __init__(self, items, classes, on_error="substitute"):
        if on_error not in ("substitute", "raise"):
            raise ValueError("on_error must be 'substitute' or 'raise', got %r" % (on_error,))
        self.items = [(str(p), int(l)) for p, l in items]
        self.classes = list(classes)
        self.on_error = on_error
        self._by_class = {}
        for i, (_, label) in enumerate(self.items):
            self._by_class.setdefault(label, []).append(i)
        self._bad = set()

    @property
    def synsets(self):
        """The class names, under the name ``ImageFolderDataset`` uses."""
        return self.classes

    @classmethod
    def from_report(cls, report, split="train", **kwargs):
        """The dataset of one split (``"train"`` or ``"test"``) of a :class:`FolderReport`."""
        return cls(report.items[split], report.classes, **kwargs)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        return self._get(idx, read_image_nd)

    def read(self, idx):
        """``(image, label)`` with the image as an RGB ``uint8`` NumPy array (H, W, 3).

        What the loaders of :func:`~gluon_finetune.data.loader.make_loaders` use:
        the same file, the same substitution of unreadable files, no NDArray in
        between.
        """
        return self._get(idx, read_image)

    def _get(self, idx, reader):
        if idx < 0:
            idx += len(self.items)
        path, label = self.items[idx]
        if idx not in self._bad:
            try:
                return reader(path), label
            except ImageReadError as err:
                if self.on_error == "raise":
                    raise
                self._mark_bad(idx, err)
        return self._substitute(idx, label, reader), label

    def _substitute(self, idx, label, reader):
        group = self._by_class[label]
        pos = group.index(idx)
        for k in range(1, len(group)):
            other = group[(pos + k) % len(group)]
            if other in self._bad:
                continue
            try:
                return reader(self.items[other][0])
            except ImageReadError as err:
                self._mark_bad(other, err)
        raise UserError("every image of class %r failed to read (last: %s); run "
                        "`gluon-finetune data check` on the data folder"
                        % (self.classes[label], _display(self.items[idx][0])))

    def _mark_bad(self, idx, err):
        self._bad.add(idx)
        warnings.warn("%s; using another %r image in its place from now on" % (
            err, self.classes[self.items[idx][1]]), DataWarning, stacklevel=4)

    def __repr__(self):
        return "FolderDataset(%d images, classes=%r)" % (len(self.items), self.classes)


class AugmentedDataset(gluon.data.Dataset):
    """A :class:`FolderDataset` with an aug_list, as the loaders run it.

    ``dataset[(index, seed)]`` reads the image as NumPy, seeds Python's
    ``random`` and NumPy with ``seed`` (restoring the caller's state afterwards
    in the creating process) and runs the list on the fast path
    (:meth:`gluon_finetune.augment.AugPlan.run_sample`); a plain index uses the
    random state as it is. Making one sets OpenCV to one thread
    (:func:`gluon_finetune.augment.single_thread_opencv`); the first call in a forked worker process
    limits MXNet there to one OpenMP thread
    (:func:`~gluon_finetune.data.workers.limit_worker_threads`).
    """

    def __init__(self, dataset, augs):
        self.dataset = dataset
        self.augs = list(augs)
        self.plan = compile_aug_list(self.augs)
        self._pid = self._main_pid = os.getpid()

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, key):
        idx, seed = key if isinstance(key, tuple) else (key, None)
        pid = os.getpid()
        if pid != self._pid:
            limit_worker_threads()
            self._pid = pid
        img, label = self.dataset.read(idx)
        if seed is None:
            return self.plan.run_sample(img), label
        saved = (random.getstate(), np.random.get_state()) if pid == self._main_pid else None
        random.seed(seed)
        np.random.seed(seed)
        try:
            return self.plan.run_sample(img), label
        finally:
            if saved is not None:
                random.setstate(saved[0])
                np.random.set_state(saved[1])

    def collate(self, samples):
        """``[(sample, label), ...]`` -> ``(data, label)`` NumPy batch, before the tensor step.

        This runs in the worker; :class:`~gluon_finetune.data.loader.FolderLoader`
        finishes the batch (``AugPlan.finish_batch``) in the training process, so
        a worker sends uint8 pixels, a quarter of the bytes of the float32 batch,
        through the pipe.
        """
        images, labels = zip(*samples)
        return self.plan.stack(images), np.asarray(labels)
