"""Export: symbol + params reloaded without gluon_finetune, ONNX checked in onnxruntime, bad input."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from export_helpers import SYMBOL_SCRIPT, hotdog_test_files

from gluon_finetune.errors import UserError
from gluon_finetune.inference.export import export_run
from gluon_finetune.inference.predict import load_run

from conftest import ROOT, assert_user_errors, run_cli

#: onnxruntime cannot live beside MXNet 1.9.1 (its wheels need numpy>=1.24), so the ONNX
#: parity check runs in a separate deployment environment with onnxruntime, numpy, pillow.
DEPLOY_PYTHON = os.environ.get("GLUON_FINETUNE_DEPLOY_PYTHON",
                               os.path.join(ROOT, ".venv-deploy", "bin", "python"))


ONNX_SCRIPT = r'''
import sys
import numpy as np
import onnxruntime as ort

options = ort.SessionOptions()
options.log_severity_level = 3  # the exporter lists initializers among the inputs: one warning each
session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
x = np.load(sys.argv[2])
np.save(sys.argv[3], session.run(None, {session.get_inputs()[0].name: x})[0])
print(ort.__version__)
'''


def test_mxnet_export_reloads_without_the_package_and_predicts_the_same(run_dir, tiny_hotdog, tmp_path):
    out = tmp_path / "deploy"
    proc = run_cli("export", run_dir, "--out", out)
    assert proc.returncode == 0, proc.stderr
    names = sorted(os.listdir(out))
    assert names == ["export.json", "labels.json", "preprocessing.json", "resnet18_v2-0000.params",
                     "resnet18_v2-symbol.json"]
    assert "resnet18_v2-symbol.json" in proc.stdout
    assert json.loads((out / "labels.json").read_text()) == ["hotdog", "not-hotdog"]
    prep = json.loads((out / "preprocessing.json").read_text())
    assert prep["resize_shorter"] == 37 and prep["center_crop"] == [32, 32]  # round(32 * 256 / 224)
    assert prep["mean"] == [0.485, 0.456, 0.406] and prep["std"] == [0.229, 0.224, 0.225]
    assert prep["input"] == {"name": "data", "layout": "NCHW", "channel_order": "RGB",
                             "dtype": "float32", "shape": [None, 3, 32, 32]}
    assert [s["op"] for s in prep["steps"]] == ["resize_shorter", "center_crop", "to_tensor", "normalize"]

    paths = hotdog_test_files(tiny_hotdog)
    script = tmp_path / "deploy.py"
    script.write_text(SYMBOL_SCRIPT)
    result = tmp_path / "result.json"
    done = subprocess.run([sys.executable, str(script), str(out), str(result)] + paths, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    got = json.loads(result.read_text())
    assert got["imported"] == []
    model = load_run(run_dir)
    expected = model.probabilities(paths)
    np.testing.assert_allclose(np.array(got["probs"]), expected, atol=1e-5, rtol=0)
    assert got["labels"] == [model.classes[i] for i in expected.argmax(axis=1)]


def test_reexport_replaces_files_and_bad_input_is_refused(run_dir, tmp_path):
    out = tmp_path / "deploy"
    first = export_run(run_dir, str(out), name="hotdog")
    assert os.path.isfile(first["files"]["symbol"]) and first["epoch"] >= 1
    second = export_run(run_dir, str(out), checkpoint="last")  # an earlier export is replaced
    assert sorted(os.listdir(out)) == ["export.json", "labels.json", "preprocessing.json",
                                       "resnet18_v2-0000.params", "resnet18_v2-symbol.json"]
    assert second["checkpoint"] == "last"
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    assert_user_errors((("export", run_dir, "--out", busy), "not empty"),
                       (("export", run_dir, "--out", tmp_path / "x", "--format", "tflite"),
                        "unknown --format 'tflite'"),
                       (("export", tmp_path, "--out", tmp_path / "x"), "not a run folder"))
    assert not (tmp_path / "x").exists()
    # a run whose test list is random has no preprocessing to write down
    flipped = tmp_path / "flipped"
    shutil.copytree(run_dir, flipped)
    record = json.loads((flipped / "config.json").read_text())
    record["config"]["test_augs"] = "flip,resize:37,center_crop:32,to_tensor,normalize"
    (flipped / "config.json").write_text(json.dumps(record))
    with pytest.raises(UserError, match="HorizontalFlipAug"):
        export_run(str(flipped), str(tmp_path / "y"))


def test_onnx_export_matches_mxnet_in_onnxruntime(run_dir, tiny_hotdog, tmp_path):
    try:
        import onnx
    except ImportError:
        pytest.skip("onnx is not installed here; install the extra: pip install -e '.[onnx]'")
    if not os.path.isfile(DEPLOY_PYTHON):
        pytest.skip("no deployment environment at %s (python3 -m venv .venv-deploy && "
                    ".venv-deploy/bin/pip install onnxruntime numpy pillow; or set "
                    "GLUON_FINETUNE_DEPLOY_PYTHON)" % DEPLOY_PYTHON)
    probe = subprocess.run([DEPLOY_PYTHON, "-c", "import onnxruntime"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("onnxruntime does not import in %s: %s"
                    % (DEPLOY_PYTHON, probe.stderr.strip().splitlines()[-1:]))

    out = tmp_path / "onnx"
    proc = run_cli("export", run_dir, "--out", out, "--format", "onnx")
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(out)) == ["export.json", "labels.json", "preprocessing.json",
                                       "resnet18_v2.onnx"]
    graph = onnx.load(str(out / "resnet18_v2.onnx")).graph
    assert graph.input[0].name == "data"
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["made_by"]["onnx"] == onnx.__version__ and manifest["output"] == graph.output[0].name

    model = load_run(run_dir)
    paths = hotdog_test_files(tiny_hotdog)[:5]  # a batch of 5: the exported batch dimension is dynamic
    x = np.stack([model.preprocess(p).asnumpy() for p in paths]).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    expected = model.logits(x)
    script = tmp_path / "run_onnx.py"
    script.write_text(ONNX_SCRIPT)
    done = subprocess.run([DEPLOY_PYTHON, str(script), str(out / "resnet18_v2.onnx"),
                           str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    got = np.load(tmp_path / "y.npy")
    assert got.shape == expected.shape == (5, 2)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
