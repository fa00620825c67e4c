"""The run folder: everything one training run writes, in one place.

::

    RUN/
      config.json        the settings, plus how the run was made (versions, command, data)
      history.jsonl      one JSON line per finished epoch
      log.txt            the per-epoch lines as printed
      curves.png         loss and accuracy per epoch
      checkpoints/       last.json, best.json -> epoch-NNN.params / .states
"""
import datetime
import json
import os
import platform
import sys

from .checkpoint import Checkpoints
from .errors import UserError
from .fsutil import atomic_path, claim_folder, read_json, write_json


def default_run_path(prefix="train"):
    return os.path.join("runs", "%s-%s" % (prefix, datetime.datetime.now().strftime("%Y%m%d-%H%M%S")))


def provenance():
    """Versions, host and command line: how a run was made."""
    import mxnet as mx
    import numpy as np

    from . import __version__

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
        """Rewrite ``history.jsonl`` from ``history`` (a list of per-epoch dicts), atomically."""
        with atomic_path(self.history_path) as tmp:
            with open(tmp, "w", encoding="utf-8") as f:
                for rec in history:
                    f.write(json.dumps(rec, sort_keys=True) + "\n")

    def read_history(self):
        if not os.path.isfile(self.history_path):
            return []
        with open(self.history_path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def log(self, line):
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
