"""Previews as in the book: an aug_list drawn several times on one picture, as a grid.

Also the README's figures of the automatic policies: each operation at three
magnitudes (:func:`operations_figure`) and draws of each policy
(:func:`policies_figure`). Remake them with::

    python scripts/readme_figures.py
"""
import numpy as np

from ..plots import augmentation_rows, show_images
from . import ops
from .augmenters import apply_aug_list
from .policies import POLICY_OPS, wide_space
from .spec import parse_spec


def apply(img, aug, num_rows=2, num_cols=4, scale=1.5, out=None):
    """The book's ``apply``: run ``aug`` on ``img`` ``num_rows * num_cols`` times and show them.

    Parameters
    ----------
    img : NDArray (H, W, C) uint8
    aug : augmenter or list of augmenters
    out : str, optional
        Save the grid there as PNG.

    Returns
    -------
    matplotlib.figure.Figure
    """
    augs = aug if isinstance(aug, (list, tuple)) else [aug]
    samples = [apply_aug_list(img, augs) for _ in range(num_rows * num_cols)]
    return show_images(samples, num_rows, num_cols, scale=scale, out=out)


def preview(img, rows, samples=4, scale=1.5, out=None):
    """One labelled row of ``samples`` draws per aug_list, as a single figure.

    Parameters
    ----------
    img : NDArray (H, W, C) uint8
    rows : sequence of (str, list)
        A label and an aug_list per row.
    """
    drawn = [(label, [apply_aug_list(img, augs) for _ in range(samples)]) for label, augs in rows]
    return augmentation_rows(drawn, scale=scale, out=out)


#: The policies as the README's figure shows them, one row each.
POLICY_ROWS = ("trivial_augment", "rand_augment", "auto_augment", "erasing:1",
               "resized_crop:224,flip,trivial_augment,erasing")


def operation_samples(img, bins=(30, 15, 30)):
    """Each policy operation at three magnitudes of TrivialAugment Wide's table.

    Signed operations are shown at minus the first bin's magnitude and plus the
    other two (by default -max, +half, +max); posterize and solarize, which
    have no sign, at bins 10, 20 and 30; the operations without a magnitude
    once each.

    Parameters
    ----------
    img : NDArray or array (H, W, 3) uint8

    Returns
    -------
    list of (str, ndarray)
        A title (operation and magnitude) and the image.
    """
    arr = img.asnumpy() if hasattr(img, "asnumpy") else np.asarray(img)
    space = wide_space(31)
    cells = []
    for name in POLICY_OPS + ("invert",):
        table, signed = space.get(name, (None, False))
        if table is None:
            cells.append((name, ops.apply_op(arr, name, 0.0)))
            continue
        if signed:
            picks = [(-1, bins[0]), (1, bins[1]), (1, bins[2])]
        else:
            picks = [(1, 10), (1, 20), (1, 30)]
        for sign, b in picks:
            m = sign * float(table[b])
            text = ("%+.3g" % m) if signed else "%g" % m
            cells.append(("%s %s" % (name, text), ops.apply_op(arr, name, m)))
    return cells


def operations_figure(img, num_cols=6, scale=1.6, out=None):
    """The README's figure of the operations: :func:`operation_samples` as a titled grid."""
    cells = operation_samples(img)
    num_rows = -(-len(cells) // num_cols)
    return show_images([c[1] for c in cells], num_rows, num_cols, scale=scale,
                       titles=[c[0] for c in cells], out=out)


def policies_figure(img, rows=POLICY_ROWS, samples=6, scale=1.5, out=None):
    """The README's figure of the policies: ``samples`` draws of each spec in ``rows``."""
    return preview(img, [(text, parse_spec(text)) for text in rows], samples=samples,
                   scale=scale, out=out)
