"""Small shared helpers: UTF-8 JSON, output-folder ownership, error lines, stop signals."""
import json
import os
import signal
import time

import pytest

from gluon_finetune.errors import UserError, first_line
from gluon_finetune.fsutil import claim_folder, read_json, write_json
from gluon_finetune.signals import Interrupted, signals_as_interrupt


def test_json_files_keep_non_ascii_text_as_written(tmp_path):
    path = tmp_path / "labels.json"
    write_json(str(path), {"classes": ["热狗", "not-hotdog"]})
    raw = path.read_bytes()
    assert "热狗".encode("utf-8") in raw and b"\\u" not in raw
    assert read_json(str(path)) == {"classes": ["热狗", "not-hotdog"]}


def test_claim_folder_accepts_new_empty_or_earlier_output_only(tmp_path):
    assert claim_folder(str(tmp_path / "new"), "demo.json", "demo") is None
    assert not (tmp_path / "new").exists()  # nothing is created
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".DS_Store").write_text("")
    assert claim_folder(str(empty), "demo.json", "demo") is None
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "demo.json").write_text(json.dumps({"seed": 4}))
    assert claim_folder(str(earlier), "demo.json", "demo") == {"seed": 4}
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not empty and is not the output of an earlier demo "
                                        "\\(no demo.json in it\\)"):
        claim_folder(str(foreign), "demo.json", "demo")
    with pytest.raises(UserError, match="not empty. Choose another"):
        claim_folder(str(foreign), hint="Choose another --out.")
    (foreign / "demo.json").write_text("[1, 2]")
    with pytest.raises(UserError, match="its demo.json is not one this tool wrote"):
        claim_folder(str(foreign), "demo.json", "demo")
    with pytest.raises(UserError, match="exists and is not a folder"):
        claim_folder(str(foreign / "notes.txt"), "demo.json", "demo")


def test_first_line_skips_mxnets_traceback_header():
    mxnet_error = RuntimeError("Traceback (most recent call last):\n"
                               "  File \"../src/ndarray/ndarray.cc\", line 1934\n"
                               "MXNetError: Check failed: header == kMXAPINDArrayListMagic: "
                               "Invalid NDArray file format\n")
    assert first_line(mxnet_error) == ("Check failed: header == kMXAPINDArrayListMagic: "
                                       "Invalid NDArray file format")
    assert first_line(ValueError("bad zip\nmore detail")) == "bad zip"
    assert first_line(KeyError()) == "KeyError"


def test_signals_as_interrupt_raises_and_restores_the_handler():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt) as caught:
        with signals_as_interrupt("SIGTERM"):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)  # the handler's exception ends the sleep at once
    assert isinstance(caught.value, Interrupted) and caught.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_signal_swallowed_by_a_finalizer_is_raised_again_and_not_printed(monkeypatch):
    import gc
    import sys

    from gluon_finetune import signals

    class Finalized:
        def __init__(self, error=None):
            self.error = error

        def __del__(self):  # the signal lands here, as it can in MXNet's NDArray.__del__
            if self.error is not None:
                raise self.error
            os.kill(os.getpid(), signal.SIGUSR1)

    # What Python would print as "Exception ignored in ... __del__ ... Traceback".
    printed = []
    recorder = lambda unraisable: printed.append(unraisable.exc_value)  # noqa: E731
    monkeypatch.setattr(sys, "unraisablehook", recorder)
    with signals.signals_as_interrupt("SIGUSR1"):
        obj = Finalized()
        del obj
        gc.collect()
        assert printed == []  # the interrupt is not lost, so not reported as lost
        with pytest.raises(signals.Interrupted) as caught:
            signals.raise_pending()
        assert caught.value.signum == signal.SIGUSR1
        other = Finalized(ValueError("a real bug in a finalizer"))
        del other
        gc.collect()
        assert [type(e) for e in printed] == [ValueError]  # other errors are still shown
    assert sys.unraisablehook is recorder
    signals.raise_pending()  # outside the block nothing is pending
