"""Previews as in the book: an aug_list drawn several times on one picture, as a grid."""
from ..plots import augmentation_rows, show_images
from .augmenters import apply_aug_list


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
