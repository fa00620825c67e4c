"""The decode check: read every file of an image folder before training.

:func:`check_folder` scans the folder (:func:`gluon_finetune.data.folders.scan_folder`),
decodes every image file, in a process pool for large folders, and returns a
:class:`~gluon_finetune.data.folders.FolderReport` with the unreadable files
left out and listed with their reasons; it is what ``gluon-finetune data check
DIR`` prints. MXNet's ``ImageFolderDataset`` dies at the first bad file,
possibly in the middle of epoch 3 (apache/mxnet#12280): here bad files are
found before training starts.
"""
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

from ..errors import UserError
from ..imageio import ImageReadError, read_image
from ..progress import progress
from .folders import _MAX_LISTED, SINGLE, BadFile, DataWarning, _display, scan_folder
from .workers import _cores

__all__ = ["check_folder"]

# Below this many files a process pool costs more to start than it saves.
_POOL_MIN_FILES = 200


def check_folder(root, split=None, split_seed=0, strict=False, workers=None, quiet=False,
                 val_split=None, val_seed=0, path_col=None, label_col=None):
    """Check an image folder before training: layout, classes, and every file.

    Parameters
    ----------
    root : str or path
    split, split_seed, val_split, val_seed, path_col, label_col
        See :func:`scan_folder`.
    strict : bool
        Refuse any unreadable file (``UserError`` listing them) instead of
        skipping it with a :class:`DataWarning`.
    workers : int, optional
        Processes that decode files; 0 decodes in this process. By default a
        pool of one process per core (up to 4) for 200 files or more, none below (threads do not help: decoding holds
        the GIL for most of its time).
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
    report = scan_folder(root, split=split, split_seed=split_seed, val_split=val_split,
                         val_seed=val_seed, path_col=path_col, label_col=label_col)
    paths = [p for s in report.items for p, _ in report.items[s]]
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
    for s in report.items:
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
    # Decoding holds the GIL for most of its time, so processes help where threads
    # do not; on a small folder the pool's start-up costs more than it saves.
    # Unlike training, decoding is all there is here: one process per core, up to 4.
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


