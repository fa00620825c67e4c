"""Watching runs: history.csv beside history.jsonl, and TensorBoard event files read back."""
import csv
import glob
import json
import os
import struct

import pytest
from run_helpers import StopAfter, quiet

from gluon_finetune.training.config import TrainConfig
from gluon_finetune.training.train import fit, resume

from conftest import assert_user_error, run_cli

TINY = dict(epochs=2, batch_size=8, image_size=32, seed=2, quiet=True)


def read_events(folder):
    """Every (tag, step, kind, value) in the TensorBoard event files under ``folder``.

    Reads the TFRecord framing (length, crc, payload, crc) and the protobuf
    ``Event`` messages that tensorboardX itself defines, as TensorBoard does.
    """
    from tensorboardX.proto import event_pb2

    found = []
    for path in sorted(glob.glob(os.path.join(folder, "**", "events.out.tfevents.*"), recursive=True)):
        with open(path, "rb") as f:
            data = f.read()
        at = 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at:at + 8])
            event = event_pb2.Event.FromString(data[at + 12:at + 12 + length])
            at += 12 + length + 4
            for value in event.summary.value:
                kind = value.WhichOneof("value")
                found.append((value.tag, event.step, kind,
                              value.simple_value if kind == "simple_value" else None,
                              os.path.relpath(path, folder)))
    return found


def test_history_csv_has_the_jsonl_records_and_stays_whole_on_resume(tiny_hotdog, tiny_source,
                                                                    tmp_path):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        fit(TrainConfig(data=tiny_hotdog, out=str(out), weights=tiny_source, **TINY),
            log=StopAfter(1))
    result = resume(str(out), epochs=3, log=quiet)
    with open(out / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    jsonl = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert jsonl == result.history and [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert list(rows[0])[:5] == ["epoch", "loss", "train_acc", "test_acc", "lr"]
    for row, rec in zip(rows, jsonl):
        assert set(row) == set(rec)
        assert float(row["loss"]) == rec["loss"] and float(row["test_acc"]) == rec["test_acc"]


def test_tensorboard_logs_steps_epochs_images_and_hparams_and_resume_continues(
        tiny_hotdog, tiny_source, tmp_path):
    board = tmp_path / "board"
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        fit(TrainConfig(data=tiny_hotdog, out=str(out), weights=tiny_source,
                        tensorboard=str(board), **TINY), log=StopAfter(1))
    first = read_events(str(board))
    assert {os.path.dirname(e[4]) for e in first} == {"run"}  # DIR/<run name>
    resume(str(out), epochs=3, log=quiet)
    events = read_events(str(board))
    # 32 training images, batch 8: 4 steps an epoch; the loss is read back at each epoch's end
    losses = sorted(step for tag, step, *_ in events if tag == "train/loss")
    assert losses == [4, 8, 12]  # epoch 1 before the interrupt, 2 and 3 after: none twice
    assert sorted(step for tag, step, *_ in events if tag == "train/lr") == [4, 8, 12]
    test_acc = {step: v for tag, step, _, v, _ in events if tag == "epoch/test_acc"}
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert sorted(test_acc) == [1, 2, 3]
    assert [test_acc[e] for e in (1, 2, 3)] == pytest.approx([h["test_acc"] for h in history])
    images = {tag for tag, _, kind, *_ in events if kind == "image"}
    assert {"data/training_images", "run/curves", "run/confusion_matrix"} <= images
    tags = {tag for tag, *_ in events}
    assert "_hparams_/experiment" in tags and "hparam/final_test_acc" in tags


def test_cli_tensorboard_option_and_compare_side_by_side(tiny_hotdog, tiny_source, tmp_path):
    board = tmp_path / "board"
    proc = run_cli("compare", "--data", tiny_hotdog, "--weights", tiny_source, "--out",
                   tmp_path / "cmp", "--epochs", "1", "--batch-size", "8", "--image-size", "32",
                   "--seed", "1", "--quiet", "--tensorboard", board)
    assert proc.returncode == 0, proc.stderr
    runs = {e[4].split(os.sep)[0] for e in read_events(str(board))}
    assert runs == {"finetune", "scratch"}


def test_tensorboard_without_tensorboardx_is_a_clean_error_before_the_run_folder(tiny_hotdog,
                                                                                tmp_path):
    # A package named tensorboardX, first on the path, that fails to import as a missing one does.
    fake = tmp_path / "site" / "tensorboardX"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named tensorboardX')\n")
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(tmp_path / "site"),
                                                     os.environ.get("PYTHONPATH")) if p)}
    proc = run_cli("train", "--data", tiny_hotdog, "--scratch", "--epochs", "1", "--image-size",
                   "32", "--out", tmp_path / "run", "--tensorboard", tmp_path / "board", env=env)
    assert_user_error(proc, "--tensorboard needs tensorboardX", 'pip install "gluon-finetune[tensorboard]"')
    assert not (tmp_path / "run").exists() and not (tmp_path / "board").exists()
