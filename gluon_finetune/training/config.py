"""A training run's settings as plain data, written to the run folder as JSON.

Every default is the book's: SGD, learning rate 0.01 with the new head at 10x,
weight decay 0.001, batch 128, 5 epochs, 224-pixel crops (the network's own size when
it was trained at another, e.g. Inception v3's 299), ImageNet mean/std.
Training from scratch uses the book's 0.1.
"""
import dataclasses
from dataclasses import dataclass
from typing import List, Optional

from ..constants import SAMPLERS  # noqa: F401 (the --sampler choices, named here too)
from ..errors import OptionError, UserError
from ..networks import symbol_source
from ..networks.sizes import (  # noqa: F401 (named here too: the options' defaults)
    DEFAULT_IMAGE_SIZE,
    DEFAULT_MODEL,
    MIN_IMAGE_SIZE,
    MODEL_IMAGE_SIZES,
    default_image_size,
    min_image_size,
)
from ..options import Rule, at_least, check, flags, option
from ..progress import LINE_SECONDS
from .divergence import COLLAPSE_EPOCHS, LOSS_FACTOR, SUSTAIN_BATCHES
from .recipes import RECIPES, describe

#: ``--select-metric`` choices: what chooses the best checkpoint and drives early stopping.
SELECT_METRICS = ("acc", "balanced_acc", "macro_f1")
#: ``--schedule`` choices.
SCHEDULES = ("constant", "step", "cosine", "onecycle")

FINETUNE_LR = 0.01
SCRATCH_LR = 0.1


def _epochs_list(text):
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise OptionError("{step_epochs} must be a comma-separated list of epochs, e.g. 3,4") \
            from None


def _momenta(text):
    text = text.strip().lower()
    try:
        return [] if text in ("off", "none", "") else [float(m) for m in text.split(",")]
    except ValueError:
        raise OptionError("{onecycle_momentum} must be MAX,MIN, e.g. 0.95,0.85, or 'off'") \
            from None


_POSITIVE = (lambda v: v > 0, "must be positive")
_AT_LEAST_ONE = at_least(1)
_BETA_ALPHA = (lambda v: v >= 0 and v < float("inf"),
               "must be 0 (off) or a positive Beta alpha such as 0.2 or 1.0, got %(value)r")
_PROBABILITY = (lambda v: 0 <= v <= 1, "is a probability, between 0 and 1; got %(value)r")
_IMAGE_SIZES = ", ".join("%d for %s" % (v, k) for k, v in MODEL_IMAGE_SIZES.items())


@dataclass
class TrainConfig:
    """Everything that decides what a training run does.

    Attributes mirror the ``gluon-finetune train`` options; ``None`` means
    "the default for this mode" and is filled in by :meth:`resolved`. Each field
    is declared once, with its option (:mod:`gluon_finetune.options`); a check that
    reads several fields is a :class:`~gluon_finetune.options.Rule` of ``RULES``. The
    command line, ``--config`` files and the checks are derived from them.
    """

    # ----------------------------------------------------------------- data
    data: Optional[str] = option(
        None, flag="--data", group="data", metavar="DIR|CSV",
        help="image folder (train/ and test/, or one folder per class), or a CSV file "
             "of image paths (relative to its folder) and labels, with an optional "
             "split column (train, val, test)")
    path_col: Optional[str] = option(
        None, flag="--path-col", group="csv", metavar="NAME",
        help="with --data FILE.csv: the column of image paths (default: path)")
    label_col: Optional[str] = option(
        None, flag="--label-col", group="csv", metavar="NAME",
        help="with --data FILE.csv: the column of labels (default: label)")
    out: Optional[str] = option(
        None, flag="--out", group="run", metavar="RUN",
        help="run folder (default: runs/<mode>-<date>-<time>)")
    # ----------------------------------------------------------------- model
    model: str = option(
        DEFAULT_MODEL, flag="--model", group="model",
        help="model zoo network (mxnet.gluon.model_zoo.vision or GluonCV; default: %(default)s)")
    mode: str = "finetune"                 # "finetune" or "scratch" (train's --scratch)
    weights: Optional[str] = option(
        None, flag="--weights", group="model", metavar="FILE",
        help="source weights (.params) instead of the zoo's ImageNet weights; or your "
             "own network as NET-symbol.json (with NET-0000.params beside it, as "
             "export writes them): its graph up to the classifier becomes the features")
    head_layer: Optional[str] = option(
        None, flag="--head-layer", group="model", metavar="NAME",
        help="with --weights NET-symbol.json: the classifier layer to cut off (default: "
             "the last FullyConnected, or a 1x1 convolution before a flatten)")
    model_root: Optional[str] = option(
        None, flag="--model-root", group="model", metavar="DIR",
        help="ImageNet weights cache (default: $MXNET_HOME/models)")
    allow_download: bool = option(
        True, flag="--offline", group="model", kind="negated_switch",
        help="never download weights; fail with instructions when they are missing")
    freeze_features: bool = option(
        False, flag="--freeze-features", group="model", kind="switch", from_recipe=True,
        help="train the new output layer only")
    cache_features: bool = option(
        False, flag="--cache-features", group="model", kind="switch", from_recipe=True,
        help="with --freeze-features: compute each image's features once, with the test-time "
             "preprocessing (no random augmentation of the training images), and train the "
             "output layer on them; the run folder holds the whole network as usual. "
             "With --freeze-epochs: during the head-only epochs")
    # ----------------------------------------------------------------- optimisation
    epochs: int = option(
        5, flag="--epochs", group="optimisation", type=int, from_recipe=True,
        check=_AT_LEAST_ONE,
        help="(default: {default}; with --resume: the run's own)")
    batch_size: int = option(
        128, flag="--batch-size", group="optimisation", type=int, from_recipe=True,
        check=_AT_LEAST_ONE,
        help="(default: {default}, the book's; the recipe's when it sets one)")
    lr: Optional[float] = option(
        None, flag="--lr", group="optimisation", type=float, from_recipe=True, check=_POSITIVE,
        help="learning rate (default: %g; %g with --scratch)" % (FINETUNE_LR, SCRATCH_LR))
    head_lr_mult: float = option(
        10.0, flag="--head-lr-mult", group="optimisation", type=float, check=_POSITIVE,
        help="learning-rate multiplier of the new output layer (default: %(default)g)")
    wd: float = option(
        0.001, flag="--wd", group="optimisation", type=float,
        check=(lambda v: v >= 0, "must be 0 or more"), help="weight decay (default: %(default)g)")
    momentum: float = option(
        0.0, flag="--momentum", group="optimisation", type=float, from_recipe=True,
        check=(lambda v: 0 <= v < 1, "must be in [0, 1)"),
        help="SGD momentum (default: {default:g}, as the book; the recipe's when it sets one)")
    schedule: str = option(
        "constant", flag="--schedule", group="optimisation", from_recipe=True,
        choices=SCHEDULES,
        check=(lambda v: v in SCHEDULES,
               "must be constant, step, cosine or onecycle, got %(value)r"),
        help="learning-rate schedule (default: constant). onecycle (Smith and Topin "
             "2019, PyTorch's OneCycleLR): the rate rises from lr/25 to --lr over the "
             "first --onecycle-pct of the steps, then falls to lr/25/1e4, both along a "
             "cosine; momentum moves the other way, 0.95 -> 0.85 -> 0.95 (replaces "
             "--momentum). --lr is the peak: try the rate `gluon-finetune lr-find` suggests")
    step_epochs: List[int] = option(
        factory=list, flag="--step-epochs", group="optimisation", metavar="E,E",
        parse=_epochs_list, show=lambda v: ",".join(str(e) for e in v),
        help="with --schedule step: epochs after which the rate drops, e.g. 3,4")
    step_factor: float = option(
        0.1, flag="--step-factor", group="optimisation", type=float,
        help="drop factor of --schedule step (default: %(default)g)")
    warmup_epochs: float = option(
        0.0, flag="--warmup-epochs", group="optimisation", type=float,
        check=(lambda v: v >= 0, "must be 0 or more"),
        help="linear warm-up length (default: %(default)g)")
    onecycle_pct: float = option(
        0.25, flag="--onecycle-pct", group="optimisation", type=float, metavar="F",
        check=(lambda v: 0 < v < 1, "must be between 0 and 1"),
        help="onecycle: fraction of the steps spent rising to the peak (default: %(default)g)")
    onecycle_div: float = option(
        25.0, flag="--onecycle-div", group="optimisation", type=float, metavar="D",
        help="onecycle: the first rate is lr/D (default: %(default)g)")
    onecycle_final_div: float = option(
        1e4, flag="--onecycle-final-div", group="optimisation", type=float, metavar="D",
        help="onecycle: the last rate is lr/div/D (default: %(default)g)")
    onecycle_momentum: List[float] = option(
        factory=lambda: [0.95, 0.85], flag="--onecycle-momentum", group="optimisation",
        metavar="MAX,MIN", parse=_momenta, show=lambda v: ",".join(repr(m) for m in v) or "off",
        help="onecycle: momentum at the ends and at the peak of the rate (default: "
             "%(default)s); 'off' keeps --momentum constant")
    freeze_epochs: int = option(
        0, flag="--freeze-epochs", group="optimisation", type=int, metavar="N", from_recipe=True,
        help="train the new output layer alone for the first N of --epochs (features "
             "frozen, BatchNorm on its running statistics), then every layer (fastai's "
             "fine_tune). The head-only epochs run at the constant --lr; the schedule "
             "runs over the rest. With --cache-features they train on features computed "
             "once, so they cost about one forward pass (default: 0)")
    lr_stage_decay: float = option(
        1.0, flag="--lr-stage-decay", group="optimisation", type=float, metavar="F",
        from_recipe=True, check=(lambda v: v > 0, "must be positive (1 = off)"),
        help="discriminative rates: the last stage of `features` trains at F x lr, the "
             "one before at F^2 x lr, ..., the stem at the smallest; the head keeps "
             "--head-lr-mult. E.g. 0.5 on resnet18: stages 4..1 at 0.5, 0.25, 0.125, "
             "0.0625, the stem 0.031. A network without stages (MobileNet v1, GluonCV's *_v1b "
             "without `features`) has its layers cut by depth into 4 groups instead, "
             "and the log says so (default: 1 = off)")
    recipe: str = option(
        "book", flag="--recipe", group="optimisation", choices=tuple(sorted(RECIPES)),
        from_recipe=True,
        help="a named set of options; the options you give win over it. book: the "
             "book's, the defaults below. head: %s, the default of train and lr-find "
             "when fine-tuning: the features stay, the head trains on them computed "
             "once (chosen on real photos, where the book's recipe diverged; README: "
             "Real photos). fast: %s (README: Fine-tuning, \"A faster recipe\"). "
             "compare keeps book. The log and config.json show what the run used"
             % (describe("head"), describe("fast")))
    label_smoothing: float = option(
        0.0, flag="--label-smoothing", group="optimisation", type=float,
        check=(lambda v: 0 <= v < 1, "must be in [0, 1)"), help="(default: %(default)g)")
    divergence_stop: bool = option(
        True, flag="--no-divergence-stop", group="optimisation", kind="negated",
        help="keep training a run that went wrong. By default a run stops, with advice "
             "and its last epoch kept, when the training loss stays above %g x its "
             "starting value (the first batches' mean, at least ln(classes)) for %d "
             "batches or an epoch, or when a fine-tuned network that did better "
             "predicts one class for every validation/test image %d epochs in a row "
             "(README: Real photos, for the runs these thresholds come from)"
             % (LOSS_FACTOR, SUSTAIN_BATCHES, COLLAPSE_EPOCHS))
    # ----------------------------------------------------------------- batch mixes (timm's)
    mixup: float = option(
        0.0, flag="--mixup", group="mixes", type=float, metavar="ALPHA", check=_BETA_ALPHA,
        help="MixUp with lam ~ Beta(ALPHA, ALPHA); timm's recipes use 0.8, "
             "0.2 is a mild start (default: %(default)g, off)")
    cutmix: float = option(
        0.0, flag="--cutmix", group="mixes", type=float, metavar="ALPHA", check=_BETA_ALPHA,
        help="CutMix with lam ~ Beta(ALPHA, ALPHA); timm's recipes use 1.0 "
             "(default: %(default)g, off)")
    mix_prob: float = option(
        1.0, flag="--mix-prob", group="mixes", type=float, metavar="P", check=_PROBABILITY,
        help="chance that a batch is mixed at all (default: %(default)g)")
    mix_switch_prob: float = option(
        0.5, flag="--mix-switch-prob", group="mixes", type=float, metavar="P",
        check=_PROBABILITY,
        help="with both --mixup and --cutmix: chance of CutMix rather than MixUp for "
             "a batch (default: %(default)g)")
    # ----------------------------------------------------------------- input
    image_size: Optional[int] = option(
        None, flag="--image-size", group="data", type=int, metavar="PX",
        check=(lambda v: v is None or 8 <= v <= 4096, "must be between 8 and 4096"),
        help="crop size (default: the network's own, %d; %s)" % (DEFAULT_IMAGE_SIZE, _IMAGE_SIZES))
    train_augs: Optional[str] = option(
        None, flag="--train-augs", group="data", metavar="SPEC",
        help="training augmentations (default: book_train = resized_crop, flip, to_tensor, "
             "normalize); see `gluon-finetune augment --help`")
    test_augs: Optional[str] = option(
        None, flag="--test-augs", group="data", metavar="SPEC",
        help="test augmentations (default: book_test)")
    num_workers: Optional[int] = option(
        None, flag="--workers", group="data", type=int, metavar="N",
        check=(lambda v: v is None or v >= 0, "must be 0 or more"),
        help="data loader processes, one thread each (default: one per 4 cores, 1 to 4, "
             "none for sets under 256 images); the images are the same with any number")
    # ----------------------------------------------------------------- run
    ctx: str = option(
        "auto", flag="--ctx", group="run",
        help="devices: auto (every GPU, else CPU), cpu, gpu, cpu0,cpu1, gpu0,gpu1")
    kvstore: str = option(
        "device", flag="--kvstore", group="run",
        help="gradient aggregation (default: %(default)s)")
    hybridize: bool = option(
        True, flag="--no-hybridize", group="run", kind="negated",
        help="run the network imperatively")
    amp: bool = option(
        False, flag="--amp", group="run", kind="switch",
        help="mixed precision (mxnet.contrib.amp): float16 on GPUs, with dynamic loss "
             "scaling; bfloat16 on CPUs with AVX512_BF16 or AMX, refused on other "
             "CPUs. Weights stay float32")
    seed: Optional[int] = option(
        None, flag="--seed", group="run", type=int,
        help="random seed (default: drawn once and saved in config.json)")
    split: Optional[float] = option(
        None, flag="--split", group="data", type=float, metavar="F",
        check=(lambda v: v is None or 0 < v < 1, "must be between 0 and 1"),
        help="for a folder without train/test: fraction held out for test (default 0.2)")
    val_split: Optional[float] = option(
        None, flag="--val-split", group="data", type=float, metavar="F",
        check=(lambda v: v is None or 0 < v < 1,
               "must be between 0 and 1 (e.g. 0.1: a tenth of each class's training "
               "images held out for validation)"),
        help="hold out this fraction of each class's training images (seeded by --seed, at "
             "least one per class) as the validation set that chooses the best checkpoint "
             "and early stopping, so the test set does not; unused when DIR has a val/ "
             "or valid/ folder (then that is the validation set)")
    early_stop: Optional[int] = option(
        None, flag="--early-stop", group="optimisation", type=int, metavar="PATIENCE",
        check=(lambda v: v is None or v >= 1,
               "must be at least 1 (epochs without a better validation accuracy)"),
        help="stop when validation accuracy has not improved for PATIENCE epochs; the best "
             "checkpoint is the run's result (needs a val/ folder or --val-split)")
    ema: Optional[float] = option(
        None, flag="--ema", group="optimisation", type=float, metavar="DECAY",
        check=(lambda v: v is None or 0 < v < 1,
               "must be between 0 and 1 (the decay, e.g. 0.999: the average remembers "
               "about 1/(1-decay) steps)"),
        help="also keep an exponential moving average of the weights, ema = DECAY*ema + "
             "(1-DECAY)*w after every step (BatchNorm statistics too), e.g. 0.998 (it "
             "remembers about 1/(1-DECAY) steps: keep that below the run's steps); it is "
             "evaluated every epoch, chooses the best checkpoint, is saved beside the raw "
             "weights, and evaluate/predict/export use it (--weights raw for the others)")
    # ----------------------------------------------------------------- imbalanced classes
    class_weights: Optional[str] = option(
        None, flag="--class-weights", group="imbalance", metavar="auto|FILE",
        help="weight each image's loss by its class: auto = inverse class frequency, "
             "N/(classes x n_class), which averages 1 over the training images; or a "
             "JSON file {\"class\": weight, ...} naming every class")
    sampler: str = option(
        "random", flag="--sampler", group="imbalance", choices=SAMPLERS,
        check=(lambda v: v in SAMPLERS, "must be random (the book's shuffle) or balanced (every "
                                         "class equally often), got %(value)r"),
        help="training order: random (the book's shuffle) or balanced (each epoch "
             "draws every class equally often, as many images as the training set "
             "has; seeded, so a resumed run draws the same) (default: %(default)s)")
    select_metric: str = option(
        "acc", flag="--select-metric", group="imbalance", choices=SELECT_METRICS,
        check=(lambda v: v in SELECT_METRICS, "must be acc, balanced_acc (the mean recall of "
                                              "the classes) or macro_f1, got %(value)r"),
        help="what chooses the best checkpoint and drives --early-stop: acc, "
             "balanced_acc (the mean recall of the classes) or macro_f1, measured on "
             "the validation images (the test images without them) (default: "
             "%(default)s)")
    # ----------------------------------------------------------------- tracking and output
    tensorboard: Optional[str] = option(
        None, flag="--tensorboard", group="run", metavar="DIR",
        help="also log to TensorBoard in DIR/<run folder name>: loss and lr per step, "
             "every accuracy per epoch, the curves, training images, the confusion "
             "matrix and the hyperparameters; `tensorboard --logdir DIR` shows them "
             "(needs tensorboardX: pip install \"gluon-finetune[tensorboard]\")")
    mlflow: Optional[str] = option(
        None, flag="--mlflow", group="run", nargs="?", const="auto", metavar="URI",
        help="also log to MLflow: the settings, every epoch's numbers, the run's files "
             "and confusion matrix, tagged with the version and the data's "
             "fingerprint; URI is the tracking store (default: MLFLOW_TRACKING_URI, "
             "else MLflow's own, ./mlflow.db) (needs MLflow: pip install "
             "\"gluon-finetune[mlflow]\")")
    mlflow_weights: bool = option(
        False, flag="--mlflow-weights", group="run", kind="switch",
        help="with --mlflow: upload the best checkpoint's weights too")
    strict: bool = option(
        False, flag="--strict", group="data", kind="switch",
        help="refuse unreadable files instead of skipping them")
    quiet: bool = option(
        False, flag="--quiet", group="run", kind="switch",
        help="no progress bars or progress lines on the terminal (log.txt still "
             "gets the lines)")
    log_interval: Optional[int] = option(
        None, flag="--log-interval", group="run", type=int, metavar="N",
        check=(lambda v: v is None or v >= 1,
               "must be at least 1 (batches between progress lines)"),
        help="where no bar shows (a log file, nohup, CI: stderr is not a terminal), "
             "a progress line every N batches: batch, loss, images/s and time left; "
             "log.txt gets them too, so `tail -f RUN/log.txt` shows a run advancing "
             "(default: one every %g s)" % LINE_SECONDS)

    def resolved(self):
        """A copy with mode-dependent defaults filled in and every value checked."""
        c = dataclasses.replace(self)
        if c.mode not in ("finetune", "scratch"):
            raise UserError("mode must be 'finetune' or 'scratch', got %r" % c.mode)
        if c.lr is None:
            c.lr = FINETUNE_LR if c.mode == "finetune" else SCRATCH_LR
        if symbol_source.is_symbol_file(c.weights):
            # The export is the architecture: its graph, cut before the classifier.
            c.model = symbol_source.model_name(c.weights, c.head_layer)
        if c.image_size is None:
            c.image_size = default_image_size(c.model)
        return check(c)

    @property
    def mixes(self):
        """Whether training batches are mixed (MixUp or CutMix)."""
        return self.mixup > 0 or self.cutmix > 0

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


#: How the library's messages name ``mode="scratch"``; the command line's flag is ``--scratch``.
SCRATCH_LABEL = {"mode": "mode='scratch'"}
#: The command line's name of each field in a message (:meth:`OptionError.render`).
CLI_FLAGS = flags(TrainConfig, extra={"mode": "--scratch"})


def _distributed(c):
    return c.kvstore.startswith("dist")


#: The checks that read several fields, in the order they are made (after each field's own).
TrainConfig.RULES = (
    Rule(lambda c: not c.head_layer or symbol_source.is_symbol_file(c.weights),
         "{head_layer} names the classifier of a symbol export; it goes with {weights} "
         "NET-symbol.json"),
    Rule(lambda c: c.schedule != "step" or c.step_epochs,
         "{schedule} step needs {step_epochs}, e.g. {step_epochs} 3,4"),
    Rule(lambda c: all(0 < e <= c.epochs for e in c.step_epochs),
         "{step_epochs} must lie within {epochs}"),
    Rule(lambda c: c.onecycle_div >= 1 and c.onecycle_final_div >= 1,
         "{onecycle_div} and {onecycle_final_div} must be 1 or more"),
    Rule(lambda c: not c.onecycle_momentum or (len(c.onecycle_momentum) == 2
                                               and all(0 < m < 1 for m in c.onecycle_momentum)),
         "{onecycle_momentum} must be MAX,MIN within (0, 1), e.g. 0.95,0.85, or 'off'"),
    Rule(lambda c: 0 <= c.freeze_epochs < c.epochs,
         "{freeze_epochs} must be 0 or more and leave at least one of {epochs} to train every "
         "layer"),
    Rule(lambda c: c.mode != "scratch" or not (c.weights or c.freeze_features),
         "{mode} trains every layer from random weights; it cannot be combined with {weights} "
         "or {freeze_features}", SCRATCH_LABEL),
    Rule(lambda c: c.mixes or (c.mix_prob == 1.0 and c.mix_switch_prob == 0.5),
         "{mix_prob} and {mix_switch_prob} tune {mixup}/{cutmix}; give {mixup} ALPHA and/or "
         "{cutmix} ALPHA too"),
    Rule(lambda c: c.mix_switch_prob == 0.5 or (c.mixup > 0 and c.cutmix > 0),
         "{mix_switch_prob} chooses between CutMix and MixUp per batch; it needs both {mixup} "
         "and {cutmix}"),
    Rule(lambda c: not (c.mixes and c.cache_features),
         "{mixup}/{cutmix} mix the training images, and {cache_features} trains on features "
         "computed once per image, without them: drop one of the two"),
    Rule(lambda c: not c.cache_features or c.freeze_features or c.freeze_epochs,
         "{cache_features} needs {freeze_features} or {freeze_epochs} (cached features only "
         "stay valid while the features do not train)"),
    Rule(lambda c: not c.freeze_epochs or not (c.freeze_features or c.mode == "scratch"),
         "{freeze_epochs} trains the head alone first, then every pretrained layer; it cannot "
         "be combined with {freeze_features} or {mode}", SCRATCH_LABEL),
    Rule(lambda c: not (c.schedule == "onecycle" and c.warmup_epochs),
         "{schedule} onecycle warms up by itself ({onecycle_pct}); drop {warmup_epochs}"),
    # The head trains apart from the network there, and ps-lite's servers abort on the
    # first push of a key that was never initialised (SIGABRT, "init N first").
    Rule(lambda c: not (_distributed(c) and c.cache_features),
         "{cache_features} is not supported in a distributed job ({kvstore} %(kvstore)s) yet; "
         "use {freeze_features} alone there, which trains the same head on the images"),
    Rule(lambda c: not (_distributed(c) and c.sampler != "random"),
         "{sampler} balanced is not supported in a distributed job ({kvstore} %(kvstore)s) "
         "yet: the workers cut one shuffled order into shards; use {class_weights} auto there"),
    Rule(lambda c: not (_distributed(c) and (c.schedule == "onecycle" or c.freeze_epochs)),
         "{schedule} onecycle and {freeze_epochs} are not supported in a distributed job "
         "({kvstore} %(kvstore)s) yet: the servers run the optimizer; use {schedule} cosine "
         "and {freeze_features} there"),
)
