"""Random erasing (Zhong et al., 2020) on the uint8 image, before to-tensor.

torchvision's ``RandomErasing`` works on the normalised tensor, after
``Normalize``. Here it works on the HWC ``uint8`` image, before
:class:`~gluon_finetune.augment.ToTensorAug`, for two reasons: it then stays on
the uint8 fast path (to-tensor and normalise remain one table look-up per byte
for the whole batch), and it previews like every other augmenter. The box is
drawn exactly as torchvision draws it; what differs is the meaning of ``value``:

- ``0`` (default) fills black. torchvision's ``value=0`` on a normalised tensor
  is the *mean colour*: write ``value="mean"`` (ImageNet's mean, 124/116/104)
  for that.
- ``"random"`` fills with uniform random grey levels 0-255 per pixel and
  channel (torchvision's ``"random"`` is normal noise in normalised units,
  which covers about the same range of colours).
- a grey level or an (R, G, B) triple fills with that colour.
"""
import random

import numpy as np

from ..constants import IMAGENET_MEAN
from ..errors import UserError
from .augmenters import NumpyAugmenter, _check_unit, check_scale_ratio, random_box_sides

#: ImageNet's mean colour as uint8: what 0 is after normalisation.
MEAN_FILL = tuple(int(round(m * 255)) for m in IMAGENET_MEAN)


def _check_value(value):
    if isinstance(value, str):
        if value.lower() not in ("random", "mean"):
            raise UserError("erasing value must be a grey level 0-255, three of them, 'mean' or "
                            "'random', got %r" % value)
        return value.lower()
    values = [value] if np.isscalar(value) else list(value)
    try:
        ok = len(values) in (1, 3) and all(0 <= int(v) <= 255 and int(v) == float(v) for v in values)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise UserError("erasing value must be a grey level 0-255, three of them, 'mean' or "
                        "'random', got %r" % (value,))
    return int(values[0]) if len(values) == 1 else tuple(int(v) for v in values)


class RandomErasingAug(NumpyAugmenter):
    """Erase a random box of the image with probability ``p``, as torchvision's ``RandomErasing``.

    The box's area is a uniform fraction of the image's in ``scale`` and its
    aspect ratio (height / width) log-uniform in ``ratio``; after ten draws that
    do not fit, the image is left alone (torchvision does the same).

    Parameters
    ----------
    p : float
        Probability of erasing (0.5).
    scale : (float, float)
        Bounds of the box's area as a fraction of the image's (0.02, 0.33).
    ratio : (float, float)
        Bounds of the box's aspect ratio (0.3, 3.3).
    value : int, (int, int, int), "mean" or "random"
        The fill; see the module's docstring for how it relates to torchvision's.
    """

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0):
        self.p = _check_unit("erasing probability", p)
        self.scale, self.ratio = check_scale_ratio("erasing", scale, ratio)
        self.value = _check_value(value)
        super().__init__(p=self.p, scale=list(self.scale), ratio=list(self.ratio),
                         value=list(self.value) if isinstance(self.value, tuple) else self.value)

    def get_box(self, height, width):
        """Draw the box ``(y0, x0, h, w)``, or None when ten draws do not fit."""
        for h, w in random_box_sides(height * width, self.scale, self.ratio):
            if h < height and w < width:
                return random.randint(0, height - h), random.randint(0, width - w), h, w
        return None

    def run_numpy(self, arr):
        out = np.array(arr, dtype=np.uint8, copy=True)
        if not random.random() < self.p:
            return out
        box = self.get_box(arr.shape[0], arr.shape[1])
        if box is None:
            return out
        y0, x0, h, w = box
        c = arr.shape[2]
        if self.value == "random":
            # Seeded from Python's random so one stream (seed_everything's, or a
            # worker's) decides everything.
            rng = np.random.RandomState(random.getrandbits(32))
            out[y0:y0 + h, x0:x0 + w] = rng.randint(0, 256, (h, w, c), dtype=np.uint8)
        else:
            fill = np.asarray(MEAN_FILL if self.value == "mean" else self.value, np.uint8)
            if fill.size == 3 and c != 3:  # a colour on a grey image: its mean grey
                fill = np.uint8(round(float(fill.mean())))
            out[y0:y0 + h, x0:x0 + w] = fill
        return out
