"""The fit loop: learning, resume, interruption, non-finite loss, schedules, devices."""
import json
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon
from run_helpers import StopAfter, quiet

from gluon_finetune import capability, devices
from gluon_finetune.errors import UserError
from gluon_finetune.networks import model
from gluon_finetune.training import features
from gluon_finetune.training.config import TrainConfig
from gluon_finetune.training.train import fit, load_data, make_trainer, resume

from conftest import AVX2_FLAGS, assert_option_error, write_cpuinfo

TINY = dict(epochs=2, batch_size=8, image_size=32, seed=3, quiet=True)



def test_a_few_steps_lower_the_loss(tiny_hotdog, tiny_source):
    config = TrainConfig(data=tiny_hotdog, **TINY).resolved()
    data = load_data(config)
    net = model.finetune_net(model.load_source(weights=tiny_source)[0], 2)
    x, y = next(iter(data.train))
    trainer = make_trainer(net, config, steps_per_epoch=1)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    losses = []
    for _ in range(6):
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(x.shape[0])
        losses.append(loss.mean().asscalar())
    assert losses[-1] < 0.7 * losses[0], losses


def test_fit_writes_a_complete_run_folder(tiny_hotdog, tiny_source, tmp_path):
    out = tmp_path / "run"
    lines = []
    result = fit(TrainConfig(data=tiny_hotdog, out=str(out), weights=tiny_source, **TINY), log=lines.append)
    assert [h["epoch"] for h in result.history] == [1, 2]
    for name in ("config.json", "history.jsonl", "log.txt", "curves.png"):
        assert (out / name).is_file(), name
    epoch_lines = [l for l in lines if l.startswith("epoch ")]
    assert len(epoch_lines) == 2
    import re
    assert re.fullmatch(r"epoch 1, loss \d+\.\d{4}, train acc \d\.\d{3}, test acc \d\.\d{3}, time \d+\.\d sec",
                        epoch_lines[0])
    record = json.loads((out / "config.json").read_text())
    assert record["config"]["lr"] == 0.01 and record["config"]["wd"] == 0.001
    assert record["classes"] == ["hotdog", "not-hotdog"] and record["source"]["kind"] == "file"
    assert record["made_by"]["mxnet"] == mx.__version__
    history = [json.loads(l) for l in (out / "history.jsonl").read_text().splitlines()]
    assert history == result.history
    last = json.loads((out / "checkpoints" / "last.json").read_text())
    assert last["epoch"] == 2 and (out / "checkpoints" / last["params"]).is_file()
    best = json.loads((out / "checkpoints" / "best.json").read_text())
    assert best["epoch"] == max(result.history, key=lambda h: h["test_acc"])["epoch"]
    # only the files the pointers name are kept
    names = sorted(os.listdir(out / "checkpoints"))
    assert set(names) == {"last.json", "best.json", last["params"], last["states"],
                          best["params"], best["states"]}
    with pytest.raises(UserError, match="not empty"):
        fit(TrainConfig(data=tiny_hotdog, out=str(out), weights=tiny_source, **TINY), log=quiet)



def test_resume_gives_the_same_numbers_as_an_uninterrupted_run(tiny_hotdog, tmp_path):
    common = dict(data=tiny_hotdog, mode="scratch", epochs=3, batch_size=8, image_size=32, seed=11,
                  quiet=True, momentum=0.9, schedule="cosine", warmup_epochs=1)
    straight = fit(TrainConfig(out=str(tmp_path / "a"), **common), log=quiet)
    with pytest.raises(KeyboardInterrupt):
        fit(TrainConfig(out=str(tmp_path / "b"), **common), log=StopAfter(1))
    ckpt = tmp_path / "b" / "checkpoints"
    assert json.loads((ckpt / "last.json").read_text())["epoch"] == 1
    assert (ckpt / "interrupted.json").is_file()
    resumed = resume(str(tmp_path / "b"), log=quiet)
    assert len(resumed.history) == 3
    for a, b in zip(straight.history, resumed.history):
        assert (a["loss"], a["train_acc"], a["test_acc"]) == (b["loss"], b["train_acc"], b["test_acc"])
    assert not (ckpt / "interrupted.json").exists()
    # a finished run has nothing left to do, unless asked for more epochs
    again = resume(str(tmp_path / "b"), log=quiet)
    assert again.history == resumed.history
    longer = resume(str(tmp_path / "b"), epochs=4, log=quiet)
    assert [h["epoch"] for h in longer.history] == [1, 2, 3, 4]


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tiny_hotdog, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        fit(TrainConfig(data=tiny_hotdog, out=str(out), mode="scratch", **dict(TINY, epochs=3)),
            log=StopAfter(1))
    good = json.loads((out / "checkpoints" / "last.json").read_text())
    from gluon_finetune.training.train import NonFiniteLoss

    # force a divergence: the same run continued with an absurd learning rate
    with pytest.raises(NonFiniteLoss, match="Lower the learning rate"):
        resume(str(out), lr=1e30, log=quiet)
    kept = json.loads((out / "checkpoints" / "last.json").read_text())
    assert kept == good
    net = model.scratch_net(2)
    net.load_parameters(str(out / "checkpoints" / kept["params"]))
    assert all(np.isfinite(p.data().asnumpy()).all() for p in net.collect_params().values())


def test_schedules_and_warmup():
    net = model.scratch_net(2)
    net(mx.nd.zeros((1, 3, 32, 32)))
    config = TrainConfig(epochs=4, lr=0.1, schedule="cosine", warmup_epochs=1).resolved()
    trainer = make_trainer(net, config, steps_per_epoch=10)
    sched = trainer._optimizer.lr_scheduler
    assert sched(0) == pytest.approx(0.0) and sched(5) == pytest.approx(0.05)
    assert sched(10) == pytest.approx(0.1) and sched(40) == pytest.approx(0.0, abs=1e-9)
    step = make_trainer(net, TrainConfig(epochs=4, lr=0.1, schedule="step", step_epochs=[2, 3]).resolved(), 10)
    sched = step._optimizer.lr_scheduler
    assert [round(sched(n), 6) for n in (5, 25, 35)] == [0.1, 0.01, 0.001]
    assert_option_error(lambda: TrainConfig(schedule="step").resolved(), "--step-epochs")


def test_label_smoothing_and_two_cpu_contexts_with_an_uneven_batch(tiny_hotdog, tmp_path):
    # 32 training images in batches of 7: the last batch of 4 splits unevenly over two devices
    result = fit(TrainConfig(data=tiny_hotdog, out=str(tmp_path / "r"), mode="scratch", epochs=1,
                             batch_size=7, image_size=32, seed=1, quiet=True, label_smoothing=0.1,
                             ctx="cpu0,cpu1"), log=quiet)
    assert np.isfinite(result.history[0]["loss"])


def test_bad_options_are_refused_before_anything_is_written(tiny_hotdog, tmp_path):
    out = tmp_path / "run"
    for bad, fragment in [(dict(epochs=0), "--epochs"), (dict(ctx="tpu0"), "not a device"),
                          (dict(mode="scratch", weights="x.params"), "--scratch"),
                          (dict(cache_features=True), "--freeze-features"),
                          (dict(train_augs="flip,warp"), "unknown augmentation 'warp'")]:
        config = TrainConfig(data=tiny_hotdog, out=str(out), **dict(TINY, **bad))
        if fragment.startswith("--"):  # a setting out of range: named as the caller named it
            assert_option_error(lambda config=config: fit(config, log=quiet), fragment)
        else:
            with pytest.raises(UserError, match=fragment):
                fit(config, log=quiet)
        assert not out.exists()
    with pytest.raises(UserError, match="--data"):
        fit(TrainConfig(out=str(out)), log=quiet)


def test_gpu_capability_check_refuses_hopper():
    from gluon_finetune import devices

    devices.check_capability((8, 6))
    devices.check_capability((5, 0))
    with pytest.raises(UserError, match="9.0.*5.0-8.6"):
        devices.check_capability((9, 0), "gpu(0)")
    with pytest.raises(UserError, match="3.5"):
        devices.check_capability((3, 5))
    assert devices.parse_ctx("auto") == [mx.cpu()]  # no GPU on the test machine's CPU wheel
    assert devices.parse_ctx("cpu0,cpu1") == [mx.cpu(0), mx.cpu(1)]


# --------------------------------------------------------------------------- cached features, workers, AMP

# A deterministic training list, so cached (test-preprocessed) and uncached head
# training see the very same pixels and must end with the same head.
FIXED = "resize:36,center_crop:32,to_tensor,normalize"


def test_cached_features_train_the_same_head_as_head_only_training(tiny_hotdog, tiny_source, tmp_path):
    common = dict(data=tiny_hotdog, weights=tiny_source, freeze_features=True, epochs=3, batch_size=8,
                  image_size=32, seed=3, quiet=True, train_augs=FIXED, test_augs=FIXED)
    plain = fit(TrainConfig(out=str(tmp_path / "plain"), **common), log=quiet)
    lines = []
    cached = fit(TrainConfig(out=str(tmp_path / "cached"), cache_features=True, **common),
                 log=lines.append)
    note = [l for l in lines if l.startswith("computed the 512-value features")]
    assert note and "test-time preprocessing" in note[0] and "no random augmentation" in note[0]
    for a, b in zip(plain.history, cached.history):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
        assert (a["train_acc"], a["test_acc"]) == (b["train_acc"], b["test_acc"])
    np.testing.assert_allclose(cached.net.output.weight.data().asnumpy(),
                               plain.net.output.weight.data().asnumpy(), rtol=1e-4, atol=1e-6)
    # the features did not move, and the run folder holds the whole network
    source = model.load_source(weights=tiny_source)[0]
    np.testing.assert_array_equal(cached.net.features[1].weight.data().asnumpy(),
                                  source.features[1].weight.data().asnumpy())
    last = json.loads((tmp_path / "cached" / "checkpoints" / "last.json").read_text())
    saved = model.scratch_net(2)
    saved.load_parameters(str(tmp_path / "cached" / "checkpoints" / last["params"]))
    data = load_data(TrainConfig(data=tiny_hotdog, batch_size=8, image_size=32, test_augs=FIXED).resolved())
    from gluon_finetune.training.scoring import accuracy

    assert accuracy(saved, data.test, [mx.cpu()]) == cached.history[-1]["test_acc"]


def test_a_cached_features_run_resumes_to_the_same_numbers(tiny_hotdog, tiny_source, tmp_path):
    common = dict(data=tiny_hotdog, weights=tiny_source, freeze_features=True, cache_features=True,
                  epochs=3, batch_size=8, image_size=32, seed=5, quiet=True, momentum=0.9)
    straight = fit(TrainConfig(out=str(tmp_path / "a"), **common), log=quiet)
    with pytest.raises(KeyboardInterrupt):
        fit(TrainConfig(out=str(tmp_path / "b"), **common), log=StopAfter(2))
    resumed = resume(str(tmp_path / "b"), log=quiet)
    assert [h["loss"] for h in straight.history] == [h["loss"] for h in resumed.history]


def test_cache_features_needs_features_then_output():
    class FcNet(gluon.HybridBlock):
        def __init__(self):
            super().__init__()
            self.body = gluon.nn.Dense(4)
            self.fc = gluon.nn.Dense(2)

        def hybrid_forward(self, F, x):
            return self.fc(self.body(x) * 2)  # not its children in order

    fc_net = FcNet()
    fc_net.initialize()
    with pytest.raises(UserError, match="--cache-features needs a network made of `features`"):
        features.feature_block(fc_net, image_size=8)
    net = model.scratch_net(2)
    assert features.feature_block(net) is net.features
    assert_option_error(lambda: TrainConfig(mode="scratch", freeze_features=True,
                                            cache_features=True).resolved(), "--scratch")


def test_resume_with_loader_workers_gives_the_same_numbers(tiny_hotdog, tmp_path):
    # Each image carries its own augmentation seed, so worker processes (which
    # outlive the epochs) do not make a resumed run drift from a straight one.
    common = dict(data=tiny_hotdog, mode="scratch", epochs=2, batch_size=8, image_size=32, seed=13,
                  quiet=True, num_workers=2)
    straight = fit(TrainConfig(out=str(tmp_path / "a"), **common), log=quiet)
    with pytest.raises(KeyboardInterrupt):
        fit(TrainConfig(out=str(tmp_path / "b"), **common), log=StopAfter(1))
    resumed = resume(str(tmp_path / "b"), log=quiet)
    zero = fit(TrainConfig(out=str(tmp_path / "c"), **dict(common, num_workers=0)), log=quiet)
    for a, b, c in zip(straight.history, resumed.history, zero.history):
        assert (a["loss"], a["train_acc"], a["test_acc"]) == (b["loss"], b["train_acc"], b["test_acc"])
        assert (a["loss"], a["train_acc"], a["test_acc"]) == (c["loss"], c["train_acc"], c["test_acc"])


def test_amp_is_refused_on_a_cpu_without_bfloat16_before_anything_is_written(tiny_hotdog, tmp_path,
                                                                             monkeypatch):
    # The capability check reads a fake /proc/cpuinfo: an AVX-512 CPU without bfloat16.
    monkeypatch.setenv(capability.CPUINFO_VARIABLE,
                       write_cpuinfo(tmp_path, "fpu avx2 fma avx512f avx512_vnni"))
    out = tmp_path / "run"
    with pytest.raises(UserError, match="--amp on the CPU computes in bfloat16.*avx512_bf16 or "
                                        "amx_bf16.*does not list them in .*cpuinfo"):
        fit(TrainConfig(data=tiny_hotdog, out=str(out), amp=True, **TINY), log=quiet)
    assert not out.exists()


def test_amp_dtype_follows_the_devices(tmp_path, monkeypatch):
    assert devices.amp_dtype([mx.gpu(0), mx.gpu(1)]) == "float16"
    with pytest.raises(UserError, match="one kind of device.*cpu\\(0\\), gpu\\(0\\)"):
        devices.amp_dtype([mx.cpu(0), mx.gpu(0)])
    monkeypatch.setenv(capability.CPUINFO_VARIABLE, write_cpuinfo(tmp_path, "fpu avx512f amx_bf16"))
    assert devices.amp_dtype([mx.cpu()]) == "bfloat16"
    monkeypatch.setenv(capability.CPUINFO_VARIABLE, write_cpuinfo(tmp_path, AVX2_FLAGS))
    with pytest.raises(UserError, match="does not list them"):
        devices.amp_dtype([mx.cpu()])
    monkeypatch.setenv(capability.CPUINFO_VARIABLE, str(tmp_path / "missing"))
    with pytest.raises(UserError, match="does not say whether its CPU has them"):
        devices.amp_dtype([mx.cpu()])


AMP_SCRIPT = r"""
import json, sys
import mxnet as mx
from mxnet import gluon
from mxnet.contrib import amp
from gluon_finetune.networks import model
from gluon_finetune.training import train
from gluon_finetune.training.config import TrainConfig
from gluon_finetune.training.scoring import accuracy

# The GPU path's code (operator casts, dynamic loss scaling, trainer hooks) with
# the low-precision type MXNet's CPU has: bfloat16 (which itself needs no scaling).
amp.init(target_dtype="bfloat16")
config = TrainConfig(data=sys.argv[1], batch_size=8, image_size=32, seed=1, quiet=True, lr=0.001).resolved()
data = train.load_data(config)
net = model.finetune_net(model.load_source(weights=sys.argv[2])[0], 2)
trainer = train.make_trainer(net, config, len(data.train))
amp.init_trainer(trainer)
net.hybridize(static_alloc=True, static_shape=True)
loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
out = [train.train_epoch(net, data.train, trainer, loss_fn, [mx.cpu()], config) for _ in range(2)]
print(json.dumps({"epochs": out, "acc": accuracy(net, data.test, [mx.cpu()]),
                  "n_train": len(data.train_set), "n_test": len(data.test_set),
                  "dtype": str(net(next(iter(data.test))[0]).dtype),
                  "scale": trainer._amp_loss_scaler.loss_scale}))
"""


@pytest.mark.skipif(not capability.has_bf16(), reason="bfloat16 execution: %s"
                    % capability.missing("bf16"))
def test_amp_training_code_runs_with_bfloat16_on_the_cpu(tiny_hotdog, tiny_source):
    proc = subprocess.run([sys.executable, "-c", AMP_SCRIPT, tiny_hotdog, tiny_source],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert all(np.isfinite(loss) for loss, _ in result["epochs"])
    # accuracies count whole images: k of n, whatever the precision the network computed in
    for acc, n in [(acc, result["n_train"]) for _, acc in result["epochs"]] + [(result["acc"],
                                                                              result["n_test"])]:
        assert acc * n == pytest.approx(round(acc * n), abs=1e-4), (acc, n)
    assert "bfloat16" in result["dtype"]  # the network really computed in low precision
    assert result["scale"] > 0
