"""The INT8 options, declared once: calibration folder, image count, mode, float32 layers.

:class:`Int8Options` is what ``evaluate --int8``, ``predict --int8``, ``export
--quantize int8`` and :func:`gluon_finetune.inference.int8.quantize.quantize_run` take. Its
defaults are the command line's defaults, its :meth:`~Int8Options.check`
refuses a bad value before any network is loaded, and
:meth:`~Int8Options.from_args` reads the parsed ``--calib-*`` and
``--keep-float`` options. This module imports nothing heavy (``--help`` reads it).
"""
import dataclasses
from typing import Optional

from ...errors import UserError

__all__ = ["Int8Options", "CALIB_MODES", "KEEP_FLOAT", "MIN_CALIB_IMAGES", "DEFAULT_CALIB_IMAGES"]

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

    calib_data: Optional[str] = None
    calib_images: Optional[int] = None
    calib_mode: str = "naive"
    keep_float: str = "output"
    seed: int = 0

    def check(self):
        """Refuse an unknown mode or float32 choice, or too few calibration images; return self."""
        if self.keep_float not in KEEP_FLOAT:
            raise UserError("unknown --keep-float %r; use output (the default: only the output "
                            "layer stays float32), first-conv (the first convolution too) or "
                            "stage1 (the first convolution and the first stage too)"
                            % (self.keep_float,))
        if self.calib_mode not in CALIB_MODES:
            raise UserError("unknown --calib-mode %r; use naive (min/max of each layer's outputs) "
                            "or entropy (ranges that minimise the KL divergence, slower)"
                            % (self.calib_mode,))
        if self.calib_images is not None and int(self.calib_images) < MIN_CALIB_IMAGES:
            raise UserError("--calib-images %s is too few; calibrate on at least %d images "
                            "(default %d)" % (self.calib_images, MIN_CALIB_IMAGES,
                                              DEFAULT_CALIB_IMAGES))
        return self

    @property
    def sets_calibration(self):
        """Whether a calibration folder or image count was given (they need INT8 to mean anything)."""
        return self.calib_data is not None or self.calib_images is not None

    @classmethod
    def from_args(cls, args):
        """The options of parsed command-line ``args`` (``--calib-data`` ... ``--keep-float``)."""
        return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
                      if hasattr(args, f.name)})

    @classmethod
    def of(cls, options=None, **fields):
        """``options`` (an :class:`Int8Options` or None: the defaults) with ``fields`` replaced."""
        options = options if options is not None else cls()
        return dataclasses.replace(options, **fields) if fields else options


#: The defaults, for the command line's help texts.
DEFAULTS = Int8Options()
