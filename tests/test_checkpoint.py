"""Checkpoints: pointers name complete files, and nothing else is kept."""
import os

import mxnet as mx
from mxnet import gluon

from gluon_finetune.checkpoint import Checkpoints


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
