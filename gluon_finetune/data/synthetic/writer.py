"""The folder writer: every picture of a task written as JPEG by worker processes, with ``synthetic.json`` (:func:`generate`).
"""
import json
import multiprocessing
import os
import re

import numpy as np
from PIL import Image

from ...errors import UserError
from ...fsutil import claim_folder
from ...progress import progress
from .scenes import _SPLITS, DEFAULT_SIZE, TASKS, _check_task, render
from .sizes import check_size

#: Default (train, test) pictures per class. The hotdog numbers are the book's.
DEFAULT_COUNTS = {"hotdog": (1000, 400), "source": (400, 50)}
#: The file that records how a folder was generated and marks it as ours.
MARKER = "synthetic.json"
#: JPEG quality of the written files.
JPEG_QUALITY = 90
_FILE_RE = re.compile(r"^\d{5,}\.jpg$")



def _jobs(task, seed, counts, size, out):
    for split, n in zip(_SPLITS, counts):
        for label in TASKS[task]:
            for i in range(n):
                yield (task, label, seed, split, i, size,
                       os.path.join(out, split, label, "%05d.jpg" % i))


def _write_one(job):
    task, label, seed, split, index, size, path = job
    arr = render(task, label, seed=seed, split=split, index=index, size=size)
    # Write beside, then rename: an interrupted run leaves no half file behind.
    tmp = path + ".part"
    Image.fromarray(arr).save(tmp, "JPEG", quality=JPEG_QUALITY)
    os.replace(tmp, path)
    return path


def _ours(out, task):
    """Files under ``out`` that a previous run for ``task`` may have written, or
    raise UserError when ``out`` holds anything else."""
    meta = claim_folder(out, MARKER, "synthetic data set")
    if meta is None:
        return []
    old_task = meta.get("task")
    if old_task is None:
        raise UserError("refusing to write into %s: its %s is not one this tool wrote. "
                        "Choose a new or empty folder for --out." % (out, MARKER))
    if old_task != task:
        raise UserError(
            "refusing to write into %s: it holds a synthetic %r data set, not %r. "
            "Choose another folder for --out (or delete this one)." % (out, old_task, task))
    files, foreign = [], []
    for root, dirs, names in os.walk(out):
        rel = os.path.relpath(root, out)
        parts = [] if rel == "." else rel.split(os.sep)
        for d in dirs:
            p = os.path.join(root, d)
            ok = (len(parts) == 0 and d in _SPLITS) or (len(parts) == 1 and d in TASKS[task])
            if os.path.islink(p) or not ok:
                foreign.append(p)
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in foreign]
        for n in names:
            p = os.path.join(root, n)
            if len(parts) == 0 and n in (MARKER, MARKER + ".tmp"):
                continue
            if len(parts) == 2 and not os.path.islink(p) and (
                    _FILE_RE.match(n) or n.endswith(".jpg.part")):
                files.append(p)
            else:
                foreign.append(p)
    if foreign:
        raise UserError(
            "refusing to write into %s: it is a synthetic %r data set but also holds files "
            "this tool did not write, e.g. %s. Move them away or choose another folder for "
            "--out." % (out, task, sorted(foreign)[0]))
    return files


def generate(out, task="hotdog", n_per_class=None, n_test_per_class=None, seed=0,
             size=DEFAULT_SIZE, workers=None, quiet=False):
    """Write a synthetic image folder (train/ and test/ with one folder per class).

    Parameters
    ----------
    out : str
        Target folder. It must be missing, empty, or a previous output of this
        function for the same ``task`` (whose pictures are then replaced).
        Nothing is written outside it.
    task : {"hotdog", "source"}
    n_per_class : int, optional
        Training pictures per class; default ``DEFAULT_COUNTS[task][0]``
        (1000 for hotdog, as in the book).
    n_test_per_class : int, optional
        Test pictures per class. By default in the task's ratio of
        :data:`DEFAULT_COUNTS`, at least 1: 40% of ``n_per_class`` for hotdog
        (the book's 400 for 1000), 12.5% for source (50 for 400; a source test
        set only needs to show that pretraining learned something).
    seed : int
        Same arguments and seed give byte-identical files.
    size : (int, int)
        Inclusive range of each picture's height and width in pixels; both are
        drawn per picture. The default 200-500 resembles the book's photos. For
        training at 64 px, 96-128 loses nothing and is cheaper: drawing is ~5x
        faster, and reading plus augmenting a picture took 1.0 ms instead of
        1.9 ms here (a resnet18 training step costs ~9 ms per picture at 64 px).
    workers : int, optional
        Processes drawing in parallel (default: up to 2, the CPU count).
    quiet : bool
        No progress bar.

    Returns
    -------
    dict
        What was written: task, classes, counts, seed, size, folder, file count.
    """
    _check_task(task)
    size = check_size(size)
    default_train, default_test = DEFAULT_COUNTS[task]
    n_train = default_train if n_per_class is None else n_per_class
    if not isinstance(n_train, (int, np.integer)) or n_train < 1:
        raise UserError("n_per_class must be a positive integer, got %r" % (n_train,))
    n_test = n_test_per_class
    if n_test is None:
        n_test = max(1, int(round(n_train * default_test / default_train)))
    if not isinstance(n_test, (int, np.integer)) or n_test < 1:
        raise UserError("n_test_per_class must be a positive integer, got %r" % (n_test,))
    n_train, n_test = int(n_train), int(n_test)

    out = os.path.abspath(out)
    if os.path.lexists(out) and not os.path.isdir(out):
        raise UserError("--out %s exists and is not a folder" % out)
    os.makedirs(out, exist_ok=True)
    for path in _ours(out, task):
        os.remove(path)

    classes = list(TASKS[task])
    meta = {"generator": "gluon_finetune.data.synthetic", "task": task, "classes": classes,
            "seed": int(seed), "size": list(size), "n_per_class": n_train,
            "n_test_per_class": n_test, "complete": False}
    _write_marker(out, meta)
    for split in _SPLITS:
        for label in classes:
            os.makedirs(os.path.join(out, split, label), exist_ok=True)

    jobs = list(_jobs(task, int(seed), (n_train, n_test), size, out))
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    workers = max(1, min(int(workers), len(jobs)))
    bar = progress(total=len(jobs), desc="synth %s" % task, unit="img", quiet=quiet)
    try:
        if workers == 1:
            for job in jobs:
                _write_one(job)
                bar.update(1)
        else:
            # Fork keeps start-up cheap (no re-import); pictures do not depend on
            # the worker, so the files are the same as with one process.
            ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
            with ctx.Pool(workers) as pool:
                for _ in pool.imap_unordered(_write_one, jobs, chunksize=8):
                    bar.update(1)
    finally:
        bar.close()
    meta["complete"] = True
    meta["files"] = len(jobs)
    _write_marker(out, meta)
    meta["out"] = out
    return meta


def _write_marker(out, meta):
    path = os.path.join(out, MARKER)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(path + ".tmp", path)
