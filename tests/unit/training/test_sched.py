"""One-cycle, head-first epochs (--freeze-epochs), discriminative stage rates, and their resume."""
import json
import math

import mxnet as mx
import numpy as np
import pytest
from run_helpers import StopAfter, quiet

from gluon_finetune.networks import model
from gluon_finetune.training import stages
from gluon_finetune.training.config import TrainConfig
from gluon_finetune.training.schedules import HeadFirst, OneCycle
from gluon_finetune.training.train import fit, make_trainer, resume

from conftest import assert_option_error

TINY = dict(epochs=2, batch_size=8, image_size=32, seed=3, quiet=True)




def test_onecycle_rate_and_momentum_follow_the_formulas():
    total, peak = 100, 0.4
    sched = OneCycle(total, peak, pct_start=0.3, div=25, final_div=1e4)
    low, last = peak / 25, peak / 25 / 1e4
    up_end = 0.3 * total - 1  # PyTorch's step of the peak (0-based)

    def expected(step):
        if step <= up_end:
            pct = step / up_end
            return (low + (peak - low) * (1 - math.cos(math.pi * pct)) / 2,
                    0.95 - (0.95 - 0.85) * (1 - math.cos(math.pi * pct)) / 2)
        pct = (step - up_end) / (total - 1 - up_end)
        return (last + (peak - last) * (1 + math.cos(math.pi * pct)) / 2,
                0.85 + (0.95 - 0.85) * (1 - math.cos(math.pi * pct)) / 2)

    for step in (0, 7, 29, 30, 64, 99):
        lr, mom = expected(step)
        assert sched.rate(step + 1) == pytest.approx(lr) and sched.momentum(step + 1) == pytest.approx(mom)
    assert sched.rate(1) == pytest.approx(low) and sched.rate(30) == pytest.approx(peak)
    assert sched.rate(100) == pytest.approx(last) and sched.momentum(100) == pytest.approx(0.95)
    # step 50 by hand: 1.6e-6 + (0.4 - 1.6e-6) * (1 + cos(0.3 pi)) / 2
    assert round(sched.rate(51), 6) == 0.317557
    # bound to SGD, the schedule sets the momentum each update uses
    net = mx.gluon.nn.Dense(1, in_units=2)
    net.initialize()
    config = TrainConfig(epochs=4, lr=0.4, schedule="onecycle", onecycle_pct=0.3).resolved()
    trainer = make_trainer(net, config, steps_per_epoch=25)
    opt = trainer._optimizer
    assert opt.momentum == 0.95
    seen = []
    for _ in range(40):
        with mx.autograd.record():
            loss = net(mx.nd.ones((4, 2))).sum()
        loss.backward()
        trainer.step(4)
        seen.append((trainer.learning_rate, opt.momentum))
    assert seen[0][0] == pytest.approx(sched.rate(1)) and seen[39] == pytest.approx(
        (sched.rate(40), sched.momentum(40)))


def test_head_first_holds_the_rate_then_runs_the_schedule_from_its_start():
    inner = OneCycle(20, 1.0)
    sched = HeadFirst(10, 0.1, then=inner)
    assert [sched(n) for n in (1, 10)] == [0.1, 0.1]
    assert sched(11) == pytest.approx(inner.rate(1)) and sched(30) == pytest.approx(inner.rate(20))


def test_stage_multipliers_reach_the_optimizer():
    net = model.scratch_net(2)
    net(mx.nd.zeros((1, 3, 32, 32)))
    model.set_head_lr_mult(net, 10)
    table = stages.set_stage_lr_mult(net, 0.5)
    assert table == {"stem": 0.5 ** 5, "stage1": 0.5 ** 4, "stage2": 0.125, "stage3": 0.25, "stage4": 0.5}
    trainer = make_trainer(net, TrainConfig(lr_stage_decay=0.5).resolved(), steps_per_epoch=1)
    opt = trainer._optimizer
    names = {i: p.name for i, p in enumerate(trainer._params)}
    by_name = {names[i]: m for i, m in opt.lr_mult.items()}
    stem_conv = net.features[1].weight.name
    last_bn = net.features[9].gamma.name  # ResNet v2's final BatchNorm goes with stage 4
    first_of_stage1 = net.features[5][0].conv1.weight.name
    assert by_name[stem_conv] == 0.5 ** 5 and by_name[first_of_stage1] == 0.5 ** 4
    assert by_name[last_bn] == 0.5 and by_name[net.output.weight.name] == 10
    assert_option_error(lambda: TrainConfig(lr_stage_decay=0).resolved(), "--lr-stage-decay")


def _features(net):
    return {k: p.data().asnumpy().copy() for k, p in model.split_params(net)[0].items()}


@pytest.mark.parametrize("cache", [False, True])
def test_freeze_epochs_keep_features_then_train_them_and_resume_exactly(tiny_hotdog, tiny_source,
                                                                         tmp_path, cache):
    common = dict(data=tiny_hotdog, weights=tiny_source, epochs=2, batch_size=8, image_size=32, seed=7,
                  quiet=True, freeze_epochs=1, cache_features=cache, schedule="onecycle", lr=0.05,
                  lr_stage_decay=0.5)
    source = _features(model.finetune_net(model.load_source(weights=tiny_source)[0], 2))
    with pytest.raises(KeyboardInterrupt):
        fit(TrainConfig(out=str(tmp_path / "b"), **common), log=StopAfter(1))
    after1 = model.scratch_net(2)
    last = json.loads((tmp_path / "b" / "checkpoints" / "last.json").read_text())
    after1.load_parameters(str(tmp_path / "b" / "checkpoints" / last["params"]))
    frozen = _features(after1)
    for key, value in source.items():  # weights and BatchNorm statistics alike
        np.testing.assert_array_equal(frozen[key], value, err_msg=key)
    lines = []
    resumed = resume(str(tmp_path / "b"), log=lines.append)
    assert any("unfrozen" in line for line in lines)
    assert resumed.net.features[2]._kwargs["use_global_stats"]  # BatchNorm stays on its statistics
    trained = _features(resumed.net)
    assert any(not np.array_equal(trained[k], source[k]) for k in source)
    straight = fit(TrainConfig(out=str(tmp_path / "a"), **common), log=quiet)
    for a, b in zip(straight.history, resumed.history):
        assert (a["loss"], a["train_acc"], a["test_acc"], a["lr"]) == (b["loss"], b["train_acc"],
                                                                       b["test_acc"], b["lr"])
    record = json.loads((tmp_path / "a" / "config.json").read_text())
    assert record["config"]["freeze_epochs"] == 1 and record["config"]["schedule"] == "onecycle"
    assert record["lr_stages"]["stage4"] == 0.5
    # the saved optimizer carries the stage multipliers on resume
    assert resumed.net.features[1].weight.lr_mult == 0.5 ** 5


def test_onecycle_run_resumes_to_the_same_numbers(tiny_hotdog, tiny_source, tmp_path):
    # (across --freeze-epochs on the whole network: the test above)
    common = dict(data=tiny_hotdog, weights=tiny_source, freeze_features=True, cache_features=True,
                  epochs=3, batch_size=8, image_size=32, seed=11, quiet=True, schedule="onecycle", lr=0.05)
    straight = fit(TrainConfig(out=str(tmp_path / "a"), **common), log=quiet)
    with pytest.raises(KeyboardInterrupt):
        fit(TrainConfig(out=str(tmp_path / "b"), **common), log=StopAfter(1))
    resumed = resume(str(tmp_path / "b"), log=quiet)
    assert [(h["loss"], h["test_acc"], h["lr"]) for h in straight.history] == \
        [(h["loss"], h["test_acc"], h["lr"]) for h in resumed.history]
    assert straight.history[-1]["lr"] == pytest.approx(0.05 / 25 / 1e4)


def test_bad_combinations_are_refused_naming_the_option():
    for bad, fragment in [(dict(freeze_epochs=2, epochs=2), "--freeze-epochs"),
                          (dict(freeze_epochs=1, freeze_features=True), "--freeze-epochs"),
                          (dict(schedule="onecycle", warmup_epochs=1), "--warmup-epochs"),
                          (dict(schedule="onecycle", kvstore="dist_sync"), "distributed"),
                          (dict(cache_features=True), "--freeze-epochs"),
                          (dict(onecycle_momentum=[0.95]), "--onecycle-momentum")]:
        assert_option_error(lambda bad=bad: TrainConfig(**bad).resolved(), fragment)


def _parse(*argv):
    import argparse

    from gluon_finetune.cli.train import config_from_args, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return config_from_args(parser.parse_args(["train", "--data", "d"] + list(argv)))


def test_recipes_fill_in_what_the_command_line_did_not_give():
    from gluon_finetune.training.recipes import RECIPES

    book = _parse()
    assert (book.recipe, book.schedule, book.freeze_epochs, book.lr, book.epochs) == ("book", "constant", 0, None, 5)
    fast = _parse("--recipe", "fast")
    for key, value in RECIPES["fast"].items():
        assert getattr(fast, key) == value, key
    mine = _parse("--recipe", "fast", "--epochs", "4", "--schedule", "cosine", "--no-cache-features")
    assert (mine.epochs, mine.schedule, mine.cache_features, mine.recipe) == (4, "cosine", False, "fast")
    head = _parse("--recipe", "fast", "--freeze-features")  # no head-only epochs to add then
    assert head.freeze_epochs == 0 and head.resolved().cache_features
    assert _parse("--onecycle-momentum", "off").onecycle_momentum == []
