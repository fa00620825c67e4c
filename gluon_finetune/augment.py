"""aug_list helpers: image augmentation as plain lists of ``mxnet.image`` augmenters.

An *aug_list* is a Python list of callables, each taking an image and returning
an image, applied in order. MXNet's ``mxnet.image`` module provides most of them
(``HorizontalFlipAug``, ``RandomCropAug``, ``CenterCropAug``, ``ResizeAug``,
``BrightnessJitterAug``, ...). This module adds what the book uses and
``mxnet.image`` lacks, written with the same protocol (an
:class:`mxnet.image.Augmenter` subclass with ``__call__`` and ``dumps()``), so
built-in and new augmenters mix freely in one list:

- :class:`VerticalFlipAug`
- :class:`RandomResizedCropAug` (torchvision's ``RandomResizedCrop`` meaning of
  ``scale`` and ``ratio``)
- :class:`RandomColorAug` (brightness, contrast, saturation and hue as in
  torchvision's ``ColorJitter``, without modifying the caller's image)
- :class:`MinSizeAug` (upscale an image that is smaller than a crop)
- :class:`ToTensorAug` and :class:`NormalizeAug`

Images enter as HWC ``uint8`` :class:`mxnet.nd.NDArray` (what ``mx.image.imread``
and ``gluon.data.vision.ImageFolderDataset`` return). The book's lists end with
:class:`ToTensorAug` and :class:`NormalizeAug` and so return CHW ``float32``.

The lists stay the public API; :func:`compile_aug_list` is how the loaders
(and :class:`AugTransform`) run them fast: every crop, resize and flip of this
module and of ``mxnet.image`` has a NumPy/OpenCV twin that draws the same random
numbers and computes the same pixels (bicubic resizes may differ by one grey
level: MXNet bundles another OpenCV build), any other augmenter runs as itself,
and the final to-tensor + normalise is done once per batch.

Example
-------
>>> import mxnet as mx
>>> from gluon_finetune.augment import apply_aug_list, train_augs
>>> img = mx.nd.random.uniform(0, 255, (300, 400, 3)).astype("uint8")
>>> apply_aug_list(img, train_augs()).shape
(3, 224, 224)
"""
import math
import os
import random

import numpy as np
from mxnet import image, nd
from mxnet.image.image import _get_interp_method

from .errors import UserError
from .imageio import _opencv
from .plots import show_images
from .seeding import reseed_worker, seed_everything

__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "apply_aug_list", "apply_aug_list_batch",
    "train_augs", "test_augs", "simple_train_augs", "simple_test_augs",
    "VerticalFlipAug", "RandomResizedCropAug", "RandomColorAug", "MinSizeAug",
    "ToTensorAug", "NormalizeAug", "five_crop", "ten_crop", "CropsTransform",
    "AugTransform", "AugPlan", "compile_aug_list", "single_thread_opencv", "apply",
    "show_images", "seed_everything",
]

#: ImageNet channel statistics (RGB, pixel values scaled to [0, 1]).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: The largest crop or resize side accepted (a guard against typos like 22400).
MAX_SIDE = 4096


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

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), interp=1):
        self.size = _size_pair(size)
        super().__init__(size=list(self.size), scale=list(scale), ratio=list(ratio), interp=interp)
        lo, hi = (float(v) for v in scale)
        if not 0.0 < lo <= hi <= 1.0:
            raise UserError("resized crop scale must satisfy 0 < min <= max <= 1, got %g-%g" % (lo, hi))
        rlo, rhi = (float(v) for v in ratio)
        if not 0.0 < rlo <= rhi:
            raise UserError("resized crop ratio must satisfy 0 < min <= max, got %g-%g" % (rlo, rhi))
        self.scale, self.ratio, self.interp = (lo, hi), (rlo, rhi), interp

    def get_region(self, height, width):
        """Draw the crop box ``(x0, y0, w, h)`` for an image of the given size."""
        area = height * width
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        for _ in range(10):
            target = area * random.uniform(*self.scale)
            aspect = math.exp(random.uniform(log_lo, log_hi))
            w = int(round(math.sqrt(target * aspect)))
            h = int(round(math.sqrt(target / aspect)))
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


def resize_for_crop(size):
    """Shorter-side length before a centre crop of ``size``: the book's 256 for 224."""
    return int(round(_size_pair(size)[1] * 256.0 / 224.0))


def train_augs(size=224, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
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


class AugTransform:
    """An aug_list as one picklable callable for ``dataset.transform_first(...)``.

    ``gluon.data.DataLoader(num_workers=k)`` forks ``k`` processes that start
    with copies of the parent's random state; without care every worker would
    draw the same "random" crops. The first call in a new process reseeds
    Python's ``random`` and NumPy there, from ``seed`` and the worker's index
    when ``seed`` is given (repeatable), from the OS otherwise.

    The list runs on the NumPy fast path (:func:`compile_aug_list`) as far as it
    can: the same augmenters, the same random draws, the same pixels, without
    an MXNet operator call per step. Input may be an HWC ``uint8`` NDArray or
    NumPy array; the output is what the aug_list returns (an NDArray).

    Parameters
    ----------
    augs : list of callables
    seed : int, optional
    """

    def __init__(self, augs, seed=None):
        self.augs = list(augs)
        self.seed = seed
        self.plan = compile_aug_list(self.augs)
        self._pid = os.getpid()

    def __call__(self, img):
        if os.getpid() != self._pid:
            reseed_worker(self.seed)
            self._pid = os.getpid()
        out = self.plan.run(img)
        return out if isinstance(out, nd.NDArray) else nd.array(out, dtype=out.dtype)

    def __repr__(self):
        from .augspec import to_spec

        return "AugTransform(%r)" % to_spec(self.augs)


class CropsTransform:
    """Test-time crops as a dataset transform: resize, five/ten crops, to-tensor, normalise.

    Returns a (5 or 10, 3, H, W) ``float32`` batch per image, so a model's
    softmax can be averaged over the crops (the write-up's test-time trick).
    """

    def __init__(self, kind="five", size=224, resize=None, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        if kind not in ("five", "ten"):
            raise UserError("test-time crops must be 'five' or 'ten', got %r" % (kind,))
        self.kind, self.size = kind, _size_pair(size)
        self.resize = image.ResizeAug(resize_for_crop(size) if resize is None else int(resize), interp=1)
        self.post = [ToTensorAug(), NormalizeAug(mean, std)]

    def __call__(self, img):
        img = self.resize(img)
        crop = five_crop if self.kind == "five" else ten_crop
        return crop(img, self.size, self.post)


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
    from .plots import augmentation_rows

    drawn = [(label, [apply_aug_list(img, augs) for _ in range(samples)]) for label, augs in rows]
    return augmentation_rows(drawn, scale=scale, out=out)


# --------------------------------------------------------------------------- NumPy fast path
#
# An MXNet operator call costs ~0.1-0.5 ms of fixed overhead (engine push, OpenMP
# fork-join), more than the work itself on one image: the book's four-step list
# took ~4 ms per 400x500 picture, of which decoding was ~1.5 ms. Here every
# augmenter whose maths is known runs on the HWC uint8 NumPy array with OpenCV
# (the same library and interpolation code MXNet's image operators call), draws
# the same numbers from Python's ``random`` in the same order, and so produces
# the same crop boxes, flips and pixels. A trailing to-tensor + normalise is
# left for the batch (:meth:`AugPlan.finish_batch`): uint8 until the last step,
# then one table look-up per byte.


def _cv2():
    """OpenCV for the fast path, which needs it (imageio's loader allows its absence)."""
    import cv2

    return cv2


def single_thread_opencv():
    """Make OpenCV run on the calling thread only, in this process and the ones it forks.

    Called when an aug_list is compiled, i.e. before data-loader workers fork:
    OpenCV's thread pool, once used, cannot be reconfigured inside a forked
    child (``cv2.setNumThreads`` there hung), and on images of a few hundred
    pixels its threads bought nothing here (decoding: 790-800 img/s with two
    threads, 810-820 with one) while competing with the training's OpenMP threads.
    """
    cv2 = _opencv()
    if not cv2:
        return
    if cv2.getNumThreads() != 1:
        cv2.setNumThreads(1)


def _interp(interp, sizes):
    # mxnet.image's own rule (9 = auto by direction, 10 = random), so the draws match.
    return _get_interp_method(interp, sizes)


def _np_resize(arr, w, h, interp):
    cv2 = _cv2()
    if arr.strides[1] < 0 or arr.strides[0] < 0:  # a flipped view: OpenCV needs positive steps
        arr = np.ascontiguousarray(arr)
    out = cv2.resize(arr, (int(w), int(h)), interpolation=int(interp))
    return out if out.ndim == arr.ndim else out[:, :, None]


def _np_fixed_crop(arr, x0, y0, w, h, size=None, interp=2):
    out = arr[y0:y0 + h, x0:x0 + w]
    if size is not None and (w, h) != size:
        out = _np_resize(out, size[0], size[1], _interp(interp, (h, w, size[1], size[0])))
    return out


def _np_random_resized_crop(aug, arr):
    x0, y0, w, h = aug.get_region(arr.shape[0], arr.shape[1])
    return _np_fixed_crop(arr, x0, y0, w, h, aug.size, aug.interp)


def _np_hflip(aug, arr):
    return arr[:, ::-1] if random.random() < aug.p else arr


def _np_vflip(aug, arr):
    return arr[::-1] if random.random() < aug.p else arr


def _np_resize_short(aug, arr):
    h, w = arr.shape[0], arr.shape[1]
    size = aug.size
    if h > w:
        new_h, new_w = size * h // w, size
    else:
        new_h, new_w = size, size * w // h
    return _np_resize(arr, new_w, new_h, _interp(aug.interp, (h, w, new_h, new_w)))


def _np_force_resize(aug, arr):
    sizes = (arr.shape[0], arr.shape[1], aug.size[1], aug.size[0])
    return _np_resize(arr, aug.size[0], aug.size[1], _interp(aug.interp, sizes))


def _np_random_crop(aug, arr):
    h, w = arr.shape[0], arr.shape[1]
    new_w, new_h = image.scale_down((w, h), aug.size)
    x0 = random.randint(0, w - new_w)
    y0 = random.randint(0, h - new_h)
    return _np_fixed_crop(arr, x0, y0, new_w, new_h, aug.size, aug.interp)


def _np_center_crop(aug, arr):
    h, w = arr.shape[0], arr.shape[1]
    new_w, new_h = image.scale_down((w, h), aug.size)
    x0 = int((w - new_w) / 2)
    y0 = int((h - new_h) / 2)
    return _np_fixed_crop(arr, x0, y0, new_w, new_h, aug.size, aug.interp)


def _np_min_size(aug, arr):
    target = _min_size_target(arr.shape[1], arr.shape[0], aug.size)
    if target is None:
        return arr
    return _np_resize(arr, target[0], target[1], aug.interp)


#: Augmenter class -> NumPy twin ``f(aug, hwc_array) -> hwc_array``. A subclass
#: qualifies only while it keeps the class's own ``__call__`` (so one that
#: overrides ``get_region`` still does, one that rewrites the call does not).
_NUMPY_TWINS = {
    RandomResizedCropAug: _np_random_resized_crop,
    image.HorizontalFlipAug: _np_hflip,
    VerticalFlipAug: _np_vflip,
    image.ResizeAug: _np_resize_short,
    image.ForceResizeAug: _np_force_resize,
    image.RandomCropAug: _np_random_crop,
    image.CenterCropAug: _np_center_crop,
    MinSizeAug: _np_min_size,
}


def _numpy_twin(aug):
    for cls in type(aug).__mro__:
        twin = _NUMPY_TWINS.get(cls)
        if twin is not None:
            if type(aug).__call__ is not cls.__call__:
                return None
            if hasattr(aug, "interp") and aug.interp not in (0, 1, 2, 3, 4, 9, 10):
                return None  # let mxnet.image raise its own error
            return twin
    return None


class AugPlan:
    """An aug_list split into NumPy steps, MXNet steps, and a tensor step for the batch.

    Built by :func:`compile_aug_list`; runs the same augmenters in the same
    order with the same random draws as :func:`apply_aug_list`.

    Attributes
    ----------
    steps : list of (augmenter, function or None)
        Each augmenter with its NumPy twin, or None where the augmenter itself
        runs on an NDArray.
    mean, std : tuple or None
        With ``to_tensor`` True: the final normalisation (None when the list
        ends with a plain :class:`ToTensorAug`).
    to_tensor : bool
        The list ends with :class:`ToTensorAug` (optionally followed by
        :class:`NormalizeAug`): samples stay HWC ``uint8``, :meth:`stack`
        batches them and :meth:`finish_batch` makes the NCHW ``float32`` batch.
    """

    def __init__(self, steps, to_tensor=False, mean=None, std=None):
        self.steps = steps
        self.to_tensor = to_tensor
        self.mean, self.std = mean, std
        self._lut = None

    @property
    def fully_numpy(self):
        """True when no step needs MXNet (the whole list runs on the fast path)."""
        return all(twin is not None for _, twin in self.steps)

    def run_sample(self, img):
        """The list up to (not including) the deferred tensor step: an HWC array.

        Returns a NumPy array (possibly a view) or, if the list does not end on
        the fast path, whatever its last augmenter returned.
        """
        x = img
        for aug, twin in self.steps:
            if twin is not None:
                if isinstance(x, nd.NDArray):
                    x = x.asnumpy()
                x = twin(aug, x)
            else:
                if not isinstance(x, nd.NDArray):
                    x = nd.array(np.ascontiguousarray(x), dtype=x.dtype)
                x = aug(x)
        return x

    def run(self, img):
        """The whole list on one image (the tensor step included)."""
        x = self.run_sample(img)
        if not self.to_tensor:
            return x
        return self.finish_batch(self.stack([x]))[0]

    @staticmethod
    def stack(samples):
        """Stack samples from :meth:`run_sample` into one NumPy batch (N, ...)."""
        samples = [s.asnumpy() if isinstance(s, nd.NDArray) else s for s in samples]
        first = samples[0]
        for s in samples[1:]:
            if s.shape != first.shape:
                raise UserError("cannot put images of shapes %s and %s into one batch: end the "
                                "aug_list with a fixed-size crop or resize" % (first.shape, s.shape))
        return np.stack(samples)

    def finish_batch(self, batch):
        """The deferred tensor step on a stacked batch (from :meth:`stack`).

        Without one, ``batch`` comes back as it is. With one, NHWC ``uint8`` ->
        NCHW ``float32``, divided by 255 and normalised exactly as ``ToTensorAug``
        + ``NormalizeAug`` compute it (float32 ``x / 255``, then
        ``(x - mean) / std``), through a 256-entry table per channel: one
        look-up per byte instead of three passes over floats.
        """
        if not self.to_tensor:
            return batch
        if batch.dtype != np.uint8 or batch.ndim != 4:
            return np.stack([self._tensor_float(s) for s in batch])
        cv2 = _cv2()
        n, h, w, c = batch.shape
        out = np.empty((n, c, h, w), np.float32)
        lut = self._table(c)
        for i in range(n):
            planes = cv2.split(batch[i]) if c > 1 else [batch[i, :, :, 0]]
            for ch in range(c):
                out[i, ch] = cv2.LUT(planes[ch], lut[ch])
        return out

    def _table(self, channels):
        if self._lut is None or self._lut.shape[0] != channels:
            x = np.arange(256, dtype=np.float32) / np.float32(255.0)
            rows = []
            for ch in range(channels):
                v = x
                if self.mean is not None:
                    mean = np.float32(self.mean[ch if len(self.mean) > 1 else 0])
                    std = np.float32(self.std[ch if len(self.std) > 1 else 0])
                    v = (x - mean) / std
                rows.append(v.reshape(1, 256))
            self._lut = np.stack(rows)
        return self._lut

    def _tensor_float(self, s):
        # to_tensor of float input divides by 255 too; done with MXNet's own operators.
        x = nd.image.to_tensor(nd.array(s, dtype=s.dtype))
        if self.mean is not None:
            x = nd.image.normalize(x, mean=self.mean, std=self.std)
        return x.asnumpy()

    def __repr__(self):
        parts = ["%s:%s" % ("numpy" if t else "mxnet", type(a).__name__) for a, t in self.steps]
        if self.to_tensor:
            parts.append("batch:to_tensor" + ("+normalize" if self.mean is not None else ""))
        return "AugPlan(%s)" % ", ".join(parts)


def compile_aug_list(augs):
    """Plan how to run ``augs`` fast; see :class:`AugPlan`.

    Each augmenter with a known NumPy twin (the crops, resizes and flips of this
    module and of ``mxnet.image``) runs on NumPy/OpenCV; any other callable runs
    as itself on an NDArray, so every aug_list still works. A trailing
    :class:`ToTensorAug` (+ :class:`NormalizeAug`) is deferred to the batch.
    """
    augs = list(augs)
    single_thread_opencv()
    to_tensor, mean, std = False, None, None
    if len(augs) >= 2 and type(augs[-1]) is NormalizeAug and type(augs[-2]) is ToTensorAug:
        to_tensor, mean, std = True, augs[-1].mean, augs[-1].std
        augs = augs[:-2]
    elif augs and type(augs[-1]) is ToTensorAug:
        to_tensor = True
        augs = augs[:-1]
    return AugPlan([(aug, _numpy_twin(aug)) for aug in augs], to_tensor, mean, std)
