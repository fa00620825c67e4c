"""``gluon-finetune train``: fine-tune a pretrained network on an image folder."""
import argparse
import dataclasses

from ..options import cli_value, default_of, option_of, options
from ..training.config import SCRATCH_LR, TrainConfig
from ..training.recipes import RECIPES, TRAIN_DEFAULT
from . import add_field_option, add_threads_option, formatter

#: The book's settings, as TrainConfig has them.
DEFAULTS = TrainConfig()

DESCRIPTION = """\
Fine-tune an ImageNet-pretrained network on an image folder. As the book does,
the new network keeps the pretrained `features` and gets a fresh Xavier-
initialised `output` layer for your classes, trained with SGD on 224-pixel
crops (the network's own size), the new layer at 10x the rate, weight decay 0.001.

Unless you name a recipe, train uses --recipe head: the features stay as they
are and the head trains on them, computed once, for 10 epochs (batch 32, lr
0.001, momentum 0.9, cosine schedule); with the features cached an epoch takes
milliseconds. On real photos with MobileNet's ImageNet weights it reached
0.93-0.98 on every seed, where the book's recipe (--recipe book: every layer,
batch 128, lr 0.01, no momentum, 5 epochs) ended between 0.58 and 0.88 (README:
Real photos). --recipe book or fast trains every layer; for thousands of
images, where the features have more to learn, try them. Training runs on every
GPU when there is one, on the CPU otherwise. A run whose loss climbs far above
its start, or that collapses to one class, stops with advice.

DIR holds train/<class>/* and test/<class>/* (or one <class>/* folder per class,
split for you with --split), and optionally val/<class>/* (or valid/) with
validation images; without them --val-split holds some training images out.
The best checkpoint is the epoch with the best validation accuracy (the test
accuracy when there are no validation images, an optimistic choice the log
points out). Files that do not decode are skipped with a warning.

The run folder (--out) gets config.json, history.jsonl, log.txt, curves.png and
checkpoints/ (last and best, written atomically). Ctrl-C saves and stops; continue
any stopped or killed run with --resume RUN."""

EPILOG = """\
examples:
  gluon-finetune train --data hotdog --out runs/hotdog
  gluon-finetune train --data photos --split 0.2 --epochs 10 --schedule cosine --momentum 0.9
  gluon-finetune train --data hotdog --weights source.params --image-size 64 --batch-size 32
  gluon-finetune train --data hotdog --scratch --out runs/scratch         # the book's baseline, lr 0.1
  gluon-finetune train --data hotdog --freeze-features --cache-features  # head only, seconds per epoch
  gluon-finetune train --data hotdog --val-split 0.1 --epochs 20 --early-stop 3 --ema 0.998
  gluon-finetune train --data hotdog --mixup 0.2 --cutmix 1.0            # timm's batch mixes
  gluon-finetune train --data hotdog --schedule onecycle --lr 0.001 --freeze-epochs 1 --cache-features \
      --lr-stage-decay 0.3 --epochs 3                                    # = --recipe fast
  gluon-finetune train --resume runs/hotdog --epochs 8                    # continue, train longer
"""


#: Where each field's option shows in ``--help``: the groups, their titles, and the
#: fields in order (the options themselves are declared with the fields, in
#: :class:`~gluon_finetune.training.config.TrainConfig`).
HELP_GROUPS = [
    ("data", None, ["data", "csv", "split", "val_split", "strict", "image_size", "train_augs",
                    "test_augs", "num_workers"]),
    ("model", None, ["model", "weights", "head_layer", "model_root", "allow_download",
                     "freeze_features", "cache_features"]),
    ("optimisation (defaults are the book's, unless the recipe sets them)", None,
     ["recipe", "epochs", "batch_size", "lr", "head_lr_mult", "wd", "momentum", "schedule",
      "step_epochs", "step_factor", "warmup_epochs", "onecycle_pct", "onecycle_div",
      "onecycle_final_div", "onecycle_momentum", "freeze_epochs", "lr_stage_decay",
      "label_smoothing", "divergence_stop", "early_stop", "ema"]),
    ("batch mixes (off by default; timm's Mixup; README: Fine-tuning, MixUp and CutMix)",
     "Each training batch is paired with itself in reverse order (image i with N-1-i).\n"
     "MixUp blends the pair, lam*x + (1-lam)*x'; CutMix pastes a box of x' into x (lam\n"
     "is then the share left uncovered); lam ~ Beta(ALPHA, ALPHA). The targets mix alike,\n"
     "lam*onehot(y) + (1-lam)*onehot(y'), after --label-smoothing, and the loss is taken\n"
     "on them. Train accuracy counts the class with the larger share as the right one.",
     ["mixup", "cutmix", "mix_prob", "mix_switch_prob"]),
    ("imbalanced classes (off by default; `gluon-finetune data check` points out a folder "
     "whose largest class is 3x its smallest)", None,
     ["class_weights", "sampler", "select_metric"]),
    ("run", None, ["out", "ctx", "kvstore", "hybridize", "amp", "seed", "tensorboard", "mlflow",
                   "mlflow_weights", "quiet", "log_interval", "threads"]),
]
FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


def add_option(g, name):
    """Add TrainConfig field ``name``'s option, as its declaration says, to argparse group ``g``."""
    add_field_option(g, FIELDS[name])


def add_training_options(p):
    """Options shared by `train`, `compare` and `lr-find`, from the fields' declarations."""
    p.add_argument("--config", metavar="FILE",
                   help="take the options from a YAML or JSON file (keys as in config.json: "
                        "batch_size: 32, ...), or from a run's config.json (or its folder) to "
                        "repeat it; options given on the command line win over the file")
    for title, description, names in HELP_GROUPS:
        g = p.add_argument_group(title, description)
        for name in names:
            if name == "csv":
                add_csv_options(g)
            elif name == "threads":
                add_threads_option(g)
            else:
                add_option(g, name)


def add_csv_options(g):
    """``--path-col`` and ``--label-col``: the columns of a ``--data`` CSV file."""
    add_option(g, "path_col")
    add_option(g, "label_col")


def config_from_args(args, mode="finetune", default_recipe="book"):
    """The :class:`TrainConfig` of parsed options: each field from its flag, by its declaration."""
    # The recipe when none is named: the caller's (train's is TRAIN_DEFAULT) when
    # fine-tuning; from scratch the book's (its 0.1 is the baseline).
    name = args.recipe or (default_recipe if mode == "finetune" else "book")
    recipe = RECIPES[name].copy()
    if args.freeze_features or mode == "scratch":
        recipe.pop("freeze_epochs", None)  # head-only epochs need features that train afterwards
    if mode == "scratch":
        recipe.pop("cache_features", None)
    if args.freeze_epochs is not None or args.lr_stage_decay is not None:
        # Options for features that train: the head recipe's frozen features yield to them.
        recipe.pop("freeze_features", None)
        recipe.pop("cache_features", None)
    if args.mixup or args.cutmix:
        recipe.pop("cache_features", None)  # mixes need the images, not features computed once
    if str(args.kvstore).startswith("dist"):
        recipe.pop("cache_features", None)  # not in distributed jobs (TrainConfig.resolved)
    values = {}
    for f, o in options(TrainConfig):
        if f.name == "recipe":
            continue
        value = getattr(args, o.dest)
        if o.kind in ("negated", "negated_switch"):
            value = not value
        elif o.parse is not None:
            value = o.parse(value)
        if o.from_recipe and value is None:
            value = recipe.get(f.name, default_of(f))
        values[f.name] = value
    return TrainConfig(mode=mode, recipe=name, **values)


def option_of_field(name):
    """``(argparse dest, file value -> option value)`` of TrainConfig field ``name``."""
    if name == "mode":  # train's --scratch
        return "scratch", lambda v: v == "scratch"
    f = FIELDS[name]
    o = option_of(f)
    return o.dest, (lambda v: cli_value(f, v)[1])


def with_config_file(parser, argv, args):
    """``args`` parsed again from ``argv`` with the ``--config`` file's settings as defaults.

    The file's values become the command's defaults, so an option given on the command
    line wins, and a recipe (the file's or the command line's) fills only what neither
    sets. A run's own ``out`` is not reused (repeating a run writes a new folder), and
    ``compare`` and ``lr-find`` take neither ``out`` nor ``mode`` from a file.
    """
    import os

    from ..errors import UserError
    from ..training.config_file import file_of, read

    command = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub = command.choices[args.command]
    actions = {a.dest: a for a in sub._actions}
    values = read(args.config)
    folder = os.path.dirname(os.path.abspath(file_of(args.config)))
    if args.command != "train" or os.path.abspath(values.get("out") or "") == folder:
        values.pop("out", None)
    if args.command != "train":
        values.pop("mode", None)
    defaults = {}
    for field, value in values.items():
        dest, convert = option_of_field(field)
        action = actions[dest]
        if action.choices and value not in action.choices:
            raise UserError("--config %s: %s must be one of %s, got %r"
                            % (args.config, field, ", ".join(map(str, action.choices)), value))
        defaults[dest] = convert(value) if convert and value is not None else value
    sub.set_defaults(**defaults)
    return parser.parse_args(argv)


def register(sub):
    p = sub.add_parser("train", formatter_class=formatter, help="fine-tune a pretrained network on a folder",
                       description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("--scratch", action="store_true",
                   help="train from random weights instead (the book's baseline, lr %g)" % SCRATCH_LR)
    p.add_argument("--resume", metavar="RUN", help="continue a stopped run folder (other options "
                   "come from its config.json; --epochs may raise the total, --lr set a new rate)")
    p.add_argument("--print-config", action="store_true",
                   help="print the run's resolved settings as YAML (a file --config takes) and "
                        "exit without training")
    add_training_options(p)
    p.set_defaults(func=run)


def run(args):
    from ..errors import UserError
    from ..training.train import fit, resume

    if args.resume:
        if args.data or args.out or args.recipe or args.config or args.print_config:
            raise UserError("--resume takes its data, run folder, recipe and settings from "
                            "RUN/config.json; drop --data/--out/--recipe/--config/--print-config "
                            "(to repeat a run with changes: --config RUN --out NEW)")
        result = resume(args.resume, epochs=args.epochs, lr=args.lr)
    else:
        config = config_from_args(args, mode="scratch" if args.scratch else "finetune",
                                  default_recipe=TRAIN_DEFAULT)
        if args.print_config:
            from ..training.config_file import to_yaml

            print(to_yaml(config.resolved()), end="")
            return 0
        result = fit(config)
    best = result.best
    if best and result.path:  # other workers of a distributed job have no run folder
        from ..runs.selection import describe

        text = "best " + describe(best, result.best_key)
        if result.best_key != "test_acc" and "test_acc" in best:
            text += ", test acc %.3f" % best["test_acc"]
        print("%s; run folder: %s" % (text, result.path))
    return 0
