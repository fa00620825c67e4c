"""Your own network as the source: ``--weights NET-symbol.json`` (issue 24).

The exports are real: this project's own (``export_run``), and the same network through
ONNX and back (MXNet's ONNX export, then ``mxnet.contrib.onnx.import_model``, which
turns the Dense layer into a matrix product). Nothing here needs ``../shared``.
"""
import json
import os
import shutil
import warnings

import mxnet as mx
import numpy as np
import pytest

from gluon_finetune.inference.export import export_run
from gluon_finetune.inference.predict import load_run
from gluon_finetune.networks import model, symbol_source

from conftest import assert_user_errors, run_cli


@pytest.fixture(scope="module")
def own_export(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "net"
    export_run(run_dir, str(out))
    return str(out / "resnet18_v2-symbol.json")


@pytest.fixture(scope="module")
def onnx_roundtrip(run_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    export_run(run_dir, str(folder / "net"), format="onnx")
    onnx_file = [f for f in os.listdir(folder / "net") if f.endswith(".onnx")][0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sym, arg, aux = mx.contrib.onnx.import_model(str(folder / "net" / onnx_file))
    mx.model.save_checkpoint(str(folder / "back"), 0, sym, arg, aux)
    return str(folder / "back-symbol.json")


def features_of(net, x):
    return net.features(x).asnumpy().reshape(x.shape[0], -1)


def test_the_features_are_the_graph_up_to_the_classifier(run_dir, own_export, onnx_roundtrip):
    trained = load_run(run_dir, ctx="cpu")
    x = mx.nd.array(np.random.RandomState(0).uniform(-1, 1, (2, 3, 32, 32)).astype(np.float32))
    want = features_of(trained.net, x)  # the zoo network's own features: 512 values
    for path, head in ((own_export, "dense0_fwd"), (onnx_roundtrip, "linalg_gemm2")):
        source, info = model.load_source(symbol_source.model_name(path))
        assert info["kind"] == "symbol" and head in info["head_layer"], info
        assert info["params"].endswith("-0000.params")
        np.testing.assert_allclose(features_of(source, x), want, rtol=1e-5, atol=1e-5)


def test_the_classifier_is_found_or_named_and_a_1x1_convolution_head_counts():
    data = mx.sym.var("data")
    body = mx.sym.Activation(mx.sym.Convolution(data, kernel=(3, 3), num_filter=8, name="body"),
                             act_type="relu", name="relu")
    pooled = mx.sym.Pooling(body, global_pool=True, kernel=(1, 1), pool_type="avg", name="pool")
    head = mx.sym.Convolution(pooled, kernel=(1, 1), num_filter=5, name="classifier")
    nodes = json.loads(mx.sym.Flatten(head, name="flat").tojson())["nodes"]
    assert symbol_source.head_candidates(nodes) == ["classifier"]
    assert symbol_source.find_head(nodes) == ("classifier", ("pool", 0))
    assert symbol_source.find_head(nodes, "pool")[0] == "pool"  # named: any layer with an input
    # Without a 1x1 convolution before the flatten there is nothing to find.
    bare = json.loads(mx.sym.Flatten(pooled, name="flat").tojson())["nodes"]
    assert symbol_source.head_candidates(bare) == []


def test_fine_tuning_an_export_on_the_command_line_and_predicting_after_it_moves(
        own_export, tiny_hotdog, tmp_path):
    # A copy of the export that is deleted after training: the run keeps its own graph.
    export = tmp_path / "mine"
    shutil.copytree(os.path.dirname(own_export), export)
    out = tmp_path / "run"
    proc = run_cli("train", "--data", tiny_hotdog, "--weights", export / "resnet18_v2-symbol.json",
                   "--epochs", "1", "--batch-size", "8", "--image-size", "32", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "_dense0_fwd) with resnet18_v2-0000.params" in proc.stdout  # the Dense cut off
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["model"].startswith("symbol:") and config["weights"].endswith("-symbol.json")
    assert (out / symbol_source.RUN_COPY).is_file()
    shutil.rmtree(export)
    moved = tmp_path / "moved"
    shutil.move(str(out), str(moved))
    predicted = run_cli("predict", moved, os.path.join(tiny_hotdog, "test"))
    assert predicted.returncode == 0, predicted.stderr
    assert len([line for line in predicted.stdout.splitlines() if "hotdog" in line]) == 16
    # INT8 export of such a run: named after the export the network came from.
    exported = run_cli("export", moved, "--quantize", "int8", "--out", tmp_path / "deploy")
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "deploy" / "resnet18_v2-int8-symbol.json").is_file()


def test_bad_symbol_sources_are_one_error_line(own_export, run_dir, tiny_hotdog, tmp_path):
    lonely = tmp_path / "lonely-symbol.json"
    shutil.copyfile(own_export, lonely)  # no -0000.params beside it
    headless = tmp_path / "headless-symbol.json"
    mx.sym.Pooling(mx.sym.Convolution(mx.sym.var("data"), kernel=(3, 3), num_filter=4, name="c"),
                   global_pool=True, kernel=(1, 1), pool_type="avg").save(str(headless))
    mx.nd.save(str(tmp_path / "headless-0000.params"), {})
    not_json = tmp_path / "text-symbol.json"
    not_json.write_text("not a graph")
    empty = tmp_path / "empty-symbol.json"  # a graph whose params file holds nothing
    shutil.copyfile(own_export, empty)
    mx.nd.save(str(tmp_path / "empty-0000.params"), {})
    # resnet18_v2's input BatchNorm takes the data itself: cutting there leaves no features.
    nodes = json.loads(open(own_export).read())["nodes"]
    first = next(n["name"] for n in nodes if n["op"] != "null")
    common = ["--data", tiny_hotdog, "--epochs", "1", "--image-size", "32", "--out"]
    assert_user_errors(
        (["train"] + common + [tmp_path / "a", "--weights", lonely], "lonely-0000.params"),
        (["train"] + common + [tmp_path / "b", "--weights", own_export, "--head-layer", "nope"],
         "--head-layer nope", "_dense0_fwd"),
        (["train"] + common + [tmp_path / "c", "--weights", headless], "cannot find the classifier",
         "--head-layer"),
        (["train"] + common + [tmp_path / "d", "--weights", not_json], "not an MXNet symbol file"),
        (["train"] + common + [tmp_path / "e", "--head-layer", "fc"], "--head-layer",
         "NET-symbol.json"),
        (["train"] + common + [tmp_path / "f", "--weights", tmp_path / "gone-symbol.json"],
         "no such file"),
        (["train"] + common + [tmp_path / "g", "--weights", empty],
         "empty-0000.params does not hold the weights of its features"),
        (["train"] + common + [tmp_path / "h", "--weights", own_export, "--head-layer", first],
         "takes the network's input directly"))
    assert not any((tmp_path / name).exists() for name in "abcdefgh")  # nothing half-made


def test_recipe_fast_cuts_the_graph_into_groups_by_depth(own_export):
    from gluon_finetune.training.stages import DEPTH_GROUPS, stage_layout

    net = model.zoo_network(symbol_source.model_name(own_export), 2)
    groups, how = stage_layout(net)
    assert [name for name, _ in groups] == ["group%d" % (i + 1) for i in range(DEPTH_GROUPS)]
    params = [p for _, ps in groups for p in ps]
    assert params == list(net.features.collect_params().values())  # all of them, in graph order
    assert "graph" in how and "%d parameters" % len(params) in how


def test_model_names_keep_paths_with_at_signs_and_the_head_layer():
    name = symbol_source.model_name("/data/me@work/my@net-symbol.json", "pool1_fwd")
    assert symbol_source.parse(name) == ("/data/me@work/my@net-symbol.json", "pool1_fwd")
    plain = symbol_source.model_name("/data/me@work/my@net-symbol.json")
    assert symbol_source.parse(plain) == ("/data/me@work/my@net-symbol.json", None)
    assert symbol_source.short_name(plain) == "my@net"
    assert symbol_source.short_name("resnet18_v2") == "resnet18_v2"


def test_from_scratch_a_graph_starts_as_its_layers_would(own_export):
    net = model.scratch_net(3, symbol_source.model_name(own_export))
    out = net(mx.nd.zeros((2, 3, 32, 32)))
    assert out.shape == (2, 3)
    params = net.collect_params()
    for name, param in params.items():
        values = param.data().asnumpy()
        if name.endswith(("gamma", "running_var")):
            assert (values == 1).all(), name
        elif name.endswith(("beta", "bias", "running_mean")):
            assert (values == 0).all(), name
        else:
            assert values.std() > 0, name  # Xavier: random, not a constant

