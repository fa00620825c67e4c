"""The aug_list helpers on real MXNet NDArrays and real image files."""
import os
import random
import time

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon, image
from PIL import Image

from gluon_finetune import augment as A
from gluon_finetune.augment import transforms
from gluon_finetune.errors import UserError
from gluon_finetune.imageio import read_image


def coord_image(h, w):
    """An image whose pixel (y, x) holds R = x, G = y: every crop tells where it came from."""
    ys, xs = np.mgrid[0:h, 0:w]
    arr = np.stack([xs, ys, np.full_like(xs, 7)], axis=2).astype(np.uint8)
    return mx.nd.array(arr, dtype="uint8")


def noise_image(h, w, seed=0):
    rng = np.random.RandomState(seed)
    return mx.nd.array(rng.randint(0, 256, (h, w, 3)), dtype="uint8")


def test_apply_aug_list_applies_in_order():
    img = coord_image(20, 30)
    out = A.apply_aug_list(img, [image.HorizontalFlipAug(1.0), A.VerticalFlipAug(1.0)])
    np.testing.assert_array_equal(out.asnumpy(), img.asnumpy()[::-1, ::-1])


def test_flips_are_exact_mirrors_and_p0_is_identity():
    img = noise_image(17, 23)
    np.testing.assert_array_equal(image.HorizontalFlipAug(1.0)(img).asnumpy(), img.asnumpy()[:, ::-1])
    np.testing.assert_array_equal(A.VerticalFlipAug(1.0)(img).asnumpy(), img.asnumpy()[::-1])
    np.testing.assert_array_equal(A.VerticalFlipAug(0.0)(img).asnumpy(), img.asnumpy())


def test_vertical_flip_happens_about_half_the_time():
    random.seed(0)
    img = coord_image(8, 8)
    flips = sum(A.VerticalFlipAug(0.5)(img)[0, 0, 1].asscalar() == 7 for _ in range(400))
    assert 150 < flips < 250


@pytest.mark.parametrize("crop", [image.RandomCropAug((40, 30)), image.CenterCropAug((40, 30))])
def test_crops_have_the_size_and_lie_inside_the_source(crop):
    src = coord_image(100, 120)
    for _ in range(20):
        out = crop(src).asnumpy()
        assert out.shape == (30, 40, 3)
        x0, y0 = int(out[0, 0, 0]), int(out[0, 0, 1])
        np.testing.assert_array_equal(out, src.asnumpy()[y0:y0 + 30, x0:x0 + 40])


def test_random_resized_crop_regions_stay_in_bounds():
    random.seed(1)
    aug = A.RandomResizedCropAug(200, scale=(0.1, 1.0), ratio=(0.5, 2.0))
    h, w = 400, 500
    areas, ratios = [], []
    for _ in range(3000):
        x0, y0, cw, ch = aug.get_region(h, w)
        assert 0 <= x0 and 0 <= y0 and x0 + cw <= w and y0 + ch <= h
        areas.append(cw * ch / float(h * w))
        ratios.append(cw / float(ch))
    # rounding of width and height to whole pixels moves area and ratio by a little
    assert 0.1 * 0.98 <= min(areas) and max(areas) <= 1.0
    assert 0.5 * 0.97 <= min(ratios) and max(ratios) <= 2.0 * 1.03
    # the draws cover the range rather than sitting in one corner of it
    assert min(areas) < 0.15 and max(areas) > 0.9
    assert min(ratios) < 0.6 and max(ratios) > 1.7


def test_random_resized_crop_output_and_fallback_for_extreme_shapes():
    random.seed(2)
    aug = A.RandomResizedCropAug((64, 48))
    for h, w in [(10, 1000), (1000, 10), (3, 3), (240, 320)]:
        x0, y0, cw, ch = aug.get_region(h, w)
        assert 0 <= x0 and 0 <= y0 and x0 + cw <= w and y0 + ch <= h and cw > 0 and ch > 0
        out = aug(noise_image(h, w))
        assert out.shape == (48, 64, 3) and out.dtype == np.uint8
    # a 10 x 1000 strip cannot hold a crop of ratio <= 4/3 and area >= 8%: central fallback, ratio clamped
    x0, y0, cw, ch = aug.get_region(10, 1000)
    assert ch == 10 and abs(cw / ch - 4.0 / 3.0) < 0.1 and x0 == (1000 - cw) // 2


def test_random_resized_crop_content_is_a_resized_window():
    random.seed(3)
    src = coord_image(200, 250)
    aug = A.RandomResizedCropAug(50)
    out = aug(src).asnumpy().astype(int)
    # R encodes x and G encodes y: both must increase left to right and top to bottom
    assert (np.diff(out[:, :, 0], axis=1) >= -1).all()
    assert (np.diff(out[:, :, 1], axis=0) >= -1).all()


@pytest.mark.parametrize("kind,value", [("brightness", 0.5), ("contrast", 0.5), ("saturation", 0.5)])
def test_colour_jitter_stays_within_its_factor(kind, value):
    random.seed(4)
    base = mx.nd.array(np.tile(np.array([[[120, 80, 40]]], np.uint8), (6, 7, 1)), dtype="uint8")
    aug = A.RandomColorAug(**{kind: value})
    seen = []
    for _ in range(200):
        out = aug(base)
        assert out.dtype == np.uint8 and out.shape == base.shape
        seen.append(out.asnumpy()[0, 0].astype(float))
    seen = np.array(seen)
    if kind == "brightness":
        factors = seen / np.array([120.0, 80.0, 40.0])
        assert factors.min() >= 0.5 - 0.02 and factors.max() <= 1.5 + 0.02
        assert factors.min() < 0.6 and factors.max() > 1.4
    elif kind == "contrast":
        # contrast blends every pixel with the image's mean luma by a factor in [0.5, 1.5]
        luma = 0.299 * 120 + 0.587 * 80 + 0.114 * 40
        factor = (seen[:, 0] - luma) / (120 - luma)
        assert factor.min() >= 0.5 - 0.02 and factor.max() <= 1.5 + 0.02
        assert factor.min() < 0.6 and factor.max() > 1.4
    else:
        gray = 0.299 * 120 + 0.587 * 80 + 0.114 * 40
        # saturation moves each channel along the line to gray by a factor in [0.5, 1.5]
        factor = (seen[:, 0] - gray) / (120 - gray)
        assert factor.min() >= 0.5 - 0.02 and factor.max() <= 1.5 + 0.02


def test_colour_jitter_leaves_the_callers_image_alone():
    random.seed(5)
    for dtype in ("uint8", "float32"):
        img = noise_image(9, 11).astype(dtype)
        before = img.asnumpy().copy()
        out = A.RandomColorAug(0.5, 0.5, 0.5, 0.2)(img)
        np.testing.assert_array_equal(img.asnumpy(), before)
        assert out.dtype == img.dtype
        assert 0 <= out.asnumpy().min() and out.asnumpy().max() <= 255


def test_hue_rotates_colours_and_keeps_luma():
    random.seed(6)
    img = mx.nd.array(np.tile(np.array([[[200, 60, 30]]], np.uint8), (4, 4, 1)), dtype="uint8")
    aug = A.RandomColorAug(hue=0.5)
    outs = [aug(img).asnumpy()[0, 0].astype(float) for _ in range(50)]
    luma = [0.299 * r + 0.587 * g + 0.114 * b for r, g, b in outs]
    assert max(abs(y - (0.299 * 200 + 0.587 * 60 + 0.114 * 30)) for y in luma) < 40
    assert len({tuple(o) for o in outs}) > 10


def test_colour_factors_out_of_range_are_refused():
    with pytest.raises(UserError, match="brightness"):
        A.RandomColorAug(brightness=1.5)
    with pytest.raises(UserError, match="hue"):
        A.RandomColorAug(hue=0.7)


def test_to_tensor_and_normalize_layout_dtype_values():
    arr = np.zeros((2, 3, 3), np.uint8)
    arr[0, 0] = [255, 0, 51]
    t = A.ToTensorAug()(mx.nd.array(arr, dtype="uint8"))
    assert t.shape == (3, 2, 3) and t.dtype == np.float32
    np.testing.assert_allclose(t.asnumpy()[:, 0, 0], [1.0, 0.0, 0.2], rtol=1e-6)
    n = A.NormalizeAug()(t).asnumpy()
    expected = (np.array([1.0, 0.0, 0.2]) - A.IMAGENET_MEAN) / A.IMAGENET_STD
    np.testing.assert_allclose(n[:, 0, 0], expected, rtol=1e-5)
    np.testing.assert_allclose(n[:, 1, 2], -np.array(A.IMAGENET_MEAN) / A.IMAGENET_STD, rtol=1e-5)


def write(path, mode, size):
    w, h = size
    rng = np.random.RandomState(0)
    if mode == "L":
        img = Image.fromarray(rng.randint(0, 256, (h, w)).astype(np.uint8), "L")
    elif mode == "RGBA":
        img = Image.fromarray(rng.randint(0, 256, (h, w, 4)).astype(np.uint8), "RGBA")
    else:
        img = Image.fromarray(rng.randint(0, 256, (h, w, 3)).astype(np.uint8), "RGB")
    img.save(str(path))
    return str(path)


@pytest.mark.parametrize("mode,size,ext", [
    ("RGB", (333, 217), "jpg"), ("RGB", (5, 3), "png"), ("L", (120, 401), "png"),
    ("RGBA", (64, 50), "png"), ("RGB", (224, 224), "JPG")])
def test_book_lists_give_3x224x224_float32(tmp_path, mode, size, ext):
    path = write(tmp_path / ("img." + ext), mode, size)
    img = mx.nd.array(read_image(path), dtype="uint8")
    for augs in (A.train_augs(), A.test_augs()):
        out = A.apply_aug_list(img, augs)
        assert out.shape == (3, 224, 224) and out.dtype == np.float32
        assert np.isfinite(out.asnumpy()).all()


def test_test_list_is_deterministic_and_uses_the_books_256():
    augs = A.test_augs()
    assert augs[0].size == 256 and tuple(augs[1].size) == (224, 224)
    img = noise_image(300, 400)
    np.testing.assert_array_equal(A.apply_aug_list(img, augs).asnumpy(),
                                  A.apply_aug_list(img, augs).asnumpy())
    assert A.resize_for_crop(64) == 73


def test_simple_lists_upscale_small_images_instead_of_stretching():
    random.seed(7)
    small = coord_image(10, 20)  # h=10, w=20: aspect 2
    out = A.apply_aug_list(small, A.simple_train_augs(32, 24))
    assert out.shape == (32, 24, 3) and out.dtype == np.uint8
    # MinSizeAug alone: the smaller side reaches the crop, the aspect ratio is kept
    up = A.MinSizeAug((24, 32))(small)
    assert up.shape[0] == 32 and up.shape[1] == 64
    assert A.apply_aug_list(small, A.simple_test_augs(32, 24)).shape == (32, 24, 3)
    big = noise_image(100, 100)
    assert A.MinSizeAug(50)(big) is big


def test_apply_aug_list_batch_stacks():
    imgs = [noise_image(40 + i, 50 + 2 * i, seed=i) for i in range(3)]
    batch = A.apply_aug_list_batch(imgs, A.test_augs(32))
    assert batch.shape == (3, 3, 32, 32)
    nd_batch = mx.nd.stack(*[noise_image(40, 40, seed=i) for i in range(4)])
    assert A.apply_aug_list_batch(nd_batch, A.simple_test_augs(16, 16)).shape == (4, 16, 16, 3)


def test_five_and_ten_crop():
    src = coord_image(60, 80)
    five = A.five_crop(src, (20, 10)).asnumpy()
    assert five.shape == (5, 10, 20, 3)
    corners = [(0, 0), (60, 0), (0, 50), (60, 50), (30, 25)]
    for crop, (x0, y0) in zip(five, corners):
        np.testing.assert_array_equal(crop, src.asnumpy()[y0:y0 + 10, x0:x0 + 20])
    ten = A.ten_crop(src, (20, 10)).asnumpy()
    assert ten.shape == (10, 10, 20, 3)
    np.testing.assert_array_equal(ten[5], src.asnumpy()[:, ::-1][0:10, 0:20])
    batch = A.CropsTransform("ten", size=16)(noise_image(50, 70))
    assert batch.shape == (10, 3, 16, 16) and batch.dtype == np.float32
    with pytest.raises(UserError, match="five"):
        A.CropsTransform("seven")


def test_custom_augmenters_dump_like_mxnet_ones():
    import json

    for aug in A.train_augs() + [A.VerticalFlipAug(0.2), A.MinSizeAug(32), A.RandomColorAug(0.1)]:
        name, kwargs = json.loads(aug.dumps())
        assert name == type(aug).__name__.lower() and isinstance(kwargs, dict)
        assert isinstance(aug, image.Augmenter)


class _Same(gluon.data.Dataset):
    """Identical images labelled with the process that loaded them, so any difference
    between outputs comes from augmentation and each sample says which worker made it."""

    def __init__(self, n=8, pause=0.0):
        self.img = noise_image(48, 64, seed=9)
        self.n, self.pause = n, pause

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        time.sleep(self.pause)  # keeps one worker busy, so every worker gets a batch
        return self.img, os.getpid()


def _collect(num_workers, augs, n=8, pause=0.0):
    ds = _Same(n, pause).transform_first(A.AugTransform(augs, seed=3))
    loader = gluon.data.DataLoader(ds, batch_size=2, num_workers=num_workers)
    return [(x, y) for x, y in loader]


def _first_batch_of_each_worker(batches):
    """Each worker's first batch (a worker takes its batches in order), by worker pid."""
    firsts = {}
    for x, pids in batches:
        pid = int(pids.asnumpy()[0])
        assert (pids.asnumpy() == pid).all()  # a batch is made by one worker
        firsts.setdefault(pid, x.asnumpy())
    return firsts


def test_transform_first_with_two_workers_matches_shapes_of_zero_workers():
    augs = A.train_augs(32)
    serial, parallel = _collect(0, augs), _collect(2, augs)
    assert [(x.shape, x.dtype, y.shape) for x, y in serial] == \
           [(x.shape, x.dtype, y.shape) for x, y in parallel]
    assert len(parallel) == 4


def _two_workers_first_batches():
    firsts = _first_batch_of_each_worker(_collect(2, A.train_augs(32), n=16, pause=0.05))
    assert len(firsts) == 2, "both workers should have made a batch"
    return list(firsts.values())


def test_each_worker_draws_its_own_crops():
    # The same image, at the same place in each worker's stream: identically
    # seeded workers would return the same pixels here.
    a, b = _two_workers_first_batches()
    assert not np.array_equal(a, b)


def test_identically_seeded_workers_would_be_caught(monkeypatch):
    # The control for the test above: with every worker reseeded the same way
    # (the pool forks after the patch), the two first batches are the same pixels.
    def same_seed_everywhere(base_seed=None):
        random.seed(0)
        np.random.seed(0)

    monkeypatch.setattr(transforms, "reseed_worker", same_seed_everywhere)
    a, b = _two_workers_first_batches()
    np.testing.assert_array_equal(a, b)


def test_seed_everything_repeats_a_run_of_augmentations():
    img = noise_image(80, 90)
    augs = A.train_augs(32) + []
    colour = [A.RandomColorAug(0.4, 0.4, 0.4, 0.1)]

    def run():
        A.seed_everything(123)
        return [A.apply_aug_list(A.apply_aug_list(img, colour), augs).asnumpy() for _ in range(5)]

    a, b = run(), run()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], a[1])


def test_apply_writes_the_books_preview_png(tmp_path):
    out = tmp_path / "grid.png"
    img = noise_image(100, 120)
    A.apply(img, A.RandomResizedCropAug(50, scale=(0.1, 1), ratio=(0.5, 2)),
            num_rows=2, num_cols=4, scale=1.5, out=str(out))
    with Image.open(out) as png:
        assert png.size == (600, 300)
        pixels = np.asarray(png.convert("RGB")).astype(float)
    assert pixels.std() > 20  # not blank


# --------------------------------------------------------------------------- the NumPy fast path


class _OwnCall(A.RandomResizedCropAug):
    """A subclass that rewrites __call__: the fast path must not stand in for it."""

    def __call__(self, src):
        return image.fixed_crop(src, 0, 0, 8, 8, self.size, self.interp)


class _Region(A.RandomResizedCropAug):
    """A subclass that only changes the region: the fast path still applies, with this region."""

    def get_region(self, height, width):
        return 1, 2, width // 2, height // 3


EQUIVALENT_LISTS = {
    "book_train": lambda: A.train_augs(40),
    "book_test": lambda: A.test_augs(40),
    "simple": lambda: A.simple_train_augs(30, 50),
    "resize+crop+vflip": lambda: [image.ResizeAug(60, interp=1), image.RandomCropAug((50, 40), interp=1),
                                  A.VerticalFlipAug(0.5)],
    "auto+random interp": lambda: [image.ForceResizeAug((60, 70), interp=9),
                                   image.CenterCropAug((30, 30), interp=10), A.ToTensorAug()],
    "upscale": lambda: [A.MinSizeAug(300, interp=1), image.HorizontalFlipAug(0.5),
                        image.CenterCropAug((280, 280), interp=1)],
    "with colour (mxnet step)": lambda: [A.RandomResizedCropAug(32), A.RandomColorAug(0.4, 0.4, 0.4, 0.1),
                                         image.HorizontalFlipAug(0.5), A.ToTensorAug(), A.NormalizeAug()],
    "subclasses": lambda: [_Region(24), _OwnCall(16), A.ToTensorAug()],
    "no tensor step at the end": lambda: [A.ToTensorAug(), A.NormalizeAug(), lambda x: x * 2],
}


@pytest.mark.parametrize("name", sorted(EQUIVALENT_LISTS))
def test_fast_path_draws_the_same_numbers_and_gives_the_same_pixels(name):
    augs = EQUIVALENT_LISTS[name]()
    plan = A.compile_aug_list(augs)
    rng = np.random.RandomState(1)
    for trial in range(12):
        h, w = rng.randint(30, 260, 2)
        img = rng.randint(0, 256, (h, w, 3)).astype(np.uint8)
        random.seed(trial)
        np.random.seed(trial)
        want = A.apply_aug_list(mx.nd.array(img, dtype="uint8"), augs).asnumpy()
        after_plain = random.random()
        random.seed(trial)
        np.random.seed(trial)
        got = plan.run(img)
        got = got.asnumpy() if isinstance(got, mx.nd.NDArray) else got
        assert random.random() == after_plain  # the same number of draws
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want, err_msg="%s, trial %d" % (name, trial))


@pytest.mark.parametrize("aug", [A.RandomResizedCropAug(48, interp=2), image.ResizeAug(40)])
def test_bicubic_differs_from_mxnets_opencv_by_at_most_one_grey_level(aug):
    # MXNet's bundled OpenCV and opencv-python round a few bicubic pixels differently
    # (mxnet.image's default interp=2 is bicubic; the book's lists use bilinear).
    plan = A.compile_aug_list([aug])
    img = noise_image(120, 90).asnumpy()
    for trial in range(5):
        random.seed(trial)
        want = A.apply_aug_list(mx.nd.array(img, dtype="uint8"), [aug]).asnumpy().astype(int)
        random.seed(trial)
        assert np.abs(plan.run(img).astype(int) - want).max() <= 1


def test_plans_say_which_steps_run_where():
    book = A.compile_aug_list(A.train_augs(224))
    assert book.fully_numpy and book.to_tensor
    assert (book.mean, book.std) == (A.IMAGENET_MEAN, A.IMAGENET_STD)
    assert "numpy:RandomResizedCropAug" in repr(book) and "batch:to_tensor+normalize" in repr(book)
    mixed = A.compile_aug_list([A.RandomColorAug(0.3), A.ToTensorAug()])
    assert not mixed.fully_numpy and mixed.to_tensor and mixed.mean is None
    assert A.compile_aug_list([_OwnCall(8)]).steps[0][1] is None
    assert A.compile_aug_list([_Region(8)]).steps[0][1] is not None
    # an interpolation code mxnet.image does not know is left to it (and its error)
    assert A.compile_aug_list([image.ResizeAug(8, interp=7)]).steps[0][1] is None


def test_batches_of_uint8_samples_finish_as_the_book_normalises():
    plan = A.compile_aug_list(A.test_augs(16))
    imgs = [noise_image(30, 20 + i, seed=i).asnumpy() for i in range(3)]
    samples = [plan.run_sample(img) for img in imgs]
    assert all(s.dtype == np.uint8 and s.shape == (16, 16, 3) for s in samples)
    batch = plan.finish_batch(plan.stack(samples))
    assert batch.shape == (3, 3, 16, 16) and batch.dtype == np.float32
    want = mx.nd.stack(*[A.apply_aug_list(mx.nd.array(i, dtype="uint8"), A.test_augs(16)) for i in imgs])
    np.testing.assert_array_equal(batch, want.asnumpy())
    with pytest.raises(UserError, match="fixed-size crop"):
        plan.stack([np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)])


def test_aug_transform_takes_numpy_or_ndarray_and_returns_an_ndarray():
    img = noise_image(50, 60)
    t = A.AugTransform(A.train_augs(24))
    for src in (img, img.asnumpy()):
        random.seed(4)
        out = t(src)
        random.seed(4)
        want = A.apply_aug_list(img, A.train_augs(24))
        assert isinstance(out, mx.nd.NDArray) and out.shape == (3, 24, 24)
        np.testing.assert_array_equal(out.asnumpy(), want.asnumpy())


def test_compiling_a_list_sets_opencv_to_one_thread():
    import cv2

    cv2.setNumThreads(2)
    A.compile_aug_list(A.train_augs(8))
    assert cv2.getNumThreads() == 1
