"""INT8 inference: export reloaded in a clean Python, agreement with float32, calibration
images, the cache, mistakes refused; the fused float32 graph; predict --latency.

The run is conftest's ``run_dir`` (resnet18_v2 at 32 px on 16 + 16 training images); one
calibration of it is shared by the tests through the cache in ``RUN/int8/``.
"""
import json
import os
import shutil
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from export_helpers import SYMBOL_SCRIPT, hotdog_test_files

from gluon_finetune import capability
from gluon_finetune.data import scan_folder
from gluon_finetune.errors import UserError
from gluon_finetune.inference.evaluate import evaluate_run
from gluon_finetune.inference.export import export_run
from gluon_finetune.inference.int8 import quantize
from gluon_finetune.inference.predict import load_run
from gluon_finetune.training.config import TrainConfig

from conftest import AVX2_FLAGS, ROOT, assert_option_error, assert_user_error, run_cli, write_cpuinfo

#: The stated rate: on the 16 test images INT8 gives float32's label to at least 15.
MIN_AGREEMENT = 15 / 16


@pytest.fixture(scope="module")
def int8_run(run_dir):
    """``run_dir`` quantised once (calibrated on its 32 training images, cached in the run)."""
    model = load_run(run_dir, ctx="cpu")
    return model, quantize.quantize_run(model)


def test_calibration_reports_excluded_layers_and_uses_only_training_images(int8_run, tiny_hotdog):
    model, q = int8_run
    record = q.record
    files = record["calibration"]["files"]
    train = os.path.join(tiny_hotdog, "train") + os.sep
    assert len(files) == 32 and all(f.startswith(train) for f in files)
    assert not set(files) & set(hotdog_test_files(tiny_hotdog))
    # Only the output layer stays float32 (--keep-float output), with its reason; the first
    # block's sum, whose shortcut is the stem's pooled ReLU (uint8), was repaired.
    [(kept, why)] = record["excluded_layers"].items()
    assert kept.endswith("_dense0_fwd") and "logits" in why
    [fix] = record["signed_sum_inputs"]
    assert fix["shortcut"].endswith("_pool0_fwd") and fix["range"] > 0
    assert record["agreement_on_calibration"]["labels"] >= 0.9
    assert os.path.isfile(q.symbol_file) and os.path.isfile(q.params_file)
    assert os.path.dirname(q.folder) == os.path.join(model.path, "int8")


def test_int8_export_reloads_in_a_clean_python_and_matches_in_process(int8_run, run_dir,
                                                                     tiny_hotdog, tmp_path):
    model, q = int8_run
    out = str(tmp_path / "int8")
    result = export_run(run_dir, out=out, quantize="int8")
    assert result["precision"] == "int8"
    names = sorted(os.listdir(out))
    assert names == ["export.json", "labels.json", "preprocessing.json", "quantization.json",
                     "resnet18_v2-int8-0000.params", "resnet18_v2-int8-symbol.json"]
    with open(os.path.join(out, "quantization.json")) as f:
        assert sorted(json.load(f)["excluded_layers"]) == sorted(q.record["excluded_layers"])
    paths = hotdog_test_files(tiny_hotdog)[:6]
    script = tmp_path / "load.py"
    script.write_text(SYMBOL_SCRIPT)
    report = tmp_path / "report.json"
    env = dict(os.environ, PYTHONPATH="")  # the deployment has MXNet, not gluon_finetune
    proc = subprocess.run([sys.executable, str(script), out, str(report)] + paths, env=env,
                          capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    with open(report) as f:
        got = json.load(f)
    assert got["imported"] == []
    want = q.predictor.probabilities(paths)
    np.testing.assert_allclose(np.array(got["probs"]), want, atol=1e-4)
    assert got["labels"] == [model.classes[i] for i in want.argmax(axis=1)]


def test_evaluate_int8_agrees_with_float32(int8_run, run_dir, tiny_hotdog, tmp_path):
    result = evaluate_run(run_dir, tiny_hotdog, out=str(tmp_path / "eval"), int8=True, quiet=True,
                          mistakes=0)
    assert result.int8["agreement"] >= MIN_AGREEMENT
    assert abs(result.int8["accuracy"] - result.accuracy) <= 1 / 16 + 1e-9
    assert result.int8["quantization"]["folder"] == int8_run[1].folder  # from the cache
    assert "labels agree" in result.summary()
    with open(result.files["json"]) as f:
        saved = json.load(f)
    assert saved["int8"]["agreement"] == result.int8["agreement"]
    assert all("int8_predicted" in rec for rec in saved["images"])


def test_cache_is_reused_and_invalidated_when_the_checkpoint_changes(run_dir, tmp_path):
    run = str(tmp_path / "run")
    shutil.copytree(run_dir, run, ignore=shutil.ignore_patterns("int8", "eval", "export"))
    first = quantize.quantize_run(load_run(run, ctx="cpu"), calib_images=8, keep_float="first-conv")
    assert not first.cached
    assert sorted(first.record["excluded_layers"])[0].endswith("_conv0_fwd")
    assert len(first.record["excluded_layers"]) == 2
    again = quantize.quantize_run(load_run(run, ctx="cpu"), calib_images=8,
                                  keep_float="first-conv")
    assert again.cached and again.folder == first.folder
    # Retrained weights under the same checkpoint name: a new calibration, the old entry gone.
    model = load_run(run, ctx="cpu")
    params = model.checkpoint["params"]
    w = model.net.collect_params()
    name = sorted(k for k in w.keys() if k.endswith("dense0_weight"))[0]
    w[name].set_data(w[name].data() * 1.5)
    model.net.save_parameters(params)
    changed = quantize.quantize_run(load_run(run, ctx="cpu"), calib_images=8,
                                  keep_float="first-conv")
    assert not changed.cached and changed.folder != first.folder
    assert not os.path.exists(first.folder)
    assert changed.record["params_sha256"] != first.record["params_sha256"]


def test_calibration_pool_of_a_single_folder_run_is_its_training_split(tiny_hotdog):
    data = os.path.join(tiny_hotdog, "train")  # class folders: a single-folder dataset
    config = TrainConfig(data=data, split=0.3)
    pool, what = quantize.calibration_pool(config)
    report = scan_folder(data, split=0.3)
    assert pool == sorted(p for p, _ in report.items["train"])
    assert not set(pool) & {p for p, _ in report.items["test"]}
    assert "training split" in what
    picked = quantize.pick_calibration_files(pool, 8, seed=0)
    assert picked == quantize.pick_calibration_files(pool, 8, seed=0) and len(picked) == 8


def test_bad_calibration_folder_and_too_few_images_are_refused(run_dir, tiny_hotdog, tmp_path):
    model = load_run(run_dir, ctx="cpu")
    with pytest.raises(UserError, match="--calib-data .*missing.* is not a folder"):
        quantize.quantize_run(model, calib_data=str(tmp_path / "missing"))
    few = tmp_path / "few"
    few.mkdir()
    for f in hotdog_test_files(tiny_hotdog)[:3]:
        shutil.copy(f, str(few))
    with pytest.raises(UserError, match="only 3 calibration images found"):
        quantize.quantize_run(model, calib_data=str(few))
    assert_option_error(lambda: quantize.quantize_run(model, calib_images=4),
                        "--calib-images 4 is too few")
    with pytest.raises(UserError, match="more images than the 32"):
        quantize.quantize_run(model, calib_images=100)
    assert_option_error(lambda: quantize.quantize_run(model, calib_mode="minmax"),
                        "unknown --calib-mode 'minmax'")
    assert_option_error(lambda: quantize.quantize_run(model, keep_float="none"),
                        "unknown --keep-float 'none'")
    with pytest.raises(UserError, match="CPU only"):
        quantize.check_int8_context(mx.gpu(0))
    assert "may not be faster" in quantize.int8_speed_note(frozenset({"avx2", "fma"}))
    assert quantize.int8_speed_note(frozenset({"avx512f", "avx512_vnni"})) is None
    assert quantize.int8_speed_note(frozenset({"avx2", "avx_vnni"})) is None  # Alder Lake


def test_cli_predict_int8_with_latency_and_a_bad_calib_folder(int8_run, run_dir, tiny_hotdog,
                                                               tmp_path):
    folder = os.path.join(tiny_hotdog, "test")
    proc = run_cli("predict", run_dir, folder, "--int8", "--latency", "5", "--ctx", "cpu",
                   "--json")
    assert proc.returncode == 0, proc.stderr
    preds = json.loads(proc.stdout)
    want = int8_run[1].predictor.probabilities([p["path"] for p in preds])
    assert [p["label"] for p in preds] == [int8_run[0].classes[i] for i in want.argmax(axis=1)]
    assert "INT8 network from the cache" in proc.stderr
    assert "latency, one image at a time (INT8, 5 calls" in proc.stderr
    assert "median" in proc.stderr and "p95" in proc.stderr
    # The speed note follows what the capability check says of this CPU...
    assert ("no VNNI or AMX INT8 instructions" in proc.stderr) == (not capability.has_int8_speedup())
    # ...and a process told its CPU is an AVX2 one prints it, before the error of a bad folder.
    proc = run_cli("evaluate", run_dir, "--data", tiny_hotdog, "--int8", "--calib-data",
                   tmp_path / "nowhere", "--out", tmp_path / "eval",
                   env={capability.CPUINFO_VARIABLE: write_cpuinfo(tmp_path, AVX2_FLAGS)})
    assert_user_error(proc, "--calib-data", "nowhere", "is not a folder")
    assert "note: this CPU has no VNNI" in proc.stderr


def test_fused_float32_gives_the_same_probabilities(run_dir, tiny_hotdog):
    paths = hotdog_test_files(tiny_hotdog)
    plain = load_run(run_dir, ctx="cpu").probabilities(paths)
    fused = load_run(run_dir, ctx="cpu", fuse=True)
    assert fused.net._backend == "MKLDNN"  # really partitioned
    np.testing.assert_allclose(fused.probabilities(paths), plain, atol=1e-5)
    np.testing.assert_allclose(fused.probabilities(paths[:1]), plain[:1], atol=1e-5)  # batch 1


def test_int8_accuracy_script_writes_one_line_per_choice(int8_run, run_dir, tiny_hotdog, tmp_path):
    out = tmp_path / "acc.jsonl"
    script = os.path.join(ROOT, "scripts",
                          "int8_accuracy.py")
    proc = subprocess.run([sys.executable, script, run_dir, tiny_hotdog, "--keep-float", "output",
                           "--jsonl", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    with open(out) as f:
        int8, fused = [json.loads(line) for line in f]
    assert proc.stdout.splitlines() == [json.dumps(int8), json.dumps(fused)]
    assert int8["keep_float"] == "output" and int8["images"] == 16
    assert int8["agreement"] >= MIN_AGREEMENT
    assert [n.endswith("_dense0_fwd") for n in int8["float32_layers"]] == [True]
    assert fused["bench"] == "fused_accuracy" and fused["agreement"] == 1.0
    assert fused["max_probability_difference"] < 1e-4
    bad = subprocess.run([sys.executable, script, run_dir, tiny_hotdog, "--keep-float", "none"],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and "unknown --keep-float" in bad.stderr
    assert "Traceback" not in bad.stderr
