"""Image folders: layout, the check, the forgiving dataset, loaders and the CLI, on real trees.

Every tree is generated in tmp_path with Pillow: tiny images (16-48 px), broken
files written byte by byte, as a user's folder would hold them.
"""
import json
import os
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon
from PIL import Image

from gluon_finetune import augment
from gluon_finetune import data as D
from gluon_finetune.errors import UserError
from gluon_finetune.imageio import ImageReadError
from gluon_finetune.inference.evaluate import evaluation_items
from gluon_finetune.inference.predict import image_files

from conftest import assert_user_error, assert_user_errors

# One solid colour per class, so an image tells which class it came from.
COLOURS = {"cat": (200, 30, 30), "dog": (30, 200, 30), "emu": (30, 30, 200)}


def write_image(path, colour=(120, 60, 30), size=(24, 20), fmt=None, noise=0, seed=0):
    """Write an RGB image file (format from the extension unless ``fmt``)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    arr = np.empty((size[1], size[0], 3), np.uint8)
    arr[...] = colour
    if noise:
        rng = np.random.RandomState(seed)
        arr = np.clip(arr.astype(int) + rng.randint(-noise, noise + 1, arr.shape), 0, 255)
        arr = arr.astype(np.uint8)
    Image.fromarray(arr).save(path, format=fmt)
    return path


def make_tree(root, layout, size=(24, 20)):
    """``layout``: {"train/cat": 3, ...}; image i of a class is JPEG 0000i.jpg."""
    for folder, n in layout.items():
        cls = os.path.basename(folder)
        os.makedirs(os.path.join(root, folder), exist_ok=True)
        for i in range(n):
            write_image(os.path.join(root, folder, "%05d.jpg" % i),
                        COLOURS.get(cls, (90, 90, 90)), size=size)
    return str(root)


def two_class_tree(root, n_train=5, n_test=3, size=(24, 20)):
    return make_tree(root, {"train/cat": n_train, "train/dog": n_train,
                            "test/cat": n_test, "test/dog": n_test}, size=size)


def assert_colour(img, cls):
    """The image is the solid colour of ``cls`` (within JPEG's rounding)."""
    arr = img.asnumpy() if hasattr(img, "asnumpy") else np.asarray(img)
    np.testing.assert_allclose(arr[arr.shape[0] // 2, arr.shape[1] // 2].astype(int),
                               COLOURS[cls], atol=4)


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def truncated_jpeg(path):
    """A real noisy JPEG cut in half: opens fine, fails when decoded."""
    write_image(path, size=(48, 48), noise=60)
    with open(path, "rb") as f:
        full = f.read()
    return write_bytes(path, full[:len(full) // 2])


def add_broken_files(root, folder="train/cat"):
    """A zero-byte .jpg, a text file named .jpg and a truncated JPEG; returns their names."""
    write_bytes(os.path.join(root, folder, "empty.jpg"), b"")
    write_bytes(os.path.join(root, folder, "notes-really.jpg"), b"this is a text file\n")
    truncated_jpeg(os.path.join(root, folder, "cut.jpg"))
    return {"empty.jpg", "notes-really.jpg", "cut.jpg"}


def add_junk(root, folder="train/cat"):
    """Files every real folder collects; none of them is an image."""
    for name in (".DS_Store", "Thumbs.db", "notes.txt", "._00000.jpg"):
        write_bytes(os.path.join(root, folder, name), b"junk")
    os.makedirs(os.path.join(root, folder, "more"), exist_ok=True)
    os.makedirs(os.path.join(root, "train", ".ipynb_checkpoints"), exist_ok=True)


def check(root, **kwargs):
    """check_folder in this process without a pool (the pool has a test of its own)."""
    kwargs.setdefault("workers", 0)
    return D.check_folder(root, **kwargs)


# --------------------------------------------------------------------------- layout


def test_train_test_layout_sorted_classes_counts_and_items(tmp_path):
    root = make_tree(tmp_path, {"train/dog": 3, "train/cat": 2, "test/dog": 1, "test/cat": 2})
    report = check(root)
    assert report.layout == D.TRAIN_TEST
    assert report.classes == ["cat", "dog"]
    assert report.counts == {"train": {"cat": 2, "dog": 3}, "test": {"cat": 2, "dog": 1}}
    assert report.checked and not report.bad_files and not report.warnings
    assert report.items["train"] == [
        (os.path.join(root, "train", "cat", "0000%d.jpg" % i), 0) for i in range(2)] + [
        (os.path.join(root, "train", "dog", "0000%d.jpg" % i), 1) for i in range(3)]
    assert report.smallest == (24, 20) and report.largest == (24, 20)
    assert "total" in report.summary() and "all readable" in report.summary()


def test_junk_files_are_ignored_and_reported(tmp_path):
    root = two_class_tree(tmp_path)
    add_junk(root)
    report = check(root)
    assert report.counts["train"]["cat"] == 5
    ignored = {os.path.relpath(p, root): reason for p, reason in report.ignored}
    assert set(ignored) == {os.path.join("train", "cat", n) for n in
                            (".DS_Store", "Thumbs.db", "notes.txt", "._00000.jpg", "more")} | {
                                os.path.join("train", ".ipynb_checkpoints")}
    assert ignored[os.path.join("train", "cat", "notes.txt")] == "not an image extension"
    assert ".ipynb_checkpoints" not in report.classes
    assert "ignored 6 entries" in report.summary() and ".jpeg" in report.summary()
    assert not report.warnings  # ignoring junk is not a problem


def test_training_evaluate_and_predict_list_the_same_images(tmp_path):
    root = make_tree(tmp_path / "photos", {"cat": 3, "dog": 3})
    images = sorted(os.path.join(root, c, "%05d.jpg" % i) for c in ("cat", "dog") for i in range(3))
    write_image(os.path.join(root, "cat", ".hidden.jpg"))
    write_bytes(os.path.join(root, "dog", "notes.txt"), b"junk")
    # What a zip made on macOS carries: resource forks, some under a name without a dot.
    write_bytes(os.path.join(root, "__MACOSX", "cat", "._00000.jpg"), b"junk")
    write_image(os.path.join(root, "__MACOSX", "cat", "00000.jpg"))

    report = D.scan_folder(root)
    assert report.classes == ["cat", "dog"]
    trained = sorted(path for s in ("train", "test") for path, _ in report.items[s])
    evaluated, _ = evaluation_items(root, ["cat", "dog"])
    predicted = image_files([root])
    assert trained == images
    assert evaluated == [(path, int(path.split(os.sep)[-2] == "dog")) for path in images]
    assert predicted == [(path, None) for path in images]


def test_recursive_listing_goes_file_first_and_does_not_follow_links(tmp_path):
    root = str(tmp_path)
    for name in ("b.jpg", "a/c.png", "a/d/e.jpg", ".git/f.jpg", "z.JPEG"):
        write_image(os.path.join(root, name))
    os.symlink(os.path.join(root, "a"), os.path.join(root, "loop"))
    ignored = []
    found = D.list_images(root, ignored, recursive=True)
    assert [os.path.relpath(p, root) for p in found] == [
        "b.jpg", "z.JPEG", os.path.join("a", "c.png"), os.path.join("a", "d", "e.jpg")]
    assert sorted((os.path.relpath(p, root), r) for p, r in ignored) == [
        (".git", "hidden"), ("loop", "link to a folder (not followed)")]
    assert D.list_images(root) == [os.path.join(root, n) for n in ("b.jpg", "z.JPEG")]


def test_mismatched_classes_name_the_missing_ones_on_each_side(tmp_path):
    root = make_tree(tmp_path, {"train/cat": 2, "train/dog": 2, "train/emu": 2,
                                "test/cat": 2, "test/dog": 2, "test/yak": 2})
    with pytest.raises(UserError) as err:
        check(root)
    assert "missing in test/: emu" in str(err.value)
    assert "missing in train/: yak" in str(err.value)


def test_empty_class_is_named(tmp_path):
    root = make_tree(tmp_path, {"train/cat": 2, "train/dog": 2, "test/cat": 2})
    os.makedirs(os.path.join(root, "test", "dog"))
    write_bytes(os.path.join(root, "test", "dog", "readme.txt"), b"x")
    with pytest.raises(UserError) as err:
        check(root)
    msg = str(err.value)
    assert "empty class" in msg and os.path.join("test", "dog") in msg
    assert "1 other files there were ignored" in msg


@pytest.mark.parametrize("layout, fragment", [
    ({"train/cat": 2, "test/cat": 2}, "at least two"),
    ({"train/cat": 2, "train/dog": 2}, "has train/ but no test/"),
    ({"cat": 2}, "at least two"),
])
def test_layout_mistakes_are_user_errors(tmp_path, layout, fragment):
    root = make_tree(tmp_path, layout)
    with pytest.raises(UserError, match=fragment):
        D.scan_folder(root)


def test_missing_folder_loose_images_and_parent_folder(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        D.scan_folder(tmp_path / "nope")
    loose = tmp_path / "loose"
    write_image(str(loose / "a.jpg"))
    with pytest.raises(UserError, match="no class folders"):
        D.scan_folder(loose)
    two_class_tree(tmp_path / "outer" / "hotdog")
    with pytest.raises(UserError, match="did you mean .*hotdog"):
        D.scan_folder(tmp_path / "outer")


# --------------------------------------------------------------------------- bad files


def test_unreadable_files_are_skipped_with_a_warning(tmp_path):
    root = two_class_tree(tmp_path)
    names = add_broken_files(root)
    with pytest.warns(D.DataWarning, match="skipped 3 unreadable image files"):
        report = check(root)
    reasons = {os.path.basename(b.path): b.reason for b in report.bad_files}
    assert set(reasons) == names
    assert "empty" in reasons["empty.jpg"]
    assert "not an image" in reasons["notes-really.jpg"]
    assert "truncated" in reasons["cut.jpg"]
    assert all(b.split == "train" and b.class_name == "cat" for b in report.bad_files)
    assert report.counts["train"]["cat"] == 5
    assert not any(os.path.basename(p) in names for p, _ in report.items["train"])
    text = report.summary()
    assert "3 unreadable, skipped" in text and "cut.jpg" in text
    assert json.loads(json.dumps(report.to_dict()))["bad_files"][0]["class_name"] == "cat"


def test_strict_refuses_unreadable_files_and_lists_them(tmp_path):
    root = two_class_tree(tmp_path)
    names = add_broken_files(root)
    with pytest.raises(UserError) as err:
        check(root, strict=True)
    assert "strict" in str(err.value)
    for name in names:
        assert name in str(err.value)


def test_a_class_with_only_unreadable_files_is_refused(tmp_path):
    root = make_tree(tmp_path, {"train/cat": 2, "test/cat": 1, "test/dog": 1})
    write_bytes(os.path.join(root, "train", "dog", "a.jpg"), b"")
    write_bytes(os.path.join(root, "train", "dog", "b.png"), b"not a png")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", D.DataWarning)
        with pytest.raises(UserError, match="no readable images left for class dog \\(train\\)"):
            check(root)


def test_a_split_side_left_empty_by_bad_files_is_refused(tmp_path):
    root = make_tree(tmp_path, {"cat": 4, "dog": 1})
    write_bytes(os.path.join(root, "dog", "zz-broken.jpg"), b"\xff\xd8 not really")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", D.DataWarning)
        with pytest.raises(UserError, match=r"class dog \((train|test)\).*another --split"):
            check(root)


def test_process_pool_finds_the_same_bad_files(tmp_path):
    root = two_class_tree(tmp_path, n_train=12, n_test=4)
    names = add_broken_files(root, "test/dog")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", D.DataWarning)
        pooled = D.check_folder(root, workers=2)
        serial = D.check_folder(root, workers=0)
    assert pooled.decode_workers == 2
    assert {os.path.basename(b.path) for b in pooled.bad_files} == names
    assert pooled.items == serial.items and pooled.counts == serial.counts


# --------------------------------------------------------------------------- odd files


def odd_files(folder):
    """One file per awkward kind; each name says what RGB it must read as."""
    os.makedirs(folder, exist_ok=True)
    size = (20, 16)
    Image.new("L", size, 100).save(os.path.join(folder, "gray.png"))
    Image.new("LA", size, (100, 255)).save(os.path.join(folder, "gray-alpha.png"))
    Image.new("RGBA", size, (10, 20, 30, 0)).save(os.path.join(folder, "rgba-clear.png"))
    Image.new("RGBA", size, (10, 20, 30, 255)).save(os.path.join(folder, "rgba-solid.png"))
    pal = Image.new("P", size, 1)
    pal.putpalette([0, 0, 0, 250, 40, 40] + [0] * 762)
    pal.save(os.path.join(folder, "palette.png"))
    pal.save(os.path.join(folder, "palette.gif"))
    Image.fromarray(np.full((16, 20), 32768, np.uint16)).save(os.path.join(folder, "deep16.png"))
    Image.new("CMYK", size, (0, 0, 0, 0)).save(os.path.join(folder, "cmyk-white.jpg"))
    Image.new("RGB", size, (40, 80, 160)).save(os.path.join(folder, "UPPER.JPG"), "JPEG")
    Image.new("RGB", size, (40, 80, 160)).save(os.path.join(folder, "upper2.PNG"), "PNG")
    Image.new("RGB", size, (40, 80, 160)).save(os.path.join(folder, "upper3.Jpeg"), "JPEG")
    return {
        "gray.png": (100, 100, 100), "gray-alpha.png": (100, 100, 100),
        "rgba-clear.png": (255, 255, 255), "rgba-solid.png": (10, 20, 30),
        "palette.png": (250, 40, 40), "palette.gif": (250, 40, 40),
        "deep16.png": (128, 128, 128), "cmyk-white.jpg": (255, 255, 255),
        "UPPER.JPG": (40, 80, 160), "upper2.PNG": (40, 80, 160), "upper3.Jpeg": (40, 80, 160),
    }


def test_every_mode_and_upper_case_extension_reads_as_rgb_through_the_dataset(tmp_path):
    root = two_class_tree(tmp_path)
    expected = odd_files(os.path.join(root, "train", "odd"))
    for i in range(2):
        write_image(os.path.join(root, "test", "odd", "%d.jpg" % i))
    report = check(root)
    assert not report.bad_files and report.counts["train"]["odd"] == len(expected)
    dataset = D.FolderDataset.from_report(report, "train")
    seen = 0
    for i in range(len(dataset)):
        img, label = dataset[i]
        name = os.path.basename(dataset.items[i][0])
        assert isinstance(img, mx.nd.NDArray) and img.dtype == np.uint8
        assert img.shape == ((16, 20, 3) if name in expected else (20, 24, 3))
        assert isinstance(label, int)
        if name in expected:
            assert dataset.classes[label] == "odd"
            centre = img.asnumpy()[8, 10].astype(int)
            np.testing.assert_allclose(centre, expected[name], atol=3, err_msg=name)
            seen += 1
    assert seen == len(expected)


def test_unicode_class_and_file_names(tmp_path):
    root = str(tmp_path / "données")
    for cls in ("chien-été", "热狗"):
        for split, n in (("train", 3), ("test", 2)):
            for i in range(n):
                write_image(os.path.join(root, split, cls, "ñandú %d.jpg" % i))
    report = check(root)
    assert report.classes == ["chien-été", "热狗"]
    assert report.counts["train"] == {"chien-été": 3, "热狗": 3}
    dataset = D.FolderDataset.from_report(report, "test")
    img, label = dataset[-1]
    assert img.shape == (20, 24, 3) and dataset.synsets[label] == "热狗"
    assert "热狗" in report.summary()


# --------------------------------------------------------------------------- split


def single_folder(root):
    return make_tree(root, {"cat": 10, "dog": 7, "emu": 2})


def test_split_is_stratified_deterministic_and_disjoint(tmp_path):
    root = single_folder(tmp_path)
    a = D.scan_folder(root, split=0.3, split_seed=0)
    b = D.scan_folder(root, split=0.3, split_seed=0)
    assert a.layout == D.SINGLE and a.split == 0.3 and a.split_seed == 0
    assert a.items == b.items
    assert a.counts["test"] == {"cat": 3, "dog": 2, "emu": 1}
    assert a.counts["train"] == {"cat": 7, "dog": 5, "emu": 1}
    train = {p for p, _ in a.items["train"]}
    test = {p for p, _ in a.items["test"]}
    assert not train & test
    assert len(train | test) == 19
    assert [l for _, l in a.items["train"]] == sorted(l for _, l in a.items["train"])
    others = [D.scan_folder(root, split=0.3, split_seed=s).items["test"] for s in range(1, 6)]
    assert any(o != a.items["test"] for o in others)


def test_split_of_a_class_does_not_move_when_another_class_is_added(tmp_path):
    root = single_folder(tmp_path)
    before = D.scan_folder(root, split=0.3, split_seed=4)
    make_tree(root, {"yak": 5})
    after = D.scan_folder(root, split=0.3, split_seed=4)
    cat = lambda r: [p for p, l in r.items["test"] if r.classes[l] == "cat"]
    assert cat(before) == cat(after)


def test_default_split_check_and_bad_split_values(tmp_path):
    root = single_folder(tmp_path)
    report = check(root)
    assert report.split == D.DEFAULT_SPLIT
    assert report.counts["test"] == {"cat": 2, "dog": 1, "emu": 1}
    for bad in (0, 1, 1.5, -0.1, "abc"):
        with pytest.raises(UserError, match="split"):
            D.scan_folder(root, split=bad)
    make_tree(root, {"fox": 1})
    with pytest.raises(UserError, match="'fox' has 1 image"):
        D.scan_folder(root)


def test_split_is_ignored_with_a_note_when_test_exists(tmp_path):
    root = two_class_tree(tmp_path)
    report = D.scan_folder(root, split=0.5)
    assert report.split is None
    assert any("split 0.5 ignored" in w for w in report.warnings)


# --------------------------------------------------------------------------- dataset


def test_dataset_is_a_gluon_dataset_with_classes_and_negative_indices(tmp_path):
    root = two_class_tree(tmp_path)
    ds = D.FolderDataset.from_report(check(root), "train")
    assert isinstance(ds, gluon.data.Dataset) and len(ds) == 10
    assert ds.classes == ds.synsets == ["cat", "dog"]
    first, last = ds[0], ds[-1]
    assert first[1] == 0 and last[1] == 1
    assert_colour(first[0], "cat")
    assert_colour(last[0], "dog")
    out, label = ds.transform_first(augment.AugTransform(augment.test_augs(16)))[3]
    assert out.shape == (3, 16, 16) and out.dtype == np.float32 and label == 0


def test_file_broken_after_the_check_is_replaced_by_the_same_class(tmp_path):
    root = two_class_tree(tmp_path)
    ds = D.FolderDataset.from_report(check(root), "train")
    victim = 6  # a dog
    write_bytes(ds.items[victim][0], b"overwritten after the check")
    with pytest.warns(D.DataWarning, match="another 'dog' image"):
        img, label = ds[victim]
    assert label == 1
    assert_colour(img, "dog")
    with warnings.catch_warnings():
        warnings.simplefilter("error", D.DataWarning)  # warned once: the next read is silent
        assert ds[victim][1] == 1
    strict = D.FolderDataset(ds.items, ds.classes, on_error="raise")
    with pytest.raises(ImageReadError):
        strict[victim]


def test_dataset_gives_up_only_when_the_whole_class_is_unreadable(tmp_path):
    root = two_class_tree(tmp_path, n_train=2)
    ds = D.FolderDataset.from_report(check(root), "train")
    for path, label in ds.items:
        if label == 0:
            os.remove(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", D.DataWarning)
        with pytest.raises(UserError, match="every image of class 'cat'"):
            ds[0]
        assert ds[3][1] == 1


# --------------------------------------------------------------------------- loaders


@pytest.mark.parametrize("num_workers", [0, 2])
def test_loaders_batch_shapes_and_counts(tmp_path, num_workers):
    root = two_class_tree(tmp_path, n_train=5, n_test=3, size=(40, 30))
    data = D.make_loaders(root, batch_size=4, size=16, num_workers=num_workers, seed=1)
    assert data.classes == ["cat", "dog"] and data.report.checked
    assert len(data.train_set) == 10 and len(data.test_set) == 6
    train = list(data.train)
    assert [x.shape[0] for x, _ in train] == [4, 4, 2]  # keep: every image, every epoch
    for x, y in train:
        assert x.shape[1:] == (3, 16, 16) and x.dtype == np.float32
        assert y.shape == (x.shape[0],)
    assert sorted(np.concatenate([y.asnumpy() for _, y in train]).tolist()) == [0] * 5 + [1] * 5
    test = list(data.test)
    assert [x.shape[0] for x, _ in test] == [4, 2]  # test keeps every image
    labels = np.concatenate([y.asnumpy() for _, y in test])
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]
    # Solid colours survive the test crop: denormalised cat pixels are red.
    x0 = test[0][0][0].asnumpy()
    red = x0[0] * augment.IMAGENET_STD[0] + augment.IMAGENET_MEAN[0]
    np.testing.assert_allclose(red, COLOURS["cat"][0] / 255.0, atol=0.02)


def test_rollover_carries_the_leftover_and_test_still_keeps_all(tmp_path):
    root = two_class_tree(tmp_path, n_train=5, n_test=3)
    data = D.make_loaders(root, batch_size=4, size=16, last_batch="rollover")
    assert [x.shape[0] for x, _ in data.train] == [4, 4]  # 2 images open the next epoch
    assert [x.shape[0] for x, _ in data.train] == [4, 4, 4]
    assert [x.shape[0] for x, _ in data.test] == [4, 2]
    with pytest.raises(UserError, match="last_batch"):
        D.make_loaders(root, batch_size=4, size=16, last_batch="drop")


@pytest.mark.parametrize("num_workers", [0, 2])
def test_a_file_corrupted_after_the_check_does_not_stop_the_loader(tmp_path, num_workers):
    root = two_class_tree(tmp_path, n_train=6, n_test=2)
    data = D.make_loaders(root, batch_size=4, size=16, num_workers=num_workers)
    write_bytes(data.train_set.items[1][0], b"")  # a cat, emptied mid-run
    truncated_jpeg(data.train_set.items[8][0])  # a dog, cut short
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _epoch in range(2):
            seen = 0
            for x, _y in data.train:
                assert x.shape[1:] == (3, 16, 16)
                seen += x.shape[0]
            assert seen == 12
    if num_workers == 0:  # workers warn on their own stderr
        assert sum(issubclass(w.category, D.DataWarning) for w in caught) == 2


def test_make_loaders_strict_and_argument_errors(tmp_path):
    root = two_class_tree(tmp_path)
    add_broken_files(root)
    with pytest.raises(UserError, match="strict"):
        D.make_loaders(root, batch_size=4, size=16, strict=True)
    with pytest.raises(UserError, match="batch size"):
        D.make_loaders(root, batch_size=0)


# --------------------------------------------------------------------------- show


def test_sample_images_follow_the_book_for_two_classes(tmp_path):
    root = two_class_tree(tmp_path, n_train=10)
    s = D.sample_images(root)
    assert (s.num_rows, s.num_cols, s.shown) == (2, 8, ["cat", "dog"])
    for img in s.images[:8]:
        assert_colour(img, "cat")
    for img in s.images[8:]:
        assert_colour(img, "dog")
    assert s.titles[0] == "cat" and s.titles[8] == "dog" and s.titles[1] == ""


def test_sample_images_one_row_per_class_and_unreadable_passed_over(tmp_path):
    root = make_tree(tmp_path, {"cat": 6, "dog": 6, "emu": 6})
    write_bytes(os.path.join(root, "dog", "00001.jpg"), b"")
    s = D.sample_images(root, n=8, max_classes=2)
    assert (s.num_rows, s.shown, s.classes) == (2, ["cat", "dog"], ["cat", "dog", "emu"])
    assert s.num_cols == 4  # dog keeps 4 readable of 5 training images after a 20 % split
    assert len(s.images) == 8


# --------------------------------------------------------------------------- CLI


def error_lines(proc):
    return [line for line in proc.stderr.splitlines() if line.startswith("error:")]


def test_cli_check_reports_and_skips(tmp_path, cli):
    root = two_class_tree(tmp_path / "d")
    add_broken_files(root)
    add_junk(root)
    proc = cli("data", "check", root)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "cat" in proc.stdout and "3 unreadable, skipped" in proc.stdout
    assert "cut.jpg" in proc.stdout and "warning: skipped 3" in proc.stdout
    assert "DataWarning" not in proc.stderr  # the report says it once, on stdout
    strict = cli("data", "check", root, "--strict", "--workers", "2")
    assert_user_error(strict, "3 unreadable image files", "empty.jpg")
    assert len(error_lines(strict)) == 1


def test_cli_check_json_split_and_errors(tmp_path, cli):
    root = make_tree(tmp_path / "flat", {"cat": 5, "dög": 5})
    proc = cli("data", "check", root, "--split", "0.4", "--seed", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["layout"] == D.SINGLE and report["classes"] == ["cat", "dög"]
    assert report["counts"]["test"] == {"cat": 2, "dög": 2}
    assert report["split"] == 0.4 and report["split_seed"] == 3

    mismatch = make_tree(tmp_path / "mm", {"train/cat": 1, "train/dog": 1, "test/cat": 1,
                                           "test/emu": 1})
    proc, _ = assert_user_errors(
        (("data", "check", mismatch), "missing in test/: dog", "missing in train/: emu"),
        (("data", "check", tmp_path / "nowhere"), "does not exist"))
    assert len(error_lines(proc)) == 1 and len(proc.stderr.splitlines()) == 1


def near(size, expected):
    """Pixel sizes from inches x dpi, within matplotlib's rounding."""
    return all(abs(a - b) <= 1 for a, b in zip(size, expected))


def png_pixels(path):
    with Image.open(path) as im:
        return im.size, np.asarray(im.convert("RGB"))


def test_cli_show_writes_the_book_grid(tmp_path, cli):
    root = two_class_tree(tmp_path / "d", n_train=9)
    out = tmp_path / "figs" / "samples.png"
    proc = cli("data", "show", root, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "first 8 'cat' and last 8 'dog'" in proc.stdout
    size, pixels = png_pixels(out)
    assert near(size, (1120, 280))  # 8 x 2 cells of 1.4 in at 100 dpi
    assert pixels.std() > 10
    # Both class colours are drawn: red-dominant and green-dominant pixels.
    r, g = pixels[..., 0].astype(int), pixels[..., 1].astype(int)
    assert ((r - g) > 100).sum() > 1000 and ((g - r) > 100).sum() > 1000


def test_cli_show_more_classes_and_bad_folder(tmp_path, cli):
    root = make_tree(tmp_path / "flat", {"cat": 5, "dog": 5, "emu": 5})
    out = tmp_path / "three.png"
    proc = cli("data", "show", root, "--out", out, "--n", "3", "--max-classes", "2")
    assert proc.returncode == 0, proc.stderr
    assert "2 of 3 classes" in proc.stdout
    size, pixels = png_pixels(out)
    assert near(size, (420, 280)) and pixels.std() > 10
    proc = cli("data", "show", tmp_path / "flat" / "cat", "--out", out)
    assert_user_error(proc, "no class folders")


# --------------------------------------------------------------------------- fast loaders


def noisy_tree(root, n_train=6, n_test=3, size=(48, 40)):
    """Two classes of noisy JPEGs: every crop and flip shows in the pixels."""
    for split, n in (("train", n_train), ("test", n_test)):
        for c, cls in enumerate(("cat", "dog")):
            for i in range(n):
                write_image(os.path.join(root, split, cls, "%05d.jpg" % i), COLOURS[cls], size=size,
                            noise=80, seed=100 * c + i + (0 if split == "train" else 50))
    return str(root)


def epoch(loader, seed):
    from gluon_finetune.seeding import seed_everything

    seed_everything(seed)
    return [(x.asnumpy(), y.asnumpy()) for x, y in loader]


def test_an_epoch_is_the_same_with_0_or_2_workers(tmp_path):
    root = noisy_tree(tmp_path)
    runs = {}
    for workers in (0, 2):
        data = D.make_loaders(root, batch_size=4, size=16, num_workers=workers, seed=1)
        assert data.train.num_workers == workers
        runs[workers] = (epoch(data.train, 7), epoch(data.train, 8), epoch(data.test, 0))
    for a, b in zip(runs[0], runs[2]):
        assert len(a) == len(b)
        for (xa, ya), (xb, yb) in zip(a, b):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
    first, second, _ = runs[0]
    assert not all(np.array_equal(p[0], q[0]) for p, q in zip(first, second))  # epochs differ


def test_loader_batches_are_the_aug_list_applied_with_each_images_seed(tmp_path):
    import random

    root = noisy_tree(tmp_path)
    data = D.make_loaders(root, batch_size=4, size=16, num_workers=0, seed=3)
    got = epoch(data.train, 5)
    from gluon_finetune.seeding import seed_everything

    seed_everything(5)
    keys = list(data.train.batches)  # the same draws as the epoch above
    augs = augment.train_augs(16)
    for (x, y), batch in zip(got, keys):
        for j, (idx, seed) in enumerate(batch):
            random.seed(seed)
            np.random.seed(seed)
            img, label = data.train_set[idx]
            want = augment.apply_aug_list(img, augs).asnumpy()  # plain mxnet.image maths
            np.testing.assert_array_equal(x[j], want)
            assert y[j] == label


def test_the_test_loader_repeats_even_a_random_list(tmp_path):
    root = noisy_tree(tmp_path)
    data = D.make_loaders(root, batch_size=4, size=16, num_workers=0,
                          test_augs=augment.train_augs(16))
    a, b = epoch(data.test, 1), epoch(data.test, 2)
    for (xa, _), (xb, _) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)


def test_the_main_process_random_state_is_left_alone(tmp_path):
    import random

    root = noisy_tree(tmp_path)
    data = D.make_loaders(root, batch_size=4, size=16, num_workers=0)
    random.seed(1)
    list(data.test)
    after = random.random()
    random.seed(1)
    assert random.random() == after


class _ThreadProbe:
    """An augmenter (an MXNet step) whose output tells the worker's thread settings."""

    def __call__(self, img):
        import cv2

        value = 10 * cv2.getNumThreads() + int(os.environ.get("OMP_NUM_THREADS", "0"))
        return mx.nd.full((4, 4, 3), value, dtype="uint8")


def test_workers_run_one_thread_each(tmp_path):
    root = noisy_tree(tmp_path, n_train=4, n_test=1)
    data = D.make_loaders(root, batch_size=4, size=16, num_workers=2, check=False,
                          train_augs=[_ThreadProbe()])
    values = np.unique(np.concatenate([x.asnumpy().ravel() for x, _ in data.train]))
    assert values.tolist() == [11]  # cv2: 1 thread, OMP_NUM_THREADS=1


def test_default_workers_fit_the_machine_and_skip_tiny_sets():
    cores = len(os.sched_getaffinity(0))
    assert D.default_workers(10, batch_size=4) == 0
    assert D.default_workers(D.MIN_IMAGES_FOR_WORKERS - 1, batch_size=4) == 0
    assert D.default_workers(300, batch_size=200) == 0  # fewer than two batches
    # the training process computes on every core: one worker per 4 cores, 1 to 4
    expected = {1: 0, 2: 1, 3: 1, 4: 1, 8: 2}
    if cores in expected:
        assert D.default_workers(2000, batch_size=128) == expected[cores]


def test_dataset_read_gives_numpy_and_substitutes_like_getitem(tmp_path):
    root = two_class_tree(tmp_path, n_train=3, n_test=1)
    ds = D.FolderDataset.from_report(check(root), "train")
    arr, label = ds.read(0)
    assert isinstance(arr, np.ndarray) and arr.dtype == np.uint8 and arr.shape == (20, 24, 3)
    np.testing.assert_array_equal(arr, ds[0][0].asnumpy())
    write_bytes(ds.items[1][0], b"")
    with pytest.warns(D.DataWarning, match="another 'cat' image"):
        sub, sub_label = ds.read(1)
    assert sub_label == label
    assert_colour(sub, "cat")
