"""The INT8 options, declared once: calibration folder, image count, mode, float32 layers.

:class:`Int8Options` is what ``evaluate --int8``, ``predict --int8``, ``serve --int8``,
``export --quantize int8`` and :func:`gluon_finetune.inference.int8.quantize.quantize_run`
take. Each field is declared with its option (:func:`gluon_finetune.options.option`):
the commands' ``--calib-*`` and ``--keep-float`` flags and help are derived from it,
:meth:`~Int8Options.check` refuses a bad value before any network is loaded (naming
the field, or on the command line the flag), and :meth:`~Int8Options.from_args`
reads the parsed flags. This module imports nothing heavy (``--help`` reads it).
"""
import dataclasses
from typing import Optional

from ...options import check as check_options
from ...options import from_args, option

__all__ = ["Int8Options", "int8_switch", "CALIB_MODES", "KEEP_FLOAT", "MIN_CALIB_IMAGES",
           "DEFAULT_CALIB_IMAGES"]

CALIB_MODES = ("naive", "entropy")
#: ``keep_float`` choices: which layers besides the output stay float32.
KEEP_FLOAT = ("output", "first-conv", "stage1")
#: Images calibrated on by default: enough for stable min/max ranges; fewer when the run has fewer.
DEFAULT_CALIB_IMAGES = 256
#: Below this many readable calibration images the ranges are guesswork: refused.
MIN_CALIB_IMAGES = 8


@dataclasses.dataclass(frozen=True)
class Int8Options:
    """How a run is quantised to INT8.

    Attributes
    ----------
    calib_data : str, optional
        Folder to calibrate on (see :func:`gluon_finetune.inference.int8.quantize.calibration_pool`);
        default the run's training images.
    calib_images : int, optional
        How many calibration images (default :data:`DEFAULT_CALIB_IMAGES`, or
        all when fewer), drawn with ``seed``.
    calib_mode : {"naive", "entropy"}
        Layer ranges from min/max, or from minimal KL divergence (slower).
    keep_float : {"output", "first-conv", "stage1"}
        Which layers stay float32: only the output layer (the default on every CPU
        measured: on an AVX2 CPU without VNNI, Zen 3, ``first-conv`` was 2-6%
        slower at batch 64 in two sessions), also the first convolution, or also
        the first stage (see :func:`gluon_finetune.inference.int8.quantize.excluded_layers`).
    seed : int
        Which calibration images are drawn.
    """

    calib_data: Optional[str] = option(
        None, flag="--calib-data", metavar="DIR",
        help="images to calibrate INT8 on (default: the run's training images; a folder "
             "with train/ and test/ gives its train/)")
    calib_images: Optional[int] = option(
        None, flag="--calib-images", type=int, metavar="N",
        check=(lambda v: v is None or int(v) >= MIN_CALIB_IMAGES,
               "%%(value)s is too few; calibrate on at least %d images (default %d)"
               % (MIN_CALIB_IMAGES, DEFAULT_CALIB_IMAGES)),
        help="how many calibration images, drawn with a fixed seed (default: %d, or all "
             "when fewer)" % DEFAULT_CALIB_IMAGES)
    calib_mode: str = option(
        "naive", flag="--calib-mode", metavar="|".join(CALIB_MODES),
        check=(lambda v: v in CALIB_MODES,
               "unknown {calib_mode} %(value)r; use naive (min/max of each layer's outputs) or "
               "entropy (ranges that minimise the KL divergence, slower)"),
        help="layer ranges from min/max (naive) or minimal KL divergence (entropy, slower) "
             "(default: {default})")
    keep_float: str = option(
        "output", flag="--keep-float", metavar="|".join(KEEP_FLOAT),
        check=(lambda v: v in KEEP_FLOAT,
               "unknown {keep_float} %(value)r; use output (the default: only the output layer "
               "stays float32), first-conv (the first convolution too) or stage1 (the first "
               "convolution and the first stage too)"),
        help="layers left in float32: only the output layer (output), also the first "
             "convolution (first-conv), or also the first stage (stage1); more float32 is "
             "slower (with or without VNNI) and, on the demo run, no more accurate "
             "(default: {default})")
    seed: int = 0

    def check(self):
        """Refuse an unknown mode or float32 choice, or too few calibration images; return self."""
        return check_options(self)

    @property
    def sets_calibration(self):
        """Whether a calibration folder or image count was given (they need INT8 to mean anything)."""
        return self.calib_data is not None or self.calib_images is not None

    @classmethod
    def from_args(cls, args):
        """The options of parsed command-line ``args`` (``--calib-data`` ... ``--keep-float``)."""
        return from_args(cls, args)

    @classmethod
    def of(cls, options=None, **fields):
        """``options`` (an :class:`Int8Options` or None: the defaults) with ``fields`` replaced."""
        options = options if options is not None else cls()
        return dataclasses.replace(options, **fields) if fields else options


#: The defaults.
DEFAULTS = Int8Options()


def int8_switch():
    """The ``int8`` field of a command that can run the INT8 network (evaluate, predict, serve)."""
    return option(False, flag="--int8", kind="store_true",
                  help="INT8 network through oneDNN (CPU only): quantised from the run, "
                       "calibrated on its training images, cached in RUN_DIR/int8/")
