"""Tests for gluon_finetune.data.synthetic and `gluon-finetune data synth`."""
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gluon_finetune.data import synthetic as S
from gluon_finetune.errors import UserError


def _digests(root):
    """{relative path: sha1} of every file under root."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = hashlib.sha1(f.read()).hexdigest()
    return out


def _images(root):
    return {k: v for k, v in _digests(root).items() if k.endswith(".jpg")}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "gluon_finetune", "data", "synth", *args],
                          capture_output=True, text=True, timeout=120)


# --------------------------------------------------------------------------- determinism

def test_same_arguments_give_identical_bytes(tmp_path):
    kw = dict(task="hotdog", n_per_class=3, n_test_per_class=2, size=(40, 60), seed=7,
              quiet=True)
    S.generate(str(tmp_path / "a"), workers=1, **kw)
    S.generate(str(tmp_path / "b"), workers=2, **kw)  # the pool must not change a byte
    a, b = _images(tmp_path / "a"), _images(tmp_path / "b")
    assert len(a) == 10
    assert a == b


def test_different_seed_gives_different_pictures(tmp_path):
    kw = dict(task="hotdog", n_per_class=3, n_test_per_class=1, size=(40, 60), quiet=True,
              workers=1)
    S.generate(str(tmp_path / "a"), seed=0, **kw)
    S.generate(str(tmp_path / "b"), seed=1, **kw)
    a, b = _images(tmp_path / "a"), _images(tmp_path / "b")
    assert a.keys() == b.keys()
    assert all(a[k] != b[k] for k in a)


def test_pictures_within_a_folder_differ():
    pics = [S.render("hotdog", "hotdog", index=i, size=(48, 48)).tobytes() for i in range(4)]
    assert len(set(pics)) == 4


def test_render_is_a_pure_function():
    a = S.render("source", "sausage", seed=3, split="test", index=5, size=(50, 70))
    b = S.render("source", "sausage", seed=3, split="test", index=5, size=(50, 70))
    assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3
    assert np.array_equal(a, b)
    c = S.render("source", "sausage", seed=3, split="train", index=5, size=(50, 70))
    assert a.tobytes() != c.tobytes()


# --------------------------------------------------------------------------- sizes, counts, layout

def test_default_size_range_is_the_books_varied_sizes():
    assert S.DEFAULT_SIZE == (200, 500)
    shapes = [S.render("hotdog", label, index=i).shape
              for label in S.HOTDOG_CLASSES for i in range(3)]
    for h, w, c in shapes:
        assert 200 <= h <= 500 and 200 <= w <= 500 and c == 3
    assert len(set(shapes)) > 1  # varied, not one fixed size


def test_files_are_jpeg_within_the_size_range(tmp_path):
    S.generate(str(tmp_path / "d"), n_per_class=4, n_test_per_class=2, size=(33, 47),
               quiet=True, workers=1)
    sizes = set()
    for rel in _images(tmp_path / "d"):
        with Image.open(tmp_path / "d" / rel) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            w, h = im.size
        assert 33 <= w <= 47 and 33 <= h <= 47
        sizes.add((w, h))
    assert len(sizes) > 1


def test_counts_layout_and_marker(tmp_path):
    out = tmp_path / "hd"
    meta = S.generate(str(out), n_per_class=5, size=(40, 50), quiet=True)
    # the test count follows the book's 400:1000 ratio
    assert meta["n_test_per_class"] == 2
    for split, n in (("train", 5), ("test", 2)):
        assert sorted(os.listdir(out / split)) == ["hotdog", "not-hotdog"]
        for label in S.HOTDOG_CLASSES:
            names = sorted(os.listdir(out / split / label))
            assert names == ["%05d.jpg" % i for i in range(n)]
    assert sorted(os.listdir(out)) == ["synthetic.json", "test", "train"]
    marker = json.loads((out / "synthetic.json").read_text())
    assert marker["task"] == "hotdog" and marker["complete"] is True
    assert marker["files"] == 14 and marker["size"] == [40, 50] and marker["seed"] == 0


def test_source_test_count_follows_its_own_ratio(tmp_path):
    meta = S.generate(str(tmp_path / "src"), task="source", n_per_class=16, size=(32, 32),
                      quiet=True)
    assert meta["n_test_per_class"] == 2  # 50 for 400


def test_source_task_has_ten_classes_with_explicit_test_count(tmp_path):
    out = tmp_path / "src"
    meta = S.generate(str(out), task="source", n_per_class=2, n_test_per_class=1,
                      size=(40, 50), quiet=True)
    assert meta["classes"] == list(S.SOURCE_CLASSES) and len(S.SOURCE_CLASSES) == 10
    assert "hotdog" in S.SOURCE_CLASSES
    assert sorted(os.listdir(out / "train")) == sorted(S.SOURCE_CLASSES)
    assert all(len(os.listdir(out / "test" / c)) == 1 for c in S.SOURCE_CLASSES)
    assert all(len(os.listdir(out / "train" / c)) == 2 for c in S.SOURCE_CLASSES)


def test_default_counts_are_the_books():
    assert S.DEFAULT_COUNTS["hotdog"] == (1000, 400)


def test_rerun_replaces_an_earlier_output_of_the_same_task(tmp_path):
    out = tmp_path / "hd"
    S.generate(str(out), n_per_class=4, n_test_per_class=2, size=(40, 50), quiet=True)
    S.generate(str(out), n_per_class=2, n_test_per_class=1, size=(40, 50), seed=1, quiet=True)
    assert len(os.listdir(out / "train" / "hotdog")) == 2  # no stale pictures left over
    assert json.loads((out / "synthetic.json").read_text())["seed"] == 1


# --------------------------------------------------------------------------- refusals

def test_refuses_a_foreign_non_empty_folder_and_writes_nothing(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"not ours")
    with pytest.raises(UserError, match="not empty"):
        S.generate(str(out), n_per_class=1, size=(40, 50), quiet=True)
    assert os.listdir(out) == ["holiday.jpg"]


def test_refuses_an_output_of_the_other_task(tmp_path):
    out = tmp_path / "src"
    S.generate(str(out), task="source", n_per_class=1, n_test_per_class=1, size=(40, 50),
               quiet=True)
    before = _digests(out)
    with pytest.raises(UserError, match="'source'"):
        S.generate(str(out), task="hotdog", n_per_class=1, size=(40, 50), quiet=True)
    assert _digests(out) == before


def test_refuses_an_output_that_holds_foreign_files(tmp_path):
    out = tmp_path / "hd"
    S.generate(str(out), n_per_class=1, n_test_per_class=1, size=(40, 50), quiet=True)
    (out / "train" / "hotdog" / "my-photo.png").write_bytes(b"x")
    before = _digests(out)
    with pytest.raises(UserError, match="my-photo.png"):
        S.generate(str(out), n_per_class=1, size=(40, 50), quiet=True)
    assert _digests(out) == before


@pytest.mark.parametrize("kwargs, match", [
    (dict(task="cats"), "unknown synthetic task"),
    (dict(n_per_class=0), "positive integer"),
    (dict(n_per_class=2, n_test_per_class=-1), "positive integer"),
    (dict(size=(50, 40)), "not usable"),
    (dict(size=(8, 8)), "not usable"),
])
def test_bad_arguments_are_user_errors(tmp_path, kwargs, match):
    with pytest.raises(UserError, match=match):
        S.generate(str(tmp_path / "x"), quiet=True, **kwargs)


def test_parse_size():
    assert S.parse_size("200-500") == (200, 500)
    assert S.parse_size("64") == (64, 64)
    for bad in ("", "big", "1-2-3", "500-200"):
        with pytest.raises(UserError):
            S.parse_size(bad)


# --------------------------------------------------------------------------- sample_image

def test_sample_image_is_a_400_by_500_picture():
    img = S.sample_image()
    assert img.shape == (400, 500, 3) and img.dtype == np.uint8
    assert img.std() > 20  # not blank
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 1000  # a picture, not a few flat colours
    assert np.array_equal(img, S.sample_image(0))
    assert not np.array_equal(img, S.sample_image(1))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_sample_image_has_the_hotdog_in_the_middle(seed):
    # Bun and sausage are warm colours (red well above blue); the plate under
    # them is grey-white, the table anything. The centre must be hotdog.
    centre = S.sample_image(seed)[190:210, 240:260].astype(int)
    assert (centre[..., 0] - centre[..., 2]).mean() > 40


# --------------------------------------------------------------------------- command line

def test_cli_writes_and_reports(tmp_path):
    out = tmp_path / "hd"
    r = _cli("--out", str(out), "--n-per-class", "3", "--size", "40-50", "--seed", "2")
    assert r.returncode == 0, r.stderr
    assert "wrote 8 hotdog pictures" in r.stdout  # 3 + 3 train, 1 + 1 test (40%)
    assert len(_images(out)) == 8
    # same command again: allowed (an earlier output of the same task), same bytes
    before = _images(out)
    r = _cli("--out", str(out), "--n-per-class", "3", "--size", "40-50", "--seed", "2",
             "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert _images(out) == before


def test_cli_refuses_a_non_empty_folder_it_did_not_write(tmp_path):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "cat.jpg").write_bytes(b"meow")
    r = _cli("--out", str(out), "--n-per-class", "2", "--size", "40")
    assert r.returncode == 2
    assert r.stderr.startswith("error: refusing to write into")
    assert "Traceback" not in r.stderr
    assert os.listdir(out) == ["cat.jpg"]
    assert os.listdir(tmp_path) == ["photos"]  # nothing written beside it either


def test_cli_rejects_a_bad_size(tmp_path):
    r = _cli("--out", str(tmp_path / "x"), "--size", "huge")
    assert r.returncode == 2 and "--size" in r.stderr
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------- learnable

def _load_small(root, split, px):
    xs, ys = [], []
    for ci, label in enumerate(S.HOTDOG_CLASSES):
        d = os.path.join(root, split, label)
        for name in sorted(os.listdir(d)):
            with Image.open(os.path.join(d, name)) as im:
                xs.append(np.asarray(im.convert("RGB").resize((px, px), Image.BILINEAR)))
            ys.append(ci)
    x = np.stack(xs).astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    return (x - 0.5) / 0.25, np.array(ys, np.float32)


def test_a_tiny_network_learns_the_hotdog_task(tmp_path):
    """A small CNN on 32 px pictures gets clearly above chance in ~150 steps (a few seconds)."""
    import mxnet as mx
    from mxnet import autograd, gluon, init, nd

    out = str(tmp_path / "hd")
    S.generate(out, n_per_class=200, n_test_per_class=100, size=(48, 64), seed=0, quiet=True)
    xtr, ytr = _load_small(out, "train", 32)
    xte, yte = _load_small(out, "test", 32)

    mx.random.seed(0)
    rng = np.random.RandomState(0)
    net = gluon.nn.HybridSequential()
    for ch in (16, 32, 64):
        net.add(gluon.nn.Conv2D(ch, 3, padding=1), gluon.nn.BatchNorm(),
                gluon.nn.Activation("relu"), gluon.nn.MaxPool2D(2))
    net.add(gluon.nn.GlobalAvgPool2D(), gluon.nn.Dense(2))
    net.initialize(init.Xavier())
    net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.003})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    for epoch in range(12):
        if epoch == 8:  # settle: the last epochs at a lower rate end on a steady accuracy
            trainer.set_learning_rate(0.0005)
        order = rng.permutation(len(xtr))
        for i in range(0, len(order), 32):
            j = order[i:i + 32]
            x = xtr[j]
            flip = rng.rand(len(j)) < 0.5
            x[flip] = x[flip][..., ::-1]
            with autograd.record():
                loss = loss_fn(net(nd.array(x)), nd.array(ytr[j]))
            loss.backward()
            trainer.step(len(j))
    pred = net(nd.array(xte)).argmax(axis=1).asnumpy()
    acc = float((pred == yte).mean())
    # Measured 0.79-0.90 over three data seeds x two model seeds; chance is 0.5.
    assert acc > 0.7, "test accuracy %.3f" % acc
