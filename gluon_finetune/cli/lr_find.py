"""``gluon-finetune lr-find``: the learning-rate range test for a training run."""
from ..training.recipes import TRAIN_DEFAULT
from . import formatter
from .train import add_training_options, config_from_args

DESCRIPTION = """\
Find a learning rate before training (Smith 2017, fastai's lr_find): train on a
few mini-batches while the rate grows exponentially from --start to --end, plot
the smoothed loss against the rate (log scale) and print a suggested --lr.

Takes the training options of `train` (data, model, weights, --freeze-features,
--cache-features, --head-lr-mult, --lr-stage-decay, --momentum, --wd, batch size,
augmentations): the sweep trains what that run would train. The suggestion is
where the smoothed loss falls fastest (the steepest descent), which lies below
the rate at which training diverges; the rate at the minimum loss is printed
too. The sweep stops early once the smoothed loss passes 4x its minimum.

It trains with the run's momentum (--momentum; one-cycle's highest, 0.95, with
--schedule onecycle or --recipe fast): SGD's step is about lr / (1 - momentum),
so a rate found without momentum is about 10x too high for one-cycle.

Nothing is written but the plot: the weights file and any run folder are only
read, and the network in memory is restored after the sweep."""

EPILOG = """\
examples:
  gluon-finetune lr-find --data hotdog
  gluon-finetune lr-find --data data/hotdog --weights source.params --image-size 64 --batch-size 32 \\
      --out lr-find.png
  gluon-finetune lr-find --data hotdog --freeze-features --cache-features --steps 200
"""


def register(sub):
    p = sub.add_parser("lr-find", formatter_class=formatter, conflict_handler="resolve",
                       help="sweep the learning rate on a few batches; plot and suggest --lr",
                       description=DESCRIPTION, epilog=EPILOG)
    add_training_options(p)
    g = p.add_argument_group("sweep")
    g.add_argument("--start", type=float, default=1e-7, help="first rate (default: %(default)g)")
    g.add_argument("--end", type=float, default=10.0, help="last rate (default: %(default)g)")
    g.add_argument("--steps", type=int, metavar="N",
                   help="mini-batches (default: one epoch or 100, whichever is smaller; more "
                        "than an epoch reads the data again)")
    g.add_argument("--out", metavar="PNG",
                   help="the plot (default: runs/lr-find-<date>-<time>.png); a JSON of the "
                        "sweep is written beside it")
    p.set_defaults(func=run)


def run(args):
    import dataclasses
    import os

    from ..errors import UserError
    from ..fsutil import write_json
    from ..networks.symbol_source import short_name
    from ..runs.rundir import default_run_path
    from ..training.lrfind import find_for_config, plot

    if not 0 < args.start < args.end:
        raise UserError("--start and --end must satisfy 0 < start < end, got %g and %g" % (args.start, args.end))
    if args.steps is not None and args.steps < 2:
        raise UserError("--steps must be at least 2")
    out = args.out or default_run_path("lr-find") + ".png"
    if not out.lower().endswith(".png"):
        raise UserError("--out names the plot, a .png file; got %s" % out)
    if os.path.isdir(out):
        raise UserError("--out %s is a folder; give a .png file name" % out)
    config = dataclasses.replace(config_from_args(args, default_recipe=TRAIN_DEFAULT), out=None)
    result = find_for_config(config, start=args.start, end=args.end, steps=args.steps)
    plot(result, out, title="lr-find: %s on %s" % (short_name(config.model), os.path.basename(os.path.normpath(
        config.data))))
    write_json(os.path.splitext(out)[0] + ".json", dict(result.to_dict(), config=config.to_dict()))
    if result.stopped:
        print("stopped after %d steps: %s" % (len(result.lrs), result.stopped))
    print("lowest smoothed loss %.4f at lr %.3g" % (min(result.smoothed), result.min_lr))
    print("suggested --lr %.3g (%s)" % (result.suggestion, result.method))
    print("plot: %s" % out)
    return 0
