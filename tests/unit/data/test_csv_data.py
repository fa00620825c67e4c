"""--data labels.csv: image paths and labels from a CSV file, wherever a folder works."""
import csv
import json
import os
import shutil

import pytest

from gluon_finetune.data import check_folder, make_loaders, scan_folder
from gluon_finetune.errors import UserError

from conftest import assert_user_error, run_cli_each


def flat_copy(folder, out, splits=("train", "test")):
    """Copy ``folder/<split>/<class>/*`` to ``out/images/`` with flat names; the CSV rows."""
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    rows = []
    for split in splits:
        for cls in sorted(os.listdir(os.path.join(folder, split))):
            for name in sorted(os.listdir(os.path.join(folder, split, cls))):
                flat = "%s__%s__%s" % (split, cls, name)
                shutil.copy(os.path.join(folder, split, cls, name), os.path.join(out, "images", flat))
                rows.append({"file": "images/" + flat, "breed": cls, "split": split})
    return rows


def write_csv(path, rows, columns):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


@pytest.fixture(scope="module")
def csv_set(tiny_hotdog, tmp_path_factory):
    out = tmp_path_factory.mktemp("csvset")
    rows = flat_copy(tiny_hotdog, str(out))
    return str(out), rows


def test_a_csv_with_a_split_column_gives_the_folders_images(csv_set, tiny_hotdog):
    out, rows = csv_set
    path = write_csv(os.path.join(out, "labels.csv"), rows, ["file", "breed", "split"])
    report = scan_folder(path, path_col="file", label_col="breed")
    folder = scan_folder(tiny_hotdog)
    assert report.classes == folder.classes and report.counts == folder.counts
    names = {s: [(os.path.basename(p).split("__")[2], l) for p, l in report.items[s]]
             for s in report.items}
    assert names == {s: [(os.path.basename(p), l) for p, l in folder.items[s]] for s in folder.items}
    assert "a CSV file with a split column" in report.summary()
    checked = check_folder(path, path_col="file", label_col="breed", workers=0)
    assert checked.checked and checked.num_images() == folder.num_images()
    # Without a split column: split per class by --split, seeded; --val-split carves validation.
    path = write_csv(os.path.join(out, "nosplit.csv"), rows, ["file", "breed"])
    report = scan_folder(path, split=0.25, split_seed=1, val_split=0.2, val_seed=2,
                         path_col="file", label_col="breed")
    assert report.layout == "csv" and report.val_from == "--val-split"
    assert sum(report.counts["test"].values()) == round(0.25 * 24) * 2
    assert report.items == scan_folder(path, split=0.25, split_seed=1, val_split=0.2, val_seed=2,
                                       path_col="file", label_col="breed").items
    data = make_loaders(path, batch_size=8, size=32, num_workers=0, quiet=True, path_col="file",
                        label_col="breed")
    x, y = next(iter(data.train))
    assert x.shape == (8, 3, 32, 32) and data.classes == ["hotdog", "not-hotdog"]


def test_bad_rows_are_refused_by_row_number(csv_set, tmp_path):
    out, rows = csv_set
    good = rows[0]["file"]
    bad = [dict(rows[0]), {"file": "", "breed": "x", "split": "train"},
           {"file": good, "breed": "hotdog", "split": "train"},          # listed twice
           {"file": "images/missing.jpg", "breed": "hotdog", "split": "train"},
           {"file": "../outside.jpg", "breed": "hotdog", "split": "train"},
           {"file": rows[1]["file"], "breed": "", "split": "train"},
           {"file": rows[2]["file"], "breed": "hotdog", "split": "holdout"}]
    path = write_csv(os.path.join(out, "bad.csv"), bad, ["file", "breed", "split"])
    with pytest.raises(UserError) as err:
        scan_folder(path, path_col="file", label_col="breed")
    text = str(err.value)
    for fragment in ("bad.csv has 6 rows that cannot be used", "row 3: empty file",
                     "row 4: %s is listed twice (first in row 2)" % good,
                     "row 5: images/missing.jpg does not exist", "row 6: ../outside.jpg lies outside",
                     "row 7: empty breed", "row 8: split 'holdout' is not one of train, val, test"):
        assert fragment in text, text
    with pytest.raises(UserError, match="no 'label' column .*file, breed, split.*--label-col"):
        scan_folder(os.path.join(out, "bad.csv"), path_col="file")
    one = write_csv(os.path.join(out, "oneclass.csv"), [r for r in rows if r["breed"] == "hotdog"],
                    ["file", "breed", "split"])
    with pytest.raises(UserError, match="at least two"):
        scan_folder(one, path_col="file", label_col="breed")
    trainonly = write_csv(os.path.join(out, "trainonly.csv"),
                          [r for r in rows if r["split"] == "train" or r["breed"] == "hotdog"],
                          ["file", "breed", "split"])
    with pytest.raises(UserError, match="no test rows for class not-hotdog"):
        scan_folder(trainonly, path_col="file", label_col="breed")


def test_check_train_evaluate_and_predict_take_a_csv(csv_set, tiny_source, tmp_path):
    out, rows = csv_set
    path = write_csv(os.path.join(out, "cli.csv"), rows, ["file", "breed", "split"])
    run = str(tmp_path / "run")
    cols = ["--path-col", "file", "--label-col", "breed"]
    check, train, evaluate, predict, wrong = run_cli_each(
        ["data", "check", path, "--json", "--workers", "0"] + cols,
        ["train", "--data", path, "--out", run, "--weights", tiny_source, "--image-size", "32",
         "--batch-size", "8", "--epochs", "1", "--recipe", "book", "--seed", "1", "--quiet"] + cols,
        ["evaluate", run, "--data", path, "--json", "--quiet"],   # the run's columns by default
        ["predict", run, path, "--json", "--path-col", "file"],
        ["train", "--data", path, "--out", str(tmp_path / "wrong"), "--weights", tiny_source])
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["counts"]["train"] == {"hotdog": 16, "not-hotdog": 16}
    assert train.returncode == 0, train.stderr
    assert "epoch 1, loss" in train.stdout
    assert evaluate.returncode == 0, evaluate.stderr
    result = json.loads(evaluate.stdout)
    assert len(result["images"]) == 16
    with open(os.path.join(run, "history.jsonl")) as f:
        assert result["accuracy"] == pytest.approx(json.loads(f.readline())["test_acc"])
    assert predict.returncode == 0, predict.stderr
    assert len(json.loads(predict.stdout)) == len(rows)
    assert_user_error(wrong, "cli.csv has no 'path' column", "--path-col")
