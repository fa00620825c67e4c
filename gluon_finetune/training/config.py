"""A training run's settings as plain data, written to the run folder as JSON.

Every default is the book's: SGD, learning rate 0.01 with the new head at 10x,
weight decay 0.001, batch 128, 5 epochs, 224-pixel crops (the network's own size when
it was trained at another, e.g. Inception v3's 299), ImageNet mean/std.
Training from scratch uses the book's 0.1.
"""
import dataclasses
from dataclasses import dataclass, field
from typing import List, Optional

from ..constants import SAMPLERS  # noqa: F401 (the --sampler choices, named here too)
from ..errors import UserError
from ..networks import symbol_source
from ..networks.sizes import (  # noqa: F401 (named here too: the options' defaults)
    DEFAULT_IMAGE_SIZE,
    DEFAULT_MODEL,
    MIN_IMAGE_SIZE,
    MODEL_IMAGE_SIZES,
    default_image_size,
    min_image_size,
)

#: ``--select-metric`` choices: what chooses the best checkpoint and drives early stopping.
SELECT_METRICS = ("acc", "balanced_acc", "macro_f1")

FINETUNE_LR = 0.01
SCRATCH_LR = 0.1


@dataclass
class TrainConfig:
    """Everything that decides what a training run does.

    Attributes mirror the ``gluon-finetune train`` options; ``None`` means
    "the default for this mode" and is filled in by :meth:`resolved`.
    """

    data: Optional[str] = None             # a folder, or a CSV file of paths and labels
    path_col: Optional[str] = None         # the CSV's column of image paths (None: "path")
    label_col: Optional[str] = None        # the CSV's column of labels (None: "label")
    out: Optional[str] = None
    model: str = DEFAULT_MODEL
    mode: str = "finetune"                 # "finetune" or "scratch"
    weights: Optional[str] = None          # local .params of the source net, or NET-symbol.json
    head_layer: Optional[str] = None       # a symbol source's classifier (default: found in the graph)
    model_root: Optional[str] = None       # ImageNet weights cache ($MXNET_HOME/models)
    allow_download: bool = True
    freeze_features: bool = False
    cache_features: bool = False           # head on features computed once (test preprocessing)
    epochs: int = 5
    batch_size: int = 128
    lr: Optional[float] = None             # 0.01 fine-tuning, 0.1 from scratch
    head_lr_mult: float = 10.0
    wd: float = 0.001
    momentum: float = 0.0
    schedule: str = "constant"             # "constant", "step", "cosine" or "onecycle"
    step_epochs: List[int] = field(default_factory=list)
    step_factor: float = 0.1
    warmup_epochs: float = 0.0
    onecycle_pct: float = 0.25             # one-cycle: fraction of the steps spent rising
    onecycle_div: float = 25.0             # one-cycle: first rate = lr / div
    onecycle_final_div: float = 1e4        # one-cycle: last rate = lr / div / final_div
    onecycle_momentum: List[float] = field(default_factory=lambda: [0.95, 0.85])  # [] = --momentum
    freeze_epochs: int = 0                 # head-only epochs before every layer trains
    lr_stage_decay: float = 1.0            # rate of stage k from the end: lr * F**k (1 = off)
    recipe: str = "book"                   # the named option set the run started from (recipes.py)
    label_smoothing: float = 0.0
    divergence_stop: bool = True           # stop a run whose loss or predictions went wrong
    # Batch mixes (gluon_finetune.augment.mix, timm's meaning); off with both alphas 0.
    mixup: float = 0.0                     # MixUp's Beta(alpha, alpha)
    cutmix: float = 0.0                    # CutMix's Beta(alpha, alpha)
    mix_prob: float = 1.0                  # chance that a batch is mixed
    mix_switch_prob: float = 0.5           # with both: chance of CutMix rather than MixUp
    image_size: Optional[int] = None       # None = the network's own (default_image_size)
    train_augs: Optional[str] = None       # aug spec; None = the book's list at image_size
    test_augs: Optional[str] = None
    num_workers: Optional[int] = None      # None = chosen for this machine
    ctx: str = "auto"
    kvstore: str = "device"
    hybridize: bool = True
    amp: bool = False                      # mixed precision: float16 on GPUs, bfloat16 on CPUs
    seed: Optional[int] = None
    split: Optional[float] = None          # held-out fraction for a single-folder dataset
    val_split: Optional[float] = None      # training images held out for validation (no val/ folder)
    early_stop: Optional[int] = None       # patience in epochs (needs validation images)
    ema: Optional[float] = None            # decay of the weights' moving average
    # Imbalanced classes (gluon_finetune.training.imbalance): off by default, as in the book.
    class_weights: Optional[str] = None    # "auto" (inverse frequency) or a JSON file of weights
    sampler: str = "random"                # "random" or "balanced" (every class equally often)
    select_metric: str = "acc"             # best checkpoint / early stop: acc, balanced_acc, macro_f1
    tensorboard: Optional[str] = None      # TensorBoard folder: DIR/<run name> (gluon_finetune.training.dashboards)
    mlflow: Optional[str] = None           # MLflow tracking URI, "auto" = MLFLOW_TRACKING_URI or MLflow's default
    mlflow_weights: bool = False           # also upload the best weights to MLflow
    strict: bool = False
    quiet: bool = False
    log_interval: Optional[int] = None     # batches between progress lines (None: every 10 s)

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
        elif c.head_layer:
            raise UserError("--head-layer names the classifier of a symbol export; it goes with "
                            "--weights NET-symbol.json")
        if c.image_size is None:
            c.image_size = default_image_size(c.model)
        if c.sampler not in SAMPLERS:
            raise UserError("--sampler must be random (the book's shuffle) or balanced (every class "
                            "equally often), got %r" % (c.sampler,))
        if c.select_metric not in SELECT_METRICS:
            raise UserError("--select-metric must be acc, balanced_acc (the mean recall of the "
                            "classes) or macro_f1, got %r" % (c.select_metric,))
        if c.schedule not in ("constant", "step", "cosine", "onecycle"):
            raise UserError("--schedule must be constant, step, cosine or onecycle, got %r" % c.schedule)
        if c.schedule == "step" and not c.step_epochs:
            raise UserError("--schedule step needs --step-epochs, e.g. --step-epochs 3,4")
        checks = [
            (c.epochs >= 1, "--epochs must be at least 1"),
            (c.batch_size >= 1, "--batch-size must be at least 1"),
            (c.lr > 0, "--lr must be positive"),
            (c.head_lr_mult > 0, "--head-lr-mult must be positive"),
            (c.wd >= 0, "--wd must be 0 or more"),
            (0 <= c.momentum < 1, "--momentum must be in [0, 1)"),
            (0 <= c.label_smoothing < 1, "--label-smoothing must be in [0, 1)"),
            (c.warmup_epochs >= 0, "--warmup-epochs must be 0 or more"),
            (8 <= c.image_size <= 4096, "--image-size must be between 8 and 4096"),
            (c.num_workers is None or c.num_workers >= 0, "--workers must be 0 or more"),
            (c.split is None or 0 < c.split < 1, "--split must be between 0 and 1"),
            (c.val_split is None or 0 < c.val_split < 1,
             "--val-split must be between 0 and 1 (e.g. 0.1: a tenth of each class's training "
             "images held out for validation)"),
            (c.early_stop is None or c.early_stop >= 1,
             "--early-stop must be at least 1 (epochs without a better validation accuracy)"),
            (c.ema is None or 0 < c.ema < 1,
             "--ema must be between 0 and 1 (the decay, e.g. 0.999: the average remembers "
             "about 1/(1-decay) steps)"),
            (all(0 < e <= c.epochs for e in c.step_epochs), "--step-epochs must lie within --epochs"),
            (0 < c.onecycle_pct < 1, "--onecycle-pct must be between 0 and 1"),
            (c.onecycle_div >= 1 and c.onecycle_final_div >= 1,
             "--onecycle-div and --onecycle-final-div must be 1 or more"),
            (not c.onecycle_momentum or (len(c.onecycle_momentum) == 2
                                         and all(0 < m < 1 for m in c.onecycle_momentum)),
             "--onecycle-momentum must be MAX,MIN within (0, 1), e.g. 0.95,0.85, or 'off'"),
            (0 <= c.freeze_epochs < c.epochs,
             "--freeze-epochs must be 0 or more and leave at least one of --epochs to train every layer"),
            (c.lr_stage_decay > 0, "--lr-stage-decay must be positive (1 = off)"),
            (c.log_interval is None or c.log_interval >= 1,
             "--log-interval must be at least 1 (batches between progress lines)"),
        ]
        for ok, message in checks:
            if not ok:
                raise UserError(message)
        if c.mode == "scratch" and (c.weights or c.freeze_features):
            raise UserError("--scratch trains every layer from random weights; it cannot be combined "
                            "with --weights or --freeze-features")
        _check_mix(c)
        if c.cache_features and not (c.freeze_features or c.freeze_epochs):
            raise UserError("--cache-features needs --freeze-features or --freeze-epochs (cached "
                            "features only stay valid while the features do not train)")
        if c.freeze_epochs and (c.freeze_features or c.mode == "scratch"):
            raise UserError("--freeze-epochs trains the head alone first, then every pretrained "
                            "layer; it cannot be combined with --freeze-features or --scratch")
        if c.schedule == "onecycle" and c.warmup_epochs:
            raise UserError("--schedule onecycle warms up by itself (--onecycle-pct); drop --warmup-epochs")
        distributed = c.kvstore.startswith("dist")
        if distributed and c.cache_features:
            # The head trains apart from the network there, and ps-lite's servers abort on
            # the first push of a key that was never initialised (SIGABRT, "init N first").
            raise UserError("--cache-features is not supported in a distributed job (--kvstore "
                            "%s) yet; use --freeze-features alone there, which trains the same "
                            "head on the images" % c.kvstore)
        if distributed and c.sampler != "random":
            raise UserError("--sampler balanced is not supported in a distributed job (--kvstore %s) "
                            "yet: the workers cut one shuffled order into shards; use "
                            "--class-weights auto there" % c.kvstore)
        if distributed and (c.schedule == "onecycle" or c.freeze_epochs):
            raise UserError("--schedule onecycle and --freeze-epochs are not supported in a distributed "
                            "job (--kvstore %s) yet: the servers run the optimizer; use --schedule "
                            "cosine and --freeze-features there" % c.kvstore)
        return c

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


def _check_mix(c):
    """Refuse batch-mix options that are out of range or would do nothing."""
    for value, option in ((c.mixup, "--mixup"), (c.cutmix, "--cutmix")):
        if not (value >= 0 and value < float("inf")):
            raise UserError("%s must be 0 (off) or a positive Beta alpha such as 0.2 or 1.0, "
                            "got %r" % (option, value))
    for value, option in ((c.mix_prob, "--mix-prob"), (c.mix_switch_prob, "--mix-switch-prob")):
        if not 0 <= value <= 1:
            raise UserError("%s is a probability, between 0 and 1; got %r" % (option, value))
    if not c.mixes and (c.mix_prob != 1.0 or c.mix_switch_prob != 0.5):
        raise UserError("--mix-prob and --mix-switch-prob tune --mixup/--cutmix; give --mixup "
                        "ALPHA and/or --cutmix ALPHA too")
    if c.mix_switch_prob != 0.5 and not (c.mixup > 0 and c.cutmix > 0):
        raise UserError("--mix-switch-prob chooses between CutMix and MixUp per batch; it needs "
                        "both --mixup and --cutmix")
    if c.mixes and c.cache_features:
        raise UserError("--mixup/--cutmix mix the training images, and --cache-features trains "
                        "on features computed once per image, without them: drop one of the two")
