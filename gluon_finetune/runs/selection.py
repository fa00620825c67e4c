"""Model selection: which epoch is the run's best, and when to stop early.

The best checkpoint is the epoch with the highest *validation* accuracy when the
run has validation images (a ``val/`` folder or ``--val-split``), so the test set
stays untouched until the end; without them it falls back to test accuracy and
every message that names the best checkpoint says so (an optimistic choice: the
same images then pick the epoch and measure it). With ``--ema`` the averaged
weights' accuracy decides, as in timm's training script: they are the weights
``evaluate``, ``predict`` and ``export`` use. ``--select-metric balanced_acc``
or ``macro_f1`` chooses on those instead of accuracy (imbalanced classes, see
:mod:`gluon_finetune.training.imbalance`).
"""

__all__ = ["metric_key", "chosen_on", "key_of", "describe", "checkpoint_label", "Selection",
           "NEEDS_VAL"]

#: What ``--early-stop`` says when a run has no validation images.
NEEDS_VAL = ("--early-stop needs a validation set, so the test set does not choose when to stop: "
             "add a val/ folder beside train/ and test/, or hold out training images with "
             "--val-split 0.1")


def metric_key(has_val, ema=False, metric="acc"):
    """The history field that chooses the best epoch: ``val_acc``, ``ema_test_balanced_acc``, ...

    ``metric`` is ``--select-metric``: ``acc``, ``balanced_acc`` or ``macro_f1``.
    """
    return ("ema_" if ema else "") + ("val_" if has_val else "test_") + metric


def chosen_on(key):
    """``"validation"`` or ``"test"``: which images the metric ``key`` measured."""
    return "validation" if key.startswith(("val_", "ema_val_")) else "test"


def key_of(history, ema=False, metric="acc"):
    """The selection field of a run from its history records (older runs: test accuracy)."""
    has_val = bool(history) and "val_acc" in history[0]
    ema = ema and bool(history) and "ema_test_acc" in history[0]
    key = metric_key(has_val, ema, metric)
    return key if not history or key in history[0] else metric_key(has_val, ema)


def describe(record, key):
    """``"val acc 0.912 at epoch 3 (chosen on the validation set)"``, or the test set's caveat."""
    name = key.replace("_acc", " acc").replace("_", " ")
    text = "%s %.3f at epoch %d" % (name, record[key], record["epoch"])
    if chosen_on(key) == "validation":
        return text + " (chosen on the validation set)"
    return text + (" (chosen on the test set, an optimistic estimate: the same images chose it; "
                   "add a val/ folder or --val-split for a fair one)")


def checkpoint_label(tag, chosen=None, weights="raw"):
    """How a loaded checkpoint is named in messages.

    ``"best checkpoint, chosen on the validation set, EMA weights"``; a best
    checkpoint chosen on the test set says so.

    Parameters
    ----------
    tag : str
        ``"best"`` or ``"last"``.
    chosen : {"validation", "test", None}
        What chose a ``best`` checkpoint.
    weights : {"raw", "ema"}
    """
    text = "%s checkpoint" % tag
    if tag == "best" and chosen:
        text += ", chosen on the %s set" % chosen
    if weights == "ema":
        text += ", EMA weights"
    return text


class Selection:
    """The best epoch so far by ``key`` and, with ``patience``, whether to stop.

    Parameters
    ----------
    key : str
        A history field (:func:`metric_key`).
    patience : int, optional
        Stop once this many epochs have passed without a strictly better value.
    history : list of dict
        Epochs already trained (a resumed run): replayed, so the state is the
        uninterrupted run's.
    """

    def __init__(self, key, patience=None, history=()):
        self.key, self.patience = key, patience
        self.best, self.last_epoch = None, 0
        for rec in history:
            self.update(rec)

    @property
    def on(self):
        return chosen_on(self.key)

    def update(self, rec):
        """Record one epoch; True when it is the best so far."""
        self.last_epoch = rec["epoch"]
        if self.best is None or rec[self.key] > self.best[self.key]:
            self.best = rec
            return True
        return False

    def should_stop(self):
        """True when ``patience`` epochs have passed since the best one."""
        return (self.patience is not None and self.best is not None
                and self.last_epoch - self.best["epoch"] >= self.patience)

    def stop_message(self, run_path=None):
        return ("early stop after epoch %d: %s has not improved for %d epoch%s; the best checkpoint "
                "(epoch %d, %s %.3f) is the run's result%s"
                % (self.last_epoch, self.key.replace("_", " "), self.patience,
                   "" if self.patience == 1 else "s", self.best["epoch"],
                   self.key.replace("_", " "), self.best[self.key],
                   " (%s)" % run_path if run_path else ""))
