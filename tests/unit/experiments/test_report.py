"""The HTML report: self-contained, escaped, every figure embedded, and clean in a real browser."""
import base64
import os
import re

import pytest

from gluon_finetune import plots
from gluon_finetune.experiments import report


def _png(path, colour):
    import numpy as np

    img = np.zeros((8, 12, 3), np.uint8)
    img[:] = colour
    plots.show_images([img], 1, 1, scale=0.5, out=path)
    return path


def _record(tmp_path, label="synthetic hotdog set"):
    images = {}
    for k, key in enumerate(["compare", "confusion", "mistakes", "samples", "augment"]):
        _png(str(tmp_path / ("%s.png" % key)), (40 * k, 100, 200))
        images[key] = "%s.png" % key
    run = {"lr": 0.01, "epochs": 3, "loss": 0.31, "train_acc": 0.9, "test_acc": 0.875,
           "best_test_acc": 0.9, "best_epoch": 2, "time": 12.5, "path": "compare/finetune"}
    scratch = dict(run, lr=0.1, test_acc=0.625, best_test_acc=0.7, path="compare/scratch")
    return {
        "complete": True, "command": "gluon-finetune demo --out 'a b'", "seed": 0,
        "data": {"kind": "synthetic", "label": label, "path": "/x/data/hotdog",
                 "looked_in": "/home/u/.mxnet/datasets", "reused": False},
        "source": {"kind": "synthetic", "label": "a synthetic source model", "path": "/x/source/s.params",
                   "source_test_acc": 0.61, "chance": 0.1, "classes": ["a", "b"],
                   "looked_in": "/home/u/.mxnet/models/r.params",
                   "recipe": {"epochs": 6, "image_size": 64, "batch_size": 64, "lr": 0.1,
                              "momentum": 0.9, "counts": [200, 25]},
                   "preprocessing": {"train_augs": "flip", "image_size": 64}},
        "settings": {"name": "demo", "epochs": 3, "batch_size": 32, "image_size": 64},
        "runs": {"finetune": run, "scratch": scratch},
        "evaluation": {"accuracy": 0.9, "evaluated": "/x/data/hotdog/test (8 images)",
                       "checkpoint": "best", "epoch": 2, "json": "evaluation/evaluation.json",
                       "per_class": [{"class": "hotdog", "precision": 1.0, "recall": 0.8, "f1": 0.89,
                                      "support": 4},
                                     {"class": "not-hotdog", "precision": 0.8, "recall": 1.0,
                                      "f1": 0.89, "support": 4}]},
        "images": images, "steps": {"data": 1.0, "compare": 20.0}, "total_seconds": 21.0,
        "made_by": {"gluon_finetune": "0.1.0", "mxnet": "1.9.1", "python": "3.11"},
    }


def test_every_figure_is_embedded_as_the_file_itself(tmp_path):
    record = _record(tmp_path)
    path = report.write_report(str(tmp_path / "report.html"), record)
    page = open(path, encoding="utf-8").read()
    sources = re.findall(r'<img src="([^"]*)"', page)
    assert len(sources) == len(record["images"])
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in sources}
    on_disk = {open(str(tmp_path / rel), "rb").read() for rel in record["images"].values()}
    assert embedded == on_disk
    assert all(s.startswith("data:image/png;base64,") for s in sources)


def test_page_is_plain_html_with_nothing_from_outside(tmp_path):
    page = report.render(_record(tmp_path), lambda rel: "data:image/png;base64,AAAA")
    assert "<script" not in page.lower()
    assert not re.search(r"(?:src|href)=\"(?!data:)", page), "every src/href must be a data: URI"
    assert "http://" not in page and "https://" not in page
    assert "@import" not in page and "url(" not in page


def test_numbers_and_provenance_are_on_the_page(tmp_path):
    page = report.render(_record(tmp_path), lambda rel: "data:,")
    for text in ("0.875", "0.625", "fine-tuning ahead by 25.0 points", "0.610", "12.5 s",
                 "mxnet 1.9.1", "/home/u/.mxnet/datasets", "compare 20.0 s", "21.0 s",
                 "not about real hotdogs"):
        assert text in page, text


def test_text_from_the_record_is_escaped(tmp_path):
    page = report.render(_record(tmp_path, label="<b>folder & co</b>"), lambda rel: "data:,")
    assert "&lt;b&gt;folder &amp; co&lt;/b&gt;" in page
    assert "<b>folder" not in page
    assert "gluon-finetune demo --out &#x27;a b&#x27;" in page


def test_a_missing_figure_is_an_error_not_a_broken_image(tmp_path):
    record = _record(tmp_path)
    os.remove(str(tmp_path / "mistakes.png"))
    with pytest.raises(FileNotFoundError):
        report.write_report(str(tmp_path / "report.html"), record)
    assert not os.path.exists(str(tmp_path / "report.html"))
