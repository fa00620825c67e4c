"""aug_lists as dataset transforms: ``dataset.transform_first(AugTransform(augs))``.

:class:`AugTransform` runs an aug_list on the fast path and gives every
data-loader worker its own random streams; :class:`CropsTransform` turns an
image into a batch of test-time crops.
"""
import os

from mxnet import image, nd

from ..constants import IMAGENET_MEAN, IMAGENET_STD
from ..errors import UserError
from ..seeding import reseed_worker
from .augmenters import NormalizeAug, ToTensorAug, _size_pair
from .crops import five_crop, ten_crop
from .fastpath import compile_aug_list
from .presets import resize_for_crop
from .spec import to_spec


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
