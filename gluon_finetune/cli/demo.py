"""``gluon-finetune demo``: the book's whole experiment offline, with an HTML report."""
from ..training.config import DEFAULT_IMAGE_SIZE, DEFAULT_MODEL, TrainConfig
from . import add_threads_option, formatter

DESCRIPTION = """\
The book's hotdog experiment from start to end, with no network, into one folder:

  1. data: the real hotdog set if it is already extracted under $MXNET_HOME/datasets
     (`gluon-finetune data download`), else a synthetic hotdog set (2 x 150 training
     and 2 x 100 test pictures of 96-128 px) drawn into OUT/data/hotdog;
  2. source weights: the ImageNet weights of resnet18_v2 if they are already in the
     model cache ($MXNET_HOME/models), else a synthetic source model: resnet18_v2
     pretrained here from scratch on a 10-class synthetic food task and checked on
     its test pictures (OUT/source/, with a .json sidecar);
  3. the book's augmentation grid and a grid of training images;
  4. fine-tuning vs training from scratch, the same epochs and seed (OUT/compare/);
  5. the fine-tuned network's confusion matrix and most confident mistakes;
  6. OUT/report.html: one page with all of it that opens from disk, no server.

It prints which data and which source weights it used. Nothing is downloaded and
nothing is written outside OUT. A second run into the same OUT reuses the synthetic
data and the source model (the pretraining is paid for once) and replaces the rest.

Time on a 2-core AVX2 CPU (AMD Zen 3) without a GPU, measured: about 4 minutes the
first time (3 min 38 s after set-up), 2.5 of them pretraining the source model (the
earlier AVX-512 CPU took 3.5 minutes for a larger demo); about a minute again;
--quick: under half a minute.
Defaults: 48-pixel crops, batch 32, 5 epochs, the book's learning rates
(0.01 fine-tuned with the new output layer at 10x, 0.1 from scratch)."""

EPILOG = """\
examples:
  gluon-finetune demo                                  # writes runs/demo/report.html
  gluon-finetune demo --quick --out /tmp/demo-quick    # every step on tiny sets, < 1 minute
  gluon-finetune demo --data ~/photos --weights source.params --epochs 10
"""


def add_experiment_options(parser, out, book=False):
    """The options of the hotdog experiment, shared by ``demo`` and ``scripts/demo.py``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    out : str
        The caller's default output folder.
    book : bool
        Whether the caller uses the book's settings on real data and weights
        (``run_demo(book=True)``); only the help of the defaults differs.
    """
    def default(book_value, demo_value):
        if book:
            return "%d on real data with real source weights, else %d" % (book_value, demo_value)
        return "%d" % demo_value

    parser.add_argument("--out", default=out, metavar="DIR",
                        help="output folder: new, empty, or the output of an earlier run of this "
                             "experiment (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sets, 32-pixel crops, 2 epochs: every step in under a minute")
    parser.add_argument("--data", metavar="DIR",
                        help="your image folder (train/ and test/, or one folder per class); "
                             "default: the extracted hotdog set, else a synthetic one")
    parser.add_argument("--weights", metavar="FILE",
                        help="source weights (.params of %s, any number of classes); default: "
                             "cached ImageNet weights, else a synthetic source model" % DEFAULT_MODEL)
    parser.add_argument("--epochs", type=int, metavar="N",
                        help="epochs of each run (default: %d; --quick: 2)" % TrainConfig.epochs)
    parser.add_argument("--image-size", type=int, metavar="PX",
                        help="crop size (default: %s; --quick: 32)"
                             % default(DEFAULT_IMAGE_SIZE, 48))  # hotdog.DEMO's (importing it loads MXNet)
    parser.add_argument("--batch-size", type=int, metavar="N",
                        help="batch size (default: %s; --quick: 16)"
                             % default(TrainConfig.batch_size, 32))
    parser.add_argument("--seed", type=int, default=0,
                        help="one seed for data, pretraining and both runs (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_threads_option(parser)


def register(sub):
    p = sub.add_parser("demo", formatter_class=formatter,
                       help="the book's whole experiment offline, with an HTML report",
                       description=DESCRIPTION, epilog=EPILOG)
    add_experiment_options(p, out="runs/demo")
    p.set_defaults(func=run)


def run(args):
    from ..experiments.demo import command_line, run_demo

    run_demo(out=args.out, quick=args.quick, data=args.data, weights=args.weights,
             epochs=args.epochs, image_size=args.image_size, batch_size=args.batch_size,
             seed=args.seed, command=command_line("gluon-finetune"), quiet=args.quiet)
    return 0
