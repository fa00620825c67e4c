"""Named sets of training options: ``--recipe book``, ``fast`` and ``head``.

A recipe fills in the options the command line did not give; an option given
explicitly always wins. ``config.json`` records the recipe's name and every
value the run used; ``train`` prints the recipe's settings in its log.

``fast`` is fastai's ``fine_tune`` road, tuned on the demo's synthetic hotdog
task (README: Fine-tuning, "A faster recipe"): one head-only epoch on cached
features, then every layer on a one-cycle schedule with the earlier stages
learning more slowly, in fewer epochs than the book's five.

``head`` is what ``train`` and ``lr-find`` do on a user's folder when no recipe
is named (:data:`TRAIN_DEFAULT`): the pretrained features stay as they are and
the new head trains on them, computed once (CS231n's advice for a small set
like ImageNet: a linear classifier on the network's codes). It was chosen on
real photos with real ImageNet weights (README: Real photos), where every
recipe that trained the features as well (the book's, fast, lower rates, with
momentum or not) swung by 10-40 points from one epoch or seed to the next:
batches of 32 (ten steps an epoch on a few hundred photos, not three), SGD with
momentum 0.9 at a tenth of the book's rate, 10 epochs on a cosine schedule, so
the last epoch, the one that is kept, trains at a low rate; with the features
computed once, an epoch costs milliseconds. ``compare``, ``demo`` and
``scripts/demo.py`` keep the book's recipe: they are the book's
experiment.
"""
from ..errors import UserError

RECIPES = {
    "book": {},
    "fast": {
        "epochs": 3,
        "schedule": "onecycle",
        "lr": 0.001,
        "freeze_epochs": 1,
        "cache_features": True,
        "lr_stage_decay": 0.3,
    },
    "head": {
        "freeze_features": True,
        "cache_features": True,
        "epochs": 10,
        "batch_size": 32,
        "lr": 0.001,
        "momentum": 0.9,
        "schedule": "cosine",
    },
}
#: The recipe of ``train`` and ``lr-find`` when none is named (fine-tuning; from scratch: book).
TRAIN_DEFAULT = "head"


def settings(name):
    """The option values of recipe ``name`` (a new dict)."""
    if name not in RECIPES:
        raise UserError("--recipe must be %s, got %r" % (" or ".join(RECIPES), name))
    return dict(RECIPES[name])


def describe(name, config=None):
    """``'epochs 3, schedule onecycle, ...'``: the settings recipe ``name`` decides, as
    ``config`` has them (after the command line's own options), or as the recipe says."""
    values = settings(name)
    if not values:
        return "the book's defaults"
    if config is not None:
        values = {k: getattr(config, k) for k in values}
    return ", ".join("%s %s" % (k.replace("_", "-"), _text(v)) for k, v in values.items())


def _text(value):
    return "on" if value is True else "off" if value is False else "%g" % value if isinstance(
        value, float) else str(value)
