"""The automatic policies, their operations and random erasing (gluon_finetune.augment.policies & co)."""
import json
import math
import multiprocessing
import os
import random

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon
from PIL import Image, ImageEnhance, ImageOps

from gluon_finetune import augment as A
from gluon_finetune.augment import ops, policies, spec
from gluon_finetune.data.synthetic import sample_image
from gluon_finetune.errors import UserError

from conftest import TESTS


def picture(size=96):
    """The built-in picture, cropped square: real edges, colours and histograms."""
    return np.ascontiguousarray(np.asarray(sample_image(), np.uint8)[:size, :size])


def nd(arr):
    return mx.nd.array(arr, dtype="uint8")


# --------------------------------------------------------------------------- operations


def test_solarize_inverts_exactly_the_values_at_or_above_the_threshold():
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    out = ops.solarize(ramp, 100)
    assert (out[ramp >= 100] == 255 - ramp[ramp >= 100]).all()
    assert (out[ramp < 100] == ramp[ramp < 100]).all()
    np.testing.assert_array_equal(ops.solarize(ramp, 256), ramp)


@pytest.mark.parametrize("bits", [1, 4, 7, 8])
def test_posterize_keeps_the_top_bits(bits):
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    out = ops.posterize(ramp, bits)
    np.testing.assert_array_equal(out, (ramp >> (8 - bits)) << (8 - bits))
    assert len(np.unique(out)) == 2 ** bits


def test_equalize_flattens_the_histogram():
    rng = np.random.RandomState(0)
    dull = rng.randint(90, 140, (64, 64, 3)).astype(np.uint8)  # 50 grey levels of 256
    out = ops.equalize(dull)

    def distance_from_flat(plane):
        # A flat histogram has a straight cumulative one: cdf(v) ~ v / 255. With 50
        # levels spread over 256 the steps alone are 255/50 levels (0.02) wide.
        cdf = np.cumsum(np.bincount(plane.ravel(), minlength=256)) / plane.size
        return np.abs(cdf - np.arange(256) / 255.0).max()

    for c in range(3):
        assert distance_from_flat(dull[:, :, c]) > 0.35
        assert distance_from_flat(out[:, :, c]) < 0.07
    assert out.min() == 0 and out.max() > 240


def test_rotate_by_90_moves_a_marked_pixel_a_quarter_turn_counter_clockwise():
    img = np.zeros((9, 9, 3), np.uint8)
    img[1, 7] = 255  # near the top-right corner
    out = ops.rotate(img, 90)
    assert out[1, 1].tolist() == [255, 255, 255] and out.sum() == 3 * 255  # now top-left
    np.testing.assert_array_equal(out, np.rot90(img))
    np.testing.assert_array_equal(ops.rotate(img, -90), np.rot90(img, -1))


@pytest.mark.parametrize("op, dx, dy", [(ops.translate_x, 5, 0), (ops.translate_x, -7, 0),
                                        (ops.translate_y, 3, 0), (ops.translate_y, -4, 0)])
def test_translate_shifts_by_the_magnitude_and_fills(op, dx, dy):
    img = picture(40)
    out = op(img, dx, fill=(1, 2, 3))
    along = 1 if op is ops.translate_x else 0
    expected = np.roll(img, dx, axis=along)
    window = [slice(None), slice(None)]
    window[along] = slice(dx, None) if dx > 0 else slice(None, dx)
    np.testing.assert_array_equal(out[tuple(window)], expected[tuple(window)])
    window[along] = slice(None, dx) if dx > 0 else slice(dx, None)
    assert (out[tuple(window)] == [1, 2, 3]).all()


def test_shear_x_takes_each_row_from_further_along_by_factor_times_y():
    img = np.zeros((20, 40, 3), np.uint8)
    img[10, 25] = 200
    out = ops.shear_x(img, 0.5)  # output (x, y) = input (x + 0.5 y, y)
    ys, xs = np.nonzero(out[:, :, 0])
    assert ys.tolist() == [10] and xs.tolist() == [20]


def test_identity_leaves_the_image_alone_and_returns_a_copy():
    img = picture(32)
    out = ops.identity(img)
    np.testing.assert_array_equal(out, img)
    assert out is not img and not np.shares_memory(out, img)


def test_invert_and_autocontrast():
    img = picture(32)
    np.testing.assert_array_equal(ops.invert(img), 255 - img)
    dull = (img // 4 + 60).astype(np.uint8)
    out = ops.autocontrast(dull)
    assert (out.reshape(-1, 3).min(0) == 0).all() and (out.reshape(-1, 3).max(0) == 255).all()


def test_brightness_contrast_colour_factors_at_their_ends():
    img = picture(32)
    assert (ops.brightness(img, 0.0) == 0).all()
    np.testing.assert_array_equal(ops.brightness(img, 1.0), img)
    flat = ops.contrast(img, 0.0)
    assert len(np.unique(flat)) == 1  # the mean grey
    grey = ops.color(img, 0.0)
    assert (grey[:, :, 0] == grey[:, :, 1]).all() and (grey[:, :, 1] == grey[:, :, 2]).all()


def _pil_reference():
    """Our operation and PIL's, at magnitudes across the policies' ranges."""
    cases = []
    for f in (0.01, 0.1, 0.3, 0.7, 1.0, 1.3, 1.5, 1.9, 1.99):
        cases += [("brightness", lambda a, f=f: ops.brightness(a, f),
                   lambda p, f=f: ImageEnhance.Brightness(p).enhance(f)),
                  ("color", lambda a, f=f: ops.color(a, f), lambda p, f=f: ImageEnhance.Color(p).enhance(f)),
                  ("contrast", lambda a, f=f: ops.contrast(a, f),
                   lambda p, f=f: ImageEnhance.Contrast(p).enhance(f)),
                  ("sharpness", lambda a, f=f: ops.sharpness(a, f),
                   lambda p, f=f: ImageEnhance.Sharpness(p).enhance(f))]
    for m in (0.3, -0.99):
        cases += [("shear_x", lambda a, m=m: ops.shear_x(a, m),
                   lambda p, m=m: p.transform(p.size, Image.AFFINE, (1, m, 0, 0, 1, 0), Image.NEAREST)),
                  ("shear_y", lambda a, m=m: ops.shear_y(a, m),
                   lambda p, m=m: p.transform(p.size, Image.AFFINE, (1, 0, 0, m, 1, 0), Image.NEAREST))]
    cases += [("translate_x", lambda a: ops.translate_x(a, -20.7),
               lambda p: p.transform(p.size, Image.AFFINE, (1, 0, 20, 0, 1, 0), Image.NEAREST)),
              ("rotate", lambda a: ops.rotate(a, 90), lambda p: p.rotate(90, Image.NEAREST)),
              ("equalize", ops.equalize, ImageOps.equalize),
              ("autocontrast", ops.autocontrast, ImageOps.autocontrast),
              ("solarize", lambda a: ops.solarize(a, 128.5), lambda p: ImageOps.solarize(p, 128.5)),
              ("posterize", lambda a: ops.posterize(a, 3), lambda p: ImageOps.posterize(p, 3)),
              ("invert", ops.invert, ImageOps.invert)]
    return cases


def test_operations_give_pils_pixels():
    img = picture(96)
    pil = Image.fromarray(img)
    for name, ours, theirs in _pil_reference():
        np.testing.assert_array_equal(ours(img), np.asarray(theirs(pil)), err_msg=name)


@pytest.mark.parametrize("angle", [30, -135, 13.7, 90])
def test_rotation_is_pils_to_the_pixel_on_a_non_square_image(angle):
    img = np.ascontiguousarray(picture(96)[:, :80])
    ref = np.asarray(Image.fromarray(img).rotate(angle, Image.NEAREST, fillcolor=(9, 8, 7)))
    np.testing.assert_array_equal(ops.rotate(img, angle, fill=(9, 8, 7)), ref)


def test_shear_on_exact_half_pixels_takes_pils_side():
    # shear 0.2 lands on x + 0.5 for whole rows: PIL's fixed point decides which pixel.
    img = np.ascontiguousarray(picture(96)[:, :80])
    pil = Image.fromarray(img)
    for m in (0.2, -0.2, 0.04, 0.12, 0.28):
        shear = math.tan(math.radians(math.degrees(math.atan(m))))  # what torchvision hands PIL
        ref = pil.transform(pil.size, Image.AFFINE, (1, shear, 0, 0, 1, 0), Image.NEAREST)
        np.testing.assert_array_equal(ops.shear_x(img, m), np.asarray(ref), err_msg=str(m))


def test_bilinear_geometry_is_close_to_pils():
    img = picture(96)
    ref = np.asarray(Image.fromarray(img).rotate(30, Image.BILINEAR)).astype(int)
    diff = np.abs(ops.rotate(img, 30, interp=1).astype(int) - ref)
    assert np.median(diff) <= 1 and (diff > 8).mean() < 0.05


def test_operations_keep_shape_dtype_and_leave_the_input_alone():
    img = picture(33)[:, :31]
    grey = img[:, :, :1].copy()
    keep = img.copy()
    for name in ops.OPERATIONS:
        for arr in (img, grey, img[:, ::-1]):  # a flipped view, as the fast path hands over
            out = ops.apply_op(arr, name, 4 if name == "posterize" else 0.5)
            assert out.shape == arr.shape and out.dtype == np.uint8, name
    np.testing.assert_array_equal(img, keep)
    with pytest.raises(UserError, match="HWC uint8"):
        ops.invert(img.astype(np.float32))


# --------------------------------------------------------------------------- policies


def test_magnitude_tables_are_torchvisions():
    wide = policies.wide_space(31)
    assert wide["shear_x"][0][-1] == pytest.approx(0.99) and wide["rotate"][0][-1] == pytest.approx(135)
    assert wide["translate_y"][0][-1] == pytest.approx(32) and wide["sharpness"][0][-1] == pytest.approx(0.99)
    assert wide["posterize"][0][0] == 8 and wide["posterize"][0][-1] == 2
    assert wide["solarize"][0][0] == 255 and wide["solarize"][0][-1] == 0
    std = policies.standard_space(31, 200, 331)
    assert std["shear_y"][0][-1] == pytest.approx(0.3) and std["rotate"][0][-1] == pytest.approx(30)
    assert std["translate_x"][0][-1] == pytest.approx(150) and std["color"][0][-1] == pytest.approx(0.9)
    assert std["translate_y"][0][-1] == pytest.approx(150 / 331 * 200)
    assert std["posterize"][0][-1] == 4 and std["invert"] == (None, False)
    assert std["rotate"][0][9] == pytest.approx(9.0)  # RandAugment's default bin 9 of 31
    assert [b[0] is None or len(b[0]) == 31 for b in wide.values()] == [True] * len(wide)


TORCHVISION = os.path.join(TESTS, "data",
                           "torchvision-augmentation-space.json")
TV_NAMES = {"Identity": "identity", "ShearX": "shear_x", "ShearY": "shear_y", "TranslateX": "translate_x",
            "TranslateY": "translate_y", "Rotate": "rotate", "Brightness": "brightness", "Color": "color",
            "Contrast": "contrast", "Sharpness": "sharpness", "Posterize": "posterize",
            "Solarize": "solarize", "AutoContrast": "autocontrast", "Equalize": "equalize", "Invert": "invert"}


def test_op_lists_tables_and_imagenet_policy_are_torchvisions_to_the_bit():
    with open(TORCHVISION) as f:
        tv = json.load(f)  # dumped from torchvision 0.29 (see "made_by"); torch is not installed here
    ours = {"trivial_augment_wide": (policies.wide_space(31), policies.POLICY_OPS),
            "rand_augment": (policies.standard_space(31, 200, 331), policies.POLICY_OPS),
            "auto_augment": (policies.standard_space(10, 200, 331), None)}
    for key, (space, op_list) in ours.items():
        theirs = {TV_NAMES[k]: v for k, v in tv[key].items()}
        if op_list is not None:
            assert list(theirs) == list(op_list), key  # the same ops, in the same order
        for name, (values, signed) in theirs.items():
            bins, our_signed = space[name]
            assert our_signed == signed, (key, name)
            if values is None or bins is None:
                assert bins is None and values in (None, 0.0), (key, name)
            else:
                np.testing.assert_array_equal(bins, np.asarray(values, np.float64), err_msg=name)
    published = [tuple((TV_NAMES[n], p, m) for n, p, m in sub) for sub in tv["imagenet_policy"]]
    assert published == list(policies.IMAGENET_POLICY)


def _applied(aug, img, n):
    seen = []
    for _ in range(n):
        aug(img)
        seen.append(list(aug.last_ops))
    return seen


def _in_table(space, name, magnitude):
    bins, signed = space[name]
    if bins is None:
        return magnitude == 0.0
    values = np.abs(bins) if signed else bins
    return np.isclose(values, abs(magnitude) if signed else magnitude).any()


def test_trivial_augment_draws_one_op_from_its_list_and_wide_table():
    random.seed(0)
    img = nd(picture(48))
    seen = _applied(A.TrivialAugmentAug(), img, 300)
    space = policies.wide_space(31)
    assert all(len(s) == 1 for s in seen)
    names = [s[0][0] for s in seen]
    assert set(names) == set(policies.POLICY_OPS)  # all 14 come up in 300 draws, nothing else
    assert all(_in_table(space, n, m) for s in seen for n, m in s)
    rotations = [m for s in seen for n, m in s if n == "rotate"]
    assert min(rotations) < 0 < max(rotations)  # random sign


def test_rand_augment_draws_num_ops_at_its_one_magnitude():
    random.seed(1)
    img = nd(picture(48))
    seen = _applied(A.RandAugmentAug(num_ops=3, magnitude=15), img, 100)
    space = policies.standard_space(31, 48, 48)
    assert all(len(s) == 3 for s in seen)
    for name, magnitude in (op for s in seen for op in s):
        assert name in policies.POLICY_OPS
        bins, signed = space[name]
        expected = 0.0 if bins is None else bins[15]
        assert abs(magnitude) == pytest.approx(expected), name


def test_auto_augment_applies_only_its_imagenet_sub_policies():
    random.seed(2)
    img = nd(picture(48))
    aug = A.AutoAugmentAug()
    assert len(aug.sub_policies) == 25
    space = policies.standard_space(10, 48, 48)
    allowed = {}
    for sub in policies.IMAGENET_POLICY:
        for name, _, bin_index in sub:
            bins, _ = space[name]
            allowed.setdefault(name, set()).add(0.0 if bin_index is None else round(float(bins[bin_index]), 5))
    seen = _applied(aug, img, 300)
    assert all(len(s) <= 2 for s in seen) and any(len(s) == 2 for s in seen)
    for name, magnitude in (op for s in seen for op in s):
        assert round(abs(magnitude), 5) in allowed[name], name
    assert "invert" in {n for s in seen for n, _ in s}


def test_policies_are_augmenters_that_dump_and_mix_with_mxnets():
    import json

    img = nd(picture(64))
    augs = [mx.image.RandomCropAug((48, 48)), A.TrivialAugmentAug(), A.RandAugmentAug(),
            A.AutoAugmentAug(), A.RandomErasingAug(1.0), mx.image.HorizontalFlipAug(0.5),
            A.ToTensorAug(), A.NormalizeAug()]
    out = A.apply_aug_list(img, augs)
    assert out.shape == (3, 48, 48) and out.dtype == np.float32
    for aug in augs[1:5]:
        name, kwargs = json.loads(aug.dumps())
        assert name == type(aug).__name__.lower() and isinstance(kwargs, dict)


@pytest.mark.parametrize("make, message", [
    (lambda: A.RandAugmentAug(magnitude=31), "bin from 0 to 30"),
    (lambda: A.AutoAugmentAug("cifar10"), "use 'imagenet'"),
    (lambda: A.TrivialAugmentAug(fill=300), "fill"),
    (lambda: A.PosterizeAug(9), "0 to 8"),
    (lambda: A.SolarizeAug(-1), "between 0 and 256"),
    (lambda: A.EnhanceColorAug(1.5), "factor 1 \\+ magnitude"),
    (lambda: A.RandomErasingAug(scale=(0.5, 0.1)), "scale"),
    (lambda: A.RandomErasingAug(value="blue"), "'random'"),
])
def test_mistakes_are_refused_with_what_to_do(make, message):
    with pytest.raises(UserError, match=message):
        make()


# --------------------------------------------------------------------------- single operations


def test_single_op_augmenters_apply_their_operation_with_random_or_fixed_sign():
    img = picture(40)
    random.seed(0)
    outs = {A.RotateAug(90)(nd(img)).asnumpy().tobytes() for _ in range(20)}
    assert outs == {np.rot90(img).tobytes(), np.rot90(img, -1).tobytes()}
    fixed = A.RotateAug(90, random_sign=False)
    assert all(np.array_equal(fixed(nd(img)).asnumpy(), np.rot90(img)) for _ in range(5))
    np.testing.assert_array_equal(A.PosterizeAug(2)(nd(img)).asnumpy(), ops.posterize(img, 2))
    never = A.EqualizeAug(p=0.0)
    np.testing.assert_array_equal(never(nd(img)).asnumpy(), img)
    assert set(A.OP_AUGMENTERS) == set(ops.OPERATIONS)


# --------------------------------------------------------------------------- random erasing


def test_erasing_fills_one_box_within_scale_and_ratio():
    random.seed(0)
    img = np.full((50, 60, 3), 200, np.uint8)
    aug = A.RandomErasingAug(p=1.0, value=(1, 2, 3))
    for _ in range(30):
        out = aug(nd(img)).asnumpy()
        ys, xs = np.nonzero((out == [1, 2, 3]).all(axis=2))
        h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
        assert len(ys) == h * w  # one solid box
        assert 0.02 * 3000 - 2 * (h + w) <= h * w <= 0.33 * 3000 + 2 * (h + w)
        assert ((out == 200).all(axis=2) | (out == [1, 2, 3]).all(axis=2)).all()
    np.testing.assert_array_equal(A.RandomErasingAug(p=0.0)(nd(img)).asnumpy(), img)
    mean = A.RandomErasingAug(p=1.0, value="mean")(nd(img)).asnumpy()
    assert ((mean == [124, 116, 104]).all(axis=2)).any()


# --------------------------------------------------------------------------- repeatability and fast path

NEW_LISTS = ["trivial_augment", "rand_augment", "rand_augment:3:20", "auto_augment",
             "erasing:0.8:random", "rotate:45:0.5", "shear_x:0.3", "translate_y:20",
             "enhance_sharpness:0.9", "solarize:100:0.5", "equalize:0.5"]


@pytest.mark.parametrize("words", NEW_LISTS)
def test_seed_everything_repeats_and_the_fast_path_gives_the_reference_pixels(words):
    img = nd(picture(80))
    augs = spec.parse_spec("resized_crop:48,flip," + words + ",to_tensor,normalize")
    plan = A.compile_aug_list(augs)
    assert plan.fully_numpy, plan

    def reference():
        A.seed_everything(5)
        return [A.apply_aug_list(img, augs).asnumpy() for _ in range(6)]

    def fast():
        A.seed_everything(5)
        return [plan.run(img) for _ in range(6)]

    first, again, quick = reference(), reference(), fast()
    for a, b, c in zip(first, again, quick):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)  # bit for bit: same code, same draws
    assert any(not np.array_equal(first[0], x) for x in first[1:])


class _Counted(gluon.data.Dataset):
    """The same picture each time, labelled with (worker index, how many this process served)."""

    def __init__(self, n):
        self.img, self.n, self.served = picture(64), n, 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.served += 1
        identity = multiprocessing.current_process()._identity
        return self.img, np.array([identity[0] if identity else 0, self.served], np.int64)


def test_workers_draw_repeatable_streams_of_their_own():
    # Each worker reseeds from (seed, worker index) on its first sample; replaying
    # that seed in this process must give the worker's images, sample by sample.
    augs = spec.parse_spec("resized_crop:32,trivial_augment,rand_augment,auto_augment,erasing:0.5:random")
    loader = gluon.data.DataLoader(_Counted(12).transform_first(A.AugTransform(augs, seed=7)),
                                   batch_size=2, num_workers=2)
    by_worker = {}
    for x, tags in loader:
        for img, (worker, served) in zip(x.asnumpy(), tags.asnumpy()):
            by_worker.setdefault(int(worker), {})[int(served)] = img
    assert len(by_worker) >= 1 and all(w > 0 for w in by_worker)
    plan = A.compile_aug_list(augs)
    src = nd(picture(64))
    for worker, samples in by_worker.items():
        seed = (7 * 1000003 + worker) % (2 ** 32)  # reseed_worker's rule
        random.seed(seed)
        np.random.seed(seed)
        replay = [plan.run(src) for _ in range(max(samples))]
        for served, img in samples.items():
            np.testing.assert_array_equal(img, replay[served - 1])
    if len(by_worker) == 2:
        a, b = (samples[1] for samples in by_worker.values())
        assert not np.array_equal(a, b)


# --------------------------------------------------------------------------- spec words

ROUND_TRIP = ["trivial_augment", "rand_augment", "rand_augment:3", "rand_augment:1:20", "auto_augment",
              "erasing", "erasing:0.7", "erasing:1:random", "erasing:0.5:mean", "erasing:0.5:9/8/7",
              "rotate:30", "rotate:+30", "rotate:-30:0.5", "shear_x:0.3", "shear_y:0.99:0.2",
              "translate_x:32", "translate_y:-10", "enhance_brightness:0.9", "enhance_color:+0.5",
              "enhance_contrast:0.3:0.5", "enhance_sharpness:0.9", "posterize:4", "solarize:128:0.5",
              "autocontrast", "equalize:0.5", "invert", "identity"]


def test_every_new_word_round_trips_through_to_spec():
    text = ",".join(ROUND_TRIP)
    assert spec.to_spec(spec.parse_spec(text)) == text
    words = " ".join(spec.known_words())
    for word in ("trivial_augment", "rand_augment[:N[:M]]", "auto_augment", "erasing[:P[:VALUE]]",
                 "rotate:DEG", "posterize:BITS", "solarize:T", "equalize[:P]", "enhance_color:M"):
        assert word in words


@pytest.mark.parametrize("text, message", [
    ("rand_augment:two", "whole number"), ("rand_augment:2:40", "bin from 0 to 30"),
    ("rotate", "rotate:DEG"), ("trivial_augment:3", "no value"), ("erasing:0.5:pink", "'random'"),
    ("posterize:3.5", "whole number of bits"), ("solarize:x", "not a magnitude"),
])
def test_bad_words_name_the_word_and_the_fix(text, message):
    with pytest.raises(UserError, match=message):
        spec.parse_spec(text)


def test_words_with_settings_the_spec_cannot_hold_are_refused_by_to_spec():
    with pytest.raises(ValueError, match="no spec word"):
        spec.to_spec([A.TrivialAugmentAug(fill=128)])


# --------------------------------------------------------------------------- pictures


def test_augment_command_draws_every_new_word_and_its_help_lists_them(tmp_path, capsys):
    from gluon_finetune.cli import main

    grid = tmp_path / "grid.png"
    assert main(["augment", "--augs", "trivial_augment", "--out", str(grid), "--rows", "1",
                 "--cols", "2"]) == 0
    with Image.open(grid) as png:
        assert png.size[0] > 100
    rows = [w for w in ROUND_TRIP if not w.startswith(("rand_augment:", "erasing:", "rotate:+"))]
    every = tmp_path / "every.png"
    argv = ["augment", "--out", str(every), "--cols", "1", "--scale", "0.6"]
    for word in rows:
        argv += ["--augs", word]
    assert main(argv) == 0 and every.exists()
    with pytest.raises(SystemExit):
        main(["augment", "--help"])
    text = capsys.readouterr().out
    for word in ("trivial_augment", "rand_augment[:N[:M]]", "auto_augment", "erasing[:P[:VALUE]]",
                 "rotate:DEG", "posterize:BITS", "solarize:T", "equalize", "invert", "identity",
                 "enhance_sharpness"):
        assert word in text


def test_operation_samples_show_each_operation_at_three_magnitudes():
    from gluon_finetune.augment.previews import operation_samples

    cells = operation_samples(picture(40))
    titles = [t for t, _ in cells]
    assert len(cells) == 11 * 3 + 4
    assert titles.count("rotate -135") == 1 and "rotate +135" in titles and "posterize 2" in titles
    for name in ("identity", "autocontrast", "equalize", "invert"):
        assert name in titles


# --------------------------------------------------------------------------- in the project's loader and fit


POLICY_TRAIN = "resized_crop:32,flip,trivial_augment,rand_augment,auto_augment,erasing:0.5:random,to_tensor,normalize"


def test_the_projects_loader_gives_the_same_policy_epoch_with_0_and_2_workers(tiny_hotdog):
    from gluon_finetune import data

    def epoch(workers):
        A.seed_everything(3)
        loaders = data.make_loaders(tiny_hotdog, batch_size=8, size=32, num_workers=workers,
                                    train_augs=spec.parse_spec(POLICY_TRAIN), check=False, quiet=True)
        return [x.asnumpy() for x, _ in loaders.train]

    zero, two = epoch(0), epoch(2)
    assert len(zero) == 4
    for a, b in zip(zero, two):
        np.testing.assert_array_equal(a, b)


def test_a_tiny_training_run_with_policies_and_erasing(tiny_hotdog, tmp_path):
    from gluon_finetune.training.config import TrainConfig
    from gluon_finetune.training.train import fit

    result = fit(TrainConfig(data=tiny_hotdog, out=str(tmp_path / "run"), mode="scratch", epochs=1,
                             batch_size=16, image_size=32, seed=1, quiet=True, train_augs=POLICY_TRAIN),
                 log=lambda _: None)
    assert np.isfinite(result.history[0]["loss"])
