"""Named sets of training options: ``--recipe book`` (the defaults) and ``--recipe fast``.

A recipe fills in the options the command line did not give; an option given
explicitly always wins. ``config.json`` records the recipe's name and every
value the run used; ``train`` prints the recipe's settings in its log.

``fast`` is fastai's ``fine_tune`` road, tuned on the demo's synthetic hotdog
task (README: Fine-tuning, "A faster recipe"): one head-only epoch on cached
features, then every layer on a one-cycle schedule with the earlier stages
learning more slowly, in fewer epochs than the book's five.
"""
from .errors import UserError

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
}


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
