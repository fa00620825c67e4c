"""The fine-tune net: copied features, a fresh Xavier head with lr_mult 10, freezing, weights."""
import math
import os
import socket

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

from gluon_finetune.errors import UserError
from gluon_finetune.networks import model as M

X = mx.nd.random.uniform(-1, 1, (4, 3, 32, 32))


@pytest.fixture(scope="module")
def source_file(tmp_path_factory):
    """A 1000-class resnet18_v2 with non-trivial weights, saved as a source .params file."""
    mx.random.seed(0)
    net = M.scratch_net(1000)
    net(X)
    path = str(tmp_path_factory.mktemp("src") / "source.params")
    net.save_parameters(path)
    return path


def params_np(net):
    return {k: p.data().asnumpy() for k, p in net._collect_params_with_prefix().items()}


def test_features_are_copied_and_the_head_is_new_xavier(source_file):
    source, info = M.load_source(weights=source_file)
    assert info["kind"] == "file"
    net = M.finetune_net(source, 2)
    src, dst = params_np(source), params_np(net)
    features = [k for k in dst if not k.startswith("output.")]
    assert len(features) > 50
    for k in features:
        np.testing.assert_array_equal(dst[k], src[k])
    w, b = dst["output.weight"], dst["output.bias"]
    assert w.shape == (2, 512) and src["output.weight"].shape == (1000, 512)
    # MXNet's Xavier default: uniform, magnitude 3, fan average -> bound sqrt(3 / ((512 + 2) / 2))
    bound = math.sqrt(3.0 / ((512 + 2) / 2.0))
    assert np.abs(w).max() <= bound + 1e-6
    assert abs(w.std() - bound / math.sqrt(3)) < 0.15 * bound / math.sqrt(3)
    assert not np.any(b)
    # a copy, not a shared block: training the new net leaves the source alone
    net.features[1].weight.set_data(net.features[1].weight.data() * 0)
    assert np.abs(source.features[1].weight.data().asnumpy()).sum() > 0


def test_head_gets_lr_mult_10_and_features_1(source_file):
    net = M.finetune_net(M.load_source(weights=source_file)[0], 3)
    features, head = M.split_params(net)
    assert sorted(head) == ["output.bias", "output.weight"]
    assert all(p.lr_mult == 10 for p in head.values())
    assert all(p.lr_mult == 1 for p in features.values())
    assert net(X).shape == (4, 3)


def test_frozen_features_stay_unchanged_after_a_step(source_file):
    net = M.finetune_net(M.load_source(weights=source_file)[0], 2, freeze=True)
    before = params_np(net)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    with autograd.record():
        loss = loss_fn(net(X), mx.nd.array([0, 1, 0, 1]))
    loss.backward()
    trainer.step(4)
    after = params_np(net)
    for k in before:
        if k.startswith("output."):
            assert not np.array_equal(before[k], after[k]), k
        else:  # weights and BatchNorm running statistics alike
            np.testing.assert_array_equal(before[k], after[k], err_msg=k)


def test_unfrozen_step_changes_features_and_bn_statistics(source_file):
    net = M.finetune_net(M.load_source(weights=source_file)[0], 2)
    before = params_np(net)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    with autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(X), mx.nd.array([0, 1, 0, 1]))
    loss.backward()
    trainer.step(4)
    after = params_np(net)
    assert not np.array_equal(before["features.1.weight"], after["features.1.weight"])
    assert not np.array_equal(before["features.2.running_mean"], after["features.2.running_mean"])


def test_scratch_net_is_xavier_everywhere_and_not_the_source(source_file):
    mx.random.seed(1)
    net = M.scratch_net(2)
    net(X)
    w = net.features[1].weight.data().asnumpy()  # first conv: 64 x 3 x 7 x 7
    fan_in, fan_out = 3 * 49, 64 * 49
    bound = math.sqrt(3.0 / ((fan_in + fan_out) / 2.0))
    assert np.abs(w).max() <= bound + 1e-6 and w.std() > 0.5 * bound / math.sqrt(3)
    src = M.load_source(weights=source_file)[0]
    assert not np.array_equal(w, src.features[1].weight.data().asnumpy())


def test_gluoncv_v1b_head_named_fc(tmp_path):
    src = M.scratch_net(5, "resnet18_v1b")
    src(X)
    path = str(tmp_path / "v1b.params")
    src.save_parameters(path)
    net = M.finetune_net(M.load_source("resnet18_v1b", weights=path)[0], 2, "resnet18_v1b")
    assert M.head_name(net) == "fc"
    assert net.fc.weight.lr_mult == 10
    np.testing.assert_array_equal(net.conv1.weight.data().asnumpy(), src.conv1.weight.data().asnumpy())
    assert net(X).shape == (4, 2)


def test_network_without_a_known_head_is_refused():
    with pytest.raises(UserError, match="no classification head"):
        M.head_name(gluon.nn.HybridSequential())


def test_unknown_model_lists_what_works():
    with pytest.raises(UserError, match="unknown model 'resnet19'.*resnet18_v2"):
        M.scratch_net(2, "resnet19")


def test_bad_weights_files(tmp_path, source_file):
    with pytest.raises(UserError, match="weights file not found"):
        M.load_source(weights=str(tmp_path / "nope.params"))
    junk = tmp_path / "junk.params"
    junk.write_bytes(b"not mxnet")
    with pytest.raises(UserError, match="cannot read weights file") as err:
        M.load_source(weights=str(junk))
    # MXNet's reason, not the header of its C++ traceback
    assert "Invalid NDArray file format" in str(err.value) and "Traceback" not in str(err.value)
    with pytest.raises(UserError, match="does not fit model resnet34_v2"):
        M.load_source("resnet34_v2", weights=source_file)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("allow_download", [False, True])
def test_missing_imagenet_weights_offline_message(tmp_path, monkeypatch, allow_download):
    root = tmp_path / "models"
    root.mkdir()
    monkeypatch.setenv("MXNET_GLUON_REPO", "http://127.0.0.1:%d/" % closed_port())
    with pytest.raises(UserError) as err:
        M.load_source("resnet18_v2", root=str(root), allow_download=allow_download)
    text = str(err.value)
    for fragment in ("resnet18_v2-a81db45f.params", "a81db45fd7b7a2d12ab97cd88ef0a5ac48b8f657", str(root)):
        assert fragment in text
    assert os.listdir(str(root)) == []  # nothing half-downloaded left behind


def test_a_corrupt_cached_file_is_not_trusted(tmp_path):
    (tmp_path / "resnet18_v2-a81db45f.params").write_bytes(b"corrupt")
    assert M.cached_pretrained("resnet18_v2", str(tmp_path)) is None
    with pytest.raises(UserError, match="resnet18_v2-a81db45f.params"):
        M.load_source("resnet18_v2", root=str(tmp_path), allow_download=False)


def input_norm_output(net, x, train):
    with autograd.record(train_mode=train):
        return net.features[0](x).asnumpy()


@pytest.mark.parametrize("make", ["finetune", "scratch"])
def test_the_input_batchnorm_works_alike_in_training_and_at_test_time(source_file, make):
    # ResNet v2's first layer: MXNet never updates its running statistics (they
    # change in a backward pass that never runs for it), so per-batch statistics
    # in training would meet the untouched 0/1 at test time.
    if make == "finetune":
        source, _ = M.load_source(weights=source_file)
        net = M.finetune_net(source, 2)
    else:
        net = M.scratch_net(2)
    x = mx.nd.random.normal(2.0, 3.0, (4, 3, 32, 32))
    with autograd.record():
        loss = net(x).sum()
    loss.backward()
    np.testing.assert_allclose(input_norm_output(net, x, True), input_norm_output(net, x, False),
                               rtol=1e-5, atol=1e-5)


def test_networks_without_an_input_batchnorm_are_left_alone():
    net = M.zoo_network("resnet18_v1", classes=2)
    net.initialize()
    assert M.fix_input_norm(net) is False
    assert M.fix_input_norm(M.zoo_network("resnet18_v2", classes=2)) is True
