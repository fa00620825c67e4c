"""gluon-finetune: fine-tune ImageNet-pretrained MXNet/Gluon networks on image folders.

The library is a set of small modules, each with one job:

- :mod:`gluon_finetune.augment`   aug_list helpers on top of ``mxnet.image`` (augmenters, the
  book's lists, the uint8 fast path, the text spec ``"resized_crop:224,flip"``, previews)
- :mod:`gluon_finetune.constants` ImageNet mean/std and the random-resized crop's defaults
- :mod:`gluon_finetune.imageio`   reading any image file as RGB ``uint8`` HWC
- :mod:`gluon_finetune.plots`     every matplotlib figure
- :mod:`gluon_finetune.threads`   MXNet's OpenMP thread count (every physical core by default)

MXNet itself is not a hard dependency of the distribution, because the CPU wheel
(``mxnet``) and the CUDA wheel (``mxnet-cu112``) install the same import package.
Install one of the extras: ``pip install "gluon-finetune[cpu]"`` or ``"[gpu]"``.
"""
import importlib.util as _importlib_util

__version__ = "0.1.0"

MXNET_MISSING = (
    "gluon-finetune needs MXNet, which is not installed in this Python environment.\n"
    "Install it through one of the package's extras:\n"
    "    pip install \"gluon-finetune[cpu]\"   # CPU wheel: mxnet==1.9.1\n"
    "    pip install \"gluon-finetune[gpu]\"   # CUDA 11.2 wheel: mxnet-cu112==1.9.1\n"
    "(from a checkout: pip install -e \".[cpu]\")"
)

# Checked with find_spec rather than by importing: importing mxnet costs ~3 s,
# which `gluon-finetune --help` should not pay.
if _importlib_util.find_spec("mxnet") is None:
    raise ImportError(MXNET_MISSING)

# MXNet fixes its OpenMP thread count when it loads, to half the CPUs unless told
# otherwise: choose every physical core first (a user's OMP_NUM_THREADS wins).
from . import threads as _threads  # noqa: E402

if not _threads.mxnet_loaded():
    _threads.configure()
