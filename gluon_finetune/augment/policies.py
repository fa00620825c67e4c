"""Automatic augmentation policies and their operations, as ``mxnet.image`` augmenters.

Three published policies, each one augmenter to put in an aug_list after the
crop and flip and before to-tensor:

- :class:`TrivialAugmentAug`: TrivialAugment Wide (Müller and Hutter, 2021),
  one operation per image at a magnitude drawn uniformly from 31 bins;
- :class:`RandAugmentAug`: RandAugment (Cubuk et al., 2020), ``num_ops``
  operations per image at one fixed magnitude bin;
- :class:`AutoAugmentAug`: AutoAugment's ImageNet policy (Cubuk et al., 2019),
  one of 25 sub-policies of two operations, each with its own probability.

and one augmenter per operation (:class:`RotateAug`, :class:`PosterizeAug`, ...)
to use alone at a chosen magnitude. The operations themselves are the functions
of :mod:`gluon_finetune.augment.ops` (PIL's definitions).

The magnitude tables are torchvision's ``_augmentation_space`` (torchvision
0.29, ``transforms/autoaugment.py``), the de-facto reference; ``num_bins`` is
31 for TrivialAugment and RandAugment, 10 for AutoAugment, and a signed
operation's magnitude gets a random sign:

================  ====================================  ==============================
operation         TrivialAugment Wide                   RandAugment and AutoAugment
================  ====================================  ==============================
shear x / y       0 to 0.99                             0 to 0.3
translate x / y   0 to 32 pixels                        0 to 150/331 of the width / height
rotate            0 to 135 degrees                      0 to 30 degrees
brightness,       factor 1 +- (0 to 0.99)               factor 1 +- (0 to 0.9)
colour, contrast,
sharpness
posterize         8 down to 2 bits                      8 down to 4 bits
solarize          threshold 255 down to 0               threshold 255 down to 0
identity,         no magnitude                          no magnitude (invert: AutoAugment only,
autocontrast,                                           identity: RandAugment only)
equalize
================  ====================================  ==============================

Randomness comes from Python's ``random`` like ``mxnet.image``'s augmenters, so
:func:`~gluon_finetune.seeding.seed_everything` repeats a run and
:class:`~gluon_finetune.augment.AugTransform` gives each data-loader worker
its own stream.
"""
import random

import numpy as np

from ..errors import UserError
from . import ops
from .augmenters import NumpyAugmenter

# --------------------------------------------------------------------------- magnitude tables

#: The ops of TrivialAugment Wide and RandAugment, in torchvision's order.
POLICY_OPS = ("identity", "shear_x", "shear_y", "translate_x", "translate_y", "rotate",
              "brightness", "color", "contrast", "sharpness", "posterize", "solarize",
              "autocontrast", "equalize")


def _linspace(hi, num_bins, lo=0.0):
    """``torch.linspace(lo, hi, num_bins)`` to the bit, so each bin is torchvision's number.

    ATen computes in float32 from both ends (``lo + i * step`` for the first
    half, ``hi - (n - 1 - i) * step`` for the rest); ``np.linspace`` differs in
    the last bit, which matters where a magnitude is truncated (translate's
    ``int(16.0)`` against ``int(15.999998)``).
    """
    lo32, hi32 = np.float32(lo), np.float32(hi)
    step = np.float64((hi32 - lo32) / np.float32(num_bins - 1))
    i = np.arange(num_bins)
    # One rounding to float32 per value (ATen's vectorised loop fuses the multiply
    # and add); the float64 products and sums here are exact.
    first = np.float64(lo32) + step * i
    last = np.float64(hi32) - step * (num_bins - 1 - i)
    return np.where(i < num_bins // 2, first, last).astype(np.float32).astype(np.float64)


def _posterize_bins(num_bins, drop):
    # torchvision: 8 - (arange(num_bins) / ((num_bins - 1) / drop)).round().int()
    return 8 - np.round(np.arange(num_bins) / ((num_bins - 1) / drop)).astype(np.int64)


def wide_space(num_bins):
    """TrivialAugment Wide's magnitudes: op -> (array of bins or None, signed)."""
    space = {"identity": (None, False)}
    for name, top in (("shear_x", 0.99), ("shear_y", 0.99), ("translate_x", 32.0),
                      ("translate_y", 32.0), ("rotate", 135.0), ("brightness", 0.99),
                      ("color", 0.99), ("contrast", 0.99), ("sharpness", 0.99)):
        space[name] = (_linspace(top, num_bins), True)
    space["posterize"] = (_posterize_bins(num_bins, 6), False)
    space["solarize"] = (_linspace(0.0, num_bins, lo=255.0), False)
    space["autocontrast"] = (None, False)
    space["equalize"] = (None, False)
    return space


def standard_space(num_bins, height, width):
    """RandAugment's and AutoAugment's magnitudes for an image of ``height`` x ``width``."""
    space = {"identity": (None, False)}
    for name, top in (("shear_x", 0.3), ("shear_y", 0.3),
                      ("translate_x", 150.0 / 331.0 * width), ("translate_y", 150.0 / 331.0 * height),
                      ("rotate", 30.0), ("brightness", 0.9), ("color", 0.9), ("contrast", 0.9),
                      ("sharpness", 0.9)):
        space[name] = (_linspace(top, num_bins), True)
    space["posterize"] = (_posterize_bins(num_bins, 4), False)
    space["solarize"] = (_linspace(0.0, num_bins, lo=255.0), False)
    space["autocontrast"] = (None, False)
    space["equalize"] = (None, False)
    space["invert"] = (None, False)
    return space


#: AutoAugment's ImageNet policy: 25 sub-policies of (op, probability, magnitude bin of 10).
IMAGENET_POLICY = (
    (("posterize", 0.4, 8), ("rotate", 0.6, 9)),
    (("solarize", 0.6, 5), ("autocontrast", 0.6, None)),
    (("equalize", 0.8, None), ("equalize", 0.6, None)),
    (("posterize", 0.6, 7), ("posterize", 0.6, 6)),
    (("equalize", 0.4, None), ("solarize", 0.2, 4)),
    (("equalize", 0.4, None), ("rotate", 0.8, 8)),
    (("solarize", 0.6, 3), ("equalize", 0.6, None)),
    (("posterize", 0.8, 5), ("equalize", 1.0, None)),
    (("rotate", 0.2, 3), ("solarize", 0.6, 8)),
    (("equalize", 0.6, None), ("posterize", 0.4, 6)),
    (("rotate", 0.8, 8), ("color", 0.4, 0)),
    (("rotate", 0.4, 9), ("equalize", 0.6, None)),
    (("equalize", 0.0, None), ("equalize", 0.8, None)),
    (("invert", 0.6, None), ("equalize", 1.0, None)),
    (("color", 0.6, 4), ("contrast", 1.0, 8)),
    (("rotate", 0.8, 8), ("color", 1.0, 2)),
    (("color", 0.8, 8), ("solarize", 0.8, 7)),
    (("sharpness", 0.4, 7), ("invert", 0.6, None)),
    (("shear_x", 0.6, 5), ("equalize", 1.0, None)),
    (("color", 0.4, 0), ("equalize", 0.6, None)),
    (("equalize", 0.4, None), ("solarize", 0.2, 4)),
    (("solarize", 0.6, 5), ("autocontrast", 0.6, None)),
    (("invert", 0.6, None), ("equalize", 1.0, None)),
    (("color", 0.6, 4), ("contrast", 1.0, 8)),
    (("equalize", 0.8, None), ("equalize", 0.6, None)),
)


class _PolicyBase(NumpyAugmenter):
    """What the policies share: the fill value and interpolation of the geometric operations."""

    def __init__(self, fill=0, interp=0, **kwargs):
        self.fill = ops.check_fill(fill)
        self.interp = ops.check_interp(interp)
        super().__init__(fill=self.fill if np.isscalar(self.fill) else list(self.fill),
                         interp=self.interp, **kwargs)
        self.last_ops = []  # what the last call applied: [(op, magnitude), ...], for tests and previews

    def _apply(self, arr, applied):
        self.last_ops = applied
        out = arr
        for name, magnitude in applied:
            out = ops.apply_op(out, name, magnitude, fill=self.fill, interp=self.interp)
        return out if applied else ops.identity(arr)


def _draw_sign(magnitude, signed):
    return -magnitude if signed and random.random() < 0.5 else magnitude


class TrivialAugmentAug(_PolicyBase):
    """TrivialAugment Wide: one operation per image, its magnitude uniform over the bins.

    Each call picks one of the 14 operations of :data:`POLICY_OPS` uniformly,
    then a magnitude bin uniformly among ``num_magnitude_bins`` (from the
    "wide" table in this module's docstring), then, for a signed operation, a
    sign with probability one half, exactly as torchvision's
    ``TrivialAugmentWide`` does.

    Parameters
    ----------
    num_magnitude_bins : int
        Bins between no effect and the table's largest magnitude (31).
    fill : int or (int, int, int)
        Value of the pixels a geometric operation brings in from outside.
    interp : int
        0 nearest (torchvision's default) or 1 bilinear, for the geometric operations.
    """

    def __init__(self, num_magnitude_bins=31, fill=0, interp=0):
        if int(num_magnitude_bins) < 2:
            raise UserError("num_magnitude_bins must be at least 2, got %r" % (num_magnitude_bins,))
        self.num_magnitude_bins = int(num_magnitude_bins)
        super().__init__(fill, interp, num_magnitude_bins=self.num_magnitude_bins)
        self.space = wide_space(self.num_magnitude_bins)

    def run_numpy(self, arr):
        name = POLICY_OPS[random.randrange(len(POLICY_OPS))]
        bins, signed = self.space[name]
        magnitude = 0.0 if bins is None else float(bins[random.randrange(len(bins))])
        return self._apply(arr, [(name, _draw_sign(magnitude, signed))])


class RandAugmentAug(_PolicyBase):
    """RandAugment: ``num_ops`` operations per image, all at magnitude bin ``magnitude``.

    Each operation is drawn uniformly (with replacement) from the 14 of
    :data:`POLICY_OPS`; its magnitude is bin ``magnitude`` of
    ``num_magnitude_bins`` in the RandAugment table (translations scale with
    the image: 150/331 of its width or height), with a random sign for signed
    operations, as torchvision's ``RandAugment``.

    Parameters
    ----------
    num_ops : int
        Operations per image (2).
    magnitude : int
        Magnitude bin, 0 to ``num_magnitude_bins - 1`` (9).
    num_magnitude_bins : int
        31 by default.
    fill, interp
        As for :class:`TrivialAugmentAug`.
    """

    def __init__(self, num_ops=2, magnitude=9, num_magnitude_bins=31, fill=0, interp=0):
        num_ops, magnitude, bins = int(num_ops), int(magnitude), int(num_magnitude_bins)
        if bins < 2:
            raise UserError("num_magnitude_bins must be at least 2, got %d" % bins)
        if num_ops < 0:
            raise UserError("rand_augment's number of operations must be 0 or more, got %d" % num_ops)
        if not 0 <= magnitude < bins:
            raise UserError("rand_augment's magnitude is a bin from 0 to %d, got %d" % (bins - 1, magnitude))
        self.num_ops, self.magnitude, self.num_magnitude_bins = num_ops, magnitude, bins
        super().__init__(fill, interp, num_ops=num_ops, magnitude=magnitude, num_magnitude_bins=bins)
        self._spaces = {}

    def space(self, height, width):
        """The magnitude table for an image of that size (cached: training crops share one size)."""
        key = (height, width)
        if key not in self._spaces:
            self._spaces[key] = standard_space(self.num_magnitude_bins, height, width)
        return self._spaces[key]

    def run_numpy(self, arr):
        space = self.space(arr.shape[0], arr.shape[1])
        applied = []
        for _ in range(self.num_ops):
            name = POLICY_OPS[random.randrange(len(POLICY_OPS))]
            bins, signed = space[name]
            magnitude = 0.0 if bins is None else float(bins[self.magnitude])
            applied.append((name, _draw_sign(magnitude, signed)))
        return self._apply(arr, applied)


class AutoAugmentAug(_PolicyBase):
    """AutoAugment's published ImageNet policy (:data:`IMAGENET_POLICY`).

    Each call picks one of the 25 sub-policies uniformly and applies each of its
    two operations with the operation's probability, at its magnitude bin of
    10 in the AutoAugment table, with a random sign for signed operations, as
    torchvision's ``AutoAugment(AutoAugmentPolicy.IMAGENET)``.

    Parameters
    ----------
    policy : str
        ``"imagenet"`` (the one policy provided).
    fill, interp
        As for :class:`TrivialAugmentAug`.
    """

    def __init__(self, policy="imagenet", fill=0, interp=0):
        if str(policy).lower() != "imagenet":
            raise UserError("AutoAugment policy %r is not provided; use 'imagenet'" % (policy,))
        self.policy = "imagenet"
        super().__init__(fill, interp, policy=self.policy)
        self.sub_policies = IMAGENET_POLICY
        self._spaces = {}

    def space(self, height, width):
        """The magnitude table (10 bins) for an image of that size."""
        key = (height, width)
        if key not in self._spaces:
            self._spaces[key] = standard_space(10, height, width)
        return self._spaces[key]

    def run_numpy(self, arr):
        space = self.space(arr.shape[0], arr.shape[1])
        sub = self.sub_policies[random.randrange(len(self.sub_policies))]
        applied = []
        for name, prob, bin_index in sub:
            if random.random() <= prob:  # torchvision applies when its draw is <= p
                bins, signed = space[name]
                magnitude = 0.0 if bin_index is None else float(bins[bin_index])
                applied.append((name, _draw_sign(magnitude, signed)))
        return self._apply(arr, applied)
