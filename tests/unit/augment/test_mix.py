"""MixUp and CutMix (gluon_finetune.augment.mix): the mixed images, the soft targets, the
options, and a tiny training run through the real command line."""
import json
import random

import mxnet as mx
import numpy as np
import pytest

from gluon_finetune.augment import mix
from gluon_finetune.augment.mix import BatchMix, cutmix_box, soft_targets
from gluon_finetune.errors import UserError
from gluon_finetune.training.config import TrainConfig
from gluon_finetune.training.train import fit, resume

from conftest import ROOT, assert_option_error, run_cli

TINY = ["--epochs", "1", "--batch-size", "8", "--image-size", "32", "--seed", "5", "--quiet"]


def batch(n=6, c=3, h=8, w=10, classes=4, seed=0):
    rs = np.random.RandomState(seed)
    x = rs.normal(size=(n, c, h, w)).astype("float32")
    y = rs.randint(0, classes, size=n).astype("float32")
    return mx.nd.array(x), mx.nd.array(y)


def first_step(mixer, kind, x, y):
    """The first step whose batch ``mixer`` mixes with ``kind``, and its result."""
    for step in range(100):
        out, targets, info = mixer.mix(x, y, step)
        if info.kind == kind:
            return out.asnumpy(), targets.asnumpy(), info
    raise AssertionError("no %s in 100 steps" % kind)


def onehot(y, classes, smoothing=0.0):
    off = smoothing / classes
    t = np.full((len(y), classes), off, dtype="float64")
    t[np.arange(len(y)), y.astype(int)] = 1.0 - smoothing + off
    return t


def test_mixup_images_and_targets_are_the_stated_combination():
    x, y = batch()
    out, targets, info = first_step(BatchMix(4, mixup_alpha=0.4, seed=(1, 1, 0)), "mixup", x, y)
    lam, xs, ys = info.lam, x.asnumpy(), y.asnumpy()
    assert 0 < lam < 1 and info.box is None
    np.testing.assert_allclose(out, lam * xs + (1 - lam) * xs[::-1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(targets, lam * onehot(ys, 4) + (1 - lam) * onehot(ys[::-1], 4), atol=1e-6)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, atol=1e-6)


def test_cutmix_pastes_the_paired_images_box_and_lam_is_the_box_area():
    x, y = batch(n=5)  # odd: the middle image pairs with itself
    out, targets, info = first_step(BatchMix(4, cutmix_alpha=1.0, seed=(2, 1, 0)), "cutmix", x, y)
    y0, y1, x0, x1 = info.box
    xs, ys = x.asnumpy(), y.asnumpy()
    assert info.lam == pytest.approx(1 - (y1 - y0) * (x1 - x0) / (8 * 10))
    inside = np.zeros((8, 10), bool)
    inside[y0:y1, x0:x1] = True
    assert inside.any() and not inside.all()
    # pixel-exact: the box holds the paired image's pixels, the rest the image's own
    np.testing.assert_array_equal(out[:, :, inside], xs[::-1][:, :, inside])
    np.testing.assert_array_equal(out[:, :, ~inside], xs[:, :, ~inside])
    lam = info.lam
    np.testing.assert_allclose(targets, lam * onehot(ys, 4) + (1 - lam) * onehot(ys[::-1], 4), atol=1e-6)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, atol=1e-6)
    assert np.array_equal(x.asnumpy(), xs)  # the loader's batch is not changed in place


class FixedRng:
    """Stands in for a NumPy generator: integers() returns the given centre."""

    def __init__(self, *centre):
        self.centre = list(centre)

    def integers(self, low, high):
        return self.centre.pop(0)


def test_cutmix_box_is_clipped_at_the_border_and_lam_corrected_to_its_area():
    # lam 0.75 on 8 x 12: a 4 x 6 box; centred in the middle it lies whole inside
    box, lam = cutmix_box(8, 12, 0.75, FixedRng(4, 6))
    assert box == (2, 6, 3, 9) and lam == pytest.approx(0.75)
    # centred at the corner, three quarters of it fall outside: the image keeps 1 - 6/96
    box, lam = cutmix_box(8, 12, 0.75, FixedRng(0, 0))
    assert box == (0, 2, 0, 3) and lam == pytest.approx(1 - 6 / 96)


def test_label_smoothing_combines_as_timm_does():
    y = mx.nd.array([0, 1, 1])
    t = soft_targets(y, 2, lam=0.7, smoothing=0.1).asnumpy()
    on, off = 1 - 0.1 + 0.05, 0.05
    np.testing.assert_allclose(t[0], [0.7 * on + 0.3 * off, 0.7 * off + 0.3 * on], atol=1e-6)
    np.testing.assert_allclose(t[1], [off, on], atol=1e-6)
    np.testing.assert_allclose(t.sum(axis=1), 1.0, atol=1e-6)
    # unmixed, the targets are the training loop's own smoothed one-hot rows
    from gluon_finetune.training.epoch import _smooth

    np.testing.assert_allclose(soft_targets(y, 2, smoothing=0.1).asnumpy(), _smooth(y, 2, 0.1).asnumpy())


def test_off_leaves_the_batch_untouched_and_draws_nothing():
    x, y = batch()
    assert mix.from_config(TrainConfig(seed=1), 4, epoch=1) is None
    out, targets, info = BatchMix(4, mixup_alpha=1.0, cutmix_alpha=1.0, prob=0.0).mix(x, y, 0)
    assert out is x and info.kind == "none" and info.lam == 1.0
    np.testing.assert_array_equal(targets.asnumpy(), onehot(y.asnumpy(), 4))
    # mixing draws from its own per-step generator: the global ones, which the shuffle and
    # the augmentations use, are left where they were
    states = random.getstate(), np.random.get_state()[1].copy()
    BatchMix(4, mixup_alpha=1.0, cutmix_alpha=1.0).mix(x, y, 3)
    assert random.getstate() == states[0] and np.array_equal(np.random.get_state()[1], states[1])


def test_mixes_repeat_under_the_seed_and_switch_and_prob_mean_what_they_say():
    x, y = batch()
    both = BatchMix(4, mixup_alpha=0.4, cutmix_alpha=1.0, seed=(7, 2, 0))
    again = BatchMix(4, mixup_alpha=0.4, cutmix_alpha=1.0, seed=(7, 2, 0))
    runs = [[m.mix(x, y, s) for s in range(6)] for m in (both, again)]
    for (oa, ta, ia), (ob, tb, ib) in zip(*runs):
        assert ia == ib
        assert np.array_equal(oa.asnumpy(), ob.asnumpy()) and np.array_equal(ta.asnumpy(), tb.asnumpy())
    other = BatchMix(4, mixup_alpha=0.4, cutmix_alpha=1.0, seed=(7, 3, 0))
    assert [i for _, _, i in runs[0]] != [other.mix(x, y, s)[2] for s in range(6)]
    kinds = lambda m: {m.draw(m.rng(s), 8, 10).kind for s in range(40)}  # noqa: E731
    assert kinds(BatchMix(4, mixup_alpha=1, cutmix_alpha=1, switch_prob=1.0)) == {"cutmix"}
    assert kinds(BatchMix(4, mixup_alpha=1, cutmix_alpha=1, switch_prob=0.0)) == {"mixup"}
    assert kinds(BatchMix(4, mixup_alpha=1, cutmix_alpha=1)) == {"mixup", "cutmix"}
    assert kinds(BatchMix(4, mixup_alpha=1, prob=0.5)) == {"mixup", "none"}


def test_train_accuracy_is_against_the_larger_share():
    t = soft_targets(mx.nd.array([0, 1, 1, 0]), 2, lam=0.7)
    assert mix.hard_labels(t).asnumpy().tolist() == [0, 1, 1, 0]
    t = soft_targets(mx.nd.array([0, 1, 1, 0]), 2, lam=0.3)
    assert mix.hard_labels(t).asnumpy().tolist() == [0, 1, 1, 0]  # reversed pairs: the same classes
    t = soft_targets(mx.nd.array([0, 1, 0, 1]), 2, lam=0.3)
    assert mix.hard_labels(t).asnumpy().tolist() == [1, 0, 1, 0]


@pytest.mark.parametrize("bad, fragment", [
    (dict(mixup=-0.1), "--mixup"), (dict(cutmix=float("nan")), "--cutmix"),
    (dict(mixup=0.2, mix_prob=1.5), "--mix-prob"), (dict(mixup=0.2, cutmix=1, mix_switch_prob=-1),
                                                    "--mix-switch-prob"),
    (dict(mix_prob=0.5), "give --mixup"), (dict(mixup=0.2, mix_switch_prob=0.3), "needs both"),
    (dict(mixup=0.2, freeze_features=True, cache_features=True), "--cache-features"),
])
def test_bad_mix_options_are_refused(bad, fragment):
    assert_option_error(lambda: TrainConfig(**bad).resolved(), fragment)


def test_a_mixed_run_resumes_to_the_same_numbers(tiny_hotdog, tmp_path):
    # two devices and batches of 7: odd batches (the middle image pairs with itself), the
    # last one of 4 split unevenly, soft targets split with the images
    common = dict(data=tiny_hotdog, mode="scratch", epochs=2, batch_size=7, image_size=32, seed=11,
                  quiet=True, mixup=0.4, cutmix=1.0, label_smoothing=0.1, ctx="cpu0,cpu1")
    straight = fit(TrainConfig(out=str(tmp_path / "a"), **common), log=lambda line: None)

    def stop_after_1(line):
        if line.startswith("epoch 1,"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(TrainConfig(out=str(tmp_path / "b"), **common), log=stop_after_1)
    resumed = resume(str(tmp_path / "b"), log=lambda line: None)
    for a, b in zip(straight.history, resumed.history):
        assert (a["loss"], a["train_acc"], a["test_acc"]) == (b["loss"], b["train_acc"], b["test_acc"])
    assert np.isfinite(straight.history[-1]["loss"])


def test_train_with_mixup_and_cutmix_end_to_end(tiny_hotdog, tiny_source, tmp_path):
    out = tmp_path / "run"
    proc = run_cli("train", "--data", tiny_hotdog, "--weights", tiny_source, "--out", out,
                   "--mixup", "0.2", "--cutmix", "1.0", "--mix-prob", "0.8", "--mix-switch-prob", "0.6",
                   *TINY)
    assert proc.returncode == 0, proc.stderr
    assert [l.split(",")[0] for l in proc.stdout.splitlines() if l.startswith("epoch ")] == ["epoch 1"]
    config = json.loads((out / "config.json").read_text())["config"]
    assert (config["mixup"], config["cutmix"], config["mix_prob"], config["mix_switch_prob"]) == \
        (0.2, 1.0, 0.8, 0.6)
    history = [json.loads(l) for l in (out / "history.jsonl").read_text().splitlines()]
    assert all(0 <= h["train_acc"] <= 1 for h in history)


def test_compare_takes_the_mix_options():
    from gluon_finetune.cli import build_parser
    from gluon_finetune.cli.train import config_from_args

    args = build_parser().parse_args(["compare", "--data", "d", "--cutmix", "1.0"])
    config = config_from_args(args)
    assert (config.mixup, config.cutmix, config.mix_prob, config.mix_switch_prob) == (0.0, 1.0, 1.0, 0.5)


def test_bad_mix_options_on_the_command_line(tiny_hotdog, tmp_path, capsys):
    from gluon_finetune.cli import main

    out = tmp_path / "r"
    # main() is what the console script runs: one error line and exit status 2, no traceback
    assert main(["train", "--data", str(tiny_hotdog), "--out", str(out), "--mixup", "-1"]) == 2
    assert capsys.readouterr().err == "error: --mixup must be 0 (off) or a positive Beta alpha such " \
                                      "as 0.2 or 1.0, got -1.0\n"
    assert main(["compare", "--data", str(tiny_hotdog), "--out", str(out), "--mixup", "0.2",
                 "--mix-prob", "2"]) == 2
    assert capsys.readouterr().err.startswith("error: --mix-prob is a probability")
    assert not out.exists()


def load_script():
    import importlib.util
    import os

    path = os.path.join(ROOT, "scripts",
                        "aug_accuracy.py")
    spec = importlib.util.spec_from_file_location("aug_accuracy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_accuracy_scripts_configurations(tmp_path, capsys):
    script = load_script()
    assert script.parse_config("mix=flip:0.3,mixup:0.2,cutmix:1") == \
        ("mix", ["flip:0.3"], {"mixup": 0.2, "cutmix": 1.0})
    assert script.parse_config("book=") == ("book", [], {})
    assert script.train_spec("resized_crop:64,flip,to_tensor,normalize", ["trivial_augment"]) == \
        "resized_crop:64,flip,trivial_augment,to_tensor,normalize"
    with pytest.raises(UserError, match="NAME=WORDS"):
        script.parse_config("book")
    # an unknown word stops the sweep before the data or the source model is made
    out = tmp_path / "sweep"
    assert script.main(["--config", "book=", "--config", "odd=warp:3", "--out", str(out),
                        "--jsonl", str(tmp_path / "a.jsonl")]) == 2
    assert capsys.readouterr().err.startswith("error: unknown augmentation 'warp'")
    assert not out.exists()
