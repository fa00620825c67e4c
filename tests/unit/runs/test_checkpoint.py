"""Checkpoints: pointers name complete files, and nothing else is kept."""
import os

import mxnet as mx
from mxnet import gluon

from conftest import assert_option_error

from gluon_finetune.runs.checkpoint import Checkpoints


def small_net_and_trainer():
    net = gluon.nn.Dense(2, in_units=3)
    net.initialize()
    return net, gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})


def test_a_file_left_by_a_killed_writer_is_removed_at_the_next_save(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    # what fsutil.atomic_path leaves behind when the process dies mid-write
    stale = folder / ".interrupted-epoch-002.params.1a2b3c4d.tmp"
    stale.write_bytes(b"half a file")
    net, trainer = small_net_and_trainer()
    ckpts = Checkpoints(str(folder))
    ckpts.save(["last", "best"], net, trainer, {"epoch": 3})
    assert sorted(os.listdir(folder)) == ["best.json", "epoch-003.params", "epoch-003.states",
                                          "last.json"]
    record = ckpts.load_meta("last")
    restored = gluon.nn.Dense(2, in_units=3)
    restored.load_parameters(record["params"])
    x = mx.nd.ones((1, 3))
    assert (restored(x) == net(x)).asnumpy().all()


def test_older_epochs_go_once_no_pointer_names_them(tmp_path):
    net, trainer = small_net_and_trainer()
    ckpts = Checkpoints(str(tmp_path))
    ckpts.save(["last", "best"], net, trainer, {"epoch": 1})
    ckpts.save(["last"], net, trainer, {"epoch": 2})
    assert {"epoch-001.params", "epoch-002.params"} <= set(os.listdir(tmp_path))
    ckpts.save(["last", "best"], net, trainer, {"epoch": 3})
    names = set(os.listdir(tmp_path))
    assert "epoch-001.params" not in names and "epoch-002.params" not in names
    assert ckpts.load_meta("best")["epoch"] == 3


class _Average:
    """Stands in for a WeightEMA at save time: writes the averaged weights of ``net``."""

    def __init__(self, net):
        self.net = net

    def save(self, path):
        self.net.save_parameters(path)


def test_one_rule_for_which_weights_every_command_reads(tmp_path):
    import json

    import pytest

    from gluon_finetune.errors import UserError
    from gluon_finetune.runs.rundir import RunDir, weights_of

    run = RunDir.create(str(tmp_path / "run"), {"config": {}, "classes": ["a", "b"]})
    # no finished epoch: an error that says so, for --weights RUN as for predict
    with pytest.raises(UserError, match="has no 'best' checkpoint.*at least one epoch"):
        weights_of(run.path)
    net, trainer = small_net_and_trainer()
    run.checkpoints.save(["last", "best"], net, trainer, {"epoch": 1}, ema=_Average(net))
    run.checkpoints.save(["last"], net, trainer, {"epoch": 2}, ema=_Average(net))
    folder = run.checkpoints.folder
    # best, with the average when the run kept one; raw and last on request
    assert weights_of(run.path) == os.path.join(folder, "epoch-001.ema.params")
    assert run.weights()[:2] == (os.path.join(folder, "epoch-001.ema.params"), "ema")
    assert run.weights("last", "raw")[:2] == (os.path.join(folder, "epoch-002.params"), "raw")
    assert weights_of(str(tmp_path / "w.params")) == str(tmp_path / "w.params")  # a file as it is
    assert_option_error(lambda: run.weights("middle"), "unknown --checkpoint 'middle'")
    # a missing file is an error, never a quiet fallback to other weights
    os.remove(os.path.join(folder, "epoch-001.ema.params"))
    with pytest.raises(UserError, match="epoch-001.ema.params, which is missing; use --weights raw"):
        weights_of(run.path)
    os.remove(os.path.join(folder, "best.json"))
    with pytest.raises(UserError, match="has no 'best' checkpoint"):
        weights_of(run.path)
    assert json.loads(open(os.path.join(folder, "last.json")).read())["epoch"] == 2
