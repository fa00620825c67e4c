"""Evaluation: metrics by hand, a real run checked against an independent pass, TTA, the CLI."""
import json
import os
import shutil

import mxnet as mx
import numpy as np
import pytest
from mxnet import image
from mxnet.gluon.model_zoo import vision
from PIL import Image

from gluon_finetune import plots
from gluon_finetune.constants import IMAGENET_MEAN, IMAGENET_STD
from gluon_finetune.inference.evaluate import evaluate_run
from gluon_finetune.inference.predict import load_run
from gluon_finetune.metrics import (
    balanced_accuracy,
    confusion_matrix,
    per_class_metrics,
    scores,
    top_k_accuracy,
)
from gluon_finetune.training.config import TrainConfig
from gluon_finetune.training.train import fit

from conftest import assert_option_error, assert_user_errors, run_cli

MEAN = np.array(IMAGENET_MEAN, dtype=np.float32)
STD = np.array(IMAGENET_STD, dtype=np.float32)


def test_precision_recall_f1_against_hand_computed_values():
    cm = np.array([[5, 2, 1],
                   [0, 3, 0],
                   [1, 1, 0]])
    m = per_class_metrics(cm)
    # columns (predicted) sum to 6, 6, 1; rows (true) to 8, 3, 2
    np.testing.assert_allclose(m["precision"], [5 / 6, 3 / 6, 0 / 1])
    np.testing.assert_allclose(m["recall"], [5 / 8, 3 / 3, 0 / 2])
    np.testing.assert_allclose(m["f1"], [5 / 7, 2 / 3, 0.0])  # 2pr/(p+r) of each
    assert m["support"].tolist() == [8, 3, 2]
    # a class that is never predicted and never present: zeros, not NaN
    m = per_class_metrics(np.array([[2, 0], [0, 0]]))
    assert m["precision"].tolist() == [1.0, 0.0] and m["recall"].tolist() == [1.0, 0.0]
    assert m["f1"].tolist() == [1.0, 0.0]


def test_confusion_matrix_and_scores():
    labels = [0, 0, 0, 1, 1, 2]
    preds = [0, 1, 0, 1, 2, 2]
    assert confusion_matrix(labels, preds, 3).tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    with pytest.raises(ValueError):
        confusion_matrix([0, 3], [0, 0], 3)
    probs = np.eye(3)[preds] * 0.8 + 0.2 / 3
    s = scores(probs, labels, ["a", "b", "c"])
    assert s["accuracy"] == pytest.approx(4 / 6) and s["correct"] == 4 and s["images"] == 6
    assert s["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert [r["class"] for r in s["per_class"]] == ["a", "b", "c"]
    assert s["per_class"][0]["recall"] == pytest.approx(2 / 3)
    assert s["per_class"][2]["precision"] == pytest.approx(1 / 2)
    assert s["macro"]["recall"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert s["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert s["top_k"] == {"k": 3, "accuracy": 1.0}  # k capped at the 3 classes


def test_balanced_and_top_k_accuracy_by_hand():
    # 9:1, always the big class: accuracy 0.9, balanced accuracy 0.5
    big = scores(np.tile([0.9, 0.1], (10, 1)), [0] * 9 + [1], ["big", "small"])
    assert big["accuracy"] == pytest.approx(0.9) and big["balanced_accuracy"] == pytest.approx(0.5)
    # a class without images does not count in the mean
    assert balanced_accuracy([[3, 1, 0], [0, 0, 0], [0, 2, 2]]) == pytest.approx((3 / 4 + 2 / 4) / 2)
    # 7 classes: true class ranked 1st, 3rd, 6th and 7th -> top-1 1/4, top-5 2/4
    probs = np.array([[7, 6, 5, 4, 3, 2, 1]] * 4, dtype=np.float32)
    labels = [0, 2, 5, 6]
    assert top_k_accuracy(probs, labels, 1) == pytest.approx(0.25)
    assert top_k_accuracy(probs, labels, 5) == pytest.approx(0.5)
    assert scores(probs, labels, list("abcdefg"))["top_k"] == {"k": 5, "accuracy": 0.5}


def hotdog_test_files(tiny_hotdog):
    files = []
    for label, name in enumerate(sorted(os.listdir(os.path.join(tiny_hotdog, "test")))):
        folder = os.path.join(tiny_hotdog, "test", name)
        files += [(os.path.join(folder, f), label) for f in sorted(os.listdir(folder))]
    return files




def independent_predictions(run_dir, files, size=32):
    """The run's best net on ``files``, with the book's test list written out by hand."""
    with open(os.path.join(run_dir, "checkpoints", "best.json")) as f:
        params = json.load(f)["params"]
    net = vision.get_model("resnet18_v2", classes=2)
    net.load_parameters(os.path.join(run_dir, "checkpoints", params))
    resize = int(round(size * 256 / 224))
    preds = []
    for path, _ in files:
        img = mx.nd.array(np.asarray(Image.open(path).convert("RGB")), dtype="uint8")
        img = image.center_crop(image.resize_short(img, resize, interp=1), (size, size), interp=1)[0]
        x = (img.asnumpy().astype(np.float32) / 255.0 - MEAN) / STD
        logits = net(mx.nd.array(x.transpose(2, 0, 1)[None])).asnumpy()[0]
        preds.append(int(logits.argmax()))
    return preds


def test_evaluation_matches_an_independent_pass_over_the_test_images(run_dir, tiny_hotdog, tmp_path):
    files = hotdog_test_files(tiny_hotdog)
    preds = independent_predictions(run_dir, files)
    labels = [l for _, l in files]
    cm = [[0, 0], [0, 0]]
    for t, p in zip(labels, preds):
        cm[t][p] += 1
    result = evaluate_run(run_dir, tiny_hotdog, out=str(tmp_path / "eval"), quiet=True)
    saved = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    assert saved["plain"]["confusion"] == cm == result.plain["confusion"]
    assert saved["accuracy"] == pytest.approx(sum(t == p for t, p in zip(labels, preds)) / len(files))
    assert [im["path"] for im in saved["images"]] == [p for p, _ in files]
    assert [im["predicted"] for im in saved["images"]] == [result.classes[p] for p in preds]
    assert saved["classes"] == ["hotdog", "not-hotdog"] and saved["tta"] is None
    assert saved["checkpoint"] == "best" and saved["evaluated"].startswith(os.path.join(tiny_hotdog, "test"))
    for name in ("confusion.png", "mistakes.png"):
        with open(tmp_path / "eval" / name, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", name
    summary = result.summary()
    assert "accuracy %.3f" % saved["accuracy"] in summary and "not-hotdog" in summary
    assert "balanced accuracy %.3f" % saved["plain"]["balanced_accuracy"] in summary
    assert "top-" not in summary  # two classes: top-2 says nothing


def test_tta_crop_shapes_and_averaged_probabilities(run_dir, tiny_hotdog, tmp_path):
    model = load_run(run_dir)
    paths = [p for p, _ in hotdog_test_files(tiny_hotdog)]
    assert model.crops(paths[0], "five-crop").shape == (5, 3, 32, 32)
    assert model.crops(paths[0], "ten-crop").shape == (10, 3, 32, 32)
    five = model.crop_probabilities(paths[:3], "five-crop")
    ten = model.crop_probabilities(paths[:3], "ten-crop", batch_size=7)  # batches that split images
    assert five.shape == (3, 5, 2) and ten.shape == (3, 10, 2)
    np.testing.assert_allclose(ten[:, :5], five, atol=1e-6)  # ten-crop = five-crop + mirrors
    averaged = model.probabilities(paths, tta="ten-crop")
    assert averaged.shape == (len(paths), 2)
    np.testing.assert_allclose(averaged.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(averaged[:3], ten.mean(axis=1), atol=1e-6)

    result = evaluate_run(run_dir, tiny_hotdog, tta="ten-crop", out=str(tmp_path / "e"), quiet=True)
    expected = (averaged.argmax(axis=1) == [l for _, l in hotdog_test_files(tiny_hotdog)]).mean()
    assert result.tta["kind"] == "ten-crop" and result.tta["crops"] == 10
    assert result.tta["accuracy"] == pytest.approx(expected)
    assert result.plain["accuracy"] == pytest.approx(
        (model.probabilities(paths).argmax(axis=1) == [l for _, l in hotdog_test_files(tiny_hotdog)]).mean())
    assert (tmp_path / "e" / "confusion-ten-crop.png").is_file()
    assert "with ten-crop test-time augmentation" in result.summary()
    assert_option_error(lambda: evaluate_run(run_dir, tiny_hotdog, tta="six-crop"),
                        "unknown --tta 'six-crop'")


def test_a_folder_of_class_folders_is_evaluated_whole_and_bad_files_are_skipped(run_dir, tiny_hotdog,
                                                                               tmp_path):
    data = tmp_path / "photos"
    for name in ("hotdog", "not-hotdog"):
        shutil.copytree(os.path.join(tiny_hotdog, "test", name), data / name)
    (data / "hotdog" / "empty.jpg").write_bytes(b"")
    result = evaluate_run(run_dir, str(data), out=str(tmp_path / "e"), quiet=True)
    assert result.plain["images"] == 16 and "every image" in result.evaluated
    assert [os.path.basename(p) for p, _ in result.skipped] == ["empty.jpg"]
    assert "empty" in result.skipped[0][1] and "skipped unreadable" in result.summary()


def test_a_run_on_a_single_folder_is_evaluated_on_the_part_it_held_out(tiny_hotdog, tmp_path):
    data = tmp_path / "flat"
    for name in ("hotdog", "not-hotdog"):
        shutil.copytree(os.path.join(tiny_hotdog, "train", name), data / name)
    out = tmp_path / "run"
    fit(TrainConfig(data=str(data), out=str(out), mode="scratch", split=0.25, epochs=1, batch_size=8,
                    image_size=32, seed=1, quiet=True), log=lambda line: None)
    held_out = json.loads((out / "config.json").read_text())["data"]["counts"]["test"]
    assert sum(held_out.values()) == 8  # 25% of 16 per class
    result = evaluate_run(str(out), str(data), quiet=True)
    assert result.plain["images"] == 8 and "held out" in result.evaluated
    assert [r["support"] for r in result.plain["per_class"]] == [held_out["hotdog"], held_out["not-hotdog"]]
    # the metrics alone: nothing written until asked, then into the default RUN/eval
    assert result.files == {} and not os.path.exists(out / "eval")
    assert result.write()["json"] == str(out / "eval" / "evaluation.json")
    assert json.loads((out / "eval" / "evaluation.json").read_text())["accuracy"] == result.accuracy


def test_plots_draw_the_matrix_and_one_panel_per_mistake():
    fig = plots.confusion_matrix(np.array([[3, 1], [0, 4]]), ["hotdog", "not-hotdog"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["3", "1", "0", "4"]
    img = np.zeros((20, 30, 3), np.uint8)
    fig = plots.mistakes([(img, "hotdog", "not-hotdog", 0.91), (img, "not-hotdog", "hotdog", 0.6),
                          (img, "hotdog", "not-hotdog", 0.55)], num_cols=2)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 3
    assert drawn[0].get_title() == "true: hotdog\npredicted: not-hotdog (91%)"
    empty = plots.mistakes([])
    assert any("no mistakes" in t.get_text() for t in empty.texts)


def test_cli_evaluate_prints_a_table_and_writes_into_the_run(run_dir, tiny_hotdog):
    proc = run_cli("evaluate", run_dir, "--data", tiny_hotdog, "--quiet")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "accuracy" in out and "precision" in out and "macro avg" in out
    assert "confusion matrix (rows: true class" in out
    for name in ("evaluation.json", "confusion.png", "mistakes.png"):
        assert os.path.isfile(os.path.join(run_dir, "eval", name)), name
        assert "wrote %s" % os.path.join(run_dir, "eval", name) in out
    proc = run_cli("evaluate", run_dir, "--data", tiny_hotdog, "--json", "--tta", "five-crop",
                   "--out", os.path.join(run_dir, "eval-tta"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["tta"]["kind"] == "five-crop" and len(data["images"]) == 16


def test_cli_evaluate_user_errors(run_dir, tiny_hotdog, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(os.path.join(run_dir, "config.json"), bare / "config.json")
    other = tmp_path / "other"
    for name in ("cat", "dog"):
        shutil.copytree(os.path.join(tiny_hotdog, "test", "hotdog"), other / name)
    assert_user_errors(
        (("evaluate", tmp_path, "--data", tiny_hotdog), "not a run folder"),
        (("evaluate", bare, "--data", tiny_hotdog), "no 'best' checkpoint"),
        (("evaluate", run_dir, "--data", tiny_hotdog, "--checkpoint", "middle"),
         "unknown --checkpoint 'middle'"),
        (("evaluate", run_dir, "--data", tiny_hotdog, "--tta", "six-crop"),
         "unknown --tta 'six-crop'", "five-crop", "ten-crop"),
        (("evaluate", run_dir, "--data", other), "(cat, dog)", "(hotdog, not-hotdog)"),
        (("evaluate", run_dir, "--data", tmp_path / "nowhere"), "does not exist"))


def test_history_gains_top5_accuracy_with_more_than_five_classes(tmp_path, run_dir):
    """Seven classes: every epoch records test_top5_acc, equal to a count by hand over the
    last checkpoint's scores; two classes (the shared run): no top-5 column."""
    import csv

    rng = np.random.RandomState(0)
    classes = ["c%d" % i for i in range(7)]
    for split, n in (("train", 3), ("test", 3)):
        for c, name in enumerate(classes):
            folder = tmp_path / "data" / split / name
            folder.mkdir(parents=True)
            for i in range(n):  # a class colour plus noise: learnable, not all top-1 at once
                px = np.clip(rng.normal(36 * c, 40, (40, 40, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(px).save(folder / ("%d.png" % i))
    out = tmp_path / "run"
    fit(TrainConfig(data=str(tmp_path / "data"), out=str(out), mode="scratch", epochs=2, lr=0.01,
                    batch_size=7, image_size=32, seed=0, quiet=True), log=lambda line: None)
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [sorted(k for k in h if "top5" in k) for h in history] == [["test_top5_acc"]] * 2
    model = load_run(str(out), checkpoint="last", ctx="cpu")
    files, labels = [], []
    for c, name in enumerate(model.classes):
        folder = tmp_path / "data" / "test" / name
        files += sorted(str(p) for p in folder.iterdir())
        labels += [c] * len(list(folder.iterdir()))
    # Logits, not probabilities: a saturated softmax ties at 0.0, and ties rank either way.
    logits = model.logits(mx.nd.stack(*[model.preprocess(f) for f in files]))
    assert history[-1]["test_top5_acc"] == pytest.approx(top_k_accuracy(logits, labels, 5))
    assert history[-1]["test_top5_acc"] >= history[-1]["test_acc"]
    with open(out / "history.csv", newline="") as f:
        assert "test_top5_acc" in next(csv.reader(f))
    two = [json.loads(line) for line in open(os.path.join(run_dir, "history.jsonl"))]
    assert not any("top5" in k for h in two for k in h)
