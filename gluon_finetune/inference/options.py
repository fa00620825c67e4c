"""The settings of evaluate, predict and export, each declared once.

Every field is made by :func:`gluon_finetune.options.option` with its flag, help
and check; the commands' argparse options are derived from these declarations
(:func:`gluon_finetune.cli.add_options`), and :func:`~gluon_finetune.options.check`
refuses a bad value before a network is loaded, naming the field for a Python
caller (``batch_size must be at least 1``) and the flag on the command line
(``--batch-size must be at least 1``). The library's functions take the same
names as keywords (:func:`gluon_finetune.inference.evaluate.evaluate_run`,
:func:`gluon_finetune.inference.export.export_run`) and check them here.

What stays in the command-line modules is not a setting: the inputs (``RUN_DIR``,
images, ``--data``), how the answer is printed (``--json``, ``--csv``,
``--quiet``) and ``--threads``, which must act before MXNet loads.

This module imports nothing heavy (``--help`` reads it).
"""
import dataclasses
import os
from typing import Optional

from ..options import Rule, at_least, option
from ..runs.rundir import WeightChoice
from .int8.options import int8_switch

__all__ = ["LoadOptions", "EvaluateOptions", "PredictOptions", "ExportOptions", "TTA_KINDS",
           "FORMATS", "QUANTIZE", "LATENCY_CALLS", "INT8_NOT_AMP"]

#: ``--tta`` values and the crops they mean.
TTA_KINDS = {"five-crop": "five", "ten-crop": "ten", "five": "five", "ten": "ten"}
#: ``export --format`` choices.
FORMATS = ("mxnet", "onnx")
#: ``export --quantize`` choices.
QUANTIZE = ("int8",)
#: Timed calls of ``predict --latency`` without a number.
LATENCY_CALLS = 50

_AT_LEAST_ONE = at_least(1)

#: The rule of every command with both ``--int8`` and ``--amp``.
INT8_NOT_AMP = Rule(lambda c: not (c.int8 and c.amp),
                    "{int8} and {amp} are two different precisions; choose one")


def batch_size_option():
    """The ``batch_size`` field of evaluate and predict: images per forward pass."""
    return option(32, flag="--batch-size", type=int, metavar="N", check=_AT_LEAST_ONE,
                  help="(default: {default})")


@dataclasses.dataclass(frozen=True)
class LoadOptions(WeightChoice):
    """How a run is loaded as a network: its weights, the device and the precision."""

    ctx: Optional[str] = option(
        None, flag="--ctx", help="device: cpu, gpu0, ... (default: first GPU, else CPU)")
    amp: bool = option(
        False, flag="--amp", kind="store_true",
        help="mixed precision: float16 on a GPU, bfloat16 on a CPU with AVX512_BF16 or AMX; "
             "probabilities within ~1e-2 of float32")


@dataclasses.dataclass(frozen=True)
class EvaluateOptions(LoadOptions):
    """``gluon-finetune evaluate`` / :func:`~gluon_finetune.inference.evaluate.evaluate_run`."""

    tta: Optional[str] = option(
        None, flag="--tta", metavar="five-crop|ten-crop",
        check=(lambda v: v is None or str(v).strip().lower() in TTA_KINDS,
               "unknown {tta} %(value)r; use five-crop (the four corners and the centre) or "
               "ten-crop (the same five and their mirror images)"),
        help="also average the softmax over test-time crops")
    out: Optional[str] = option(
        None, flag="--out", metavar="DIR",
        help="where to write the results: new, empty, or an earlier evaluation's (default: "
             "RUN_DIR/eval)")
    mistakes: int = option(
        16, flag="--mistakes", type=int, metavar="N",
        check=(lambda v: int(v) >= 0, "must be 0 or more"),
        help="mistakes to draw, most confident first (default: {default})")
    batch_size: int = batch_size_option()
    int8: bool = int8_switch()

    RULES = (INT8_NOT_AMP,)


@dataclasses.dataclass(frozen=True)
class PredictOptions(LoadOptions):
    """``gluon-finetune predict``: how many classes, the batch and the timing."""

    path_col: Optional[str] = option(
        None, flag="--path-col", metavar="NAME",
        help="the column of image paths in a CSV input (default: path)")
    top_k: int = option(
        1, flag="--top-k", type=int, metavar="K", check=_AT_LEAST_ONE,
        help="list the K most probable classes (default: {default})")
    batch_size: int = batch_size_option()
    int8: bool = int8_switch()
    latency: Optional[int] = option(
        None, flag="--latency", nargs="?", type=int, const=LATENCY_CALLS, metavar="CALLS",
        check=(lambda v: v is None or v >= 1, "must time at least 1 call"),
        help="also time CALLS calls on one image at a time and print the median and p95 "
             "milliseconds (default: %d calls)" % LATENCY_CALLS)

    RULES = (INT8_NOT_AMP,)


def _plain_name(name):
    return not name or (os.sep not in name and not name.startswith("."))


@dataclasses.dataclass(frozen=True)
class ExportOptions(WeightChoice):
    """``gluon-finetune export`` / :func:`~gluon_finetune.inference.export.export_run`."""

    out: Optional[str] = option(
        None, flag="--out", metavar="DIR",
        help="folder to write (new, empty, or an earlier export; default: RUN_DIR/export)")
    format: str = option(
        "mxnet", flag="--format", metavar="|".join(FORMATS),
        check=(lambda v: v in FORMATS, "unknown {format} %(value)r; use mxnet (symbol + params) "
                                       "or onnx"),
        help="(default: {default})")
    name: Optional[str] = option(
        None, flag="--name", metavar="NAME", check=(_plain_name, "%(value)r is not a plain file name"),
        help="file name stem (default: the model's name)")
    quantize: Optional[str] = option(
        None, flag="--quantize", metavar="int8",
        check=(lambda v: v is None or v in QUANTIZE, "unknown {quantize} %(value)r; use int8"),
        help="export the network quantised to INT8 (oneDNN, CPU; --format mxnet)")

    RULES = (
        Rule(lambda c: c.quantize is None or c.format == "mxnet",
             "{quantize} int8 writes MXNet symbol + params (oneDNN INT8 operators); it cannot "
             "be combined with {format} %(format)s"),
    )
