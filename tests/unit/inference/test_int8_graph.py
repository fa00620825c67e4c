"""The signed-sum repair of MXNet's quantised graph (gluon_finetune.inference.int8.graph), on a real
resnet18_v2 quantised by MXNet 1.9.1 at 32 px."""
import json
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet.contrib import quantization
from mxnet.gluon.model_zoo import vision

from gluon_finetune.inference.int8 import graph as int8_graph
from gluon_finetune.inference.int8 import quantize


@pytest.fixture(scope="module")
def nets():
    """A float32 resnet18_v2, its INT8 network as MXNet makes it, and as the project makes it."""
    mx.random.seed(0)
    net = vision.resnet18_v2(classes=2)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    x = mx.nd.random.normal(shape=(16, 3, 32, 32))
    loader = mx.gluon.data.DataLoader(mx.gluon.data.ArrayDataset(x, mx.nd.zeros((16,))),
                                      batch_size=16)
    exclude = list(quantize.excluded_layers(net))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        plain = quantization.quantize_net_v2(
            net, quantized_dtype="auto", quantize_mode=quantize.QUANTIZE_MODE,
            quantize_granularity=quantize.GRANULARITY, exclude_layers=exclude, calib_data=loader,
            calib_mode="naive", num_calib_examples=16, ctx=mx.cpu(), logger=None)
    repaired, fixed = quantize.quantize_network(net, loader, "naive", exclude)
    return net, plain, repaired, fixed, x


def _internal(net, name, x):
    sym = net(mx.sym.var("data")).get_internals()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        block = mx.gluon.SymbolBlock(sym, [mx.sym.var("data")], params=net.collect_params())
    return block(x).asnumpy().astype(np.float64)


def test_the_first_blocks_sum_keeps_its_negative_values_only_when_repaired(nets):
    net, plain, repaired, fixed, x = nets
    [fix] = fixed
    assert fix["shortcut"].endswith("_pool0_fwd") and fix["range"] > 0
    adds = [n["name"] for n in json.loads(net(mx.sym.var("data")).tojson())["nodes"]
            if n["op"] == "elemwise_add"]
    reference = _internal(net, adds[0] + "_output", x)
    assert reference.min() < 0  # the float32 sum has negative values...
    # ...which MXNet's fused INT8 convolution + sum with a uint8 shortcut drops,
    assert _internal(plain, fix["sum"] + "_output", x).min() >= 0
    # and which the repaired graph keeps.
    assert _internal(repaired, fix["sum"] + "_output", x).min() < 0
    # So the repaired network's logits are closer to float32's.
    want = net(x).asnumpy()
    err_plain = np.abs(plain(x).asnumpy() - want).mean()
    err_repaired = np.abs(repaired(x).asnumpy() - want).mean()
    assert err_repaired < err_plain


def test_only_sums_with_an_unsigned_shortcut_and_a_signed_result_are_rewritten(nets):
    _, plain, _, fixed, x = nets
    text = plain(mx.sym.var("data")).tojson()
    patched, again = int8_graph.sign_sum_inputs(text)
    assert again == fixed
    nodes = json.loads(text)["nodes"]
    sums = [n["name"] for n in nodes if n.get("attrs", {}).get("with_sum") == "true"]
    assert len(sums) == 8  # resnet18_v2: eight residual sums, one of them repaired
    new = json.loads(patched)["nodes"]
    assert len(new) == len(nodes) + 2
    assert [n["op"] for n in new[-2:]] == ["_contrib_dequantize", "_contrib_quantize_v2"]
    # A graph with nothing to repair comes back unchanged.
    assert int8_graph.sign_sum_inputs(patched) == (patched, [])


def test_keep_float_choices_name_the_layers_they_keep(nets):
    net = nets[0]
    output = quantize.excluded_layers(net, "output")
    first = quantize.excluded_layers(net, "first-conv")
    stage1 = quantize.excluded_layers(net, "stage1")
    assert [k[-len("dense0_fwd"):] for k in output] == ["dense0_fwd"]
    [conv] = set(first) - set(output)
    assert conv.endswith("_conv0_fwd") and "stage" not in conv
    assert len(stage1) == 6
    assert all("_stage1_conv" in k for k in set(stage1) - set(first))
