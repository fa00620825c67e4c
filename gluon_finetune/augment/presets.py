"""Ready aug_lists: the book's training and test lists and the Gluon write-up's.

Each function returns a plain list of augmenters (``mxnet.image``'s and
:mod:`gluon_finetune.augment.augmenters`'), to run with
:func:`~gluon_finetune.augment.apply_aug_list` or as a dataset transform.
"""
from mxnet import image

from ..constants import IMAGENET_MEAN, IMAGENET_STD, RESIZED_CROP_RATIO, RESIZED_CROP_SCALE
from .augmenters import MinSizeAug, NormalizeAug, RandomResizedCropAug, ToTensorAug, _size_pair


def resize_for_crop(size):
    """Shorter-side length before a centre crop of ``size``: the book's 256 for 224."""
    return int(round(_size_pair(size)[1] * 256.0 / 224.0))


def train_augs(size=224, scale=RESIZED_CROP_SCALE, ratio=RESIZED_CROP_RATIO,
               mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """The book's training list: random-resized crop, horizontal flip, to-tensor, normalise.

    Returns
    -------
    list
        ``[RandomResizedCropAug(size, scale, ratio), HorizontalFlipAug(0.5),
        ToTensorAug(), NormalizeAug(mean, std)]``; output CHW ``float32``.
    """
    return [RandomResizedCropAug(size, scale=scale, ratio=ratio),
            image.HorizontalFlipAug(0.5),
            ToTensorAug(),
            NormalizeAug(mean, std)]


def test_augs(size=224, resize=None, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """The book's test list: shorter side to 256, centre crop 224, to-tensor, normalise.

    For other sizes the resize keeps the book's proportion (``size * 256 / 224``)
    unless ``resize`` is given.
    """
    w, h = _size_pair(size)
    resize = resize_for_crop(size) if resize is None else int(resize)
    return [image.ResizeAug(resize, interp=1),
            image.CenterCropAug((w, h), interp=1),
            ToTensorAug(),
            NormalizeAug(mean, std)]


# A library function whose name starts with "test" would be collected by pytest
# in any test module that imports it by name.
test_augs.__test__ = False


def simple_train_augs(height, width, flip_prob=0.5):
    """The Gluon write-up's training list: ``HorizontalFlipAug`` + ``RandomCropAug((h, w))``.

    A :class:`MinSizeAug` in front upscales images smaller than the crop. Note
    that ``mxnet.image`` sizes are (width, height); this function takes the
    write-up's (height, width) order and converts. Output stays HWC ``uint8``.
    """
    size = _size_pair((width, height), "crop size")
    return [MinSizeAug(size), image.HorizontalFlipAug(flip_prob), image.RandomCropAug(size)]


def simple_test_augs(height, width):
    """The Gluon write-up's test list: ``CenterCropAug((h, w))``, upscaling small images first."""
    size = _size_pair((width, height), "crop size")
    return [MinSizeAug(size), image.CenterCropAug(size)]
