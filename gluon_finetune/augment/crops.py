"""Test-time crops: the four corners and the centre of an image, and their mirror images."""
from mxnet import image, nd

from .augmenters import MinSizeAug, _size_pair, apply_aug_list_batch


def _five_regions(height, width, w, h):
    return [(0, 0), (width - w, 0), (0, height - h), (width - w, height - h),
            ((width - w) // 2, (height - h) // 2)]


def five_crop(img, size, augs=None):
    """The four corner crops and the centre crop of ``img``, stacked into one batch.

    Parameters
    ----------
    img : NDArray (H, W, C)
    size : int or (int, int)
        Crop size; images smaller than it are upscaled first (:class:`MinSizeAug`).
    augs : list, optional
        Applied to every crop before stacking (e.g. ``[ToTensorAug(), NormalizeAug()]``).

    Returns
    -------
    NDArray
        (5, H, W, C) without ``augs``; with them, whatever they return, stacked.
        Order: top-left, top-right, bottom-left, bottom-right, centre.
    """
    w, h = _size_pair(size, "crop size")
    img = MinSizeAug((w, h))(img)
    crops = [image.fixed_crop(img, x0, y0, w, h)
             for x0, y0 in _five_regions(img.shape[0], img.shape[1], w, h)]
    return apply_aug_list_batch(crops, augs or [])


def ten_crop(img, size, augs=None, vertical_flip=False):
    """:func:`five_crop` of ``img`` and of its mirror image (10 crops, stacked).

    ``vertical_flip=True`` mirrors top-bottom instead of left-right.
    """
    flipped = nd.flip(img, axis=0 if vertical_flip else 1)
    return nd.concat(five_crop(img, size, augs), five_crop(flipped, size, augs), dim=0)
