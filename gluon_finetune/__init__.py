"""gluon-finetune: fine-tune ImageNet-pretrained MXNet/Gluon networks on image folders.

The Python API, in one import (each name loads its module on first use)::

    from gluon_finetune import TrainConfig, fit, resume, load_run, evaluate_run, export_run

    result = fit(TrainConfig(data="data/hotdog", epochs=5))      # a run folder
    model = load_run(result.path)                                 # its best weights
    metrics = evaluate_run(result.path, "data/hotdog")            # no files written
    export_run(result.path, out="exported")                       # symbol + params

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
# otherwise: choose every physical core first (a user's OMP_NUM_THREADS wins, and
# GLUON_FINETUNE_THREADS=off opts out; see gluon_finetune.threads).
from . import lazy as _lazy  # noqa: E402
from . import threads as _threads  # noqa: E402

if not _threads.mxnet_loaded():
    _threads.configure()

#: The public API: name -> the module that defines it, imported when first asked for,
#: so `import gluon_finetune` stays cheap (no MXNet, no matplotlib).
_API = {"TrainConfig": ".config", "fit": ".train", "resume": ".train", "RunResult": ".train",
        "Callback": ".loop", "load_run": ".predict", "evaluate_run": ".evaluate",
        "export_run": ".export", "UserError": ".errors"}

__all__ = sorted(_API) + ["__version__"]


__getattr__ = _lazy.lazy_getattr(__name__, _API)


def __dir__():
    return sorted(set(globals()) | set(_API))
