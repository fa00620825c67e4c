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
from ..inference.int8.options import Int8Options

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


def add_field_option(g, f):
    """Add dataclass field ``f``'s option, as its declaration (:func:`gluon_finetune.options.option`)
    says, to argparse parser or group ``g``."""
    from ..options import default_of, option_of

    o = option_of(f)
    default = default_of(f)
    text = o.help
    # The field's default, which argparse's %(default)s would not show.
    if "{default:g}" in text:
        text = text.replace("{default:g}", "%g" % default)
    text = text.replace("{default}", str(default))
    kwargs = dict(help=text)
    if o.kind == "switch":
        kwargs.update(action=argparse.BooleanOptionalAction,
                      default=None if o.from_recipe else default)
    elif o.kind == "negated_switch":
        kwargs.update(action=argparse.BooleanOptionalAction, default=not default)
    elif o.kind in ("negated", "store_true"):
        kwargs.update(action="store_true")
    else:
        if o.from_recipe:
            default = None
        elif o.show is not None:
            default = o.show(default)
        kwargs.update((key, getattr(o, key)) for key in ("type", "metavar", "choices", "nargs",
                                                         "const") if getattr(o, key) is not None)
        kwargs["default"] = default
    g.add_argument(o.flag, **kwargs)


def add_options(g, cls, names):
    """Add the options of ``cls``'s fields ``names``, in that order, to parser or group ``g``."""
    import dataclasses

    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name in names:
        add_field_option(g, fields[name])


def add_run_options(parser, cls):
    """The options of a command that loads a trained run: RUN_DIR, then ``cls``'s
    ``--checkpoint`` and ``--weights`` (and ``--ctx`` and ``--amp`` when ``cls`` loads the
    network to run it, :class:`~gluon_finetune.inference.options.LoadOptions`), ``--threads``."""
    from ..inference.options import LoadOptions

    parser.add_argument("run", metavar="RUN_DIR", help="a run folder written by `gluon-finetune train`")
    add_options(parser, cls, ["checkpoint", "weights"]
                + (["ctx", "amp"] if issubclass(cls, LoadOptions) else []))
    add_threads_option(parser)


def add_int8_options(parser, cls=None):
    """The ``int8`` switch of command options ``cls`` (when given) and the calibration
    options that go with it (:class:`~gluon_finetune.inference.int8.options.Int8Options`)."""
    if cls is not None:
        add_options(parser, cls, ["int8"])
    add_options(parser, Int8Options, ["calib_data", "calib_images", "calib_mode", "keep_float"])


def checked_options(cls, args):
    """The settings ``cls`` of parsed ``args``, checked as declared (and the INT8 ones with
    them), before a network is loaded."""
    from ..errors import OptionError
    from ..options import check, from_args

    options = check(from_args(cls, args))
    if not options.int8 and Int8Options.from_args(args).sets_calibration:
        raise OptionError("{calib_data} and {calib_images} go with {int8}")
    return options


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
        return err.render(cli_flags())
    return str(err)


def cli_flags():
    """``{field: flag}`` of every declared setting, for an OptionError on the command line.

    The declarations agree on every field they share (``batch_size`` is ``--batch-size``
    in train, evaluate and predict; a test checks it), so one map serves every command.
    """
    from ..inference.options import EvaluateOptions, ExportOptions, PredictOptions
    from ..options import flags
    from ..serve.options import ServeOptions
    from ..training.config import CLI_FLAGS

    return flags(EvaluateOptions, PredictOptions, ExportOptions, ServeOptions, Int8Options,
                 extra=CLI_FLAGS)


def formatter(prog):
    """The help formatter every sub-command uses: keeps line breaks of examples."""
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)
