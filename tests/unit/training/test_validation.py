"""Validation set, model selection, early stopping and weight EMA."""
import json
import shutil
from pathlib import Path

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon
from run_helpers import StopAfter, quiet

from gluon_finetune.data import scan_folder
from gluon_finetune.data.split import carve_validation
from gluon_finetune.errors import UserError
from gluon_finetune.inference.evaluate import evaluate_run
from gluon_finetune.inference.predict import load_run
from gluon_finetune.runs import selection
from gluon_finetune.training import callbacks
from gluon_finetune.training.config import TrainConfig
from gluon_finetune.training.ema import WeightEMA
from gluon_finetune.training.train import fit, resume

from conftest import assert_option_error

# Head-only training on cached features: epochs of a fraction of a second.
FAST = dict(batch_size=8, image_size=32, seed=5, quiet=True, freeze_features=True,
            cache_features=True, lr=0.05)




def test_val_split_is_disjoint_per_class_and_seeded():
    files = {"a": ["a/%02d.jpg" % i for i in range(20)], "b": ["b/%02d.jpg" % i for i in range(7)]}
    train, val = carve_validation(files, 0.1, seed=1)
    for name, paths in files.items():
        assert not set(train[name]) & set(val[name])
        assert sorted(train[name] + val[name]) == paths
    assert (len(val["a"]), len(val["b"])) == (2, 1)  # round(n * F), at least one per class
    assert carve_validation(files, 0.1, seed=1) == (train, val)
    assert carve_validation(files, 0.1, seed=2)[1]["a"] != val["a"]
    # adding a class does not move the others
    more = dict(files, c=["c/%d.jpg" % i for i in range(5)])
    assert carve_validation(more, 0.1, seed=1)[1]["a"] == val["a"]
    with pytest.raises(UserError, match="class 'x' has 1 training image"):
        carve_validation({"x": ["x.jpg"], "y": ["y1.jpg", "y2.jpg"]}, 0.5)
    with pytest.raises(UserError, match="--val-split must be between 0 and 1"):
        carve_validation(files, 1.5)


def test_val_split_carves_training_images_and_a_val_folder_is_used_as_is(tiny_hotdog, tmp_path):
    report = scan_folder(tiny_hotdog, val_split=0.25, val_seed=7)
    whole = scan_folder(tiny_hotdog)
    assert "val" not in whole.items and whole.val_from is None
    train, val = {p for p, _ in report.items["train"]}, {p for p, _ in report.items["val"]}
    assert not train & val and train | val == {p for p, _ in whole.items["train"]}
    assert report.counts["val"] == {"hotdog": 4, "not-hotdog": 4}
    assert report.items["test"] == whole.items["test"]  # the test set is untouched
    assert report.val_from == "--val-split" and "validation" in report.summary()

    data = tmp_path / "withval"
    shutil.copytree(tiny_hotdog, data)
    shutil.copytree(data / "test", data / "valid")
    folder = scan_folder(data, val_split=0.25)
    assert folder.val_from == "valid/" and folder.counts["val"] == folder.counts["test"]
    assert folder.counts["train"] == whole.counts["train"]  # --val-split ignored, with a note
    assert any("--val-split 0.25 ignored" in w for w in folder.warnings)
    shutil.copytree(data / "test", data / "val")
    with pytest.raises(UserError, match="both val/ and valid/"):
        scan_folder(data)
    shutil.rmtree(data / "valid")
    shutil.rmtree(data / "val" / "hotdog")
    with pytest.raises(UserError, match="missing in val/: hotdog"):
        scan_folder(data)


def test_without_validation_images_every_best_says_it_was_chosen_on_test(tiny_hotdog, tiny_source, tmp_path):
    lines = []
    result = fit(TrainConfig(data=tiny_hotdog, out=str(tmp_path / "run"), weights=tiny_source,
                             epochs=1, **FAST), log=lines.append)
    assert result.chosen_on == "test" and result.best_key == "test_acc"
    assert any("chosen on the test set" in l for l in lines)
    assert "chosen on the test set" in selection.describe(result.best, result.best_key)
    ev = evaluate_run(result.path, tiny_hotdog, out=str(tmp_path / "eval"), quiet=True)
    assert "best checkpoint, chosen on the test set" in ev.summary()
    # early stopping on the test set is refused before anything is written
    with pytest.raises(UserError, match="--early-stop needs a validation set.*--val-split"):
        fit(TrainConfig(data=tiny_hotdog, out=str(tmp_path / "es"), weights=tiny_source, epochs=3,
                        early_stop=1, **FAST), log=quiet)
    assert not (tmp_path / "es").exists()


def test_the_best_checkpoint_is_chosen_on_validation_and_early_stop_keeps_it(
        tiny_hotdog, tiny_source, tmp_path, monkeypatch):
    scripted = iter([0.5, 0.7, 0.6, 0.9])  # best at 2, then a worse epoch: patience 1 stops after 3
    real = callbacks.extra_accuracies
    def fake(*args):
        rec, counts = real(*args)
        return dict(rec, val_acc=next(scripted)), counts

    monkeypatch.setattr(callbacks, "extra_accuracies", fake)
    out = tmp_path / "run"
    lines = []
    result = fit(TrainConfig(data=tiny_hotdog, out=str(out), weights=tiny_source, epochs=4,
                             val_split=0.25, early_stop=1, **FAST), log=lines.append)
    assert "8 validation (--val-split 0.25)" in lines[0]
    assert all(", val acc " in l for l in lines if l.startswith("epoch "))
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert result.best["epoch"] == 2 and result.chosen_on == "validation"
    best = json.loads((out / "checkpoints" / "best.json").read_text())
    assert best["epoch"] == 2 and best["chosen_by"] == "val_acc"
    assert json.loads((out / "checkpoints" / "last.json").read_text())["epoch"] == 3
    assert lines[-1].startswith("early stop after epoch 3") and "(epoch 2, val acc 0.700)" in lines[-1]
    assert "early stop after epoch 3" in (out / "log.txt").read_text()
    record = json.loads((out / "config.json").read_text())
    assert record["config"]["val_split"] == 0.25 and record["config"]["early_stop"] == 1
    assert record["data"]["counts"]["val"] == {"hotdog": 4, "not-hotdog": 4}
    # a stopped run stays stopped on resume
    again = resume(str(out), log=lines.append)
    assert again.history == result.history and "stopped early" in lines[-1]
    ev = evaluate_run(str(out), tiny_hotdog, out=str(tmp_path / "eval"), quiet=True)
    assert ev.epoch == 2 and "best checkpoint, chosen on the validation set" in ev.summary()


def _ema_net():
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(4, in_units=3), gluon.nn.BatchNorm(in_channels=4), gluon.nn.Dense(2, in_units=4))
    net.initialize(mx.init.Xavier())
    return net


def test_ema_weights_follow_the_formula_batchnorm_statistics_included(tmp_path):
    mx.random.seed(0)
    net = _ema_net()
    decay = 0.8
    ema = WeightEMA(net, decay, mx.cpu())
    names = list(net._collect_params_with_prefix())
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    snapshots = [{k: p.data().asnumpy().copy() for k, p in net._collect_params_with_prefix().items()}]
    rng = np.random.RandomState(0)
    for _ in range(4):
        x = mx.nd.array(rng.randn(6, 3))
        y = mx.nd.array(rng.randint(0, 2, 6))
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(6)
        ema.update()
        snapshots.append({k: p.data().asnumpy().copy() for k, p in net._collect_params_with_prefix().items()})
    assert any("running_mean" in k for k in names)
    for i, name in enumerate(names):
        expected = snapshots[0][name]
        for snap in snapshots[1:]:
            expected = decay * expected + (1 - decay) * snap[name]
        assert not np.allclose(expected, snapshots[-1][name]), name  # the average is not the weights
        np.testing.assert_allclose(ema.shadow[i].asnumpy(), expected, rtol=1e-5, atol=1e-6)
    # applied() swaps the average in and the raw weights back; save/load round-trips
    raw = net[0].weight.data().asnumpy()
    with ema.applied():
        np.testing.assert_allclose(net[0].weight.data().asnumpy(), ema.shadow[names.index("0.weight")].asnumpy())
    np.testing.assert_array_equal(net[0].weight.data().asnumpy(), raw)
    ema.save(str(tmp_path / "ema.params"))
    other = _ema_net()
    other.load_parameters(str(tmp_path / "ema.params"))  # an ordinary params file
    np.testing.assert_array_equal(other[0].weight.data().asnumpy(), ema.shadow[names.index("0.weight")].asnumpy())


def test_resume_is_exact_with_val_split_early_stop_and_ema(tiny_hotdog, tiny_source, tmp_path):
    common = dict(data=tiny_hotdog, weights=tiny_source, epochs=2, val_split=0.25, early_stop=2,
                  ema=0.7, momentum=0.9, **FAST)
    straight = fit(TrainConfig(out=str(tmp_path / "a"), **common), log=quiet)
    with pytest.raises(KeyboardInterrupt):
        fit(TrainConfig(out=str(tmp_path / "b"), **common), log=StopAfter(1))
    resumed = resume(str(tmp_path / "b"), log=quiet)

    def numbers(history):
        return [{k: v for k, v in h.items() if "time" not in k} for h in history]

    assert numbers(straight.history) == numbers(resumed.history)
    assert {"val_acc", "ema_val_acc", "ema_test_acc"} <= set(straight.history[0])
    metas = [json.loads((tmp_path / r / "checkpoints" / "last.json").read_text()) for r in "ab"]
    arrays = [mx.nd.load(str(tmp_path / r / "checkpoints" / m["ema"])) for r, m in zip("ab", metas)]
    assert arrays[0].keys() == arrays[1].keys()
    for key in arrays[0]:
        np.testing.assert_array_equal(arrays[0][key].asnumpy(), arrays[1][key].asnumpy())
    assert json.loads((tmp_path / "a" / "checkpoints" / "best.json").read_text())["chosen_by"] == "ema_val_acc"


def test_evaluate_predict_and_export_use_the_ema_weights_when_a_run_has_them(tiny_hotdog, tiny_source,
                                                                            tmp_path):
    out = tmp_path / "run"
    result = fit(TrainConfig(data=tiny_hotdog, out=str(out), weights=tiny_source, epochs=1, ema=0.5,
                             **FAST), log=quiet)
    meta = json.loads((out / "checkpoints" / "best.json").read_text())
    ema_model, raw_model = load_run(str(out)), load_run(str(out), weights="raw")
    assert (ema_model.checkpoint["weights"], raw_model.checkpoint["weights"]) == ("ema", "raw")
    saved = mx.nd.load(str(out / "checkpoints" / meta["ema"]))
    key, value = next((k, v) for k, v in saved.items() if k.startswith("output"))
    got = dict(ema_model.net._collect_params_with_prefix())[key].data().asnumpy()
    np.testing.assert_array_equal(got, value.asnumpy())
    assert not np.array_equal(got, dict(raw_model.net._collect_params_with_prefix())[key].data().asnumpy())
    ev = evaluate_run(str(out), tiny_hotdog, out=str(tmp_path / "eval"), quiet=True)
    assert ev.weights == "ema" and "EMA weights" in ev.summary()
    raw = evaluate_run(str(out), tiny_hotdog, out=str(tmp_path / "eval2"), quiet=True, weights="raw")
    assert raw.weights == "raw"
    # the accuracies training logged for both sets of weights are what evaluate finds
    assert (ev.accuracy, raw.accuracy) == (result.history[0]["ema_test_acc"], result.history[0]["test_acc"])
    from gluon_finetune.inference.export import export_run

    assert export_run(str(out), out=str(tmp_path / "export"))["weights"] == "ema"
    plain = tmp_path / "plain"
    fit(TrainConfig(data=tiny_hotdog, out=str(plain), weights=tiny_source, epochs=1, **FAST), log=quiet)
    with pytest.raises(UserError, match="no EMA weights"):
        load_run(str(plain), weights="ema")


def test_cli_val_split_early_stop_and_ema_end_to_end(tiny_hotdog, tiny_source, tmp_path, cli):
    import contextlib
    import io

    from gluon_finetune.cli import build_parser

    for command, options in (("train", ("--val-split F", "--early-stop PATIENCE", "--ema DECAY",
                                        "val/<class>")),
                             ("evaluate", ("--weights auto|ema|raw",))):
        text = io.StringIO()
        with contextlib.redirect_stdout(text), pytest.raises(SystemExit):
            build_parser().parse_args([command, "--help"])
        for option in options:
            assert option in text.getvalue(), (command, option)
    out = tmp_path / "run"
    proc = cli("train", "--data", tiny_hotdog, "--out", out, "--weights", tiny_source, "--epochs", 1,
               "--batch-size", 8, "--image-size", 32, "--seed", 1, "--quiet", "--freeze-features",
               "--cache-features", "--val-split", 0.25, "--early-stop", 5, "--ema", 0.9)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("best ema val acc ") and "(chosen on the validation set), test acc" in last
    config = json.loads((out / "config.json").read_text())["config"]
    assert (config["val_split"], config["early_stop"], config["ema"]) == (0.25, 5, 0.9)
    image = sorted(Path(tiny_hotdog).glob("test/hotdog/*"))[0]
    pred = cli("predict", out, image)
    assert pred.returncode == 0 and "using the EMA weights" in pred.stderr, pred.stderr
    for bad, message in ((dict(ema=1.5), "--ema must be between 0 and 1"),
                         (dict(val_split=0), "--val-split must be between 0 and 1"),
                         (dict(early_stop=0), "--early-stop must be at least 1")):
        assert_option_error(lambda bad=bad: TrainConfig(data=tiny_hotdog, **bad).resolved(), message)


def test_a_distributed_job_keeps_a_val_split_and_an_ema(tiny_hotdog, tiny_source, tmp_path):
    from dist_helpers import assert_no_process_left, free_port, read_history, run_job, tiny_train

    port = free_port()
    out = tmp_path / "run"
    proc = run_job(["launch", "-n", "2", "-s", "1", "--port", port, "--"]
                   + tiny_train(tiny_hotdog, tiny_source, out, "--epochs", 1, "--freeze-features",
                                "--val-split", 0.25, "--ema", 0.9))
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = read_history(out)[0]
    assert {"val_acc", "ema_val_acc", "ema_test_acc"} <= set(rec)
    last = json.loads((out / "checkpoints" / "last.json").read_text())
    assert last["chosen_by"] == "ema_val_acc" and (out / "checkpoints" / last["ema"]).is_file()
    assert_no_process_left(port)
