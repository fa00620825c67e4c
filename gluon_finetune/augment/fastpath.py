"""The uint8 fast path: an aug_list run on NumPy arrays with OpenCV, same draws, same pixels.

The lists stay the public API; :func:`compile_aug_list` is how the loaders (and
:class:`~gluon_finetune.augment.AugTransform`) run them fast. An MXNet operator
call has a fixed cost (engine push, OpenMP fork-join) larger than the work it
does on one small image, so every crop, resize and flip of
:mod:`gluon_finetune.augment.augmenters` and of ``mxnet.image`` has a twin here
that runs on the HWC ``uint8`` NumPy array with OpenCV (the library and the
interpolation codes MXNet's image operators call), draws the same numbers from
Python's ``random`` in the same order, and so produces the same crop boxes,
flips and pixels (bicubic resizes may differ by one grey level: MXNet bundles
another OpenCV build). The automatic policies, their operations and random
erasing (:class:`~gluon_finetune.augment.augmenters.NumpyAugmenter`) are
written on NumPy/OpenCV in the first place: their fast path is the same code
without the NDArray round trip, so it gives the reference path's pixels
exactly (tested bit for bit). Any other augmenter runs as itself. A trailing to-tensor
+ normalise is left for the batch (:meth:`AugPlan.finish_batch`): ``uint8``
until the last step, then one table look-up per byte.
"""
import random

import numpy as np
from mxnet import image, nd
from mxnet.image.image import _get_interp_method

from ..errors import UserError
from ..imageio import _opencv
from .augmenters import (
    MinSizeAug,
    NormalizeAug,
    NumpyAugmenter,
    RandomResizedCropAug,
    ToTensorAug,
    VerticalFlipAug,
    _min_size_target,
)


def _cv2():
    """OpenCV for the fast path, which needs it (imageio's loader allows its absence)."""
    import cv2

    return cv2


def single_thread_opencv():
    """Make OpenCV run on the calling thread only, in this process and the ones it forks.

    Called when an aug_list is compiled, i.e. before data-loader workers fork:
    OpenCV's thread pool, once used, cannot be reconfigured inside a forked
    child (``cv2.setNumThreads`` there hung), and on images of a few hundred
    pixels its threads bought no speed while competing with the training's
    OpenMP threads.
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


def _np_own(aug, arr):
    # Augmenters written on NumPy (the policies, their operations, random erasing):
    # the reference path is this same call behind an NDArray round trip.
    return aug.run_numpy(arr)


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
    NumpyAugmenter: _np_own,
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
