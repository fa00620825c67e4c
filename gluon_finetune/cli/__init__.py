"""The ``gluon-finetune`` command: sub-commands that are thin shells over the library.

Each sub-command lives in its own module here with two functions:
``register(subparsers)`` adds its parser, and the parser's ``func`` default runs it.
"""
import argparse
import importlib
import os
import sys
import warnings

from .. import __version__
from ..inference.int8.options import CALIB_MODES, DEFAULT_CALIB_IMAGES, DEFAULTS, KEEP_FLOAT, Int8Options

# Order is the order shown in --help.
COMMANDS = ["demo", "augment", "data", "train", "lr-find", "compare", "evaluate", "predict", "serve",
            "export", "launch", "models", "doctor"]

DESCRIPTION = """\
Fine-tune ImageNet-pretrained MXNet/Gluon networks on your own image folders.

The book's hotdog experiment in one command, offline, with an HTML report:
  demo      data, source weights, fine-tune vs scratch, evaluation, report.html

Its steps, one sub-command each:
  augment   preview mxnet.image augmentations on a picture (PNG grid)
  data      get, check, show, generate or pack image folders
  train     fine-tune a pretrained network on a folder (or train it from scratch)
  lr-find   sweep the learning rate on a few batches: a plot and a suggested --lr
  compare   fine-tune vs train from scratch, side by side, as the book does
  evaluate  accuracy, per-class scores, confusion matrix and mistakes of a run
  predict   classify images with a trained run
  serve     an HTTP inference service for a run (Open Inference Protocol, batching, metrics)
  export    a run as MXNet symbol + params (or ONNX) for deployment
  launch    run training on several processes or machines (MXNet's parameter server)
  models    the networks that can be fine-tuned: input size, size, ImageNet top-1
  doctor    versions, CPU flags, threads and GPUs: what this machine can run
"""

EPILOG = """\
examples:
  gluon-finetune demo                                    # the whole experiment: runs/demo/report.html
  gluon-finetune augment --out grid.png                  # the book's augmentations on a built-in picture
  gluon-finetune augment cat.jpg --augs "flip,color:0.5" --out cat-aug.png
  gluon-finetune data synth --out data/hotdog            # an offline hotdog-like folder

Run `gluon-finetune COMMAND --help` for the options of one command.
"""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="gluon-finetune", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version",
                        version="gluon-finetune %s" % __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module("." + name.replace("-", "_"), __name__).register(sub)
    return parser


def main(argv=None):
    """Entry point of the ``gluon-finetune`` console script."""
    # MXNet logs every subgraph pass it applies to a network (oneDNN fusion) unless
    # told not to; users can still turn it on in the environment.
    os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    # The command line as given, for a command that starts copies of itself (serve --workers).
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return run_guarded(_run_command, parser, argv, args)


def _run_command(parser, argv, args):
    if getattr(args, "config", None):
        from .train import with_config_file

        args = with_config_file(parser, argv, args)
    apply_threads(args)
    return args.func(args)


def apply_threads(args):
    """Apply ``--threads`` of parsed ``args`` (when given) before anything imports MXNet.

    MXNet reads its thread count once, when it loads (see :mod:`gluon_finetune.threads`).
    """
    if getattr(args, "threads", None) is not None:
        from ..threads import configure

        configure(args.threads)


def add_threads_option(parser):
    """``--threads N`` for a command that runs a network (MXNet's OpenMP threads)."""
    parser.add_argument("--threads", type=int, metavar="N",
                        help="threads MXNet computes with (default: OMP_NUM_THREADS if set, "
                             "else one per physical core this process may use)")


def add_run_options(parser, ctx=True, amp=True):
    """The options of a command that loads a trained run: RUN_DIR, ``--checkpoint``,
    ``--ctx`` and ``--amp`` (unless asked not to), ``--threads``."""
    parser.add_argument("run", metavar="RUN_DIR", help="a run folder written by `gluon-finetune train`")
    parser.add_argument("--checkpoint", default="best", metavar="best|last",
                        help="best validation accuracy (test accuracy in a run without validation "
                             "images) or last epoch (default: best)")
    parser.add_argument("--weights", default="auto", metavar="auto|ema|raw",
                        help="the run's moving average of the weights (kept with train --ema) or "
                             "the raw weights; auto: the average when the run has one (default)")
    if ctx:
        parser.add_argument("--ctx", default=None,
                            help="device: cpu, gpu0, ... (default: first GPU, else CPU)")
    if amp:
        parser.add_argument("--amp", action="store_true",
                            help="mixed precision: float16 on a GPU, bfloat16 on a CPU with "
                                 "AVX512_BF16 or AMX; probabilities within ~1e-2 of float32")
    add_threads_option(parser)


def add_int8_options(parser, flag=True):
    """``--int8`` (unless ``flag`` is False) and the calibration options that go with it."""
    if flag:
        parser.add_argument("--int8", action="store_true",
                            help="INT8 network through oneDNN (CPU only): quantised from the run, "
                                 "calibrated on its training images, cached in RUN_DIR/int8/")
    parser.add_argument("--calib-data", metavar="DIR",
                        help="images to calibrate INT8 on (default: the run's training images; "
                             "a folder with train/ and test/ gives its train/)")
    parser.add_argument("--calib-images", type=int, metavar="N",
                        help="how many calibration images, drawn with a fixed seed "
                             "(default: %d, or all when fewer)" % DEFAULT_CALIB_IMAGES)
    parser.add_argument("--calib-mode", default=DEFAULTS.calib_mode, metavar="|".join(CALIB_MODES),
                        help="layer ranges from min/max (naive) or minimal KL divergence "
                             "(entropy, slower) (default: %s)" % DEFAULTS.calib_mode)
    parser.add_argument("--keep-float", default=DEFAULTS.keep_float, metavar="|".join(KEEP_FLOAT),
                        help="layers left in float32: only the output layer (output), also the "
                             "first convolution (first-conv), or also the first stage (stage1); "
                             "more float32 is slower (with or without VNNI) and, on the demo "
                             "run, no more accurate (default: %s)" % DEFAULTS.keep_float)


def check_int8_args(args):
    """Refuse option mixes ``--int8`` cannot honour, before a network is loaded."""
    from ..errors import UserError

    if getattr(args, "int8", False) and getattr(args, "amp", False):
        raise UserError("--int8 and --amp are two different precisions; choose one")
    if not getattr(args, "int8", True) and Int8Options.from_args(args).sets_calibration:
        raise UserError("--calib-data and --calib-images go with --int8")


def int8_predictor(model, args):
    """The INT8 version of ``model`` as the parsed ``--calib-*`` options ask, progress on stderr."""
    from ..inference.int8.quantize import quantize_run

    return quantize_run(model, Int8Options.from_args(args),
                        log=lambda line: print(line, file=sys.stderr, flush=True))


def show_warning(message, category, filename, lineno, file=None, line=None):
    """Show a Python warning as one ``warning: ...`` line on stderr, as errors are shown."""
    print("warning: %s" % message, file=sys.stderr if file is None else file, flush=True)


def run_guarded(func, *args):
    """Call ``func(*args)`` the way every command runs: a user mistake is one
    ``error:`` line and its exit code, never a traceback; a warning is one
    ``warning:`` line; Ctrl-C exits with 130."""
    from ..errors import UserError

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            return func(*args) or 0
    except UserError as err:
        print("error: %s" % _cli_text(err), file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `gluon-finetune ... | head` closed the pipe: not an error of ours. Point
        # stdout at devnull so the interpreter's final flush does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _cli_text(err):
    """A user error as the command line says it: an OptionError names flags, not fields."""
    from ..errors import OptionError

    if isinstance(err, OptionError):
        from ..training.config import CLI_FLAGS

        return err.render(CLI_FLAGS)
    return str(err)


def formatter(prog):
    """The help formatter every sub-command uses: keeps line breaks of examples."""
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)
