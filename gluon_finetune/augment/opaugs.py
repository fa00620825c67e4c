"""One augmenter per policy operation, to use alone at a chosen magnitude.

Each class runs one function of :mod:`gluon_finetune.augment.ops` with
probability ``p`` (1 by default). The magnitude means what it means in the
policies (torchvision's ``_augmentation_space``): degrees for
:class:`RotateAug`, the shear factor for :class:`ShearXAug`, pixels for
:class:`TranslateXAug`, ``1 + magnitude`` as the ``ImageEnhance`` factor for
:class:`EnhanceBrightnessAug` and its siblings, bits for :class:`PosterizeAug`,
the threshold for :class:`SolarizeAug`.

A signed operation (geometry and the four enhancements) flips the sign of its
magnitude with probability one half, as the policies do, unless
``random_sign=False``: ``RotateAug(30)`` turns by +30 or -30 degrees,
``RotateAug(30, random_sign=False)`` always by +30.
"""
import random

import numpy as np

from ..errors import UserError
from . import ops
from .augmenters import NumpyAugmenter, _check_unit


class OpAug(NumpyAugmenter):
    """Base class: operation ``op`` (a name in :data:`ops.OPERATIONS`) at ``magnitude``.

    Parameters
    ----------
    magnitude : float
        The operation's magnitude (ignored by the operations without one).
    p : float
        Probability of applying the operation.
    random_sign : bool
        For signed operations, negate the magnitude with probability one half.
    fill : int or (int, int, int)
        Geometric operations: value of the pixels brought in from outside.
    interp : int
        Rotate and shear: 0 nearest (the policies' default) or 1 bilinear.
    """

    op = "identity"

    def __init__(self, magnitude=0.0, p=1.0, random_sign=True, fill=0, interp=0):
        self.magnitude = self._check_magnitude(float(magnitude), bool(random_sign))
        self.p = _check_unit("%s probability" % self.op, p)
        self.signed = self.op in ops.SIGNED
        self.random_sign = bool(random_sign) and self.signed
        self.fill = ops.check_fill(fill)
        self.interp = ops.check_interp(interp)
        kwargs = dict(p=self.p)
        if self.takes_magnitude:
            kwargs["magnitude"] = self.magnitude
        if self.signed:
            kwargs["random_sign"] = self.random_sign
        if ops.OPERATIONS[self.op][1]:
            kwargs["fill"] = self.fill if np.isscalar(self.fill) else list(self.fill)
        super().__init__(**kwargs)

    takes_magnitude = True

    def _check_magnitude(self, magnitude, random_sign):
        return magnitude

    def run_numpy(self, arr):
        if self.p < 1.0 and not random.random() < self.p:
            return ops.identity(arr)
        magnitude = self.magnitude
        if self.random_sign and random.random() < 0.5:
            magnitude = -magnitude
        return ops.apply_op(arr, self.op, magnitude, fill=self.fill, interp=self.interp)


class _NoMagnitude(OpAug):
    takes_magnitude = False

    def __init__(self, p=1.0):
        super().__init__(0.0, p=p)


class _Enhance(OpAug):
    def _check_magnitude(self, magnitude, random_sign):
        lowest = 1.0 - abs(magnitude) if random_sign else 1.0 + magnitude
        if lowest < 0:
            raise UserError("%s: the factor 1 + magnitude must stay >= 0 (magnitude %g%s); use a "
                            "magnitude between -1 and 1" % (self.op, magnitude,
                                                            ", with a random sign" if random_sign else ""))
        return magnitude


class RotateAug(OpAug):
    """Rotate counter-clockwise by ``magnitude`` degrees (policies: up to 30, TrivialAugment 135)."""
    op = "rotate"


class ShearXAug(OpAug):
    """Shear horizontally by factor ``magnitude`` (policies: up to 0.3, TrivialAugment 0.99)."""
    op = "shear_x"


class ShearYAug(OpAug):
    """Shear vertically by factor ``magnitude`` (policies: up to 0.3, TrivialAugment 0.99)."""
    op = "shear_y"


class TranslateXAug(OpAug):
    """Shift right by ``int(magnitude)`` pixels (policies: up to 150/331 of the width, TA 32)."""
    op = "translate_x"


class TranslateYAug(OpAug):
    """Shift down by ``int(magnitude)`` pixels (policies: up to 150/331 of the height, TA 32)."""
    op = "translate_y"


class EnhanceBrightnessAug(_Enhance):
    """``ImageEnhance.Brightness(1 + magnitude)`` (policies: up to 0.9, TrivialAugment 0.99)."""
    op = "brightness"


class EnhanceColorAug(_Enhance):
    """``ImageEnhance.Color(1 + magnitude)``: saturation (policies: up to 0.9, TA 0.99)."""
    op = "color"


class EnhanceContrastAug(_Enhance):
    """``ImageEnhance.Contrast(1 + magnitude)`` (policies: up to 0.9, TrivialAugment 0.99)."""
    op = "contrast"


class EnhanceSharpnessAug(_Enhance):
    """``ImageEnhance.Sharpness(1 + magnitude)`` (policies: up to 0.9, TrivialAugment 0.99)."""
    op = "sharpness"


class PosterizeAug(OpAug):
    """Keep the top ``magnitude`` bits, 0-8 (policies: 8 down to 4, TrivialAugment to 2)."""
    op = "posterize"

    def __init__(self, bits, p=1.0):
        super().__init__(bits, p=p)

    def _check_magnitude(self, magnitude, random_sign):
        if magnitude != int(magnitude) or not 0 <= magnitude <= 8:
            raise UserError("posterize keeps a whole number of bits from 0 to 8, got %g" % magnitude)
        return int(magnitude)


class SolarizeAug(OpAug):
    """Invert values ``>= magnitude``, 0-256 (policies: threshold 255 down to 0)."""
    op = "solarize"

    def __init__(self, threshold, p=1.0):
        super().__init__(threshold, p=p)

    def _check_magnitude(self, magnitude, random_sign):
        if not 0 <= magnitude <= 256:
            raise UserError("solarize's threshold must be between 0 and 256 (256: no change), got %g"
                            % magnitude)
        return magnitude


class AutoContrastAug(_NoMagnitude):
    """``ImageOps.autocontrast``: stretch each channel to 0-255."""
    op = "autocontrast"


class EqualizeAug(_NoMagnitude):
    """``ImageOps.equalize``: flatten each channel's histogram."""
    op = "equalize"


class InvertAug(_NoMagnitude):
    """``255 - x``."""
    op = "invert"


class IdentityAug(_NoMagnitude):
    """Leave the image as it is (one of TrivialAugment's and RandAugment's operations)."""
    op = "identity"


#: operation name -> its augmenter class
OP_AUGMENTERS = {cls.op: cls for cls in (
    RotateAug, ShearXAug, ShearYAug, TranslateXAug, TranslateYAug, EnhanceBrightnessAug,
    EnhanceColorAug, EnhanceContrastAug, EnhanceSharpnessAug, PosterizeAug, SolarizeAug,
    AutoContrastAug, EqualizeAug, InvertAug, IdentityAug)}
