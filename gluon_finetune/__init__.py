"""gluon-finetune: fine-tune ImageNet-pretrained MXNet/Gluon networks on image folders.

The Python API, in one import (each name loads its module on first use)::

    from gluon_finetune import TrainConfig, fit, resume, load_run, evaluate_run, export_run

    result = fit(TrainConfig(data="data/hotdog", epochs=5))      # a run folder
    model = load_run(result.path)                                 # its best weights
    metrics = evaluate_run(result.path, "data/hotdog")            # no files written
    export_run(result.path, out="exported")                       # symbol + params

The library is a set of packages, each with one job, importing only from the
layers below it (``tests/unit/leaves/test_layout.py`` checks the order)::

    cli                                      the command line, a thin shell
    experiments                              compare, the demo, its report
    inference (int8/)  serve                 predict, evaluate, export; the server
    training                                 the epoch loop, its hooks, the options
    networks   distributed                   zoo and symbol networks; several processes
    runs                                     the run folder: layout, checkpoints, which weights
    data   augment                           image folders to batches; mxnet.image aug_lists
    errors constants fsutil imageio recfile plots seeding signals threads devices
    capability progress metrics lazy doctor  the leaves

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
_API = {"TrainConfig": ".training.config", "fit": ".training.train",
        "resume": ".training.train", "RunResult": ".training.train",
        "Callback": ".training.loop", "load_run": ".inference.predict",
        "evaluate_run": ".inference.evaluate", "export_run": ".inference.export",
        "UserError": ".errors"}

__all__ = sorted(_API) + ["__version__"]


__getattr__ = _lazy.lazy_getattr(__name__, _API)


def __dir__():
    return sorted(set(globals()) | set(_API))
