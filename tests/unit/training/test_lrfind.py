"""The learning-rate range test: restores weights, stops on divergence, suggests a rate below it."""
import json
import math

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from gluon_finetune.training import lrfind
from gluon_finetune.training.lrfind import lr_find, smooth


def _linear_problem():
    """Least squares whose Hessian has largest eigenvalue L = 4: SGD diverges for lr > 2 / L = 0.5."""
    rng = np.random.RandomState(0)
    x = rng.randn(64, 3)
    q, _ = np.linalg.qr(x)  # orthonormal columns: X^T X = I
    x = q * np.sqrt(64) * np.array([2.0, 1.0, 0.5])  # X^T X / n = diag(4, 1, 0.25)
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.01 * rng.randn(64)
    batches = [(mx.nd.array(x), mx.nd.array(y.reshape(-1, 1)))]  # full batch: gradient descent
    net = gluon.nn.Dense(1, use_bias=False, in_units=3)
    net.initialize(mx.init.Zero())
    return net, batches


def test_the_suggestion_lies_in_the_sweep_and_below_the_divergence_point():
    net, batches = _linear_problem()
    before = net.weight.data().asnumpy().copy()
    result = lr_find(net, batches, gluon.loss.L2Loss(), [mx.cpu()], start=1e-4, end=100, steps=100)
    np.testing.assert_array_equal(net.weight.data().asnumpy(), before)  # restored
    assert result.stopped and "4 x its minimum" in result.stopped
    assert result.lrs[-1] > 0.5 and len(result.lrs) < 100  # stopped past 2/L, before the end
    assert 1e-4 <= result.suggestion < 0.5
    assert result.method == "steepest descent of the smoothed loss"
    assert result.min_lr > result.suggestion  # the smoothed minimum lags behind the raw loss


def test_smoothing_is_bias_corrected():
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])
    s = smooth([1.0, 3.0], beta=0.5)
    assert s[1] == pytest.approx((0.25 * 1 + 0.5 * 3) / 0.75)
    assert lrfind.suggest([1e-3, 1e-2, 1e-1], [1.0, 0.5, 2.0]) == (pytest.approx(1e-3), "minimum / 10")
    assert lrfind.suggest([1e-3, 1e-2, 1e-1], [0.5, 1.0, 2.0]) == (pytest.approx(1e-3), "minimum / 10")
    rates = lrfind.sweep_rates(1e-7, 10, 9)
    assert rates[0] == pytest.approx(1e-7) and rates[-1] == pytest.approx(10) and rates[4] == pytest.approx(1e-3)
    assert all(math.isclose(b / a, 10) for a, b in zip(rates, rates[1:]))


def test_lr_find_command_leaves_the_weights_and_writes_a_plot(cli, tiny_hotdog, tiny_source, tmp_path):
    import hashlib

    digest = hashlib.sha1(open(tiny_source, "rb").read()).hexdigest()
    out = tmp_path / "sweep" / "lr.png"
    proc = cli("lr-find", "--data", tiny_hotdog, "--weights", tiny_source, "--image-size", "32",
               "--batch-size", "8", "--freeze-features", "--cache-features", "--steps", "12",
               "--start", "1e-5", "--end", "100", "--seed", "1", "--quiet", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "suggested --lr" in proc.stdout and ("steepest descent" in proc.stdout or "minimum / 10" in proc.stdout)
    assert out.is_file() and out.stat().st_size > 10000
    record = json.loads((tmp_path / "sweep" / "lr.json").read_text())
    assert 1e-5 <= record["suggestion"] <= 100 and record["config"]["freeze_features"]
    assert hashlib.sha1(open(tiny_source, "rb").read()).hexdigest() == digest
    assert sorted(p.name for p in (tmp_path / "sweep").iterdir()) == ["lr.json", "lr.png"]


def test_a_reversed_sweep_is_refused_naming_the_option(tiny_hotdog, capsys):
    from gluon_finetune.cli import main

    assert main(["lr-find", "--data", tiny_hotdog, "--start", "1", "--end", "0.1"]) == 2
    assert capsys.readouterr().err.startswith("error: --start and --end")


def test_lr_find_restores_a_whole_network(tiny_hotdog, tiny_source):
    from gluon_finetune.training.config import TrainConfig
    from gluon_finetune.training.train import build_net, load_data

    config = TrainConfig(data=tiny_hotdog, weights=tiny_source, batch_size=8, image_size=32, seed=2,
                         quiet=True, lr_stage_decay=0.5).resolved()
    data = load_data(config)
    net, _ = build_net(config, data.classes, [mx.cpu()])
    before = {k: p.data().asnumpy().copy() for k, p in net.collect_params().items()}
    result = lr_find(net, data.train, gluon.loss.SoftmaxCrossEntropyLoss(), [mx.cpu()],
                     start=1e-4, end=10, steps=6)
    assert len(result.lrs) <= 6
    for k, p in net.collect_params().items():  # weights and BatchNorm statistics alike
        np.testing.assert_array_equal(p.data().asnumpy(), before[k], err_msg=k)
