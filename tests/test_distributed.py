"""Several devices and several processes: real ps-lite jobs on 127.0.0.1."""
import os
import signal
import socket
import subprocess
import sys
import time

import mxnet as mx
import numpy as np
import pytest

from conftest import ROOT, assert_user_error, run_cli
from gluon_finetune import model
from gluon_finetune.config import TrainConfig
from gluon_finetune.train import fit

# Deterministic preprocessing: random crops would be drawn differently by two workers
# than by one process, and the comparison would measure that instead of the exchange.
AUGS = "resize:36,center_crop:32,to_tensor,normalize"


def params_of(path):
    net = model.scratch_net(2)
    net.load_parameters(str(path))
    return {k: p.data().asnumpy() for k, p in net._collect_params_with_prefix().items()}


def test_two_cpu_devices_match_one(tiny_hotdog, tiny_source, tmp_path):
    common = dict(data=tiny_hotdog, weights=tiny_source, epochs=1, batch_size=7, image_size=32, seed=2,
                  quiet=True, freeze_features=True, train_augs=AUGS)
    one = fit(TrainConfig(out=str(tmp_path / "one"), ctx="cpu", **common), log=lambda _: None)
    two = fit(TrainConfig(out=str(tmp_path / "two"), ctx="cpu0,cpu1", **common), log=lambda _: None)
    for (k, a), b in zip(one.net.collect_params().items(), two.net.collect_params().values()):
        np.testing.assert_allclose(a.data().asnumpy(), b.data(mx.cpu(0)).asnumpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=k)
    assert abs(one.history[0]["loss"] - two.history[0]["loss"]) < 1e-5


def launch_env():
    return dict(os.environ, DIST_TEST_AUGS=AUGS, PYTHONPATH=ROOT)


def test_two_workers_end_equal_to_each_other_and_to_one_process(tiny_hotdog, tiny_source, tmp_path):
    out = tmp_path / "job"
    out.mkdir()
    worker = os.path.join(ROOT, "tests", "dist_worker.py")
    proc = subprocess.run([sys.executable, "-m", "gluon_finetune", "launch", "-n", "2", "-s", "1", "--",
                           sys.executable, worker, tiny_hotdog, tiny_source, str(out), "4"],
                          env=launch_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rank0, rank1 = params_of(out / "rank-0.params"), params_of(out / "rank-1.params")
    for k in rank0:
        np.testing.assert_array_equal(rank0[k], rank1[k], err_msg=k)
    # the same total batch (2 x 4) in one process
    single = fit(TrainConfig(data=tiny_hotdog, weights=tiny_source, out=str(tmp_path / "single"), epochs=1,
                             batch_size=8, image_size=32, seed=7, quiet=True, freeze_features=True,
                             train_augs=AUGS), log=lambda _: None)
    for k, p in single.net._collect_params_with_prefix().items():
        np.testing.assert_allclose(rank0[k], p.data().asnumpy(), rtol=1e-4, atol=1e-5, err_msg=k)
    # the run folder was written once, by rank 0
    log = (out / "run" / "log.txt").read_text().splitlines()
    assert len(log) == 1 and log[0].startswith("epoch 1,")
    assert proc.stdout.count("epoch 1,") == 1


def worker_pids(launcher_pid):
    """PIDs of the launcher's children that run with DMLC_ROLE=worker."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != launcher_pid:
                continue
            with open("/proc/%s/environ" % name, "rb") as f:
                if b"DMLC_ROLE=worker" in f.read().split(b"\0"):
                    pids.append(int(name))
        except (OSError, IndexError, ValueError):
            continue
    return pids


def test_a_killed_worker_stops_the_job_and_the_checkpoint_resumes(tiny_hotdog, tiny_source, tmp_path):
    out = tmp_path / "run"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "gluon_finetune", "launch", "-n", "2", "-s", "1", "--", "train",
         "--data", tiny_hotdog, "--weights", tiny_source, "--out", str(out), "--epochs", "40",
         "--batch-size", "4", "--image-size", "32", "--seed", "1", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 300
        while not (out / "checkpoints" / "last.json").exists():
            assert launcher.poll() is None and time.time() < deadline, launcher.stderr.read()
            time.sleep(0.2)
        victims = worker_pids(launcher.pid)
        assert len(victims) == 2
        os.kill(victims[1], signal.SIGKILL)
        killed_at = time.time()
        stdout, stderr = launcher.communicate(timeout=120)
        stopped_after = time.time() - killed_at
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 1
    assert "(pid %d) was killed by SIGKILL" % victims[1] in stderr and "stopping the other" in stderr
    assert stopped_after < 60
    assert worker_pids(launcher.pid) == []
    # rank 0's last checkpoint loads, and the job resumes from it
    import json

    last = json.loads((out / "checkpoints" / "last.json").read_text())
    params_of(out / "checkpoints" / last["params"])
    resumed = run_cli("launch", "-n", "2", "-s", "1", "--", "train", "--resume", out, "--epochs",
                      str(last["epoch"] + 1), "--quiet", timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming" in resumed.stdout and "epoch %d," % (last["epoch"] + 1) in resumed.stdout


def test_scheduler_port_in_use_is_a_clear_error(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        proc = run_cli("launch", "-n", "1", "-s", "1", "--port", port, "--", "train", "--data", tmp_path)
    finally:
        holder.close()
    assert_user_error(proc, "port %d" % port, "in use", "--port")


def test_dist_kvstore_without_launcher_says_how_to_start(tiny_hotdog, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMLC_")}
    proc = subprocess.run([sys.executable, "-m", "gluon_finetune", "train", "--data", tiny_hotdog,
                           "--kvstore", "dist_sync", "--out", str(tmp_path / "r")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert_user_error(proc, "gluon-finetune launch")
