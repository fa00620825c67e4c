"""aug_lists: image augmentation as plain lists of ``mxnet.image`` augmenters.

An *aug_list* is a Python list of callables, each taking an image and returning
an image, applied in order. MXNet's built-in augmenters and the ones added here
mix freely in one list. This package is the public face other Gluon projects
import (``from gluon_finetune.augment import train_augs, AugTransform``); each
job has its own module:

- :mod:`~gluon_finetune.augment.augmenters`  the augmenters ``mxnet.image`` lacks,
  :func:`apply_aug_list` and :func:`apply_aug_list_batch`
- :mod:`~gluon_finetune.augment.ops`         the policies' image operations (PIL's definitions)
- :mod:`~gluon_finetune.augment.opaugs`      one augmenter per operation (:class:`RotateAug`, ...)
- :mod:`~gluon_finetune.augment.policies`    :class:`TrivialAugmentAug`, :class:`RandAugmentAug`,
  :class:`AutoAugmentAug`
- :mod:`~gluon_finetune.augment.erasing`     :class:`RandomErasingAug`
- :mod:`~gluon_finetune.augment.presets`     the book's lists and the Gluon write-up's
- :mod:`~gluon_finetune.augment.crops`       test-time five and ten crops
- :mod:`~gluon_finetune.augment.fastpath`    the uint8 NumPy/OpenCV twins of the lists
- :mod:`~gluon_finetune.augment.transforms`  dataset transforms (:class:`AugTransform`)
- :mod:`~gluon_finetune.augment.spec`        the one-line text spec and the
  preprocessing description of a test list
- :mod:`~gluon_finetune.augment.previews`    the book's preview grids, the policies' figures

The numbers they share (ImageNet mean and std, the random-resized crop's
defaults) live in :mod:`gluon_finetune.constants`.

Importing this package loads MXNet, NumPy and these modules only. The names that
draw (``show_images``, ``apply``, ``preview``: matplotlib) or seed
(``seed_everything``) load their modules the first time they are used, so a
Gluon project that takes ``train_augs`` from here pays for neither.

Example
-------
>>> import mxnet as mx
>>> from gluon_finetune.augment import apply_aug_list, train_augs
>>> img = mx.nd.random.uniform(0, 255, (300, 400, 3)).astype("uint8")
>>> apply_aug_list(img, train_augs()).shape
(3, 224, 224)
"""
from ..constants import IMAGENET_MEAN, IMAGENET_STD, MAX_SIDE
from ..lazy import lazy_getattr
from .augmenters import (
    MinSizeAug,
    NormalizeAug,
    NumpyAugmenter,
    RandomColorAug,
    RandomResizedCropAug,
    ToTensorAug,
    VerticalFlipAug,
    apply_aug_list,
    apply_aug_list_batch,
)
from .crops import five_crop, ten_crop
from .erasing import RandomErasingAug
from .fastpath import AugPlan, compile_aug_list, single_thread_opencv
from .opaugs import (
    OP_AUGMENTERS,
    AutoContrastAug,
    EnhanceBrightnessAug,
    EnhanceColorAug,
    EnhanceContrastAug,
    EnhanceSharpnessAug,
    EqualizeAug,
    IdentityAug,
    InvertAug,
    OpAug,
    PosterizeAug,
    RotateAug,
    ShearXAug,
    ShearYAug,
    SolarizeAug,
    TranslateXAug,
    TranslateYAug,
)
from .policies import AutoAugmentAug, RandAugmentAug, TrivialAugmentAug
from .presets import resize_for_crop, simple_test_augs, simple_train_augs, test_augs, train_augs
from .spec import BOOK_EXAMPLES, known_words, parse_spec, preprocessing_steps, to_spec
from .transforms import AugTransform, CropsTransform

__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "MAX_SIDE", "apply_aug_list", "apply_aug_list_batch",
    "train_augs", "test_augs", "simple_train_augs", "simple_test_augs", "resize_for_crop",
    "VerticalFlipAug", "RandomResizedCropAug", "RandomColorAug", "MinSizeAug",
    "ToTensorAug", "NormalizeAug", "five_crop", "ten_crop", "CropsTransform",
    "AugTransform", "AugPlan", "compile_aug_list", "single_thread_opencv", "apply", "preview",
    "show_images", "seed_everything", "BOOK_EXAMPLES", "known_words", "parse_spec", "to_spec",
    "preprocessing_steps", "NumpyAugmenter", "TrivialAugmentAug", "RandAugmentAug",
    "AutoAugmentAug", "RandomErasingAug", "OpAug", "OP_AUGMENTERS", "RotateAug", "ShearXAug",
    "ShearYAug", "TranslateXAug", "TranslateYAug", "EnhanceBrightnessAug", "EnhanceColorAug",
    "EnhanceContrastAug", "EnhanceSharpnessAug", "PosterizeAug", "SolarizeAug", "AutoContrastAug",
    "EqualizeAug", "InvertAug", "IdentityAug",
]

#: Names loaded on first use (PEP 562): drawing needs matplotlib, which an
#: augmentation pipeline does not.
_LAZY = {"show_images": "..plots", "apply": ".previews", "preview": ".previews",
         "seed_everything": "..seeding"}


__getattr__ = lazy_getattr(__name__, _LAZY)
