"""The augmenters ``mxnet.image`` lacks, and how an aug_list runs.

An *aug_list* is a Python list of callables, each taking an image and returning
an image, applied in order (:func:`apply_aug_list`). MXNet's ``mxnet.image``
module provides most of them (``HorizontalFlipAug``, ``RandomCropAug``,
``CenterCropAug``, ``ResizeAug``, ``BrightnessJitterAug``, ...). This module
adds what the book uses and ``mxnet.image`` lacks, written with the same
protocol (an :class:`mxnet.image.Augmenter` subclass with ``__call__`` and
``dumps()``), so built-in and new augmenters mix freely in one list:

- :class:`VerticalFlipAug`
- :class:`RandomResizedCropAug` (torchvision's ``RandomResizedCrop`` meaning of
  ``scale`` and ``ratio``)
- :class:`RandomColorAug` (brightness, contrast, saturation and hue as in
  torchvision's ``ColorJitter``, without modifying the caller's image)
- :class:`MinSizeAug` (upscale an image that is smaller than a crop)
- :class:`ToTensorAug` and :class:`NormalizeAug`

Images enter as HWC ``uint8`` :class:`mxnet.nd.NDArray` (what ``mx.image.imread``
and ``gluon.data.vision.ImageFolderDataset`` return).
"""
import math
import random

import numpy as np
from mxnet import image, nd

from ..constants import IMAGENET_MEAN, IMAGENET_STD, MAX_SIDE, RESIZED_CROP_RATIO, RESIZED_CROP_SCALE
from ..errors import UserError


def apply_aug_list(img, augs):
    """Apply the augmenters in ``augs`` to ``img`` in order (the Gluon write-up's helper)."""
    for f in augs:
        img = f(img)
    return img


def apply_aug_list_batch(data, augs):
    """Apply ``augs`` to each sample of ``data`` and stack the results into one batch.

    Parameters
    ----------
    data : NDArray of shape (N, H, W, C), or a sequence of HWC images
        The samples; a sequence may hold images of different sizes as long as
        ``augs`` brings them to one size.
    augs : list of callables

    Returns
    -------
    NDArray
        ``nd.stack`` of the augmented samples.
    """
    return nd.stack(*[apply_aug_list(d, augs) for d in data])


def _size_pair(size, what="size"):
    """``224`` or ``(w, h)`` -> ``(w, h)``, checked against :data:`MAX_SIDE`."""
    if isinstance(size, (int, np.integer)):
        w = h = int(size)
    else:
        try:
            w, h = (int(v) for v in size)
        except (TypeError, ValueError):
            raise UserError("%s must be an int or a (width, height) pair, got %r" % (what, size)) from None
    if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
        raise UserError("%s %dx%d is out of range: each side must be between 1 and %d pixels"
                        % (what, w, h, MAX_SIDE))
    return w, h


def _check_unit(name, value, top=1.0):
    value = float(value)
    if not 0.0 <= value <= top:
        raise UserError("%s must be between 0 and %g, got %g" % (name, top, value))
    return value


def random_box_sides(area, scale, ratio, tries=10):
    """Up to ``tries`` draws of a random box's two sides, torchvision's way.

    Each draw takes an area fraction uniformly from ``scale`` and an aspect ratio
    log-uniformly from ``ratio``, and yields ``(round(sqrt(a * r)), round(sqrt(a / r)))``
    for box area ``a`` and ratio ``r``: (width, height) for RandomResizedCrop,
    (height, width) for RandomErasing. The caller keeps the first that fits.
    """
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(tries):
        target = area * random.uniform(*scale)
        aspect = math.exp(random.uniform(log_lo, log_hi))
        yield int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))


def check_scale_ratio(what, scale, ratio):
    """``(scale, ratio)`` of a random box as float pairs, or a UserError naming ``what``.

    ``scale`` bounds the box's area as a fraction of the image's (0 < min <= max <= 1),
    ``ratio`` its aspect ratio (0 < min <= max): the random-resized crop's and
    random erasing's parameters alike.
    """
    lo, hi = (float(v) for v in scale)
    if not 0.0 < lo <= hi <= 1.0:
        raise UserError("%s scale must satisfy 0 < min <= max <= 1, got %g-%g" % (what, lo, hi))
    rlo, rhi = (float(v) for v in ratio)
    if not 0.0 < rlo <= rhi:
        raise UserError("%s ratio must satisfy 0 < min <= max, got %g-%g" % (what, rlo, rhi))
    return (lo, hi), (rlo, rhi)


class VerticalFlipAug(image.Augmenter):
    """Flip an image upside down with probability ``p`` (``mxnet.image`` has no such augmenter).

    Parameters
    ----------
    p : float
        Probability of flipping.
    """

    def __init__(self, p=0.5):
        super().__init__(p=p)
        self.p = _check_unit("flip probability", p)

    def __call__(self, src):
        if random.random() < self.p:
            src = nd.flip(src, axis=0)
        return src


class RandomResizedCropAug(image.Augmenter):
    """Crop a random region and resize it to ``size``, as torchvision's ``RandomResizedCrop``.

    The region's area is a uniform fraction of the image's area in ``scale`` and
    its aspect ratio (width / height) is drawn log-uniformly from ``ratio``. After
    ten draws that do not fit in the image, it falls back to a central crop with
    the ratio clamped into ``ratio``, exactly like torchvision, so the two
    pipelines see the same distribution of crops.

    Parameters
    ----------
    size : int or (int, int)
        Output size, square or (width, height).
    scale : (float, float)
        Bounds of the crop's area as a fraction of the image's area.
    ratio : (float, float)
        Bounds of the crop's aspect ratio (width / height).
    interp : int
        OpenCV interpolation code (1 = bilinear, torchvision's default).
    """

    def __init__(self, size, scale=RESIZED_CROP_SCALE, ratio=RESIZED_CROP_RATIO, interp=1):
        self.size = _size_pair(size)
        super().__init__(size=list(self.size), scale=list(scale), ratio=list(ratio), interp=interp)
        self.scale, self.ratio = check_scale_ratio("resized crop", scale, ratio)
        self.interp = interp

    def get_region(self, height, width):
        """Draw the crop box ``(x0, y0, w, h)`` for an image of the given size."""
        for w, h in random_box_sides(height * width, self.scale, self.ratio):
            if 0 < w <= width and 0 < h <= height:
                return random.randint(0, width - w), random.randint(0, height - h), w, h
        in_ratio = float(width) / float(height)
        if in_ratio < self.ratio[0]:
            w, h = width, int(round(width / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            h, w = height, int(round(height * self.ratio[1]))
        else:
            w, h = width, height
        return (width - w) // 2, (height - h) // 2, w, h

    def __call__(self, src):
        x0, y0, w, h = self.get_region(src.shape[0], src.shape[1])
        return image.fixed_crop(src, x0, y0, w, h, self.size, self.interp)


def _min_size_target(w, h, size):
    """(new_w, new_h) that makes a w x h image cover ``size`` = (w, h), keeping its
    aspect ratio; None when it already does."""
    need_w, need_h = size
    if w >= need_w and h >= need_h:
        return None
    factor = max(float(need_w) / w, float(need_h) / h)
    return max(need_w, int(math.ceil(w * factor))), max(need_h, int(math.ceil(h * factor)))


class MinSizeAug(image.Augmenter):
    """Upscale an image, keeping its aspect ratio, until it covers ``size``.

    ``mxnet.image.RandomCropAug`` and ``CenterCropAug`` cope with a small image by
    quietly cropping a smaller region and stretching it; putting this augmenter
    in front makes the crop a real crop of an image that is large enough.

    Parameters
    ----------
    size : int or (int, int)
        The minimum (width, height).
    """

    def __init__(self, size, interp=1):
        self.size = _size_pair(size)
        self.interp = interp
        super().__init__(size=list(self.size), interp=interp)

    def __call__(self, src):
        target = _min_size_target(src.shape[1], src.shape[0], self.size)
        if target is None:
            return src
        return image.imresize(src, target[0], target[1], interp=self.interp)


class RandomColorAug(image.Augmenter):
    """Brightness, contrast, saturation and hue jitter with torchvision's meaning.

    Each factor is drawn uniformly from ``[1 - x, 1 + x]`` (hue: a shift of up to
    ``hue`` of a full turn, ``hue <= 0.5``) and the four jitters are applied in a
    random order, like ``torchvision.transforms.ColorJitter``. The work is done by
    ``mxnet.image``'s own jitter augmenters, with two corrections: they modify
    float input in place and work only on float, so this class runs them on a
    float copy and returns the caller's dtype (clipped to 0-255); and MXNet's
    ``HueJitterAug`` rotates by ``hue * pi``, so the hue given here is doubled
    to mean a fraction of the full colour circle.

    Randomness comes from Python's ``random`` (as in ``mxnet.image``), which
    :func:`gluon_finetune.seeding.seed_everything` seeds.
    """

    def __init__(self, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0):
        super().__init__(brightness=brightness, contrast=contrast,
                         saturation=saturation, hue=hue)
        self.brightness = _check_unit("brightness", brightness)
        self.contrast = _check_unit("contrast", contrast)
        self.saturation = _check_unit("saturation", saturation)
        self.hue = _check_unit("hue", hue, top=0.5)
        jitters = []
        if self.brightness:
            jitters.append(image.BrightnessJitterAug(self.brightness))
        if self.contrast:
            jitters.append(image.ContrastJitterAug(self.contrast))
        if self.saturation:
            jitters.append(image.SaturationJitterAug(self.saturation))
        if self.hue:
            jitters.append(image.HueJitterAug(2.0 * self.hue))
        self._jitters = jitters

    def __call__(self, src):
        if not self._jitters:
            return src
        dtype = src.dtype
        x = src.astype("float32", copy=True)
        # A fresh order per call: shuffling the list in place (as mxnet.image's
        # RandomOrderAug does) would carry state across seed_everything() calls.
        for jitter in random.sample(self._jitters, len(self._jitters)):
            x = jitter(x)
        x = nd.clip(x, 0.0, 255.0)
        if dtype == np.uint8:
            x = (x + 0.5).astype("uint8")
        return x


class NumpyAugmenter(image.Augmenter):
    """An augmenter whose work is done on the HWC ``uint8`` NumPy array.

    Subclasses define :meth:`run_numpy`; ``__call__`` takes an NDArray (or a
    NumPy array) and returns an NDArray like every ``mxnet.image`` augmenter,
    and the fast path (:func:`~gluon_finetune.augment.compile_aug_list`) calls
    :meth:`run_numpy` directly, skipping the two copies. Both routes run the
    same code on the same random draws, so they give the same pixels.
    """

    def run_numpy(self, arr):
        """The augmentation on an HWC ``uint8`` NumPy array; returns a new array."""
        raise NotImplementedError

    def __call__(self, src):
        arr = src.asnumpy() if isinstance(src, nd.NDArray) else np.asarray(src)
        out = self.run_numpy(arr)
        return nd.array(out, dtype=out.dtype)


class ToTensorAug(image.Augmenter):
    """HWC image with values in [0, 255] -> CHW ``float32`` in [0, 1] (``mxnet.image`` has none)."""

    def __init__(self):
        super().__init__()

    def __call__(self, src):
        return nd.image.to_tensor(src)


class NormalizeAug(image.Augmenter):
    """Subtract ``mean`` and divide by ``std`` per channel of a CHW tensor.

    The default is ImageNet's statistics, which the model zoo's pretrained
    networks were trained with.
    """

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        mean = tuple(float(m) for m in mean)
        std = tuple(float(s) for s in std)
        super().__init__(mean=list(mean), std=list(std))
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise UserError("normalize needs 3 means and 3 positive stds, got %r and %r" % (mean, std))
        self.mean, self.std = mean, std

    def __call__(self, src):
        return nd.image.normalize(src, mean=self.mean, std=self.std)

