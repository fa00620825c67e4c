"""scripts/demo.py downloads what the book downloads, from a real server on 127.0.0.1.

The server stands in for the network: it serves a hotdog-shaped ``hotdog.zip``
(tiny real JPEGs) and, for the weights, the model zoo's zip of a small
resnet18_v2 ``.params`` file at the zoo's own path, under ``MXNET_GLUON_REPO``
as a user with a mirror would set it. The zoo's sha1 table is given that file's
sha1 in this process (the user-facing check is still the zoo's).
"""
import hashlib
import importlib.util
import io
import json
import os
import struct
import subprocess
import sys
import zipfile

import pytest

from gluon_finetune.data import download as dl
from gluon_finetune.errors import UserError

from conftest import ROOT, assert_user_error, run_cli
from http_server import Server

SCRIPT = os.path.join(ROOT, "scripts", "demo.py")
TINY = ["--epochs", "1", "--image-size", "32", "--batch-size", "8", "--quiet"]


def load_script():
    spec = importlib.util.spec_from_file_location("demo_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hotdog_zip(folder):
    """hotdog.zip's layout (hotdog/train|test/class/*.jpg) from a folder of real JPEGs."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for split in ("train", "test"):
            for cls in sorted(os.listdir(os.path.join(folder, split))):
                for name in sorted(os.listdir(os.path.join(folder, split, cls))):
                    zf.write(os.path.join(folder, split, cls, name), "hotdog/%s/%s/%s" % (split, cls, name))
    return buf.getvalue()


def sha1(data):
    return hashlib.sha1(data).hexdigest()


@pytest.fixture
def mirror(tiny_hotdog, tiny_source, tmp_path, monkeypatch):
    """A server with hotdog.zip and the zoo's zip of resnet18_v2's weights; an empty MXNET_HOME."""
    from mxnet.gluon.model_zoo import model_store

    params = open(tiny_source, "rb").read()
    monkeypatch.setitem(model_store._model_sha1, "resnet18_v2", sha1(params))
    stem = "resnet18_v2-%s" % sha1(params)[:8]
    weights_zip = io.BytesIO()
    with zipfile.ZipFile(weights_zip, "w") as zf:
        zf.writestr(stem + ".params", params)
    archive = hotdog_zip(tiny_hotdog)
    srv = Server()
    srv.data_url = srv.serve("/mirror/hotdog.zip", archive)
    srv.data_sha1 = sha1(archive)
    srv.weights_path = "/gluon/models/%s.zip" % stem
    srv.serve(srv.weights_path, weights_zip.getvalue())
    srv.stem = stem
    home = tmp_path / "mxnet-home"
    monkeypatch.setenv("MXNET_HOME", str(home))
    monkeypatch.setenv("MXNET_GLUON_REPO", srv.url("/"))
    srv.home = home
    yield srv
    srv.close()


def test_downloads_both_then_runs_the_book_experiment(mirror, tmp_path, capsys):
    out = tmp_path / "out"
    code = load_script().main(["--data-url", mirror.data_url, "--data-sha1", mirror.data_sha1,
                               "--out", str(out)] + TINY)
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert mirror.hits("/mirror/hotdog.zip") == 1 and mirror.hits(mirror.weights_path) == 1
    data = mirror.home / "datasets" / "hotdog"
    assert sorted(os.listdir(data / "train")) == ["hotdog", "not-hotdog"]
    weights = mirror.home / "models" / (mirror.stem + ".params")
    assert weights.is_file()
    # the book's lines for both runs, and the log names what was used, with sha1s
    assert "data: the book's hotdog set, %s (extracted from hotdog.zip, sha1 %s verified)" % (
        data, mirror.data_sha1) in printed.out
    assert "source: ImageNet weights of resnet18_v2 from the model cache" in printed.out
    assert len([l for l in printed.out.splitlines() if l.startswith("epoch 1, loss")]) == 2
    record = json.loads((out / "demo.json").read_text())
    assert record["data"]["kind"] == "hotdog" and record["data"]["sha1"] == mirror.data_sha1
    assert record["source"]["kind"] == "imagenet"
    assert record["source"]["sha1"] == sha1(weights.read_bytes())
    assert not (out / "source").exists() and not (out / "data").exists()  # nothing synthetic
    report = (out / "report.html").read_text()
    assert mirror.data_sha1 in report and record["source"]["sha1"] in report
    # a second run downloads nothing
    assert load_script().main(["--data-url", mirror.data_url, "--data-sha1", mirror.data_sha1,
                               "--out", str(out)] + TINY) == 0
    assert mirror.hits("/mirror/hotdog.zip") == 1 and mirror.hits(mirror.weights_path) == 1


def test_a_sha1_mismatch_stops_before_training_and_keeps_nothing(mirror, tmp_path, capsys):
    out = tmp_path / "out"
    wrong = "0" * 40
    code = load_script().main(["--data-url", mirror.data_url, "--data-sha1", wrong,
                               "--out", str(out)] + TINY)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "hotdog.zip (sha1 %s)" % wrong in err and "has sha1 %s" % mirror.data_sha1 in err
    assert mirror.data_url in err and "--synthetic" in err
    datasets = mirror.home / "datasets"
    assert not datasets.exists() or os.listdir(datasets) == []
    assert not out.exists()


def test_offline_uses_no_network_and_names_what_is_missing(mirror, tmp_path, capsys):
    out = tmp_path / "out"
    code = load_script().main(["--offline", "--out", str(out)] + TINY)
    err = capsys.readouterr().err
    assert code == 2
    assert mirror.hits("/mirror/hotdog.zip") == 0 and mirror.hits(mirror.weights_path) == 0
    assert "hotdog.zip (sha1 %s)" % dl.HOTDOG_SHA1 in err
    assert str(mirror.home / "datasets" / "hotdog.zip") in err
    assert "%s.params (sha1" % mirror.stem in err and str(mirror.home / "models") in err
    assert not out.exists()


def test_offline_without_network_or_cache_draws_nothing(tmp_path):
    """A real subprocess, nothing cached, every URL a closed port: one message, exit 2."""
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "MXNET_GLUON_REPO"}
    env["MXNET_HOME"] = str(tmp_path / "home")
    env["MXNET_GLUON_REPO"] = "http://127.0.0.1:9/"  # discard port: nothing listens
    proc = subprocess.run([sys.executable, SCRIPT, "--data-url", "http://127.0.0.1:9/hotdog.zip",
                           "--out", str(out)] + TINY, env=env, capture_output=True, text=True,
                          timeout=300)
    assert_user_error(proc, "hotdog.zip (sha1 %s)" % dl.HOTDOG_SHA1, "http://127.0.0.1:9/hotdog.zip",
                      str(tmp_path / "home" / "datasets" / "hotdog.zip"),
                      "resnet18_v2-a81db45f.params (sha1 a81db45fd7b7a2d12ab97cd88ef0a5ac48b8f657)",
                      str(tmp_path / "home" / "models"), "--synthetic")
    assert not out.exists() and not (tmp_path / "home" / "datasets" / "hotdog").exists()


def test_synthetic_is_the_offline_stand_in_on_request(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, MXNET_HOME=str(tmp_path / "home"))
    proc = subprocess.run([sys.executable, SCRIPT, "--synthetic", "--quick", "--out", str(out),
                           "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "synthetic hotdog set" in proc.stdout and "synthetic source model" in proc.stdout
    assert (out / "report.html").is_file() and (out / "data" / "hotdog").is_dir()
    assert not (tmp_path / "home").exists()  # nothing downloaded or cached


# --------------------------------------------------------------------------- archives that expand


def bomb(path, megabytes=50):
    """One entry of zeros: ~50 KB on disk, 50 MB extracted."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("hotdog/train/zeros.jpg", bytes(megabytes << 20))
    return path


def lying_archive(path, entries=100, declared=0xF0000000):
    """Entries whose headers declare ~3.75 GB each (compressed and not): 375 GB in all."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(entries):
            zf.writestr("hotdog/train/%03d.jpg" % i, b"x")
    raw = bytearray(path.read_bytes())
    at = raw.find(b"PK\x01\x02")
    while at >= 0:  # central directory: compressed size at +20, size at +24
        struct.pack_into("<II", raw, at + 20, declared, declared)
        at = raw.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(raw))
    return path


def test_an_entry_that_inflates_too_far_is_refused_before_writing(tmp_path):
    target = tmp_path / "root"
    with pytest.raises(UserError, match="more than %d times its compressed size" % dl.MAX_RATIO):
        dl.extract_archive(str(bomb(tmp_path / "bomb.zip")), str(target))
    assert not target.exists()


def test_an_archive_larger_than_the_free_space_is_refused(tmp_path):
    target = tmp_path / "root"
    with pytest.raises(UserError, match="would expand to 375.0 GB, but the disk of .* free"):
        dl.extract_archive(str(lying_archive(tmp_path / "big.zip")), str(target))
    assert not target.exists()


def test_bytes_beyond_what_a_header_declares_are_not_written(tmp_path):
    path = tmp_path / "short.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("hotdog/train/a.jpg", b"y" * 5000)
    raw = bytearray(path.read_bytes())
    at = raw.find(b"PK\x01\x02")
    struct.pack_into("<I", raw, at + 24, 100)  # the central directory says 100 bytes
    path.write_bytes(bytes(raw))
    with pytest.raises(UserError, match="hotdog/train/a.jpg"):
        dl.extract_archive(str(path), str(tmp_path / "root"))
    assert not (tmp_path / "root").exists()


def test_data_download_archive_refuses_a_bomb_and_leaves_nothing(tmp_path):
    root = tmp_path / "root"
    proc = run_cli("data", "download", "--archive", bomb(tmp_path / "bomb.zip"), "--no-verify",
                   "--root", root)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [l for l in proc.stderr.splitlines() if l.startswith("error: ")]
    assert len(errors) == 1 and "bomb.zip" in errors[0] and "zip bomb" in errors[0]
    assert not root.exists()


@pytest.mark.parametrize("args, fragment", [
    (["--synthetic", "--data-url", "http://127.0.0.1:9/hotdog.zip"], "--synthetic downloads nothing"),
    (["--quick"], "use it with --synthetic"),
    (["--data-sha1", "not-a-sha1", "--offline"], "is not a sha1"),
])
def test_options_that_do_not_fit_are_refused_before_anything_is_written(args, fragment, tmp_path,
                                                                         capsys, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path / "home"))
    out = tmp_path / "out"
    assert load_script().main(args + ["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "home").exists()
