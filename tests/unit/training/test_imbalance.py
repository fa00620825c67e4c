"""Imbalanced classes: class weights, the balanced sampler, choosing on balanced accuracy."""
import json
import os
import shutil

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon
from run_helpers import StopAfter, quiet

from gluon_finetune.errors import UserError
from gluon_finetune.training.config import TrainConfig
from gluon_finetune.training.imbalance import BalancedSampler, WeightedLoss, class_weights, imbalance_ratio
from gluon_finetune.training.train import fit, resume

from conftest import assert_option_error, assert_user_errors, run_cli

TINY = dict(batch_size=8, image_size=32, seed=4, quiet=True)


@pytest.fixture(scope="module")
def lopsided(tiny_hotdog, tmp_path_factory):
    """``tiny_hotdog`` with 4 of its 16 not-hotdog training images: 16 to 4, a 4x imbalance."""
    out = tmp_path_factory.mktemp("lopsided") / "data"
    shutil.copytree(tiny_hotdog, out)
    folder = out / "train" / "not-hotdog"
    for name in sorted(os.listdir(folder))[4:]:
        os.remove(folder / name)
    return str(out)


def test_auto_weights_are_inverse_frequency_and_a_file_names_every_class(tmp_path):
    counts = {"big": 9, "small": 1}
    assert class_weights("auto", ["big", "small"], counts) == pytest.approx([10 / 18, 10 / 2])
    # they average 1 over the training images
    assert (9 * 10 / 18 + 1 * 10 / 2) / 10 == pytest.approx(1.0)
    assert class_weights(None, ["big", "small"], counts) is None
    good = tmp_path / "w.json"
    good.write_text(json.dumps({"small": 3, "big": 1}))
    assert class_weights(str(good), ["big", "small"], counts) == [1.0, 3.0]
    listed = tmp_path / "l.json"
    listed.write_text("[1, 2]")
    assert class_weights(str(listed), ["big", "small"], counts) == [1.0, 2.0]
    cases = [({"big": 1}, "missing small"), ({"big": 1, "small": 1, "odd": 2}, "unknown odd"),
             ({"big": 1, "small": -1}, "positive number"), ([1], "2 classes"),
             ({"big": "x", "small": 1}, "must be a number")]
    for given, fragment in cases:
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(given))
        with pytest.raises(UserError, match=fragment):
            class_weights(str(path), ["big", "small"], counts)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(UserError, match="not readable JSON"):
        class_weights(str(tmp_path / "broken.json"), ["big", "small"], counts)
    with pytest.raises(UserError, match="no such file; give auto"):
        class_weights(str(tmp_path / "nowhere.json"), ["big", "small"], counts)
    assert imbalance_ratio(counts) == 9 and imbalance_ratio({"a": 3, "b": 0}) == float("inf")


def test_the_weighted_loss_is_each_images_loss_times_its_class_weight():
    plain = gluon.loss.SoftmaxCrossEntropyLoss()
    out = mx.nd.array([[2.0, 0.5], [0.1, 1.0], [1.0, 1.0]])
    label = mx.nd.array([0, 1, 1])
    weighted = WeightedLoss(plain, [0.5, 4.0])(out, label).asnumpy()
    np.testing.assert_allclose(weighted, plain(out, label).asnumpy() * [0.5, 4.0, 4.0], rtol=1e-6)
    # soft targets (label smoothing, MixUp) take the target-weighted mean of the weights
    dense = gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=False)
    soft = mx.nd.array([[0.75, 0.25], [0.0, 1.0], [0.5, 0.5]])
    got = WeightedLoss(dense, [0.5, 4.0])(out, soft).asnumpy()
    np.testing.assert_allclose(got, dense(out, soft).asnumpy() * [1.375, 4.0, 2.25], rtol=1e-6)


def test_the_balanced_sampler_draws_every_class_equally_and_repeats_when_reseeded():
    labels = [0] * 18 + [1] * 2
    sampler = BalancedSampler(labels)
    np.random.seed(3)
    first = list(sampler)
    assert len(first) == len(sampler) == 20
    assert sum(labels[i] == 1 for i in first) == 10 and sum(labels[i] == 0 for i in first) == 10
    assert set(i for i in first if labels[i] == 1) == {18, 19}  # the small class cycles
    assert len(set(i for i in first if labels[i] == 0)) == 10  # the big one is drawn without repeats
    np.random.seed(3)
    assert list(sampler) == first
    assert list(sampler) != first  # the next epoch draws again


def test_data_check_and_train_point_out_the_imbalance(lopsided, tmp_path):
    proc = run_cli("data", "check", lopsided)
    assert proc.returncode == 0, proc.stderr
    assert "warning: the classes are imbalanced: hotdog has 16 training images, not-hotdog 4 (4.0x)" \
        in proc.stdout
    assert "--class-weights auto, --sampler balanced and --select-metric balanced_acc" in proc.stdout
    lines = []
    fit(TrainConfig(data=lopsided, out=str(tmp_path / "run"), mode="scratch", epochs=1, **TINY),
        log=lines.append)
    assert any(l.startswith("note: the classes are imbalanced") for l in lines)


def test_weights_sampler_and_balanced_selection_train_and_resume_exactly(lopsided, tiny_source,
                                                                           tmp_path):
    options = dict(data=lopsided, weights=tiny_source, epochs=3, class_weights="auto",
                   sampler="balanced", select_metric="balanced_acc", **TINY)
    lines = []
    whole = fit(TrainConfig(out=str(tmp_path / "whole"), **options), log=lines.append)
    assert not any(l.startswith("note: the classes are imbalanced") for l in lines)
    assert any(l == "--class-weights auto: hotdog 0.625, not-hotdog 2.5" for l in lines)
    record = json.loads((tmp_path / "whole" / "config.json").read_text())
    assert record["class_weights"] == {"hotdog": 0.625, "not-hotdog": 2.5}
    assert whole.best_key == "test_balanced_acc"
    for rec in whole.history:
        assert 0 <= rec["test_balanced_acc"] <= 1
    assert all(", test balanced acc " in l for l in lines if l.startswith("epoch "))
    best = max(whole.history, key=lambda r: r["test_balanced_acc"])
    assert whole.best["epoch"] == best["epoch"]
    pointer = json.loads((tmp_path / "whole" / "checkpoints" / "best.json").read_text())
    assert pointer["chosen_by"] == "test_balanced_acc" and pointer["epoch"] == best["epoch"]
    # Ctrl-C after epoch 1, then resume: the same numbers as the run that never stopped
    with pytest.raises(KeyboardInterrupt):
        fit(TrainConfig(out=str(tmp_path / "cut"), **options), log=StopAfter(1))
    again = resume(str(tmp_path / "cut"), log=quiet)
    for a, b in zip(again.history, whole.history):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
        assert a["test_balanced_acc"] == pytest.approx(b["test_balanced_acc"])


def test_bad_imbalance_options_are_clean_errors(lopsided, tmp_path):
    base = ("train", "--data", lopsided, "--image-size", "32", "--epochs", "1", "--scratch")
    assert_user_errors(
        (base + ("--class-weights", tmp_path / "none.json", "--out", tmp_path / "a"),
         "none.json: no such file; give auto"),
        (base + ("--sampler", "balanced", "--kvstore", "dist_sync", "--out", tmp_path / "b"),
         "--sampler balanced is not supported in a distributed job"))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert_option_error(lambda: TrainConfig(select_metric="f2").resolved(),
                        "--select-metric must be acc, balanced_acc")
