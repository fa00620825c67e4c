"""Checkpoints that survive Ctrl-C, SIGKILL and power cuts.

Files of one epoch (``epoch-003.params`` with the network, ``epoch-003.states``
with the optimizer, and ``epoch-003.ema.params`` with the weights' moving average
when the run has ``--ema``) are written under temporary names and renamed into place;
only then does a small pointer, ``last.json`` or ``best.json``, switch to them
(again by an atomic rename). Whenever a run dies, each pointer names a
complete pair of files, and files no pointer names are removed.
"""
import os

from ..fsutil import atomic_path, read_json, write_json

POINTERS = ("last", "best", "interrupted")


class Checkpoints:
    """The ``checkpoints/`` folder of a run.

    Parameters
    ----------
    folder : str
        ``RUN/checkpoints``.
    """

    def __init__(self, folder):
        self.folder = folder

    def _pointer(self, tag):
        return os.path.join(self.folder, tag + ".json")

    def save(self, tags, net, trainer, meta, with_states=True, ema=None):
        """Save ``net`` and ``trainer`` once and point every tag in ``tags`` at them.

        Parameters
        ----------
        tags : sequence of str
            Some of ``"last"``, ``"best"``, ``"interrupted"``.
        meta : dict
            JSON-able facts stored in the pointer; must hold ``"epoch"``.
        with_states : bool
            Save the optimizer state too (not possible when the servers of a
            distributed job hold it).
        ema : WeightEMA, optional
            Saved beside the weights (``epoch-NNN.ema.params``, the pointer's ``ema``).
        """
        stem = "epoch-%03d" % meta["epoch"]
        if "interrupted" in tags:
            stem = "interrupted-" + stem
        params = os.path.join(self.folder, stem + ".params")
        states = os.path.join(self.folder, stem + ".states")
        with atomic_path(params) as tmp:
            net.save_parameters(tmp)
        if with_states:
            with atomic_path(states) as tmp:
                trainer.save_states(tmp)
        ema_params = os.path.join(self.folder, stem + ".ema.params")
        if ema is not None:
            ema.save(ema_params)
        record = dict(meta, params=os.path.basename(params),
                      states=os.path.basename(states) if with_states else None)
        if ema is not None:
            record["ema"] = os.path.basename(ema_params)
        for tag in tags:
            write_json(self._pointer(tag), record)
        self._collect_garbage()
        return record

    def load_meta(self, tag):
        """The pointer's record with absolute ``params``/``states``/``ema`` paths, or None."""
        path = self._pointer(tag)
        if not os.path.isfile(path):
            return None
        record = read_json(path)
        record["params"] = os.path.join(self.folder, record["params"])
        for key in ("states", "ema"):
            if record.get(key):
                record[key] = os.path.join(self.folder, record[key])
        return record

    def drop(self, tag):
        """Forget a pointer (e.g. ``interrupted`` once training went past it)."""
        if os.path.exists(self._pointer(tag)):
            os.remove(self._pointer(tag))
            self._collect_garbage()

    def _collect_garbage(self):
        keep = set()
        for tag in POINTERS:
            path = self._pointer(tag)
            if os.path.isfile(path):
                record = read_json(path)
                keep.update((record["params"], record.get("states"), record.get("ema")))
        for name in os.listdir(self.folder):
            # A ".<name>.<hex>.tmp" is what a process killed mid-write leaves behind
            # (see fsutil.atomic_path); only one process writes a run's checkpoints.
            stale = name.startswith(".") and name.endswith(".tmp")
            if stale or (name.endswith((".params", ".states")) and name not in keep):
                os.remove(os.path.join(self.folder, name))
