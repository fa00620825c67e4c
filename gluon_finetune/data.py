"""Image folders: find the layout, check every file, serve a forgiving dataset and loaders.

A dataset is a folder in one of two layouts::

    root/train/<class>/*.jpg        root/<class>/*.jpg
    root/test/<class>/*.jpg         (split into train and test for you)

The steps, each usable on its own:

- :func:`scan_folder` lists classes and image files (no decoding) and, for the
  single-folder layout, splits every class into train and test by a seeded ratio;
- :func:`check_folder` also decodes every file and returns a :class:`FolderReport`
  (classes, counts, unreadable files with reasons, warnings); it is what
  ``gluon-finetune data check DIR`` prints;
- :class:`FolderDataset` is a Gluon ``Dataset`` of ``(path, label)`` items that
  returns ``(HWC uint8 NDArray, int label)`` and survives files that go bad later;
- :func:`make_loaders` puts the three together with the augmentation lists of
  :mod:`gluon_finetune.augment` and returns the train and test ``DataLoader``\\ s
  with the class names (:class:`FolderData`). They decode with OpenCV, run the
  aug_list on NumPy (:func:`gluon_finetune.augment.compile_aug_list`), keep
  pixels ``uint8`` until the batch is normalised, give every image its own
  augmentation seed (the same batches with any number of workers) and run one
  thread per worker process;
- :func:`show_samples` draws the book's grid of training images.

Real folders are messy, and MXNet's ``ImageFolderDataset`` dies at the first bad
file, possibly in the middle of epoch 3 (apache/mxnet#12280). Here the check
finds bad files before training, and the dataset replaces a file that breaks
afterwards instead of crashing the run.
"""
import os
import random
import time
import warnings
import zlib
from collections import namedtuple
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from mxnet import gluon, nd

# The book's dataset, importable from here as the issue and the book name it.
from .download import download_hotdog  # noqa: F401
from .errors import UserError
from .imageio import IMAGE_EXTENSIONS, ImageReadError, is_image_file, read_image, read_image_nd
from .progress import progress

__all__ = [
    "IMAGE_EXTENSIONS", "DEFAULT_SPLIT", "DataWarning", "BadFile", "FolderReport",
    "find_layout", "scan_folder", "check_folder", "split_files", "FolderDataset",
    "FolderData", "make_loaders", "folder_loader", "default_workers", "FolderLoader",
    "AugmentedDataset", "SeededBatches", "Samples", "sample_images", "show_samples",
]

#: Fraction of each class held out for testing when a folder has no test split.
DEFAULT_SPLIT = 0.2

#: The two layouts :func:`find_layout` recognises.
TRAIN_TEST = "train/test"
SINGLE = "single folder"

# Below this many files a process pool costs more to start than it saves
# (measured: see ``_auto_workers``).
_POOL_MIN_FILES = 200
_MAX_LISTED = 10
_NOT_IMAGE = "not an image extension"


class DataWarning(UserWarning):
    """A problem in an image folder that was worked around (a skipped or replaced file)."""


@dataclass
class BadFile:
    """A file with an image extension that does not decode."""

    path: str
    reason: str
    split: str
    class_name: str


@dataclass
class FolderReport:
    """What :func:`scan_folder` / :func:`check_folder` found in an image folder.

    Attributes
    ----------
    root : str
        The folder given.
    layout : str
        ``"train/test"`` or ``"single folder"`` (split by ``split`` and ``split_seed``).
    classes : list of str
        Class names, sorted like ``ImageFolderDataset``; ``classes[label]``.
    counts : dict
        ``{"train": {class: n}, "test": {class: n}}``, readable images only
        once checked.
    bad_files : list of BadFile
        Files with an image extension that failed to decode (skipped).
    ignored : list of (str, str)
        Paths that are not images (hidden files, ``Thumbs.db``, ``.txt``,
        stray folders) with the reason they were left out.
    warnings : list of str
        Problems worked around; empty on a clean folder.
    split, split_seed : float or None, int or None
        The held-out fraction and seed of a single-folder layout.
    checked : bool
        True when every file was decoded (:func:`check_folder`).
    items : dict
        ``{"train": [(path, label), ...], "test": [...]}``, in ImageFolder order
        (by label, then file name). Not part of :meth:`to_dict`.
    """

    root: str
    layout: str
    classes: list
    counts: dict
    bad_files: list = field(default_factory=list)
    ignored: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    split: float = None
    split_seed: int = None
    checked: bool = False
    seconds: float = 0.0
    decode_workers: int = 0
    smallest: tuple = None
    largest: tuple = None
    items: dict = field(default_factory=dict, repr=False)

    def num_images(self, split=None):
        """Number of (readable, once checked) images in ``split``, or in both."""
        splits = [split] if split else list(self.counts)
        return sum(sum(self.counts[s].values()) for s in splits)

    def to_dict(self):
        """The report as plain data (for JSON), without the item lists."""
        return {
            "root": _display(self.root), "layout": self.layout,
            "classes": [_display(c) for c in self.classes],
            "counts": {s: {_display(k): v for k, v in c.items()} for s, c in self.counts.items()},
            "bad_files": [dict(path=_display(b.path), reason=_display(b.reason), split=b.split,
                               class_name=_display(b.class_name)) for b in self.bad_files],
            "ignored": [dict(path=_display(p), reason=r) for p, r in self.ignored],
            "warnings": list(self.warnings), "split": self.split,
            "split_seed": self.split_seed, "checked": self.checked,
            "seconds": round(self.seconds, 3), "decode_workers": self.decode_workers,
            "smallest": list(self.smallest) if self.smallest else None,
            "largest": list(self.largest) if self.largest else None,
        }

    def summary(self):
        """A few human-readable lines: layout, a class table, problems."""
        lines = []
        if self.layout == TRAIN_TEST:
            where = "train/ and test/ folders"
        else:
            where = "one folder per class, %g%% of each class held out for test (seed %s)" % (
                100 * self.split, self.split_seed)
        lines.append("%s: %s, %d classes" % (_display(self.root), where, len(self.classes)))
        width = max([len(_display(c)) for c in self.classes] + [5])
        lines.append("  %-*s  %6s  %6s" % (width, "class", "train", "test"))
        for name in self.classes:
            lines.append("  %-*s  %6d  %6d" % (width, _display(name), self.counts["train"][name],
                                                self.counts["test"][name]))
        lines.append("  %-*s  %6d  %6d" % (width, "total", self.num_images("train"),
                                            self.num_images("test")))
        if self.checked:
            how = ("%d processes" % self.decode_workers if self.decode_workers
                   else "one process")
            total = self.num_images() + len(self.bad_files)
            lines.append("decoded %d files in %.1f s (%s): %s" % (
                total, self.seconds, how,
                "%d unreadable, skipped" % len(self.bad_files) if self.bad_files
                else "all readable"))
            if self.smallest:
                lines.append("image sizes: smallest %dx%d px, largest %dx%d px (width x height)"
                             % (self.smallest + self.largest))
        for bad in self.bad_files[:_MAX_LISTED]:
            lines.append("  unreadable: %s: %s" % (self._rel(bad.path), bad.reason))
        if len(self.bad_files) > _MAX_LISTED:
            lines.append("  ... and %d more unreadable files" % (len(self.bad_files) - _MAX_LISTED))
        if self.ignored:
            shown = ", ".join(self._rel(p) for p, _ in self.ignored[:_MAX_LISTED])
            more = " and %d more" % (len(self.ignored) - _MAX_LISTED) \
                if len(self.ignored) > _MAX_LISTED else ""
            lines.append("ignored %d entries that are not images: %s%s" % (
                len(self.ignored), shown, more))
            if any(r == _NOT_IMAGE for _, r in self.ignored):
                lines.append("  (image extensions, any case: %s)" % " ".join(IMAGE_EXTENSIONS))
        for text in self.warnings:
            lines.append("warning: %s" % text)
        return "\n".join(lines)

    def _rel(self, path):
        try:
            return _display(os.path.relpath(path, self.root))
        except ValueError:  # another drive on Windows
            return _display(path)


# --------------------------------------------------------------------------- layout


def find_layout(root):
    """Tell which layout ``root`` has: ``"train/test"`` or ``"single folder"``.

    Raises
    ------
    UserError
        When ``root`` is missing, holds only one of ``train/`` and ``test/``, holds
        images without class folders, or is the parent of the real dataset folder.
    """
    root = str(root)
    if not os.path.exists(root):
        raise UserError("data folder %s does not exist" % _display(root))
    if not os.path.isdir(root):
        raise UserError("%s is a file; give the folder that holds train/ and test/ "
                        "(or one folder per class)" % _display(root))
    dirs = [d for d in _listdir(root) if not _hidden(d) and os.path.isdir(os.path.join(root, d))]
    if "train" in dirs and "test" in dirs:
        return TRAIN_TEST
    if "train" in dirs or "test" in dirs:
        have, missing = ("train", "test") if "train" in dirs else ("test", "train")
        raise UserError(
            "%s has %s/ but no %s/: add %s/<class>/ folders beside it, or point at %s "
            "itself to split it into train and test by --split" % (
                _display(root), have, missing, missing,
                _display(os.path.join(root, have))))
    for d in dirs:
        sub = os.path.join(root, d)
        if os.path.isdir(os.path.join(sub, "train")) and os.path.isdir(os.path.join(sub, "test")):
            raise UserError("%s holds a dataset folder, not class folders: did you mean %s?"
                            % (_display(root), _display(sub)))
    if not dirs:
        loose = [f for f in _listdir(root) if is_image_file(f) and not _hidden(f)]
        if loose:
            raise UserError("%s holds images but no class folders: put the images of each "
                            "class in a folder of their own, %s/<class>/" % (
                                _display(root), _display(root)))
        raise UserError("%s has no class folders: expected %s/train/<class>/ and "
                        "%s/test/<class>/, or %s/<class>/" % ((_display(root),) * 4))
    return SINGLE


def scan_folder(root, split=None, split_seed=0):
    """List the classes and image files of ``root`` without decoding them.

    Parameters
    ----------
    root : str or path
        ``root/train/<class>/*`` + ``root/test/<class>/*``, or ``root/<class>/*``.
    split : float, optional
        Fraction of each class held out for testing in the single-folder layout
        (default :data:`DEFAULT_SPLIT`). Ignored, with a warning in the report,
        when ``root`` already has train/ and test/.
    split_seed : int
        Seed of that split: the same files and seed give the same split.

    Returns
    -------
    FolderReport
        With ``checked=False``; ``items`` list every file with an image extension.

    Raises
    ------
    UserError
        Layout problems (see :func:`find_layout`), class folders that differ
        between train/ and test/, fewer than two classes, a class without images.
    """
    root = str(root)
    layout = find_layout(root)
    ignored, notes = [], []
    if layout == TRAIN_TEST:
        for name in _listdir(root):
            if name not in ("train", "test"):
                ignored.append((os.path.join(root, name), "not train/ or test/"))
        train_files = _list_classes(os.path.join(root, "train"), ignored)
        test_files = _list_classes(os.path.join(root, "test"), ignored)
        _check_same_classes(root, train_files, test_files)
        classes = sorted(train_files)
        _check_enough_classes(root, classes)
        if split is not None:
            notes.append("split %g ignored: %s already has train/ and test/"
                         % (split, _display(root)))
        split, split_seed = None, None
    else:
        files = _list_classes(root, ignored)
        classes = sorted(files)
        _check_enough_classes(root, classes)
        _check_not_empty(root, {"": files}, ignored)
        split = DEFAULT_SPLIT if split is None else split
        train_files, test_files = split_files(files, split, split_seed)
    by_split = {"train": train_files, "test": test_files}
    if layout == TRAIN_TEST:
        _check_not_empty(root, by_split, ignored)
    items = {s: [(path, label) for label, name in enumerate(classes) for path in f[name]]
             for s, f in by_split.items()}
    counts = {s: {name: len(f[name]) for name in classes} for s, f in by_split.items()}
    return FolderReport(root=root, layout=layout, classes=classes, counts=counts,
                        ignored=ignored, warnings=notes, split=split,
                        split_seed=split_seed, items=items)


def split_files(files, split, seed=0):
    """Split each class's files into train and test by a seeded ratio (stratified).

    Each class is shuffled by its own generator, seeded from ``seed`` and the
    class name, so adding a class does not move the files of the others. A
    class of ``n >= 2`` files puts ``round(n * split)`` of them in test, at least
    one and at most ``n - 1``; both sides come back sorted by name.

    Parameters
    ----------
    files : dict
        ``{class: [path, ...]}``.
    split : float
        Fraction held out for test, ``0 < split < 1``.
    seed : int

    Returns
    -------
    (dict, dict)
        ``{class: [path, ...]}`` for train and for test; disjoint.
    """
    try:
        split = float(split)
    except (TypeError, ValueError):
        raise UserError("split must be a number between 0 and 1, got %r" % (split,)) from None
    if not 0.0 < split < 1.0:
        raise UserError("split must be between 0 and 1 (the fraction held out for "
                        "testing, e.g. 0.2), got %g" % split)
    seed = 0 if seed is None else int(seed)
    train, test = {}, {}
    for name, paths in files.items():
        paths = sorted(paths)
        if len(paths) < 2:
            raise UserError("class %r has %d image: at least 2 are needed to split it into "
                            "train and test" % (name, len(paths)))
        n_test = min(max(int(round(len(paths) * split)), 1), len(paths) - 1)
        key = zlib.crc32(("%d/%s" % (seed, name)).encode("utf-8", "surrogateescape"))
        order = np.random.RandomState(key).permutation(len(paths))
        held = set(order[:n_test].tolist())
        test[name] = [p for i, p in enumerate(paths) if i in held]
        train[name] = [p for i, p in enumerate(paths) if i not in held]
    return train, test


def _list_classes(folder, ignored):
    """``{class: [image path, ...]}`` of one folder of class folders."""
    classes = {}
    for name in _listdir(folder):
        path = os.path.join(folder, name)
        if _hidden(name):
            ignored.append((path, "hidden"))
        elif not os.path.isdir(path):
            ignored.append((path, "not inside a class folder"))
        else:
            classes[name] = _list_images(path, ignored)
    return classes


def _list_images(folder, ignored):
    images = []
    for name in _listdir(folder):
        path = os.path.join(folder, name)
        if _hidden(name):
            # Includes macOS's ._photo.jpg resource forks, which are not images.
            ignored.append((path, "hidden"))
        elif os.path.isdir(path):
            ignored.append((path, "folder inside a class folder (not scanned)"))
        elif not is_image_file(name):
            ignored.append((path, _NOT_IMAGE))
        else:
            images.append(path)
    return images


def _check_same_classes(root, train, test):
    only_train = sorted(set(train) - set(test))
    only_test = sorted(set(test) - set(train))
    if only_train or only_test:
        parts = []
        if only_train:
            parts.append("missing in test/: %s" % ", ".join(map(_display, only_train)))
        if only_test:
            parts.append("missing in train/: %s" % ", ".join(map(_display, only_test)))
        raise UserError("class folders differ between %s and %s (%s); every class needs a "
                        "folder on both sides" % (
                            _display(os.path.join(root, "train")),
                            _display(os.path.join(root, "test")), "; ".join(parts)))


def _check_enough_classes(root, classes):
    if len(classes) < 2:
        raise UserError("%s has %d class folder%s (%s): a classifier needs at least two" % (
            _display(root), len(classes), "" if len(classes) == 1 else "s",
            ", ".join(map(_display, classes)) or "none"))


def _check_not_empty(root, by_split, ignored):
    empty = [(s, name) for s, files in by_split.items() for name, paths in sorted(files.items())
             if not paths]
    if not empty:
        return
    where = ", ".join(_display(os.path.join(root, s, name)) for s, name in empty)
    hint = " (image extensions, any case: %s)" % " ".join(IMAGE_EXTENSIONS)
    n_ignored = sum(1 for p, _ in ignored
                    if any(os.path.dirname(p) == os.path.join(root, s, n) for s, n in empty))
    if n_ignored:
        hint += "; %d other files there were ignored" % n_ignored
    raise UserError("empty class: %s has no images%s; add images or remove the folder" % (
        where, hint))


# --------------------------------------------------------------------------- check


def check_folder(root, split=None, split_seed=0, strict=False, workers=None, quiet=False):
    """Check an image folder before training: layout, classes, and every file.

    Parameters
    ----------
    root : str or path
    split, split_seed
        See :func:`scan_folder`.
    strict : bool
        Refuse any unreadable file (``UserError`` listing them) instead of
        skipping it with a :class:`DataWarning`.
    workers : int, optional
        Processes that decode files; 0 decodes in this process. By default a
        pool of ``min(cores, 4)`` for 200 files or more (up to 1.7x faster on two
        idle cores than one process; threads do not help because decoding holds
        the GIL for most of its time), none below.
    quiet : bool
        No progress bar (it only shows on a terminal anyway).

    Returns
    -------
    FolderReport
        ``checked=True``; ``items`` and ``counts`` hold the readable files only.

    Raises
    ------
    UserError
        Everything :func:`scan_folder` raises; unreadable files with ``strict``;
        a class whose files are all unreadable.
    """
    report = scan_folder(root, split=split, split_seed=split_seed)
    paths = [p for s in ("train", "test") for p, _ in report.items[s]]
    workers = _auto_workers(len(paths)) if workers is None else max(0, int(workers))
    start = time.perf_counter()
    results = _decode_all(paths, workers, quiet)
    report.seconds = time.perf_counter() - start
    report.decode_workers = workers
    report.checked = True

    sizes = [size for size, _ in results.values() if size]
    if sizes:
        report.smallest = min(sizes, key=lambda s: (min(s), s))
        report.largest = max(sizes, key=lambda s: (max(s), s))
    kept = {}
    for s in ("train", "test"):
        kept[s] = []
        for path, label in report.items[s]:
            reason = results[path][1]
            if reason:
                report.bad_files.append(BadFile(path, reason, s, report.classes[label]))
            else:
                kept[s].append((path, label))
    if report.bad_files and strict:
        listed = "\n".join("  %s: %s" % (report._rel(b.path), b.reason)
                           for b in report.bad_files[:_MAX_LISTED])
        more = ("\n  ... and %d more" % (len(report.bad_files) - _MAX_LISTED)
                if len(report.bad_files) > _MAX_LISTED else "")
        raise UserError("%d unreadable image file%s in %s (strict mode refuses them; fix or "
                        "delete them, or run without --strict to skip them):\n%s%s" % (
                            len(report.bad_files), "" if len(report.bad_files) == 1 else "s",
                            _display(report.root), listed, more))
    report.items = kept
    report.counts = {s: {name: 0 for name in report.classes} for s in kept}
    for s, items in kept.items():
        for _, label in items:
            report.counts[s][report.classes[label]] += 1
    empty = ["%s (%s)" % (_display(name), s) for s in kept for name in report.classes
             if not report.counts[s][name]]
    if empty:
        raise UserError("no readable images left for class %s in %s once the unreadable files "
                        "are skipped; `gluon-finetune data check %s` lists them: fix or replace "
                        "them%s" % (", ".join(empty), _display(report.root),
                                    _display(report.root),
                                    ", or choose another --split" if report.layout == SINGLE
                                    else ""))
    if report.bad_files:
        n = len(report.bad_files)
        report.warnings.append("skipped %d unreadable image file%s; strict mode (--strict) "
                               "refuses them" % (n, "" if n == 1 else "s"))
        warnings.warn("skipped %d unreadable image file%s in %s (first: %s: %s); "
                      "`gluon-finetune data check %s` lists them, strict=True refuses them" % (
                          n, "" if n == 1 else "s", _display(report.root),
                          report._rel(report.bad_files[0].path), report.bad_files[0].reason,
                          _display(report.root)), DataWarning, stacklevel=2)
    return report


def _auto_workers(n_files):
    # Measured on 2 shared cores, JPEGs of ~400x500 px, medians of 3 (pool start
    # included): one process 590-830 img/s, 2 threads 810-855 (no gain: decoding
    # holds the GIL), 2 processes 1280-1400 when the cores are idle and no better
    # than one process when another job holds a core. So a pool, but not for
    # small folders, where its start-up costs more than it saves.
    cores = _cores()
    return 0 if n_files < _POOL_MIN_FILES or cores < 2 else min(cores, 4)


def _probe(path):
    """Decode one file: ``(path, (width, height) or None, reason or None)``."""
    try:
        arr = read_image(path)
    except ImageReadError as err:
        return path, None, _reason(err, path)
    except Exception as err:  # a decoder crash must not stop the check of the others
        return path, None, "%s: %s" % (err.__class__.__name__, err)
    return path, (int(arr.shape[1]), int(arr.shape[0])), None


def _decode_all(paths, workers, quiet):
    bar = dict(total=len(paths), desc="checking images", unit="img", quiet=quiet)
    results = {}
    if workers and len(paths) > 1:
        with ProcessPoolExecutor(workers) as pool:
            chunk = max(1, min(32, len(paths) // (8 * workers)))
            for path, size, reason in progress(pool.map(_probe, paths, chunksize=chunk), **bar):
                results[path] = (size, reason)
    else:
        for path, size, reason in progress(map(_probe, paths), **bar):
            results[path] = (size, reason)
    return results


def _reason(err, path):
    """The reason part of an ImageReadError, without the file name it repeats."""
    text = str(err)
    for prefix in ("cannot read image %s: " % path, "cannot open %s: " % path):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text.replace(str(path), "the file")


# --------------------------------------------------------------------------- dataset


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

        What the loaders of :func:`make_loaders` use: the same file, the same
        substitution of unreadable files, no NDArray in between.
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


# --------------------------------------------------------------------------- loaders

FolderData = namedtuple("FolderData", "train test classes report train_set test_set")
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
"""


def make_loaders(root, batch_size=128, size=224, num_workers=None, train_augs=None,
                 test_augs=None, seed=None, split=None, split_seed=0, strict=False,
                 check=True, last_batch="keep", check_workers=None, quiet=False, shard=None):
    """Check ``root`` and build its train and test ``DataLoader``\\ s.

    Parameters
    ----------
    root : str or path
        ``root/train/<class>`` + ``root/test/<class>``, or ``root/<class>``.
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

    Returns
    -------
    FolderData
        ``(train, test, classes, report, train_set, test_set)``; ``train`` and
        ``test`` are :class:`FolderLoader`\\ s (Gluon ``DataLoader``\\ s) of
        ``(data, label)`` NDArray batches.
    """
    from . import augment

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
                              workers=check_workers, quiet=quiet)
    else:
        report = scan_folder(root, split=split, split_seed=split_seed)
    train_set = FolderDataset.from_report(report, "train")
    test_set = FolderDataset.from_report(report, "test")
    if num_workers is None:
        num_workers = default_workers(len(train_set), int(batch_size))
    num_workers = int(num_workers)
    train_list = augment.train_augs(size) if train_augs is None else train_augs
    test_list = augment.test_augs(size) if test_augs is None else test_augs
    train_data = AugmentedDataset(train_set, train_list)
    if shard is None:
        batches = gluon.data.BatchSampler(gluon.data.RandomSampler(len(train_set)),
                                          int(batch_size), last_batch)
    else:
        rank, workers = shard
        if len(train_set) < int(batch_size) * workers:
            raise UserError("%d training images cannot fill one step of %d workers x batch %d; "
                            "use a smaller --batch-size" % (len(train_set), workers, batch_size))
        batches = ShardedBatchSampler(len(train_set), int(batch_size), rank, workers)
    train = FolderLoader(train_data, SeededBatches(batches, seed=seed), num_workers)
    # The test set is not sharded (rank 0 measures it whole).
    test = folder_loader(test_set, test_list, int(batch_size), num_workers, seed=seed)
    return FolderData(train, test, list(report.classes), report, train_set, test_set)


def folder_loader(dataset, augs, batch_size, num_workers=0, seed=None):
    """An in-order :class:`FolderLoader` of ``dataset`` with ``augs`` (every image once).

    Every pass gives the same images: each image's augmentation is seeded the
    same way every time, so even a random test list evaluates repeatably.
    """
    batches = gluon.data.BatchSampler(gluon.data.SequentialSampler(len(dataset)),
                                      int(batch_size), "keep")
    return FolderLoader(AugmentedDataset(dataset, augs),
                        SeededBatches(batches, seed=seed, fresh=False), num_workers)


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


#: Below this many training images :func:`default_workers` loads in-process.
MIN_IMAGES_FOR_WORKERS = 256


def _cores():
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


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


class AugmentedDataset(gluon.data.Dataset):
    """A :class:`FolderDataset` with an aug_list, as the loaders run it.

    ``dataset[(index, seed)]`` reads the image as NumPy, seeds Python's
    ``random`` and NumPy with ``seed`` (restoring the caller's state afterwards
    in the creating process) and runs the list on the fast path
    (:meth:`gluon_finetune.augment.AugPlan.run_sample`); a plain index uses the
    random state as it is. Making one sets OpenCV to one thread
    (:func:`gluon_finetune.augment.single_thread_opencv`); the first call in a forked worker process
    limits MXNet there to one OpenMP thread (:func:`limit_worker_threads`).
    """

    def __init__(self, dataset, augs):
        from .augment import compile_aug_list

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

        This runs in the worker; :class:`FolderLoader` finishes the batch
        (``AugPlan.finish_batch``) in the training process, so a worker sends
        uint8 pixels, a quarter of the bytes of the float32 batch (measured: 1.7-2x
        the throughput of sending the finished batch through the pipe or shared memory).
        """
        images, labels = zip(*samples)
        return self.plan.stack(images), np.asarray(labels)


def limit_worker_threads():
    """Run this (forked loader worker) process's MXNet operators on one OpenMP thread.

    Forked workers inherit ``OMP_NUM_THREADS``; two workers with two threads
    each oversubscribe two cores. (OpenCV is set to one thread before the fork,
    by :func:`gluon_finetune.augment.single_thread_opencv`: reconfiguring its
    thread pool inside a forked child can hang.)
    """
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        import ctypes

        from mxnet.base import _LIB

        _LIB.MXSetNumOMPThreads(ctypes.c_int(1))
    except (ImportError, AttributeError):
        pass


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
    """A NumPy batch as an NDArray, sharing its memory when MXNet can (no 19 MB copy per batch)."""
    arr = np.ascontiguousarray(arr)
    try:
        return nd.from_numpy(arr, zero_copy=True)
    except Exception:  # a dtype DLPack or MXNet does not take (e.g. bool): copy it
        return nd.array(arr, dtype=arr.dtype)


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


# --------------------------------------------------------------------------- show


Samples = namedtuple("Samples", "images titles num_rows num_cols shown classes")


def sample_images(root, n=8, max_classes=8, split=None, split_seed=0):
    """Pick training images for a preview grid, like the book's hotdog figure.

    Two classes give the book's grid: the first ``n`` training images (class 0)
    on the first row and the last ``n`` (the last class, newest first) on the
    second. More classes give one row per class with its first ``n`` images,
    for the first ``max_classes`` classes. A file that does not decode is
    passed over for the next one.

    Returns
    -------
    Samples
        ``images`` (H, W, 3 uint8 arrays, row by row), ``titles`` (the class name
        on each row's first image), ``num_rows``, ``num_cols``, ``shown`` (the
        class of each row) and ``classes`` (all class names).
    """
    report = scan_folder(root, split=split, split_seed=split_seed)
    items = report.items["train"]
    n_classes = len(report.classes)
    if n_classes == 2:
        rows = [(0, [p for p, l in items if l == 0]),
                (1, [p for p, l in reversed(items) if l == 1])]
    else:
        rows = [(label, [p for p, l in items if l == label])
                for label in range(min(n_classes, max_classes))]
    picked = [(label, _read_first(paths, n)) for label, paths in rows]
    cols = min(n, min(len(imgs) for _, imgs in picked))
    if cols == 0:
        raise UserError("no readable training image in class %s of %s" % (
            ", ".join(report.classes[l] for l, imgs in picked if not imgs),
            _display(report.root)))
    images, titles = [], []
    for label, imgs in picked:
        images.extend(imgs[:cols])
        titles.extend([_display(report.classes[label])] + [""] * (cols - 1))
    return Samples(images, titles, len(picked), cols, [report.classes[l] for l, _ in picked],
                   list(report.classes))


def show_samples(root, out=None, n=8, max_classes=8, scale=1.4, split=None, split_seed=0):
    """Draw :func:`sample_images` as a grid (the book's ``show_images``), save to ``out``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from . import plots

    s = sample_images(root, n=n, max_classes=max_classes, split=split, split_seed=split_seed)
    return plots.show_images(s.images, s.num_rows, s.num_cols, scale=scale, titles=s.titles,
                             out=out)


def _read_first(paths, n):
    images = []
    for path in paths:
        if len(images) == n:
            break
        try:
            images.append(read_image(path))
        except ImageReadError:
            continue
    return images


# --------------------------------------------------------------------------- helpers


def _listdir(folder):
    try:
        return sorted(os.listdir(folder))
    except PermissionError:
        raise UserError("cannot list %s: permission denied" % _display(folder)) from None


def _hidden(name):
    return name.startswith(".") or name == "__MACOSX"


def _display(text):
    """A path that prints anywhere: undecodable bytes shown as \\xNN escapes."""
    text = str(text)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
