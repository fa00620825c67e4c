"""The run folder: everything one training run writes, in one place.

::

    RUN/
      config.json        the settings, plus how the run was made (versions, command, data)
      history.jsonl      one JSON line per finished epoch
      history.csv        the same records as a table (Keras' CSVLogger, timm's summary.csv)
      log.txt            the per-epoch lines as printed
      curves.png         loss and accuracy per epoch
      checkpoints/       last.json, best.json -> epoch-NNN.params / .states (/ -ema.params)

This module owns the folder's layout and the one rule for which weights a
command reads (:meth:`RunDir.weights`): the ``best`` checkpoint unless told
``last``, the weight average when the run kept one (``--ema``) unless told
``raw``, and a clear error, never a silent fallback, when that is missing.
``evaluate``, ``predict``, ``export``, INT8 and ``train --weights RUN`` all
take their weights through it.
"""
import csv
import dataclasses
import datetime
import json
import os
import platform
import sys

from .checkpoint import Checkpoints
from ..errors import UserError
from ..options import check, option
from ..fsutil import atomic_path, claim_folder, read_json, write_json

#: The checkpoints a command may name (``--checkpoint``).
CHECKPOINTS = ("best", "last")


#: The first columns of ``history.csv``, in this order; the others follow sorted.
HISTORY_COLUMNS = ("epoch", "loss", "train_acc", "val_acc", "test_acc", "lr", "time", "train_time")


def history_columns(history):
    """The columns of ``history.csv``: every field any epoch has, the usual ones first."""
    keys = set().union(*history) if history else set(HISTORY_COLUMNS)
    return [k for k in HISTORY_COLUMNS if k in keys] + sorted(keys - set(HISTORY_COLUMNS))


def default_run_path(prefix="train"):
    return os.path.join("runs", "%s-%s" % (prefix, datetime.datetime.now().strftime("%Y%m%d-%H%M%S")))


def provenance():
    """Versions, host and command line: how a run was made."""
    import mxnet as mx
    import numpy as np

    from .. import __version__

    return {"gluon_finetune": __version__, "mxnet": mx.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "host": platform.node(),
            "platform": platform.platform(), "argv": list(sys.argv),
            "started": datetime.datetime.now().isoformat(timespec="seconds")}


class RunDir:
    """Paths and writers of one run folder (see the module docstring)."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.config_path = os.path.join(self.path, "config.json")
        self.history_path = os.path.join(self.path, "history.jsonl")
        self.history_csv_path = os.path.join(self.path, "history.csv")
        self.log_path = os.path.join(self.path, "log.txt")
        self.curves_path = os.path.join(self.path, "curves.png")
        self.checkpoints = Checkpoints(os.path.join(self.path, "checkpoints"))

    @classmethod
    def create(cls, path, record):
        """Start a new run folder holding ``config.json`` = ``record``.

        Refuses a folder that already holds files, so an earlier run is never
        overwritten by accident.
        """
        run = cls(path)
        claim_folder(run.path, hint="Choose another --out, or continue the run in it with "
                                    "--resume %s" % path)
        os.makedirs(run.checkpoints.folder, exist_ok=True)
        write_json(run.config_path, record)
        return run

    @classmethod
    def open(cls, path):
        """An existing run folder (for --resume, evaluate, predict, export)."""
        run = cls(path)
        if not os.path.isfile(run.config_path):
            raise UserError("%s is not a run folder (no config.json); give the --out folder of a "
                            "`gluon-finetune train` run" % path)
        return run

    def record(self):
        return read_json(self.config_path)

    def write_history(self, history):
        """Rewrite ``history.jsonl`` and ``history.csv`` from ``history`` (a list of
        per-epoch dicts), each atomically: after a resume both hold exactly the run's
        epochs, never a line twice."""
        with atomic_path(self.history_path) as tmp:
            with open(tmp, "w", encoding="utf-8") as f:
                for rec in history:
                    f.write(json.dumps(rec, sort_keys=True) + "\n")
        columns = history_columns(history)
        with atomic_path(self.history_csv_path) as tmp:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=columns, restval="")
                writer.writeheader()
                writer.writerows(history)  # floats as Python writes them: they read back exactly

    def read_history(self):
        if not os.path.isfile(self.history_path):
            return []
        with open(self.history_path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def log(self, line):
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def checkpoint(self, name="best"):
        """The pointer record of checkpoint ``name`` (``best`` or ``last``), checked.

        Raises
        ------
        UserError
            Unknown checkpoint name, a run without that checkpoint, or a pointer
            whose ``.params`` file is gone.
        """
        check(WeightChoice(checkpoint=name))
        record = self.checkpoints.load_meta(name)
        if record is None:
            interrupted = self.checkpoints.load_meta("interrupted")
            hint = (" (it was interrupted during its first epoch; continue it with "
                    "`gluon-finetune train --resume %s`)" % self.path) if interrupted else \
                "; train it for at least one epoch first"
            raise UserError("run %s has no %r checkpoint (no %s)%s"
                            % (self.path, name, os.path.join("checkpoints", name + ".json"), hint))
        if not os.path.isfile(record["params"]):
            raise UserError("the %r checkpoint of run %s names %s, which is missing; use "
                            "--checkpoint %s or retrain" % (name, self.path, record["params"],
                                                            "last" if name == "best" else "best"))
        return record

    def weights(self, checkpoint="best", weights="auto"):
        """``(params path, "ema" or "raw", checkpoint record)``: the weights a command reads.

        ``weights``: ``auto`` (the average when the run kept one), ``ema`` or ``raw``
        (see :func:`pick_weights`).
        """
        record = self.checkpoint(checkpoint)
        path, kind = pick_weights(record, weights)
        return path, kind, record


#: What ``--weights`` of evaluate, predict and export may name.
WEIGHT_CHOICES = ("auto", "ema", "raw")


@dataclasses.dataclass(frozen=True)
class WeightChoice:
    """Which weights of a run a command reads: its ``--checkpoint`` and ``--weights``.

    Declared once (:func:`gluon_finetune.options.option`) for every command that
    loads a run (evaluate, predict, serve, export; their options in
    :mod:`gluon_finetune.inference.options` start with these two).
    """

    checkpoint: str = option(
        "best", flag="--checkpoint", metavar="best|last",
        check=(lambda v: v in CHECKPOINTS,
               "unknown {checkpoint} %(value)r; use best (highest validation accuracy, or test "
               "accuracy without validation images) or last (the last finished epoch)"),
        help="best validation accuracy (test accuracy in a run without validation images) "
             "or last epoch (default: {default})")
    weights: str = option(
        "auto", flag="--weights", metavar="auto|ema|raw",
        check=(lambda v: v in WEIGHT_CHOICES,
               "unknown {weights} %(value)r; use auto (the EMA weights when the run has them), "
               "ema or raw"),
        help="the run's moving average of the weights (kept with train --ema) or the raw "
             "weights; auto: the average when the run has one (default)")


def pick_weights(meta, weights="auto"):
    """The ``.params`` path of a checkpoint record and which weights it holds.

    Parameters
    ----------
    meta : dict
        A checkpoint pointer record (absolute paths, see ``Checkpoints.load_meta``).
    weights : {"auto", "ema", "raw"}
        ``auto``: the averaged weights when the run kept them (``--ema``), else
        the raw ones.

    Returns
    -------
    (str, str)
        The path and ``"ema"`` or ``"raw"``.
    """
    check(WeightChoice(weights=weights))
    if weights == "raw" or (weights == "auto" and not meta.get("ema")):
        return meta["params"], "raw"
    if not meta.get("ema"):
        raise UserError("this checkpoint has no EMA weights (the run was trained without --ema); "
                        "drop --weights ema")
    if not os.path.isfile(meta["ema"]):
        raise UserError("the checkpoint names %s, which is missing; use --weights raw" % meta["ema"])
    return meta["ema"], "ema"


def weights_of(path):
    """The ``.params`` file ``--weights PATH`` names: the file itself, or the weights of a
    run folder by the rule every command uses (:meth:`RunDir.weights`)."""
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "config.json")):
        return RunDir(path).weights()[0]
    return path

