"""`gluon-finetune augment` and the package's command-line basics, in real subprocesses."""
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from conftest import ROOT, assert_user_errors


def test_import_without_mxnet_names_the_extra():
    # -S leaves site-packages (and so mxnet) off the path: a real environment without MXNet
    code = "import sys; sys.path.insert(0, %r); import gluon_finetune" % ROOT
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "ImportError: gluon-finetune needs MXNet" in proc.stderr
    assert 'gluon-finetune[cpu]' in proc.stderr and 'gluon-finetune[gpu]' in proc.stderr


def test_version_and_help(cli):
    from gluon_finetune import __version__

    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == "gluon-finetune %s" % __version__
    proc = cli("--help")
    assert proc.returncode == 0
    for word in ("augment", "data", "examples:"):
        assert word in proc.stdout
    proc = cli("augment", "--help")
    assert proc.returncode == 0 and "resized_crop" in proc.stdout and "examples:" in proc.stdout


def _png(path):
    with Image.open(path) as png:
        return png.size, np.asarray(png.convert("RGB")).astype(float)


def test_augment_default_picture_writes_the_books_rows(cli, tmp_path):
    out = tmp_path / "sub" / "book.png"
    proc = cli("augment", "--out", out, "--cols", "3")
    assert proc.returncode == 0, proc.stderr
    size, pixels = _png(out)
    assert size == (450, 8 * 180) and pixels.std() > 20


def test_augment_user_image_single_spec_grid(cli, tmp_path):
    src = tmp_path / "Photo.JPG"
    Image.fromarray(np.random.RandomState(0).randint(0, 256, (90, 120, 3)).astype(np.uint8)).save(src, "JPEG")
    out = tmp_path / "flip.png"
    proc = cli("augment", src, "--augs", "flip,color:0.3", "--rows", "1", "--cols", "2",
               "--scale", "2", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "flip,color:0.3" in proc.stdout
    assert _png(out)[0] == (400, 200)


def test_augment_errors_are_clean(cli, tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    assert_user_errors((("augment", text, "--out", tmp_path / "x.png"), "notes.jpg", "not an image"),
                       (("augment", tmp_path / "missing.png"), "not found", "missing.png"),
                       (("augment", "--augs", "flip,swirl"), "unknown augmentation 'swirl'"),
                       (("augment", "--augs", "crop:5000"), "out of range"),
                       (("augment", "--rows", "0"), "--rows"))
    assert not (tmp_path / "x.png").exists()
    assert not os.path.exists(os.path.join(os.getcwd(), "augment.png"))
