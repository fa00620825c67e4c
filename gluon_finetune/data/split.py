"""The validation split: the images that choose the model, kept apart from the test set.

A dataset with ``train/`` and ``test/`` may hold a third folder, ``val/`` (or
``valid/``), with the same class folders: it is used as it is (:func:`find_val_folder`).
Otherwise :func:`carve_validation` holds out a seeded fraction of every class's
training images (``--val-split``). Model selection (the best checkpoint, early
stopping) reads validation accuracy, so the test set stays untouched until the end.
"""
import os
import zlib

import numpy as np

from ..errors import UserError

__all__ = ["VAL_FOLDERS", "find_val_folder", "carve_validation"]

#: Names of a validation folder beside ``train/`` and ``test/``, in order of preference.
VAL_FOLDERS = ("val", "valid")


def find_val_folder(root):
    """The name of ``root``'s validation folder (``"val"`` or ``"valid"``), or None.

    Raises
    ------
    UserError
        When both exist: which one holds the validation images is ambiguous.
    """
    found = [name for name in VAL_FOLDERS if os.path.isdir(os.path.join(str(root), name))]
    if len(found) > 1:
        raise UserError("%s has both %s/ and %s/: keep one validation folder (rename or move the "
                        "other)" % (root, found[0], found[1]))
    return found[0] if found else None


def carve_validation(files, fraction, seed=0):
    """Hold out ``fraction`` of each class's training files for validation (seeded, per class).

    Each class is shuffled by its own generator, seeded from ``seed`` and the
    class name (with a key apart from the test split's, so the two draws are
    unrelated), so adding a class does not move the files of the others. A class
    of ``n`` files gives ``round(n * fraction)`` of them to validation, at least
    one and at most ``n - 1``; both sides come back sorted by name.

    Parameters
    ----------
    files : dict
        ``{class: [path, ...]}``: the training files.
    fraction : float
        ``0 < fraction < 1``.
    seed : int
        The same files and seed give the same split.

    Returns
    -------
    (dict, dict)
        ``{class: [path, ...]}`` for training and for validation; disjoint.

    Raises
    ------
    UserError
        A fraction outside (0, 1), or a class with fewer than 2 training images.
    """
    fraction = check_fraction(fraction, "--val-split", "the fraction of each class's training "
                              "images held out for validation, e.g. 0.1")
    seed = 0 if seed is None else int(seed)

    def too_few(name, n):
        return ("--val-split: class %r has %d training image%s; at least 2 are needed to keep one "
                "for training and one for validation (add images, or give a val/ folder)"
                % (name, n, "" if n == 1 else "s"))

    return hold_out(dict(sorted(files.items())), fraction, "val/%d/" % seed, too_few)


def check_fraction(value, option, meaning):
    """``value`` as a float strictly between 0 and 1, or a UserError naming ``option`` and,
    for a number out of range, saying what it means."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise UserError("%s must be a number between 0 and 1, got %r" % (option, value)) from None
    if not 0.0 < value < 1.0:
        raise UserError("%s must be between 0 and 1 (%s), got %g" % (option, meaning, value))
    return value


def hold_out(files, fraction, key_prefix, too_few):
    """Split each class's files into kept and held-out parts by a seeded fraction.

    The one stratified draw behind the test split (:func:`gluon_finetune.data.split_files`)
    and the validation split (:func:`carve_validation`). Each class is shuffled
    by its own generator, seeded from ``key_prefix`` + the class name, so adding
    a class does not move the files of the others; a class of ``n`` files holds
    out ``round(n * fraction)``, at least one and at most ``n - 1``. Both sides
    come back sorted by name, in the order of ``files``.

    Parameters
    ----------
    files : dict
        ``{class: [path, ...]}``.
    fraction : float
        ``0 < fraction < 1`` (checked by the caller, whose option it is).
    key_prefix : str
        Distinguishes the draws of different splits with the same seed.
    too_few : callable
        ``too_few(name, n)`` -> the message for a class of fewer than 2 files.

    Returns
    -------
    (dict, dict)
        Kept and held-out ``{class: [path, ...]}``; disjoint.
    """
    kept, held_out_files = {}, {}
    for name, paths in files.items():
        paths = sorted(paths)
        if len(paths) < 2:
            raise UserError(too_few(name, len(paths)))
        n_held = min(max(int(round(len(paths) * fraction)), 1), len(paths) - 1)
        key = zlib.crc32((key_prefix + name).encode("utf-8", "surrogateescape"))
        held = set(np.random.RandomState(key).permutation(len(paths))[:n_held].tolist())
        held_out_files[name] = [p for i, p in enumerate(paths) if i in held]
        kept[name] = [p for i, p in enumerate(paths) if i not in held]
    return kept, held_out_files
