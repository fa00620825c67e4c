"""Image folders on disk: which layout, which classes, which files count as images.

A dataset is a folder in one of two layouts::

    root/train/<class>/*.jpg        root/<class>/*.jpg
    root/test/<class>/*.jpg         (split into train and test for you)
    [root/val/<class>/*.jpg]

A ``val/`` (or ``valid/``) folder beside train/ and test/ holds validation
images; without one, ``val_split`` carves them out of the training images
(:mod:`gluon_finetune.data.split`).
:func:`find_layout` tells them apart, :func:`scan_folder` lists classes and image
files without decoding them (splitting a single folder by a seeded ratio,
:func:`split_files`) and returns a :class:`FolderReport`. :func:`list_images` is
the one rule for which files of a folder are images (hidden files and macOS's
``__MACOSX`` left out, image extensions only): training, ``evaluate`` and
``predict`` all list folders through it.
"""
import hashlib
import math
import os
from dataclasses import dataclass, field

from .. import recfile
from ..errors import UserError
from ..fsutil import display_path as _display
from ..imageio import IMAGE_EXTENSIONS, is_image_file
from .split import carve_validation, check_fraction, find_val_folder, hold_out

__all__ = [
    "IMAGE_EXTENSIONS", "DEFAULT_SPLIT", "TRAIN_TEST", "SINGLE", "DataWarning", "BadFile",
    "FolderReport", "find_layout", "is_csv", "is_rec", "scan_folder", "split_files", "list_classes", "list_images",
    "is_hidden",
]

#: Fraction of each class held out for testing when a folder has no test split.
DEFAULT_SPLIT = 0.2

#: The two layouts :func:`find_layout` recognises.
TRAIN_TEST = "train/test"
SINGLE = "single folder"
CSV_SPLITS = "csv with splits"
CSV_SINGLE = "csv"
REC_SPLITS = "recordio with a test file"
REC_SINGLE = "recordio"

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
    val_from: str = None  # "val/", "valid/" or "--val-split"; None: no validation images
    val_split: float = None
    val_seed: int = None
    seconds: float = 0.0
    decode_workers: int = 0
    smallest: tuple = None
    largest: tuple = None
    items: dict = field(default_factory=dict, repr=False)

    def all_items(self):
        """Every ``(path, label)`` of every split, by label and then path: the set unsplit."""
        return sorted((i for items in self.items.values() for i in items), key=lambda i: (i[1], i[0]))

    def num_images(self, split=None):
        """Number of (readable, once checked) images in ``split``, or in both."""
        splits = [split] if split else list(self.counts)
        return sum(sum(self.counts[s].values()) for s in splits)

    def fingerprint(self):
        """A short sha1 of which images are in which split and class, with their sizes.

        The same images give the same fingerprint wherever the folder lies; adding,
        removing, moving or rewriting one changes it (``--mlflow`` tags runs with it).
        """
        digest = hashlib.sha1()
        for split in sorted(self.items):
            for path, label in self.items[split]:
                try:
                    size = recfile.member_size(path) or os.path.getsize(path)
                except OSError:
                    size = -1
                digest.update(("%s/%s/%s/%d\n" % (split, self.classes[label],
                                                   os.path.basename(path), size)).encode())
        return digest.hexdigest()[:16]

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
            "val_from": self.val_from, "val_split": self.val_split, "val_seed": self.val_seed,
            "seconds": round(self.seconds, 3), "decode_workers": self.decode_workers,
            "smallest": list(self.smallest) if self.smallest else None,
            "largest": list(self.largest) if self.largest else None,
        }

    def summary(self):
        """A few human-readable lines: layout, a class table, problems."""
        lines = []
        if self.layout == TRAIN_TEST:
            where = "train/ and test/ folders"
        elif self.layout == CSV_SPLITS:
            where = "a CSV file with a split column"
        elif self.layout == CSV_SINGLE:
            where = "a CSV file, %g%% of each class held out for test (seed %s)" % (
                100 * self.split, self.split_seed)
        elif self.layout == REC_SPLITS:
            where = "RecordIO, test records in %s" % _display(os.path.basename(
                rec_sibling(self.root, "test")))
        elif self.layout == REC_SINGLE:
            where = "RecordIO, %g%% of each class held out for test (seed %s)" % (
                100 * self.split, self.split_seed)
        else:
            where = "one folder per class, %g%% of each class held out for test (seed %s)" % (
                100 * self.split, self.split_seed)
        if self.val_from == "--val-split":
            where += "; %g%% of each class's training images held out for validation (seed %s)" % (
                100 * self.val_split, self.val_seed)
        elif self.val_from:
            where += "; validation images in %s" % self.val_from
        lines.append("%s: %s, %d classes" % (_display(self.root), where, len(self.classes)))
        width = max([len(_display(c)) for c in self.classes] + [5])
        splits = [s for s in ("train", "val", "test") if s in self.counts]
        lines.append("  %-*s" % (width, "class") + "".join("  %6s" % s for s in splits))
        for name in self.classes:
            lines.append("  %-*s" % (width, _display(name))
                         + "".join("  %6d" % self.counts[s][name] for s in splits))
        lines.append("  %-*s" % (width, "total") + "".join("  %6d" % self.num_images(s) for s in splits))
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
        base = os.path.dirname(self.root) if is_csv(self.root) or is_rec(self.root) else self.root
        try:
            return _display(os.path.relpath(path, base))
        except ValueError:  # another drive on Windows
            return _display(path)


#: ``data check`` and ``train`` point out a largest class this many times the smallest.
IMBALANCE_WARN_RATIO = 3.0


def imbalance_ratio(counts):
    """The largest class count over the smallest (``inf`` with an empty class; 1 for one class)."""
    values = list(counts.values()) if isinstance(counts, dict) else list(counts)
    if len(values) < 2:
        return 1.0
    return math.inf if min(values) == 0 else max(values) / min(values)


def imbalance_note(counts):
    """What to say about training ``counts`` whose largest class is 3x the smallest or more."""
    if imbalance_ratio(counts) < IMBALANCE_WARN_RATIO:
        return None
    big = max(counts, key=counts.get)
    small = min(counts, key=counts.get)
    return ("the classes are imbalanced: %s has %d training images, %s %d (%.1fx); accuracy then "
            "rewards answering the big class. Consider train --class-weights auto, --sampler "
            "balanced and --select-metric balanced_acc (evaluate reports balanced accuracy too)"
            % (_display(big), counts[big], _display(small), counts[small],
               imbalance_ratio(counts)))


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
    dirs = [d for d in _listdir(root) if not is_hidden(d) and os.path.isdir(os.path.join(root, d))]
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
        loose = [f for f in _listdir(root) if is_image_file(f) and not is_hidden(f)]
        if loose:
            raise UserError("%s holds images but no class folders: put the images of each "
                            "class in a folder of their own, %s/<class>/" % (
                                _display(root), _display(root)))
        raise UserError("%s has no class folders: expected %s/train/<class>/ and "
                        "%s/test/<class>/, or %s/<class>/" % ((_display(root),) * 4))
    return SINGLE


def is_csv(path):
    """Whether ``--data path`` names a CSV file of image paths and labels."""
    return str(path).lower().endswith(".csv") and not os.path.isdir(str(path))


def is_rec(path):
    """Whether ``--data path`` names a RecordIO file (``NAME.rec``, see :mod:`gluon_finetune.recfile`)."""
    return recfile.is_record_file(path)


def rec_sibling(rec, split):
    """``NAME-test.rec`` (or ``-val``) beside ``NAME.rec``: where ``data pack`` writes that split."""
    return str(rec)[:-len(".rec")] + "-%s.rec" % split


def scan_folder(root, split=None, split_seed=0, val_split=None, val_seed=0, path_col=None,
                label_col=None):
    """List the classes and image files of ``root`` without decoding them.

    Parameters
    ----------
    root : str or path
        ``root/train/<class>/*`` + ``root/test/<class>/*``, or ``root/<class>/*``,
        or a CSV file of paths and labels (:mod:`gluon_finetune.data.csv_labels`;
        ``path_col`` and ``label_col`` name its columns), or a RecordIO file
        ``NAME.rec`` (with ``NAME-test.rec`` and ``NAME-val.rec`` beside it when
        ``data pack`` wrote them; :mod:`gluon_finetune.data.recordio`).
    split : float, optional
        Fraction of each class held out for testing in the single-folder layout
        (default :data:`DEFAULT_SPLIT`). Ignored, with a warning in the report,
        when ``root`` already has train/ and test/.
    split_seed : int
        Seed of that split: the same files and seed give the same split.
    val_split : float, optional
        Fraction of each class's training images held out for validation
        (:func:`~gluon_finetune.data.split.carve_validation`), unless ``root``
        has a ``val/`` or ``valid/`` folder beside train/ and test/, which is
        then used as it is (and ``val_split`` ignored, with a warning).
    val_seed : int
        Seed of the validation split.

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
    if is_csv(root):
        return _scan_csv(root, split=split, split_seed=split_seed, val_split=val_split,
                        val_seed=val_seed, path_col=path_col, label_col=label_col)
    if is_rec(root):
        return _scan_rec(root, split=split, split_seed=split_seed, val_split=val_split,
                         val_seed=val_seed)
    layout = find_layout(root)
    ignored, notes = [], []
    val_folder = find_val_folder(root) if layout == TRAIN_TEST else None
    val_files, val_from = None, None
    if layout == TRAIN_TEST:
        for name in _listdir(root):
            if name not in ("train", "test", val_folder):
                ignored.append((os.path.join(root, name), "not train/ or test/"))
        train_files = list_classes(os.path.join(root, "train"), ignored)
        test_files = list_classes(os.path.join(root, "test"), ignored)
        _check_same_classes(root, train_files, test_files)
        if val_folder:
            val_files = list_classes(os.path.join(root, val_folder), ignored)
            _check_same_classes(root, train_files, val_files, other=val_folder)
            val_from = val_folder + "/"
            if val_split is not None:
                notes.append("--val-split %g ignored: %s has a %s/ folder"
                             % (val_split, _display(root), val_folder))
            val_split, val_seed = None, None
        classes = sorted(train_files)
        _check_enough_classes(root, classes)
        if split is not None:
            notes.append("split %g ignored: %s already has train/ and test/"
                         % (split, _display(root)))
        split, split_seed = None, None
    else:
        files = list_classes(root, ignored)
        classes = sorted(files)
        _check_enough_classes(root, classes)
        _check_not_empty(root, {"": files}, ignored)
        split = DEFAULT_SPLIT if split is None else split
        train_files, test_files = split_files(files, split, split_seed)
    return _finish_report(root, layout, classes, train_files, test_files, val_files, val_from,
                         ignored, notes, split, split_seed, val_split, val_seed,
                         check_empty=layout == TRAIN_TEST)


def _finish_report(root, layout, classes, train_files, test_files, val_files, val_from, ignored,
                  notes, split, split_seed, val_split, val_seed, check_empty=True):
    """The :class:`FolderReport` of files already sorted into splits and classes.

    ``*_files`` map each class to its paths (``val_files`` may be None: then
    ``val_split`` carves validation images out of the training ones), for the
    folder layouts and CSV files alike.
    """
    if val_files is None and val_split is not None:
        train_files, val_files = carve_validation(train_files, val_split, val_seed)
        val_from = "--val-split"
    elif val_files is None:
        val_split, val_seed = None, None
    by_split = {"train": train_files, "test": test_files}
    if val_files is not None:
        by_split["val"] = val_files
    if check_empty:
        _check_not_empty(root, by_split, ignored)
    items = {s: [(path, label) for label, name in enumerate(classes) for path in f[name]]
             for s, f in by_split.items()}
    counts = {s: {name: len(f[name]) for name in classes} for s, f in by_split.items()}
    note = imbalance_note(counts["train"])
    if note:
        notes.append(note)
    return FolderReport(root=root, layout=layout, classes=classes, counts=counts,
                        ignored=ignored, warnings=notes, split=split,
                        split_seed=split_seed, val_from=val_from, val_split=val_split,
                        val_seed=val_seed, items=items)


def _scan_csv(path, split=None, split_seed=0, val_split=None, val_seed=0, path_col=None,
             label_col=None):
    """The :class:`FolderReport` of CSV ``path`` (:mod:`gluon_finetune.data.csv_labels`).

    Classes are the labels, sorted as class folders are; within a class the
    images keep the file's order. See :func:`scan_folder` for the other parameters.
    """
    from .csv_labels import read_rows

    path = str(path)
    rows = read_rows(path, path_col, label_col)
    classes = sorted({label for _, _, label, _ in rows})
    _check_enough_classes(path, classes)
    notes = []
    if rows[0][3] is not None:
        by_split = {s: {c: [] for c in classes} for s in ("train", "val", "test")}
        for _, full, label, where in rows:
            by_split[where][label].append(full)
        for where in ("train", "test"):
            empty = [c for c in classes if not by_split[where][c]]
            if empty:
                raise UserError("CSV file %s has no %s rows for class%s %s: every class needs "
                                "training and test images" % (
                                    _display(path), where, "es" if len(empty) > 1 else "",
                                    ", ".join(map(_display, empty))))
        val = by_split["val"] if any(by_split["val"].values()) else None
        if val is not None:
            if val_split is not None:
                notes.append("--val-split %g ignored: %s has val rows" % (val_split, _display(path)))
                val_split = None
            empty = [c for c in classes if not val[c]]
            if empty:
                raise UserError("CSV file %s has val rows, but none for %s: give every class "
                                "validation images, or none" % (_display(path),
                                                                ", ".join(map(_display, empty))))
        if split is not None:
            notes.append("split %g ignored: %s has a split column" % (split, _display(path)))
        return _finish_report(path, CSV_SPLITS, classes, by_split["train"], by_split["test"], val,
                             "val rows" if val is not None else None, [], notes, None, None,
                             val_split if val is None else None, val_seed if val is None else None,
                             check_empty=False)
    files = {c: [] for c in classes}
    for _, full, label, _ in rows:
        files[label].append(full)
    split = DEFAULT_SPLIT if split is None else split
    train, test = split_files(files, split, split_seed)
    return _finish_report(path, CSV_SINGLE, classes, train, test, None, None, [], notes, split,
                         split_seed, val_split, val_seed, check_empty=False)


def _scan_rec(path, split=None, split_seed=0, val_split=None, val_seed=0):
    """The :class:`FolderReport` of RecordIO file ``path`` and its ``-test``/``-val`` siblings.

    Records are listed in file order under their member names
    (:func:`gluon_finetune.recfile.load_index`), so a folder packed by ``data
    pack`` gives the folder's classes, order and seeded split.
    """
    path = os.path.abspath(str(path))
    if not os.path.isfile(path):
        raise UserError("RecordIO file %s does not exist; write it with `gluon-finetune data pack "
                        "DIR --out %s`" % (_display(path), _display(path[:-len(".rec")])))
    train = recfile.load_index(path)
    classes = train.classes
    _check_enough_classes(path, classes)

    def files(index):
        out = {c: [] for c in classes}
        for i, label in enumerate(index.labels):
            if label >= len(classes):
                raise UserError("record %d of %s has label %d, but %s has only %d classes"
                                % (index.keys[i], index.rec, label, _display(path), len(classes)))
            out[classes[label]].append(index.member(i))
        return out

    notes, test_path = [], rec_sibling(path, "test")
    if os.path.isfile(test_path):
        val_path = rec_sibling(path, "val")
        val = files(recfile.load_index(val_path)) if os.path.isfile(val_path) else None
        if val is not None and val_split is not None:
            notes.append("--val-split %g ignored: %s is beside it"
                         % (val_split, os.path.basename(val_path)))
            val_split = None
        if split is not None:
            notes.append("split %g ignored: %s is beside it" % (split, os.path.basename(test_path)))
        return _finish_report(path, REC_SPLITS, classes, files(train), files(recfile.load_index(
            test_path)), val, os.path.basename(val_path) if val is not None else None, [], notes,
            None, None, val_split if val is None else None, val_seed if val is None else None)
    split = DEFAULT_SPLIT if split is None else split
    train_files, test_files = split_files(files(train), split, split_seed)
    return _finish_report(path, REC_SINGLE, classes, train_files, test_files, None, None, [], notes,
                         split, split_seed, val_split, val_seed)


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
    split = check_fraction(split, "split", "the fraction held out for testing, e.g. 0.2")
    seed = 0 if seed is None else int(seed)

    def too_few(name, n):
        return ("class %r has %d image: at least 2 are needed to split it into train and test"
                % (name, n))

    return hold_out(files, split, "%d/" % seed, too_few)


def is_hidden(name):
    """True for a name no lister counts: dot-files and folders, and macOS's ``__MACOSX``."""
    return name.startswith(".") or name == "__MACOSX"


def list_classes(folder, ignored=None):
    """``{class: [image path, ...]}`` of one folder of class folders.

    Every folder in ``folder`` that is not hidden (:func:`is_hidden`) is a
    class; its images are :func:`list_images` of it. Anything else goes to
    ``ignored`` (a list of ``(path, reason)``) when one is given.
    """
    classes = {}
    for name in _listdir(folder):
        path = os.path.join(folder, name)
        if is_hidden(name):
            _note(ignored, path, "hidden")
        elif not os.path.isdir(path):
            _note(ignored, path, "not inside a class folder")
        else:
            classes[name] = list_images(path, ignored)
    return classes


def list_images(folder, ignored=None, recursive=False):
    """The image files of ``folder``, sorted by name: the one rule of what counts as an image.

    A file counts when its name is not hidden (:func:`is_hidden`: dot-files,
    which include macOS's ``._photo.jpg`` resource forks, and ``__MACOSX``) and
    ends with an image extension (:data:`IMAGE_EXTENSIONS`, any case).

    Parameters
    ----------
    folder : str or path
    ignored : list, optional
        Receives ``(path, reason)`` for every entry left out.
    recursive : bool
        Also list the folders inside, not hidden ones, each after the files
        beside it (the order of ``os.walk``; links to folders are not followed,
        folders that cannot be listed are passed over). False leaves folders
        out, as inside a class folder.

    Returns
    -------
    list of str

    Raises
    ------
    UserError
        When ``folder`` itself cannot be listed (permission denied).
    """
    folder = str(folder)
    images, folders = [], []
    for name in _listdir(folder):
        path = os.path.join(folder, name)
        if is_hidden(name):
            _note(ignored, path, "hidden")
        elif os.path.isdir(path):
            if not recursive:
                _note(ignored, path, "folder inside a class folder (not scanned)")
            elif os.path.islink(path):
                _note(ignored, path, "link to a folder (not followed)")
            else:
                folders.append(path)
        elif not is_image_file(name):
            _note(ignored, path, _NOT_IMAGE)
        else:
            images.append(path)
    for path in folders:
        try:
            images.extend(list_images(path, ignored, recursive=True))
        except UserError:  # a folder inside that cannot be listed is passed over, as os.walk does
            _note(ignored, path, "cannot be listed (permission denied)")
    return images


def _note(ignored, path, reason):
    if ignored is not None:
        ignored.append((path, reason))


def _check_same_classes(root, train, test, other="test"):
    only_train = sorted(set(train) - set(test))
    only_test = sorted(set(test) - set(train))
    if only_train or only_test:
        parts = []
        if only_train:
            parts.append("missing in %s/: %s" % (other, ", ".join(map(_display, only_train))))
        if only_test:
            parts.append("missing in train/: %s" % ", ".join(map(_display, only_test)))
        raise UserError("class folders differ between %s and %s (%s); every class needs a "
                        "folder on both sides" % (
                            _display(os.path.join(root, "train")),
                            _display(os.path.join(root, other)), "; ".join(parts)))


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


# --------------------------------------------------------------------------- helpers


def _listdir(folder):
    try:
        return sorted(os.listdir(folder))
    except PermissionError:
        raise UserError("cannot list %s: permission denied" % _display(folder)) from None


