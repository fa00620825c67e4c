"""`gluon-finetune demo` and scripts/demo.py end to end: real MXNet, real files.

The demo runs in a subprocess with ``--quick`` (tiny sets, 32 px, one epoch) from
an empty working folder, with ``MXNET_HOME`` pointing at a folder that does not
exist: so neither the real hotdog set nor ImageNet weights are found, and the
synthetic data and source model are made, exactly as on a fresh offline machine.
"""
import base64
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, assert_user_error, run_cli
from headless_browser import find_chromium, load_page

SCRIPT = os.path.join(ROOT, "scripts", "demo.py")


def _offline_env(base):
    # A model and data cache that does not exist: nothing real is found, and
    # the test can check that nothing was created there either.
    return {"MXNET_HOME": str(base / "mxnet-home")}


def _tree(folder):
    found = set()
    for root, dirs, files in os.walk(str(folder)):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(root, name), str(folder)))
    return found


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    """One `demo --quick` run from an empty working folder: (base, out, completed process)."""
    base = tmp_path_factory.mktemp("demo")
    work = base / "work"
    work.mkdir()
    proc = run_cli("demo", "--quick", "--out", "out", "--quiet", cwd=str(work),
                   env=_offline_env(base), timeout=300)
    return base, work / "out", proc


def test_quick_demo_writes_every_step_and_says_what_it_used(quick_demo):
    base, out, proc = quick_demo
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    log = proc.stdout
    assert "data: synthetic hotdog set" in log
    assert "the real hotdog set is not in %s" % (base / "mxnet-home" / "datasets") in log
    assert "source: synthetic source model" in log
    assert "resnet18_v2-a81db45f.params are not in %s" % (base / "mxnet-home" / "models") in log
    # The book's per-epoch line: the pretraining and both runs of the comparison.
    assert len(re.findall(r"^epoch 1, loss \d+\.\d{4}, train acc \d\.\d{3}, test acc \d\.\d{3}, "
                          r"time \d+\.\d sec$", log, re.M)) == 3
    for path in ("report.html", "demo.json", "augment.png", "samples.png", "compare/compare.png",
                 "compare/finetune/config.json", "compare/scratch/config.json",
                 "evaluation/confusion.png", "evaluation/mistakes.png",
                 "source/resnet18_v2-source.params", "source/resnet18_v2-source.json",
                 "data/hotdog/synthetic.json", "data/source/synthetic.json"):
        assert (out / path).is_file(), path
    record = json.loads((out / "demo.json").read_text())
    assert record["complete"] and record["data"]["kind"] == "synthetic"
    assert record["source"]["kind"] == "synthetic"
    assert set(record["steps"]) == {"data", "source", "previews", "compare", "evaluate", "report"}
    sidecar = json.loads((out / "source" / "resnet18_v2-source.json").read_text())
    assert sidecar["preprocessing"]["image_size"] == 32
    assert len(sidecar["classes"]) == 10


def test_report_embeds_every_figure_the_demo_drew(quick_demo):
    _, out, proc = quick_demo
    assert proc.returncode == 0, proc.stderr
    record = json.loads((out / "demo.json").read_text())
    assert set(record["images"]) >= {"augment", "samples", "compare", "confusion", "mistakes"}
    page = (out / "report.html").read_text(encoding="utf-8")
    embedded = [base64.b64decode(src) for src in
                re.findall(r'<img src="data:image/png;base64,([^"]*)"', page)]
    assert len(embedded) == len(record["images"])
    for key, rel in record["images"].items():
        assert (out / rel).read_bytes() in embedded, key


def test_nothing_is_written_outside_out(quick_demo):
    base, out, proc = quick_demo
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(str(base))) == ["work"]          # no MXNET_HOME made, nothing else
    assert os.listdir(str(base / "work")) == ["out"]


def test_second_run_reuses_data_and_source_model(quick_demo):
    base, out, proc = quick_demo
    assert proc.returncode == 0, proc.stderr
    params = out / "source" / "resnet18_v2-source.params"
    before = params.stat().st_mtime_ns
    old_report = (out / "report.html").stat().st_mtime_ns
    (out / "compare" / "finetune" / "stale.txt").write_text("from the first run")
    again = run_cli("demo", "--quick", "--out", "out", "--quiet", cwd=str(base / "work"),
                    env=_offline_env(base), timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "reusing" in again.stdout
    assert re.search(r"data: synthetic hotdog set.*, reusing .*data/hotdog", again.stdout)
    assert "source: reusing the synthetic source model" in again.stdout
    assert "pretraining resnet18_v2 from scratch" not in again.stdout
    assert params.stat().st_mtime_ns == before
    assert (out / "report.html").stat().st_mtime_ns != old_report
    assert not (out / "compare" / "finetune" / "stale.txt").exists()   # compare/ was replaced
    record = json.loads((out / "demo.json").read_text())
    assert record["data"]["reused"] and record["source"]["reused"]
    assert sorted(os.listdir(str(base))) == ["work"]


@pytest.mark.skipif(find_chromium() is None,
                    reason="Debian's chromium is not installed (apt-get install chromium; "
                           "`make test` installs it when apt works)")
def test_report_loads_cleanly_in_headless_chromium(quick_demo, tmp_path):
    _, out, proc = quick_demo
    assert proc.returncode == 0, proc.stderr
    seen = load_page((out / "report.html").as_uri(), str(tmp_path / "profile"))
    assert seen.title.startswith("gluon-finetune")
    assert seen.errors == []
    record = json.loads((out / "demo.json").read_text())
    assert len(seen.images) == len(record["images"])
    for img in seen.images:
        assert img["complete"] and img["width"] > 0 and img["height"] > 0, img
    # Only the page itself and its embedded figures: nothing from a server.
    assert all(u.startswith(("file:", "data:")) for u in seen.requests), seen.requests


@pytest.mark.skipif(find_chromium() is None, reason="Debian's chromium is not installed")
def test_browser_check_can_fail(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<!doctype html><title>t</title><img src="missing.png">'
                    '<script>undefined_function()</script>')
    seen = load_page(page.as_uri(), str(tmp_path / "profile"))
    assert any("missing.png" in e for e in seen.errors), seen.errors
    assert any("exception" in e for e in seen.errors), seen.errors
    assert seen.images[0]["width"] == 0


def test_an_extracted_hotdog_set_is_used_without_downloading(tiny_hotdog, tiny_source, tmp_path):
    import shutil

    from gluon_finetune.data import download

    # What `gluon-finetune data download` leaves behind: the folder and its marker.
    datasets = tmp_path / "mxnet-home" / "datasets"
    shutil.copytree(tiny_hotdog, str(datasets / "hotdog"))
    (datasets / ".hotdog.zip.extracted").write_text(json.dumps(
        {"archive": "hotdog.zip", "sha1": download.HOTDOG_SHA1, "folder": "hotdog",
         "source": "test"}))
    before = _tree(tmp_path / "mxnet-home")
    proc = run_cli("demo", "--quick", "--weights", tiny_source, "--out", tmp_path / "out",
                   "--quiet", cwd=str(tmp_path), env=_offline_env(tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "data: the book's hotdog set, %s" % (datasets / "hotdog") in proc.stdout
    assert "source: your weights file %s" % tiny_source in proc.stdout
    assert not (tmp_path / "out" / "data").exists() and not (tmp_path / "out" / "source").exists()
    assert _tree(tmp_path / "mxnet-home") == before
    record = json.loads((tmp_path / "out" / "demo.json").read_text())
    assert record["data"]["kind"] == "hotdog"
    assert record["augs"]["normalize"] == "ImageNet's"   # no sidecar: the zoo's preprocessing


# --------------------------------------------------------------------------- bad input


def test_missing_data_folder_is_one_clear_error(tmp_path):
    proc = run_cli("demo", "--quick", "--data", tmp_path / "nope", "--out", tmp_path / "out",
                   env=_offline_env(tmp_path))
    assert_user_error(proc, "data folder", "does not exist")
    assert not (tmp_path / "out").exists()


def test_bad_weights_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "source.params"
    bad.write_text("not weights")
    proc = run_cli("demo", "--quick", "--weights", bad, "--out", tmp_path / "out",
                   env=_offline_env(tmp_path))
    assert_user_error(proc, "cannot read weights file", str(bad), "Invalid NDArray file format")
    assert not (tmp_path / "out").exists()


def test_foreign_out_folder_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    proc = run_cli("demo", "--quick", "--out", out, env=_offline_env(tmp_path))
    assert_user_error(proc, "refusing to write into", "not the output of an earlier demo")
    assert _tree(out) == {"notes.txt"}


# --------------------------------------------------------------------------- the script


def _script(*args, cwd=None, env=None):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, SCRIPT] + [str(a) for a in args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=300)


def test_script_runs_the_experiment_on_a_folder_with_given_weights(tiny_hotdog, tiny_source,
                                                                   tmp_path):
    out = tmp_path / "run"
    proc = _script("--data", tiny_hotdog, "--weights", tiny_source, "--out", out, "--epochs", "1",
                   "--image-size", "32", "--batch-size", "16", "--quiet", cwd=str(tmp_path),
                   env=_offline_env(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "data: your folder %s" % tiny_hotdog in proc.stdout
    assert "source: your weights file %s" % tiny_source in proc.stdout
    assert "pretraining resnet18_v2" not in proc.stdout and not (out / "source").exists()
    assert "fine-tuned test acc" in proc.stdout
    record = json.loads((out / "demo.json").read_text())
    assert record["command"].startswith("python scripts/demo.py --data")
    assert record["settings"]["image_size"] == 32 and record["settings"]["epochs"] == 1
    assert (out / "report.html").is_file()
    assert sorted(os.listdir(str(tmp_path))) == ["run"]


def test_script_bad_input_is_one_clear_error(tmp_path):
    proc = _script("--data", tmp_path / "nope", "--out", tmp_path / "out")
    assert_user_error(proc, "does not exist")
