"""Prediction: load_run().predict from Python, and `gluon-finetune predict` with good and bad files."""
import csv
import io
import json
import os
import shutil

import mxnet as mx
import numpy as np
import pytest
from PIL import Image

from gluon_finetune.errors import UserError
from gluon_finetune.imageio import ImageReadError, read_image
from gluon_finetune.inference.predict import Prediction, load_run

from conftest import assert_user_errors, run_cli


@pytest.fixture(scope="module")
def model(run_dir):
    return load_run(run_dir, ctx="cpu")


@pytest.fixture
def photos(tiny_hotdog, tmp_path):
    """Three good images, a zero-byte .jpg and a text file named .jpg."""
    folder = tmp_path / "photos"
    folder.mkdir()
    good = []
    for name in ("hotdog", "not-hotdog"):
        src = os.path.join(tiny_hotdog, "test", name)
        for f in sorted(os.listdir(src))[:2 if name == "hotdog" else 1]:
            good.append(str(folder / ("%s-%s" % (name, f))))
            shutil.copy(os.path.join(src, f), good[-1])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("this is not a picture\n")
    return folder, sorted(good)


def test_paths_arrays_and_ndarrays_give_the_same_answer(model, tiny_hotdog):
    path = os.path.join(tiny_hotdog, "test", "hotdog", sorted(os.listdir(
        os.path.join(tiny_hotdog, "test", "hotdog")))[0])
    arr = read_image(path)
    by_path = model.predict(path, top_k=2)
    assert isinstance(by_path, Prediction) and by_path.source == path
    assert model.classes == ["hotdog", "not-hotdog"]
    assert by_path.label in model.classes and by_path.top[0] == (by_path.label, by_path.probability)
    assert [l for l, _ in by_path.top] == sorted(model.classes, key=lambda c: -by_path.probabilities[
        model.classes.index(c)])
    assert sum(p for _, p in by_path.top) == pytest.approx(1.0, abs=1e-5)
    for other in (arr, mx.nd.array(arr, dtype="uint8"), Image.fromarray(arr)):
        np.testing.assert_allclose(model.predict(other, top_k=2).probabilities, by_path.probabilities,
                                   atol=1e-6)
    batch = model.predict([path, arr])
    assert isinstance(batch, list) and [p.source for p in batch] == [path, "#1"]
    assert model.predict(np.stack([arr, arr]))[1].label == by_path.label  # a 4-D batch
    with pytest.raises(UserError, match="uint8"):
        model.predict(arr.astype(np.float32))
    with pytest.raises(ImageReadError, match="not found"):
        model.predict(path + ".missing")


def test_predict_files_reports_bad_files_in_place(model, photos):
    folder, good = photos
    results = model.predict_files([folder / "empty.jpg", folder, folder / "missing.jpg"], batch_size=2)
    sources = [r.source for r in results]
    assert sources[0] == str(folder / "empty.jpg") and sources[-1] == str(folder / "missing.jpg")
    assert sorted(r.source for r in results if r.ok) == good
    errors = {os.path.basename(r.source): r.error for r in results if not r.ok}
    assert set(errors) == {"empty.jpg", "notes.jpg", "missing.jpg"}
    assert "empty" in errors["empty.jpg"] and "not an image" in errors["notes.jpg"]
    assert "not found" in errors["missing.jpg"]
    # the good ones get what predict() says about them
    for r in results:
        if r.ok:
            np.testing.assert_allclose(r.probabilities, model.predict(r.source).probabilities, atol=1e-6)


def test_cli_table_json_and_csv_agree_with_load_run(run_dir, model, photos):
    folder, good = photos
    proc = run_cli("predict", run_dir, *good)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["image", "label", "probability"]
    assert len(lines) == 1 + len(good)
    expected = {p.source: p for p in model.predict(good)}
    for line in lines[1:]:
        path, label, prob = line.split()
        assert label == expected[path].label and float(prob) == pytest.approx(expected[path].probability,
                                                                              abs=1e-3)

    proc = run_cli("predict", run_dir, folder, "--json", "--top-k", "2")
    assert proc.returncode == 1
    items = json.loads(proc.stdout)
    assert [i["path"] for i in items] == sorted(str(p) for p in folder.iterdir())
    for item in items:
        if item["error"] is None:
            assert item["label"] == expected[item["path"]].label
            assert item["probability"] == pytest.approx(expected[item["path"]].probability, abs=1e-6)
            assert [t["label"] for t in item["top_k"]][0] == item["label"] and len(item["top_k"]) == 2
        else:
            assert item["label"] is None and os.path.basename(item["path"]) in ("empty.jpg", "notes.jpg")

    proc = run_cli("predict", run_dir, folder, "--csv", "--top-k", "2")
    assert proc.returncode == 1
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert list(rows[0]) == ["path", "label", "probability", "label_2", "probability_2", "error"]
    by_path = {r["path"]: r for r in rows}
    for path in good:
        assert by_path[path]["label"] == expected[path].label and by_path[path]["error"] == ""
        assert float(by_path[path]["probability"]) == pytest.approx(expected[path].probability, abs=1e-5)
    assert "empty" in by_path[str(folder / "empty.jpg")]["error"]


def test_cli_bad_files_are_reported_one_by_one_and_exit_1(run_dir, photos):
    folder, good = photos
    proc = run_cli("predict", run_dir, folder / "empty.jpg", good[0], folder / "notes.jpg",
                   folder / "missing.jpg", good[1])
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    failed = [l for l in proc.stderr.splitlines() if l.startswith("failed: ")]
    assert len(failed) == 3
    for name in ("empty.jpg", "notes.jpg", "missing.jpg"):
        assert any(name in l for l in failed), name
    assert "3 of 5 images could not be classified" in proc.stderr
    rows = proc.stdout.splitlines()[1:]
    assert [r.split()[0] for r in rows] == [str(folder / "empty.jpg"), good[0], str(folder / "notes.jpg"),
                                            str(folder / "missing.jpg"), good[1]]
    assert sum("(unreadable)" in r for r in rows) == 3


def test_cli_predict_user_errors(run_dir, photos, tmp_path):
    folder, good = photos
    assert_user_errors((("predict", tmp_path, good[0]), "not a run folder"),
                       (("predict", run_dir, good[0], "--top-k", "0"), "--top-k"),
                       (("predict", run_dir, good[0], "--checkpoint", "first"),
                        "unknown --checkpoint 'first'"))
