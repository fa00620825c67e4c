"""``gluon-finetune compare``: the book's experiment, fine-tuning vs training from scratch."""
from ..training.config import SCRATCH_LR
from . import formatter
from .train import add_training_options, config_from_args

DESCRIPTION = """\
Train the same network twice on the same data, the book's experiment:
  1. fine-tuned: pretrained features, new Xavier output layer, lr 0.01 (output 10x);
  2. from scratch: every layer Xavier-initialised, lr 0.1.
Prints the book's line per epoch for each, then one table, and draws both runs'
curves in one plot (OUT/compare.png). The two run folders are OUT/finetune and
OUT/scratch."""

EPILOG = """\
examples:
  gluon-finetune compare --data hotdog --out runs/compare
  gluon-finetune compare --data data/hotdog --weights source.params --image-size 64 --batch-size 32
"""


def register(sub):
    p = sub.add_parser("compare", formatter_class=formatter, help="fine-tune vs train from scratch, side by side",
                       description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("--scratch-lr", type=float, default=SCRATCH_LR,
                   help="learning rate from scratch (default: %(default)g)")
    add_training_options(p)
    p.set_defaults(func=run)


def run(args):
    from ..experiments.compare import compare
    from ..runs.rundir import default_run_path

    config = config_from_args(args)
    config.out = config.out or default_run_path("compare")
    compare(config, scratch_lr=args.scratch_lr)
    return 0
