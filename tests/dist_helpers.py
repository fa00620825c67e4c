"""Helpers of the tests that run ps-lite jobs: start, wait for, kill and read a job."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from gluon_finetune.distributed import launch as launch_mod
from gluon_finetune.networks import model

# Deterministic preprocessing: random crops would be drawn differently by two workers
# than by one process, and the comparison would measure that instead of the exchange.
AUGS = "resize:36,center_crop:32,to_tensor,normalize"


PY = [sys.executable, "-m", "gluon_finetune"]


#: Seconds a tiny job may take before its test calls it hung (it needs ~15 s alone).
JOB_TIMEOUT = 180


#: Seconds the launcher may take to stop a job after one of its processes died.
STOP_BOUND = 60


#: Epochs of a job that is stopped mid-run: far more than fit in any bound here, so a
#: process that survives its job cannot pass for one that finished. (Such jobs train the
#: head alone, which is quicker; the other jobs train every layer.)
LONG = 1000


def epoch_lines(run):
    """The epoch lines of ``run``'s log.txt, checking it was written by one process.

    A batch slower than 10 s (a busy machine) also leaves a progress line there
    ("epoch 1/2: batch 1/4, ..."); one writer leaves each at most once.
    """
    log = (run / "log.txt").read_text().splitlines()
    progress = [line for line in log if re.match(r"epoch \d+/\d+: batch ", line)]
    assert len(set(progress)) == len(progress), progress
    return [line for line in log if line not in progress]


def free_port():
    return launch_mod.free_port()


def tiny_train(data, source, out, *extra):
    # The book's recipe: these jobs train every layer (train's default trains the head alone).
    return ["train", "--data", str(data), "--weights", str(source), "--out", str(out), "--recipe",
            "book", "--batch-size", "4", "--image-size", "32", "--seed", "1", "--quiet"] + [
                str(a) for a in extra]


def start_job(args, cwd=None, env=None):
    """``gluon-finetune ARGS`` (normally ``launch ...``) in a session of its own."""
    return subprocess.Popen(PY + [str(a) for a in args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def kill_job(proc):
    """SIGKILL the job's process group, and every process of the job by its ``--port``.

    The launcher puts each of its processes in a session of its own, so the port
    is what finds the ones a faulty launcher would have left behind.
    """
    pids = [proc.pid]
    args = [str(a) for a in proc.args]
    own = args[:args.index("--")] if "--" in args else args
    if "--port" in own:
        pids += list(job_processes(int(own[own.index("--port") + 1])))
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL) if pid == proc.pid else os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def finish_job(proc, timeout=JOB_TIMEOUT):
    """Wait for a job; kill its process group and fail the test if it does not end in time."""
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_job(proc)
        stdout, stderr = proc.communicate()
        pytest.fail("the job did not finish within %d s and was killed: a hang (with MXNet 1.9.1, "
                    "e.g. a worker that left with its last gradient push still queued: see "
                    "distributed.Cluster.finish)\n%s" % (timeout, stderr[-3000:]))
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def run_job(args, timeout=JOB_TIMEOUT, cwd=None, env=None):
    proc = start_job(args, cwd=cwd, env=env)
    try:
        return finish_job(proc, timeout)
    finally:
        kill_job(proc)


def job_processes(port, role=None):
    """``{pid: cmdline}`` of the live processes whose environment has DMLC_PS_ROOT_PORT=port."""
    found = {}
    want = b"DMLC_PS_ROOT_PORT=%d" % port
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                env = f.read().split(b"\0")
            with open("/proc/%s/stat" % name) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if want in env and state != "Z" and (role is None or b"DMLC_ROLE=" + role.encode() in env):
            found[int(name)] = cmdline
    return found


def wait_for(condition, timeout, what, proc=None):
    deadline = time.time() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            pytest.fail("the job ended before %s:\n%s" % (what, proc.stderr.read()[-3000:]))
        if time.time() > deadline:
            pytest.fail("no %s within %d s" % (what, timeout))
        time.sleep(0.2)


def assert_no_process_left(port, timeout=30):
    """Every process of the job is gone (remote watchers get GRACE seconds to finish theirs)."""
    deadline = time.time() + timeout
    while job_processes(port) and time.time() < deadline:
        time.sleep(0.3)
    assert job_processes(port) == {}, "processes of the job survived it"


def params_of(path):
    net = model.scratch_net(2)
    net.load_parameters(str(path))
    return {k: p.data().asnumpy() for k, p in net._collect_params_with_prefix().items()}


def last_checkpoint(run):
    last = json.loads((run / "checkpoints" / "last.json").read_text())
    params_of(run / "checkpoints" / last["params"])  # loads: the file is whole
    return last


def read_history(run):
    return [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
