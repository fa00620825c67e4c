"""``gluon-finetune train``: fine-tune a pretrained network on an image folder."""
import argparse

from ..progress import LINE_SECONDS
from ..training.config import (
    DEFAULT_IMAGE_SIZE,
    FINETUNE_LR,
    MODEL_IMAGE_SIZES,
    SAMPLERS,
    SCRATCH_LR,
    SELECT_METRICS,
    TrainConfig,
)
from ..training.divergence import COLLAPSE_EPOCHS, LOSS_FACTOR, SUSTAIN_BATCHES
from ..training.recipes import RECIPES, TRAIN_DEFAULT, describe
from . import add_threads_option, formatter

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


def add_training_options(p):
    """Options shared by `train`, `compare` and `lr-find`."""
    p.add_argument("--config", metavar="FILE",
                   help="take the options from a YAML or JSON file (keys as in config.json: "
                        "batch_size: 32, ...), or from a run's config.json (or its folder) to "
                        "repeat it; options given on the command line win over the file")
    g = p.add_argument_group("data")
    g.add_argument("--data", metavar="DIR|CSV",
                   help="image folder (train/ and test/, or one folder per class), or a CSV file "
                        "of image paths (relative to its folder) and labels, with an optional "
                        "split column (train, val, test)")
    add_csv_options(g)
    g.add_argument("--split", type=float, metavar="F",
                   help="for a folder without train/test: fraction held out for test (default 0.2)")
    g.add_argument("--val-split", type=float, metavar="F",
                   help="hold out this fraction of each class's training images (seeded by --seed, at "
                        "least one per class) as the validation set that chooses the best checkpoint "
                        "and early stopping, so the test set does not; unused when DIR has a val/ "
                        "or valid/ folder (then that is the validation set)")
    g.add_argument("--strict", action=argparse.BooleanOptionalAction, default=False,
                   help="refuse unreadable files instead of skipping them")
    g.add_argument("--image-size", type=int, default=DEFAULTS.image_size, metavar="PX",
                   help="crop size (default: the network's own, %d; %s)" % (
                       DEFAULT_IMAGE_SIZE, ", ".join("%d for %s" % (v, k)
                                                     for k, v in MODEL_IMAGE_SIZES.items())))
    g.add_argument("--train-augs", metavar="SPEC",
                   help="training augmentations (default: book_train = resized_crop, flip, to_tensor, "
                        "normalize); see `gluon-finetune augment --help`")
    g.add_argument("--test-augs", metavar="SPEC", help="test augmentations (default: book_test)")
    g.add_argument("--workers", type=int, metavar="N",
                   help="data loader processes, one thread each (default: one per 4 cores, 1 to 4, "
                        "none for sets under 256 images); the images are the same with any number")
    g = p.add_argument_group("model")
    g.add_argument("--model", default=DEFAULTS.model,
                   help="model zoo network (mxnet.gluon.model_zoo.vision or GluonCV; default: %(default)s)")
    g.add_argument("--weights", metavar="FILE",
                   help="source weights (.params) instead of the zoo's ImageNet weights; or your "
                        "own network as NET-symbol.json (with NET-0000.params beside it, as "
                        "export writes them): its graph up to the classifier becomes the features")
    g.add_argument("--head-layer", metavar="NAME",
                   help="with --weights NET-symbol.json: the classifier layer to cut off (default: "
                        "the last FullyConnected, or a 1x1 convolution before a flatten)")
    g.add_argument("--model-root", metavar="DIR", help="ImageNet weights cache (default: $MXNET_HOME/models)")
    g.add_argument("--offline", action=argparse.BooleanOptionalAction, default=False,
                   help="never download weights; fail with instructions when they are missing")
    g.add_argument("--freeze-features", action=argparse.BooleanOptionalAction, default=None,
                   help="train the new output layer only")
    g.add_argument("--cache-features", action=argparse.BooleanOptionalAction, default=None,
                   help="with --freeze-features: compute each image's features once, with the test-time "
                        "preprocessing (no random augmentation of the training images), and train the "
                        "output layer on them; the run folder holds the whole network as usual. "
                        "With --freeze-epochs: during the head-only epochs")
    g = p.add_argument_group("optimisation (defaults are the book's, unless the recipe sets them)")
    g.add_argument("--recipe", choices=sorted(RECIPES), default=None,
                   help="a named set of options; the options you give win over it. book: the "
                        "book's, the defaults below. head: %s, the default of train and lr-find "
                        "when fine-tuning: the features stay, the head trains on them computed "
                        "once (chosen on real photos, where the book's recipe diverged; README: "
                        "Real photos). fast: %s (README: Fine-tuning, \"A faster recipe\"). "
                        "compare keeps book. The log and config.json show what the run used"
                        % (describe("head"), describe("fast")))
    # None: not given (a resumed run keeps its own total unless --epochs names a new one)
    g.add_argument("--epochs", type=int, default=None,
                   help="(default: %d; with --resume: the run's own)" % DEFAULTS.epochs)
    g.add_argument("--batch-size", type=int, default=None,
                   help="(default: %d, the book's; the recipe's when it sets one)"
                        % DEFAULTS.batch_size)
    g.add_argument("--lr", type=float, help="learning rate (default: %g; %g with --scratch)"
                   % (FINETUNE_LR, SCRATCH_LR))
    g.add_argument("--head-lr-mult", type=float, default=DEFAULTS.head_lr_mult,
                   help="learning-rate multiplier of the new output layer (default: %(default)g)")
    g.add_argument("--wd", type=float, default=DEFAULTS.wd, help="weight decay (default: %(default)g)")
    g.add_argument("--momentum", type=float, default=None,
                   help="SGD momentum (default: %g, as the book; the recipe's when it sets one)"
                        % DEFAULTS.momentum)
    g.add_argument("--schedule", choices=["constant", "step", "cosine", "onecycle"], default=None,
                   help="learning-rate schedule (default: constant). onecycle (Smith and Topin "
                        "2019, PyTorch's OneCycleLR): the rate rises from lr/25 to --lr over the "
                        "first --onecycle-pct of the steps, then falls to lr/25/1e4, both along a "
                        "cosine; momentum moves the other way, 0.95 -> 0.85 -> 0.95 (replaces "
                        "--momentum). --lr is the peak: try the rate `gluon-finetune lr-find` suggests")
    g.add_argument("--step-epochs", metavar="E,E", default="",
                   help="with --schedule step: epochs after which the rate drops, e.g. 3,4")
    g.add_argument("--step-factor", type=float, default=DEFAULTS.step_factor,
                   help="drop factor of --schedule step (default: %(default)g)")
    g.add_argument("--warmup-epochs", type=float, default=DEFAULTS.warmup_epochs,
                   help="linear warm-up length (default: %(default)g)")
    g.add_argument("--onecycle-pct", type=float, default=DEFAULTS.onecycle_pct, metavar="F",
                   help="onecycle: fraction of the steps spent rising to the peak (default: %(default)g)")
    g.add_argument("--onecycle-div", type=float, default=DEFAULTS.onecycle_div, metavar="D",
                   help="onecycle: the first rate is lr/D (default: %(default)g)")
    g.add_argument("--onecycle-final-div", type=float, default=DEFAULTS.onecycle_final_div, metavar="D",
                   help="onecycle: the last rate is lr/div/D (default: %(default)g)")
    g.add_argument("--onecycle-momentum", default=",".join("%g" % m for m in DEFAULTS.onecycle_momentum),
                   metavar="MAX,MIN",
                   help="onecycle: momentum at the ends and at the peak of the rate (default: "
                        "%(default)s); 'off' keeps --momentum constant")
    g.add_argument("--freeze-epochs", type=int, default=None, metavar="N",
                   help="train the new output layer alone for the first N of --epochs (features "
                        "frozen, BatchNorm on its running statistics), then every layer (fastai's "
                        "fine_tune). The head-only epochs run at the constant --lr; the schedule "
                        "runs over the rest. With --cache-features they train on features computed "
                        "once, so they cost about one forward pass (default: 0)")
    g.add_argument("--lr-stage-decay", type=float, default=None, metavar="F",
                   help="discriminative rates: the last stage of `features` trains at F x lr, the "
                        "one before at F^2 x lr, ..., the stem at the smallest; the head keeps "
                        "--head-lr-mult. E.g. 0.5 on resnet18: stages 4..1 at 0.5, 0.25, 0.125, "
                        "0.0625, the stem 0.031. A network without stages (MobileNet v1, GluonCV's *_v1b "
                        "without `features`) has its layers cut by depth into 4 groups instead, "
                        "and the log says so (default: 1 = off)")
    g.add_argument("--label-smoothing", type=float, default=DEFAULTS.label_smoothing,
                   help="(default: %(default)g)")
    g.add_argument("--no-divergence-stop", action="store_true",
                   help="keep training a run that went wrong. By default a run stops, with advice "
                        "and its last epoch kept, when the training loss stays above %g x its "
                        "starting value (the first batches' mean, at least ln(classes)) for %d "
                        "batches or an epoch, or when a fine-tuned network that did better "
                        "predicts one class for every validation/test image %d epochs in a row "
                        "(README: Real photos, for the runs these thresholds come from)"
                        % (LOSS_FACTOR, SUSTAIN_BATCHES, COLLAPSE_EPOCHS))
    g.add_argument("--early-stop", type=int, metavar="PATIENCE",
                   help="stop when validation accuracy has not improved for PATIENCE epochs; the best "
                        "checkpoint is the run's result (needs a val/ folder or --val-split)")
    g.add_argument("--ema", type=float, metavar="DECAY",
                   help="also keep an exponential moving average of the weights, ema = DECAY*ema + "
                        "(1-DECAY)*w after every step (BatchNorm statistics too), e.g. 0.998 (it "
                        "remembers about 1/(1-DECAY) steps: keep that below the run's steps); it is "
                        "evaluated every epoch, chooses the best checkpoint, is saved beside the raw "
                        "weights, and evaluate/predict/export use it (--weights raw for the others)")
    add_mix_options(p)
    g = p.add_argument_group(
        "imbalanced classes (off by default; `gluon-finetune data check` points out a folder "
        "whose largest class is 3x its smallest)")
    g.add_argument("--class-weights", metavar="auto|FILE",
                   help="weight each image's loss by its class: auto = inverse class frequency, "
                        "N/(classes x n_class), which averages 1 over the training images; or a "
                        "JSON file {\"class\": weight, ...} naming every class")
    g.add_argument("--sampler", choices=SAMPLERS, default=DEFAULTS.sampler,
                   help="training order: random (the book's shuffle) or balanced (each epoch "
                        "draws every class equally often, as many images as the training set "
                        "has; seeded, so a resumed run draws the same) (default: %(default)s)")
    g.add_argument("--select-metric", choices=SELECT_METRICS, default=DEFAULTS.select_metric,
                   help="what chooses the best checkpoint and drives --early-stop: acc, "
                        "balanced_acc (the mean recall of the classes) or macro_f1, measured on "
                        "the validation images (the test images without them) (default: "
                        "%(default)s)")
    g = p.add_argument_group("run")
    g.add_argument("--out", metavar="RUN", help="run folder (default: runs/<mode>-<date>-<time>)")
    g.add_argument("--ctx", default=DEFAULTS.ctx,
                   help="devices: auto (every GPU, else CPU), cpu, gpu, cpu0,cpu1, gpu0,gpu1")
    g.add_argument("--kvstore", default=DEFAULTS.kvstore, help="gradient aggregation (default: %(default)s)")
    g.add_argument("--no-hybridize", action="store_true", help="run the network imperatively")
    g.add_argument("--amp", action=argparse.BooleanOptionalAction, default=False,
                   help="mixed precision (mxnet.contrib.amp): float16 on GPUs, with dynamic loss "
                        "scaling; bfloat16 on CPUs with AVX512_BF16 or AMX, refused on other "
                        "CPUs. Weights stay float32")
    g.add_argument("--seed", type=int, help="random seed (default: drawn once and saved in config.json)")
    g.add_argument("--tensorboard", metavar="DIR",
                   help="also log to TensorBoard in DIR/<run folder name>: loss and lr per step, "
                        "every accuracy per epoch, the curves, training images, the confusion "
                        "matrix and the hyperparameters; `tensorboard --logdir DIR` shows them "
                        "(needs tensorboardX: pip install \"gluon-finetune[tensorboard]\")")
    g.add_argument("--mlflow", nargs="?", const="auto", metavar="URI",
                   help="also log to MLflow: the settings, every epoch's numbers, the run's files "
                        "and confusion matrix, tagged with the version and the data's "
                        "fingerprint; URI is the tracking store (default: MLFLOW_TRACKING_URI, "
                        "else MLflow's own, ./mlflow.db) (needs MLflow: pip install "
                        "\"gluon-finetune[mlflow]\")")
    g.add_argument("--mlflow-weights", action=argparse.BooleanOptionalAction, default=False,
                   help="with --mlflow: upload the best checkpoint's weights too")
    g.add_argument("--quiet", action=argparse.BooleanOptionalAction, default=False,
                   help="no progress bars or progress lines on the terminal (log.txt still "
                        "gets the lines)")
    g.add_argument("--log-interval", type=int, metavar="N",
                   help="where no bar shows (a log file, nohup, CI: stderr is not a terminal), "
                        "a progress line every N batches: batch, loss, images/s and time left; "
                        "log.txt gets them too, so `tail -f RUN/log.txt` shows a run advancing "
                        "(default: one every %g s)" % LINE_SECONDS)
    add_threads_option(g)


def add_csv_options(g):
    """``--path-col`` and ``--label-col``: the columns of a ``--data`` CSV file."""
    g.add_argument("--path-col", metavar="NAME",
                   help="with --data FILE.csv: the column of image paths (default: path)")
    g.add_argument("--label-col", metavar="NAME",
                   help="with --data FILE.csv: the column of labels (default: label)")


def add_mix_options(p):
    """``--mixup``, ``--cutmix``, ``--mix-prob``, ``--mix-switch-prob`` (timm's meaning)."""
    g = p.add_argument_group(
        "batch mixes (off by default; timm's Mixup; README: Fine-tuning, MixUp and CutMix)",
        "Each training batch is paired with itself in reverse order (image i with N-1-i).\n"
        "MixUp blends the pair, lam*x + (1-lam)*x'; CutMix pastes a box of x' into x (lam\n"
        "is then the share left uncovered); lam ~ Beta(ALPHA, ALPHA). The targets mix alike,\n"
        "lam*onehot(y) + (1-lam)*onehot(y'), after --label-smoothing, and the loss is taken\n"
        "on them. Train accuracy counts the class with the larger share as the right one.")
    g.add_argument("--mixup", type=float, default=DEFAULTS.mixup, metavar="ALPHA",
                   help="MixUp with lam ~ Beta(ALPHA, ALPHA); timm's recipes use 0.8, "
                        "0.2 is a mild start (default: %(default)g, off)")
    g.add_argument("--cutmix", type=float, default=DEFAULTS.cutmix, metavar="ALPHA",
                   help="CutMix with lam ~ Beta(ALPHA, ALPHA); timm's recipes use 1.0 "
                        "(default: %(default)g, off)")
    g.add_argument("--mix-prob", type=float, default=DEFAULTS.mix_prob, metavar="P",
                   help="chance that a batch is mixed at all (default: %(default)g)")
    g.add_argument("--mix-switch-prob", type=float, default=DEFAULTS.mix_switch_prob, metavar="P",
                   help="with both --mixup and --cutmix: chance of CutMix rather than MixUp for "
                        "a batch (default: %(default)g)")


def mix_fields(args):
    """The TrainConfig fields of :func:`add_mix_options`."""
    return dict(mixup=args.mixup, cutmix=args.cutmix, mix_prob=args.mix_prob,
                mix_switch_prob=args.mix_switch_prob)


def config_from_args(args, mode="finetune", default_recipe="book"):
    from ..errors import UserError

    try:
        steps = [int(s) for s in args.step_epochs.split(",") if s.strip()]
    except ValueError:
        raise UserError("--step-epochs must be a comma-separated list of epochs, e.g. 3,4") from None
    moms = args.onecycle_momentum.strip().lower()
    try:
        moms = [] if moms in ("off", "none", "") else [float(m) for m in moms.split(",")]
    except ValueError:
        raise UserError("--onecycle-momentum must be MAX,MIN, e.g. 0.95,0.85, or 'off'") from None
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

    def given(name, default):
        value = getattr(args, name)
        return value if value is not None else recipe.get(name, default)

    return TrainConfig(
        data=args.data, path_col=args.path_col, label_col=args.label_col, out=args.out,
        model=args.model, mode=mode, weights=args.weights, head_layer=args.head_layer,
        model_root=args.model_root, allow_download=not args.offline,
        freeze_features=given("freeze_features", False),
        cache_features=given("cache_features", False),
        epochs=given("epochs", DEFAULTS.epochs), batch_size=given("batch_size", DEFAULTS.batch_size),
        lr=given("lr", None), head_lr_mult=args.head_lr_mult, wd=args.wd,
        momentum=given("momentum", DEFAULTS.momentum),
        schedule=given("schedule", DEFAULTS.schedule), step_epochs=steps, step_factor=args.step_factor,
        warmup_epochs=args.warmup_epochs, label_smoothing=args.label_smoothing,
        onecycle_pct=args.onecycle_pct, onecycle_div=args.onecycle_div,
        onecycle_final_div=args.onecycle_final_div, onecycle_momentum=moms,
        freeze_epochs=given("freeze_epochs", DEFAULTS.freeze_epochs),
        lr_stage_decay=given("lr_stage_decay", DEFAULTS.lr_stage_decay), recipe=name,
        image_size=args.image_size, train_augs=args.train_augs, test_augs=args.test_augs,
        num_workers=args.workers, ctx=args.ctx, kvstore=args.kvstore,
        hybridize=not args.no_hybridize, amp=args.amp, seed=args.seed, split=args.split,
        strict=args.strict, val_split=args.val_split, early_stop=args.early_stop, ema=args.ema,
        divergence_stop=not args.no_divergence_stop, quiet=args.quiet,
        class_weights=args.class_weights, sampler=args.sampler, select_metric=args.select_metric,
        tensorboard=args.tensorboard, log_interval=args.log_interval, mlflow=args.mlflow,
        mlflow_weights=args.mlflow_weights,
        **mix_fields(args))


#: TrainConfig fields whose option has another name or form: field -> (argparse dest,
#: file value -> option value). Every other field's option has the field's name.
OPTION_OF_FIELD = {
    "allow_download": ("offline", lambda v: not v),
    "hybridize": ("no_hybridize", lambda v: not v),
    "divergence_stop": ("no_divergence_stop", lambda v: not v),
    "num_workers": ("workers", None),
    "mode": ("scratch", lambda v: v == "scratch"),
    "step_epochs": ("step_epochs", lambda v: ",".join(str(e) for e in v)),
    "onecycle_momentum": ("onecycle_momentum", lambda v: ",".join(repr(m) for m in v) or "off"),
}


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
        dest, convert = OPTION_OF_FIELD.get(field, (field, None))
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
