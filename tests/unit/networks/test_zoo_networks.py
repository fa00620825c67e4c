"""Every head shape of the zoos fine-tunes: --weights in the zoo's layout, lr-find, --recipe fast, INT8.

The networks stand for the head shapes the zoos have beside resnet18_v2's Dense
with ``in_units``, which the rest of the suite trains, sweeps, runs fast and
exports throughout: a Dense whose input size is deferred to the first batch
(mobilenet0.25), a Sequential ending in a 1x1 convolution (mobilenetv2_0.25)
and GluonCV's ``fc`` beside layers without ``features`` (resnet18_v1b). Their
weights are random, saved as the zoo saves its ImageNet files.
"""
import json
import os

import mxnet as mx
import pytest

from gluon_finetune.networks import catalog, model
from gluon_finetune.training import stages
from gluon_finetune.training.divergence import COLLAPSE_MIN_IMAGES, Diverged, DivergenceWatch
from gluon_finetune.training.recipes import TRAIN_DEFAULT

from conftest import assert_option_error, assert_user_error, run_cli_each

HEADS = ["mobilenet0.25", "mobilenetv2_0.25", "resnet18_v1b"]


def _zoo_weights(name, folder, classes=10):
    """Random weights of ``name`` with ``classes`` outputs, saved as the zoo's files are."""
    mx.random.seed(0)
    net = model.zoo_network(name, classes=classes)
    net.initialize(mx.init.Xavier())
    model.materialize(net, 32)
    path = os.path.join(str(folder), "%s.params" % name)
    net.save_parameters(path)
    return path


@pytest.mark.parametrize("name", HEADS)
def test_each_head_shape_trains_finds_a_rate_runs_the_fast_recipe_and_exports_int8(
        name, tiny_hotdog, tmp_path):
    weights = _zoo_weights(name, tmp_path)
    common = ["--model", name, "--weights", weights, "--data", tiny_hotdog, "--batch-size", "8",
              "--image-size", "32", "--seed", "0", "--quiet", "--workers", "0"]
    fast = tmp_path / "fast"
    commands = [["train"] + common + ["--recipe", "fast", "--epochs", "2", "--out", fast],
                ["lr-find"] + common + ["--steps", "6", "--out", tmp_path / "lr.png"],
                ["export", fast, "--quantize", "int8", "--calib-data", tiny_hotdog,
                 "--calib-images", "8", "--out", tmp_path / "int8"]]
    if name == "mobilenet0.25":  # a deferred head, read before any forward pass
        commands.append(["lr-find"] + common + ["--steps", "6", "--freeze-features",
                                                "--cache-features", "--out", tmp_path / "h.png"])
    procs = run_cli_each(*commands)
    for proc in procs:
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (proc.stdout, proc.stderr)
    assert "suggest" in procs[1].stdout.lower() and (tmp_path / "lr.png").is_file()
    # --recipe fast: a head-only epoch on cached features, then every layer at stage rates
    history = [json.loads(line) for line in (fast / "history.jsonl").read_text().splitlines()]
    assert len(history) == 2 and "features are unfrozen" in procs[0].stdout
    record = json.loads((fast / "config.json").read_text())
    assert record["config"]["lr_stage_decay"] == 0.3 and record["lr_stages"]
    if name == "mobilenet0.25":  # no stages: grouped by depth, and the log says so
        assert record["lr_stages"]["grouped"].startswith("the features of MobileNet have no stages")
        assert "cut by depth into 4 groups" in procs[0].stdout
        assert (tmp_path / "h.png").is_file()
    assert any(f.endswith("-int8-symbol.json") for f in os.listdir(tmp_path / "int8"))


def test_the_head_is_found_by_structure():
    assert model.classes_key("resnet18_v2") == "output.weight"
    assert model.classes_key("resnet18_v1b") == "fc.weight"
    assert model.classes_key("mobilenetv2_1.0") == "output.0.weight"
    assert model.classes_key("squeezenet1.1") == "output.0.weight"  # after its Dropout
    assert model.classes_key("mobilenetv3_small") == "output.0.weight"


def test_weights_of_another_network_and_a_too_small_size_are_clear_errors(tiny_hotdog, tmp_path):
    weights = _zoo_weights("mobilenet0.25", tmp_path)
    procs = run_cli_each(["train", "--model", "mobilenetv2_0.25", "--weights", weights, "--data",
                          tiny_hotdog, "--epochs", "1", "--image-size", "32", "--out", tmp_path / "r"],
                         ["train", "--model", "densenet121", "--scratch", "--data", tiny_hotdog,
                          "--image-size", "32", "--out", tmp_path / "d"])
    assert_user_error(procs[0], weights, "'output.0.weight'", "mobilenetv2_0.25")
    assert_user_error(procs[1], "--image-size 32 is too small for densenet121", "at least 224 px")
    assert not (tmp_path / "r").exists() and not (tmp_path / "d").exists()


@pytest.mark.skipif(not os.environ.get("GLUON_FINETUNE_SLOW"),
                    reason="the sweep over every network is slow (7 of the 39 took 79 s on 2 "
                           "cores; VGG-19 and DenseNet-201 are among the rest); "
                           "GLUON_FINETUNE_SLOW=1 runs it")
@pytest.mark.parametrize("name", catalog.names())
def test_slow_sweep_every_listed_network_fine_tunes_finds_a_rate_and_runs_fast(
        name, tiny_hotdog, tmp_path):
    size = catalog.min_image_size(name)
    mx.random.seed(0)
    net = model.zoo_network(name, classes=10)
    net.initialize(mx.init.Xavier())
    model.materialize(net, size)
    weights = str(tmp_path / "w.params")
    net.save_parameters(weights)
    common = ["--model", name, "--weights", weights, "--data", tiny_hotdog, "--batch-size", "8",
              "--image-size", str(size), "--seed", "0", "--quiet", "--workers", "0",
              "--no-divergence-stop"]  # random weights: the sweep checks that it runs
    procs = run_cli_each(["train"] + common + ["--epochs", "1", "--out", tmp_path / "head"],
                         ["train"] + common + ["--recipe", "fast", "--epochs", "2",
                                               "--out", tmp_path / "fast"],
                         ["lr-find"] + common + ["--steps", "4", "--out", tmp_path / "lr.png"])
    for proc in procs:
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (proc.stdout, proc.stderr)


def test_stages_merge_many_blocks_and_group_flat_features():
    net = model.zoo_network("mobilenetv2_0.25", 2)
    groups, how = stages.stage_layout(net)
    assert [g for g, _ in groups] == ["stem", "stage1", "stage2", "stage3", "stage4"]
    assert "17 blocks, merged by depth into 4 stages" in how
    every = {id(p) for _, params in groups for p in params}
    features, _ = model.split_params(net)
    assert every == {id(p) for p in features.values()}  # every feature parameter, once
    groups, how = stages.stage_layout(model.zoo_network("mobilenet0.25", 2))
    assert [g for g, _ in groups] == ["group1", "group2", "group3", "group4"] and "no stages" in how
    groups, how = stages.stage_layout(model.zoo_network("resnet18_v1b", 2))  # no `features`
    assert how == "stages" and [g for g, _ in groups][-1] == "stage4"


def test_each_network_has_its_own_input_size_and_the_models_command_lists_them(tmp_path):
    from gluon_finetune.training.config import TrainConfig

    assert TrainConfig(model="inceptionv3").resolved().image_size == 299
    assert TrainConfig().resolved().image_size == 224
    assert TrainConfig(model="inceptionv3", image_size=320).resolved().image_size == 320
    # a cached file is reported as such (only its presence: nothing is downloaded or hashed)
    info = model.pretrained_file_info("mobilenet0.25", str(tmp_path))
    open(info["path"], "wb").close()
    procs = run_cli_each(["models", "mobilenet0.2*", "--json", "--model-root", tmp_path],
                         ["models", "inception*"], ["models", "nothing*"])
    rows = json.loads(procs[0].stdout)
    assert [r["name"] for r in rows] == ["mobilenet0.25"] and rows[0]["cached"]
    assert rows[0]["parameters"] == 470072 and rows[0]["imagenet_top1"] == 0.5185
    assert "inceptionv3" in procs[1].stdout and " 299 " in procs[1].stdout
    assert "published by the zoos, not measured here" in procs[1].stdout
    assert_user_error(procs[2], "'nothing*'")
    assert set(catalog.names("mobilenetv3*")) == {"mobilenetv3_small", "mobilenetv3_large"}


def test_the_divergence_watch_fires_on_a_sustained_high_loss_and_a_collapse_only():
    watch = DivergenceWatch(classes=2, epoch_images=64, batch_size=8)
    watch.stretch(1.2, 8)  # the starting value
    watch.stretch(5.0, 32)  # half an epoch above 3 x 1.2
    watch.stretch(0.5, 32)  # back down: the count starts again
    watch.stretch(5.0, 32)
    with pytest.raises(Diverged, match=r"above 3 x its starting value \(1.2\) for 64 images"):
        watch.stretch(5.0, 32)
    low = DivergenceWatch(classes=2, epoch_images=64, batch_size=8, start_loss=0.1)
    low.stretch(2.0, 64)  # the start is at least ln(2): 2.0 < 3 x 0.69
    # one class for everything, after an epoch that did better, twice in a row
    n = COLLAPSE_MIN_IMAGES
    watch = DivergenceWatch(classes=2, epoch_images=64, batch_size=8)
    watch.epoch(1, [n, 0], 0.5)  # one class from the start: not a collapse
    watch.epoch(2, [n // 2, n // 2], 0.8)
    watch.epoch(3, [0, n], 0.5)
    with pytest.raises(Diverged, match="predicts one class for all %d validation images" % n):
        watch.epoch(4, [0, n], 0.5, "validation")
    scratch = DivergenceWatch(classes=2, epoch_images=64, batch_size=8, finetune=False)
    off = DivergenceWatch(classes=2, epoch_images=64, batch_size=8, enabled=False)
    small = DivergenceWatch(classes=2, epoch_images=64, batch_size=8)
    for w, size in ((scratch, n), (off, n), (small, n - 2)):
        for epoch, counts, acc in ((1, [size // 2, size // 2], 0.9), (2, [size, 0], 0.5),
                                   (3, [size, 0], 0.5), (4, [size, 0], 0.5)):
            w.epoch(epoch, counts, acc)
    for _ in range(20):
        off.stretch(100.0, 64)


def test_a_diverging_run_stops_with_advice_and_keeps_its_last_epoch(tiny_hotdog, tiny_source,
                                                                    tmp_path):
    # (Every other tiny run of the suite is a normal run the check lets through.)
    common = ["--data", tiny_hotdog, "--weights", tiny_source, "--epochs", "2", "--batch-size",
              "8", "--image-size", "32", "--seed", "0", "--quiet", "--workers", "0", "--lr", "2"]
    stopped, unchecked = tmp_path / "stopped", tmp_path / "unchecked"
    procs = run_cli_each(["train"] + common + ["--out", stopped],
                         ["train"] + common + ["--no-divergence-stop", "--out", unchecked])
    proc = procs[0]
    assert proc.returncode == 3 and "Traceback" not in proc.stderr, proc.stderr
    assert "error: training diverged" in proc.stderr and "lr-find" in proc.stderr
    assert "--no-divergence-stop" in proc.stderr
    last = json.loads((stopped / "checkpoints" / "last.json").read_text())
    assert last["epoch"] == 1  # the last completed epoch, kept
    # without the check the same run goes on past the point where the check stops it
    assert "training diverged" not in procs[1].stderr
    assert procs[1].returncode == 0 or "NaN" in procs[1].stderr or "infinite" in procs[1].stderr


def _config(*argv, mode="finetune", recipe=TRAIN_DEFAULT):
    import argparse

    from gluon_finetune.cli.train import config_from_args, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return config_from_args(parser.parse_args(["train", "--data", "d"] + list(argv)), mode=mode,
                            default_recipe=recipe)


def test_train_defaults_to_the_head_recipe_which_yields_to_options_that_need_more():
    from gluon_finetune.training.config import TrainConfig

    head = _config()
    assert head.recipe == "head" and head.freeze_features and head.cache_features
    assert (head.epochs, head.batch_size, head.lr, head.momentum, head.schedule) == (
        10, 32, 0.001, 0.9, "cosine")
    assert _config(recipe="book").batch_size == 128  # compare's default: the book's
    assert _config(mode="scratch").recipe == "book"
    trains_features = _config("--freeze-epochs", "1")
    assert not trains_features.freeze_features and not trains_features.cache_features
    assert not _config("--lr-stage-decay", "0.5").freeze_features
    mixed = _config("--mixup", "0.2")
    assert mixed.freeze_features and not mixed.cache_features
    assert not _config("--kvstore", "dist_sync").cache_features
    assert _config("--batch-size", "8", "--epochs", "2").batch_size == 8  # given options win
    assert_option_error(lambda: TrainConfig(kvstore="dist_sync", freeze_features=True,
                                            cache_features=True).resolved(),
                        "--cache-features is not supported in a distributed job")
