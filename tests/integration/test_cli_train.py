"""`gluon-finetune train` and `compare` end to end, in real subprocesses."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

from gluon_finetune.capability import CPUINFO_VARIABLE, has_bf16

from conftest import (
    AVX2_FLAGS,
    assert_user_error,
    assert_user_errors,
    run_cli,
    run_cli_each,
    write_cpuinfo,
)

TINY = ["--epochs", "2", "--batch-size", "8", "--image-size", "32", "--seed", "5", "--quiet"]


def start_cli(*args, cwd=None):
    return subprocess.Popen([sys.executable, "-m", "gluon_finetune"] + [str(a) for a in args],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def start_long_run(data, weights, out):
    """A training run of far more epochs than can finish while a test waits for its first
    checkpoint: the test waits for that state, whatever the machine's speed, then stops it."""
    return start_cli("train", "--data", data, "--weights", weights, "--out", out,
                     "--epochs", "100000", "--batch-size", "8", "--image-size", "32", "--seed", "5",
                     "--quiet")


def wait_for(path, proc, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def test_train_prints_the_books_lines_and_writes_the_run(tiny_hotdog, tiny_source, tmp_path):
    out = tmp_path / "run"
    proc = run_cli("train", "--data", tiny_hotdog, "--weights", tiny_source, "--out", out, *TINY)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("training resnet18_v2 (fine-tuning source weights")
    assert [l.split(",")[0] for l in lines if l.startswith("epoch ")] == ["epoch 1", "epoch 2"]
    assert "best test acc" in lines[-1] and str(out) in lines[-1]
    assert (out / "curves.png").stat().st_size > 1000
    # On a CPU with bfloat16 instructions the log points at --amp; elsewhere it does not.
    tips = [l for l in lines if l.startswith("tip:")]
    assert tips == (["tip: this CPU computes bfloat16 natively: --amp trains faster on large images, "
                     "with float32 weights (README: Fine-tuning, mixed precision)"] if has_bf16() else [])


def test_sigkill_leaves_a_loadable_checkpoint_and_resume_finishes(tiny_hotdog, tiny_source, tmp_path):
    out = tmp_path / "run"
    proc = start_long_run(tiny_hotdog, tiny_source, out)
    try:
        assert wait_for(out / "checkpoints" / "last.json", proc), proc.stderr.read() if proc.stderr else ""
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    last = json.loads((out / "checkpoints" / "last.json").read_text())
    assert last["epoch"] >= 1
    import mxnet as mx

    from gluon_finetune.networks import model

    net = model.scratch_net(2)
    net.load_parameters(str(out / "checkpoints" / last["params"]))
    assert np.isfinite(net(mx.nd.zeros((1, 3, 32, 32))).asnumpy()).all()
    done = run_cli("train", "--resume", out, "--epochs", str(last["epoch"] + 1), "--quiet")
    assert done.returncode == 0, done.stderr
    assert "resuming %s after epoch %d" % (out, last["epoch"]) in done.stdout
    history = [json.loads(l) for l in (out / "history.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == list(range(1, last["epoch"] + 2))


def test_ctrl_c_saves_and_exits_cleanly(tiny_hotdog, tiny_source, tmp_path):
    out = tmp_path / "run"
    proc = start_long_run(tiny_hotdog, tiny_source, out)
    try:
        assert wait_for(out / "checkpoints" / "last.json", proc)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted during epoch" in stdout and "--resume" in stdout
    pointer = json.loads((out / "checkpoints" / "interrupted.json").read_text())
    assert pointer["partial"] and (out / "checkpoints" / pointer["params"]).is_file()


def test_diverging_run_stops_with_a_clear_message(tiny_hotdog, tmp_path):
    out = tmp_path / "run"
    proc = run_cli("train", "--data", tiny_hotdog, "--scratch", "--lr", "1e30", "--out", out, *TINY)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert "loss became NaN" in proc.stderr and "--lr" in proc.stderr
    assert not (out / "checkpoints" / "last.json").exists()


def test_train_user_errors_and_offline_without_weights(tiny_hotdog, tmp_path):
    assert_user_errors(
        (("train", "--data", tmp_path / "nowhere", "--out", tmp_path / "r"), "nowhere"),
        (("train", "--data", tiny_hotdog, "--ctx", "tpu", "--out", tmp_path / "r"), "not a device"),
        (("train", "--data", tiny_hotdog, "--weights", tmp_path / "w.params", "--out", tmp_path / "r"),
         "weights file not found"),
        (("train", "--resume", tmp_path), "not a run folder"),
        # offline without the weights: the message names the file, its sha1 and the folder
        (("train", "--data", tiny_hotdog, "--model-root", tmp_path / "models", "--offline",
          "--out", tmp_path / "r", *TINY),
         "resnet18_v2-a81db45f.params", "a81db45fd7b7a2d12ab97cd88ef0a5ac48b8f657",
         str(tmp_path / "models")))
    assert not (tmp_path / "r").exists()


def test_compare_runs_both_and_draws_one_plot(tiny_hotdog, tiny_source, tmp_path):
    out = tmp_path / "cmp"
    proc = run_cli("compare", "--data", tiny_hotdog, "--weights", tiny_source, "--out", out, *TINY)
    assert proc.returncode == 0, proc.stderr
    epoch_lines = [l for l in proc.stdout.splitlines() if l.startswith("epoch ")]
    assert len(epoch_lines) == 4
    assert "finetune" in proc.stdout and "scratch" in proc.stdout and "best acc" in proc.stdout
    summary = json.loads((out / "compare.json").read_text())
    assert summary["finetune"]["lr"] == 0.01 and summary["scratch"]["lr"] == 0.1
    assert (out / "compare.png").stat().st_size > 1000
    assert (out / "finetune" / "config.json").is_file() and (out / "scratch" / "config.json").is_file()


def test_cache_features_run_evaluates_like_any_run(tiny_hotdog, tiny_source, tmp_path):
    out = tmp_path / "run"
    proc = run_cli("train", "--data", tiny_hotdog, "--weights", tiny_source, "--out", out,
                   "--freeze-features", "--cache-features", *TINY)
    assert proc.returncode == 0, proc.stderr
    assert "test-time preprocessing" in proc.stdout and "no random augmentation" in proc.stdout
    assert [l.split(",")[0] for l in proc.stdout.splitlines() if l.startswith("epoch ")] == \
        ["epoch 1", "epoch 2"]
    record = json.loads((out / "config.json").read_text())
    assert record["config"]["cache_features"] and record["config"]["freeze_features"]
    history = [json.loads(l) for l in (out / "history.jsonl").read_text().splitlines()]
    best = max(history, key=lambda h: h["test_acc"])
    ev = run_cli("evaluate", out, "--data", tiny_hotdog, "--json", "--quiet")
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["plain"]["accuracy"] == best["test_acc"]


def test_amp_on_the_cpu_trains_in_bfloat16_where_the_cpu_has_it(tiny_hotdog, tiny_source, tmp_path):
    # On any CPU: a process told its CPU is an AVX2 one refuses --amp, and writes nothing.
    out = tmp_path / "r"
    args = ("train", "--data", tiny_hotdog, "--weights", tiny_source, "--amp", "--ctx", "cpu",
            "--out", out, *TINY)
    fake = run_cli(*args, env={CPUINFO_VARIABLE: write_cpuinfo(tmp_path, AVX2_FLAGS)})
    assert_user_error(fake, "--amp", "bfloat16", "avx512_bf16", "does not list them", "Drop --amp")
    assert not out.exists()
    # This CPU, as it is.
    proc = run_cli(*args)
    if not has_bf16():  # this machine takes the other branch: a clear refusal, nothing written
        assert_user_error(proc, "--amp", "bfloat16", "avx512_bf16", "Drop --amp")
        assert not out.exists()
        return
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]  # "on cpu(0), N threads (...) in bfloat16 mixed precision"
    assert " on cpu(0), " in first and " in bfloat16 mixed precision:" in first, first
    assert "tip:" not in proc.stdout
    history = [json.loads(l) for l in (out / "history.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2] and all(np.isfinite(h["loss"]) for h in history)
    # The weights stay float32: a plain process (no AMP) evaluates the run...
    import mxnet as mx

    saved = sorted((out / "checkpoints").glob("epoch-*.params"))
    assert saved
    for path in saved:
        assert {v.dtype for v in mx.nd.load(str(path)).values()} == {np.float32}, path
    plain = run_cli("predict", out, os.path.join(tiny_hotdog, "test"), "--json")
    assert plain.returncode == 0, plain.stderr
    # ...and predicting in bfloat16 gives nearly the same probabilities.
    low = run_cli("predict", out, os.path.join(tiny_hotdog, "test"), "--json", "--amp")
    assert low.returncode == 0, low.stderr
    a, b = json.loads(plain.stdout), json.loads(low.stdout)
    assert [p["path"] for p in a] == [p["path"] for p in b] and len(a) == 16
    diff = max(abs(p["probability"] - q["probability"]) for p, q in zip(a, b)
               if p["label"] == q["label"])
    assert diff < 0.03


def test_help_tells_what_cache_features_and_workers_do():
    proc = run_cli("train", "--help")
    text = " ".join(proc.stdout.split())
    assert "test-time preprocessing" in text and "no random augmentation" in text
    assert "one per 4 cores" in text and "--amp" in text


def test_resume_with_epochs_5_extends_a_shorter_run(tiny_hotdog, tiny_source, tmp_path):
    # 5 is the default number of epochs: asking for it on resume must still count.
    out = tmp_path / "run"
    short = ["--batch-size", "8", "--image-size", "32", "--seed", "5", "--quiet"]
    proc, same, longer = run_cli_each(
        ("train", "--data", tiny_hotdog, "--weights", tiny_source, "--out", out, "--epochs", "3",
         *short),
        ("train", "--resume", out, "--quiet"),  # no --epochs: the run's own total
        ("train", "--resume", out, "--epochs", "5", "--quiet"))
    assert proc.returncode == 0, proc.stderr
    assert same.returncode == 0, same.stderr
    assert "nothing to do: the run already finished 3 epochs" in same.stdout
    assert longer.returncode == 0, longer.stderr
    assert "resuming %s after epoch 3 of 5" % out in longer.stdout
    history = [json.loads(l) for l in (out / "history.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5]


def test_compare_with_cached_features_trains_the_scratch_run_whole(tiny_hotdog, tiny_source, tmp_path):
    out = tmp_path / "cmp"
    proc = run_cli("compare", "--data", tiny_hotdog, "--weights", tiny_source, "--out", out,
                   "--freeze-features", "--cache-features", *TINY)
    assert proc.returncode == 0, proc.stderr
    finetune = json.loads((out / "finetune" / "config.json").read_text())["config"]
    scratch = json.loads((out / "scratch" / "config.json").read_text())["config"]
    assert finetune["cache_features"] and finetune["freeze_features"]
    assert not scratch["cache_features"] and not scratch["freeze_features"]
    assert scratch["mode"] == "scratch" and scratch["weights"] is None
    assert len([l for l in proc.stdout.splitlines() if l.startswith("epoch ")]) == 4


def test_warnings_are_one_line_and_json_keeps_class_names_as_written(tiny_hotdog, tiny_source,
                                                                      tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_hotdog, data)
    for split in ("train", "test"):
        (data / split / "hotdog").rename(data / split / "热狗")
    (data / "train" / "热狗" / "broken.jpg").write_bytes(b"not a picture")
    out = tmp_path / "run"
    proc = run_cli("train", "--data", data, "--weights", tiny_source, "--out", out,
                   "--epochs", "1", "--batch-size", "8", "--image-size", "32", "--seed", "5",
                   "--quiet", "--workers", "0")
    assert proc.returncode == 0, proc.stderr
    warned = [l for l in proc.stderr.splitlines() if "unreadable" in l]
    assert len(warned) == 1 and warned[0].startswith("warning: skipped 1 unreadable image file")
    assert "DataWarning" not in proc.stderr and ".py:" not in proc.stderr, proc.stderr
    text = (out / "config.json").read_text(encoding="utf-8")
    assert '"热狗"' in text and "\\u" not in text
    assert json.loads(text)["classes"] == ["not-hotdog", "热狗"]
