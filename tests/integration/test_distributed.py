"""Several devices and several processes: real ps-lite jobs on 127.0.0.1.

Every job runs in a session of its own with a timeout; on timeout the whole
process group is killed, so a hanging job fails its test instead of hanging the
suite or leaving a scheduler, server or worker behind. Each job gets its own
scheduler port, by which the tests find (and count) the job's processes.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import mxnet as mx
import numpy as np
import pytest
from dist_helpers import (
    AUGS,
    JOB_TIMEOUT,
    LONG,
    PY,
    STOP_BOUND,
    assert_no_process_left,
    epoch_lines,
    finish_job,
    free_port,
    job_processes,
    kill_job,
    last_checkpoint,
    params_of,
    read_history,
    run_job,
    start_job,
    tiny_train,
    wait_for,
)

from gluon_finetune import data as data_mod
from gluon_finetune.distributed import kvstore as distributed
from gluon_finetune.distributed import launch as launch_mod
from gluon_finetune.errors import UserError
from gluon_finetune.networks import model
from gluon_finetune.training.config import TrainConfig
from gluon_finetune.training.train import fit

from conftest import ROOT, assert_user_error, run_cli

# --------------------------------------------------------------------------- helpers


# --------------------------------------------------------------------------- several devices


@pytest.mark.parametrize("kvstore", ["device", "local"])
@pytest.mark.parametrize("batch", [
    7,  # 32 images: four batches of 7 split 4 + 3, then a last batch of 4 split 2 + 2
    31,  # a last batch of 1 image: one device idle, its stale gradient must not count
])
def test_two_cpu_devices_match_one(tiny_hotdog, tiny_source, tmp_path, kvstore, batch):
    common = dict(data=tiny_hotdog, weights=tiny_source, epochs=1, batch_size=batch, image_size=32,
                  seed=2, quiet=True, freeze_features=True, train_augs=AUGS, kvstore=kvstore)
    one = fit(TrainConfig(out=str(tmp_path / "one"), ctx="cpu", **common), log=lambda _: None)
    two = fit(TrainConfig(out=str(tmp_path / "two"), ctx="cpu0,cpu1", **common), log=lambda _: None)
    assert list(two.net.collect_params().values())[0].list_ctx() == [mx.cpu(0), mx.cpu(1)]
    for (k, a), b in zip(one.net.collect_params().items(), two.net.collect_params().values()):
        np.testing.assert_allclose(a.data().asnumpy(), b.data(mx.cpu(0)).asnumpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=k)
        np.testing.assert_array_equal(b.data(mx.cpu(0)).asnumpy(), b.data(mx.cpu(1)).asnumpy())
    assert abs(one.history[0]["loss"] - two.history[0]["loss"]) < 1e-5


# --------------------------------------------------------------------------- data shards


def test_shards_are_disjoint_slices_of_the_global_batches():
    length, batch, workers = 23, 3, 2
    shards = []
    for rank in range(workers):
        np.random.seed(5)  # what the fit loop does every epoch, alike on every worker
        shards.append(list(data_mod.ShardedBatchSampler(length, batch, rank, workers)))
    np.random.seed(5)
    order = np.random.permutation(length).tolist()
    # 23 // 6 = 3 full global batches; the incomplete fourth would stall one worker: dropped
    assert [len(s) for s in shards] == [3, 3]
    for step in range(3):
        together = shards[0][step] + shards[1][step]
        assert together == order[step * 6:(step + 1) * 6]
    seen = [i for s in shards for b in s for i in b]
    assert len(seen) == len(set(seen)) == 18


# --------------------------------------------------------------------------- jobs


#: What the two-worker job and its one-process twin train with: a schedule and momentum,
#: which the servers run (update_on_kvstore), and the head's 10x learning rate. Features
#: frozen (dist_worker.py's default): BatchNorm in training mode normalises each worker's
#: slice of the batch with that slice's statistics, so with trainable BatchNorm a job is
#: close to, but not equal to, one process (the same holds for several devices).
EQUAL_OPTIONS = {"epochs": 2, "schedule": "cosine", "momentum": 0.9}


@pytest.fixture(scope="module")
def equal_job(tiny_hotdog, tiny_source, tmp_path_factory):
    """2 workers x batch 4 (tests/dist_worker.py), and one process with batch 8."""
    out = tmp_path_factory.mktemp("equal")
    worker = os.path.join(ROOT, "tests", "dist_worker.py")
    env = dict(os.environ, DIST_TEST_AUGS=AUGS, DIST_TEST_OPTIONS=json.dumps(EQUAL_OPTIONS),
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    proc = run_job(["launch", "-n", "2", "-s", "1", "--port", free_port(), "--", sys.executable, worker,
                    "train", tiny_hotdog, tiny_source, out, "4"], env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    single = fit(TrainConfig(data=tiny_hotdog, weights=tiny_source, out=str(out / "single"), batch_size=8,
                             image_size=32, seed=7, quiet=True, freeze_features=True, train_augs=AUGS,
                             **EQUAL_OPTIONS), log=lambda _: None)
    return proc, out, single


def test_two_workers_end_equal_to_each_other_and_to_one_process(equal_job):
    proc, out, single = equal_job
    rank0, rank1 = params_of(out / "rank-0.params"), params_of(out / "rank-1.params")
    for k in rank0:
        np.testing.assert_array_equal(rank0[k], rank1[k], err_msg=k)
    # the same total batch (2 x 4) in one process
    for k, p in single.net._collect_params_with_prefix().items():
        np.testing.assert_allclose(rank0[k], p.data().asnumpy(), rtol=1e-4, atol=1e-5, err_msg=k)
    # the run folder was written once, by rank 0
    assert [line.split(",")[0] for line in epoch_lines(out / "run")] == ["epoch 1", "epoch 2"]
    assert proc.stdout.count("epoch 2,") == 1


def test_a_job_logs_the_learning_rate_its_servers_use(equal_job):
    _, out, single = equal_job
    assert [h["lr"] for h in read_history(out / "run")] == pytest.approx([h["lr"] for h in single.history])


def test_resuming_with_another_number_of_workers_is_refused(equal_job):
    _, out, _ = equal_job
    run = out / "run"
    before = (run / "log.txt").read_text()
    proc = run_job(["launch", "-n", "1", "-s", "1", "--port", free_port(), "--", "train", "--resume",
                    run, "--epochs", "3", "--quiet"])
    assert proc.returncode != 0
    assert "error: %s was trained by 2 worker(s), and this job has 1; resume it with the same " \
           "number (gluon-finetune launch -n 2" % run in proc.stderr, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert (run / "log.txt").read_text() == before  # nothing trained, nothing written


def test_a_worker_leaving_right_after_its_last_step_still_delivers_it():
    # MXNet's exit handler drops queued operations: without the drain of Cluster, rank 1's
    # push never leaves, and rank 0 waits for it forever (the hang seen at the end of jobs).
    worker = os.path.join(ROOT, "tests", "dist_worker.py")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    proc = run_job(["launch", "-n", "2", "-s", "1", "--port", free_port(), "--", sys.executable, worker,
                    "leave-early"], env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rank 0 pulled [3.0, 3.0]" in proc.stdout  # 1 + 2: both workers' pushes


@pytest.mark.parametrize("kvstore,ctx,epochs", [
    # dist_sync: the hostfile job below trains every layer too
    ("dist_device_sync", "cpu0,cpu1", 2),
    ("dist_async", "cpu", 1),
])
def test_a_job_training_every_layer_finishes(tiny_hotdog, tiny_source, tmp_path, kvstore, ctx, epochs):
    # Every layer trains (BatchNorm included) and the net is hybridized: the jobs in which
    # workers hung after the last step, 1 in 2 to 1 in 8 runs on a loaded machine, before
    # Cluster waited for the last exchange at exit.
    port = free_port()
    out = tmp_path / "run"
    proc = run_job(["launch", "-n", "2", "-s", "1", "--port", port, "--"]
                   + tiny_train(tiny_hotdog, tiny_source, out, "--epochs", epochs, "--kvstore", kvstore,
                                "--ctx", ctx,
                                # random source features, 2 batches a worker: its loss swings
                                # past 3x its start, which this test is not about
                                "--no-divergence-stop"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [h["epoch"] for h in read_history(out)] == list(range(1, epochs + 1))
    assert len(epoch_lines(out)) == epochs
    assert proc.stdout.count("epoch %d," % epochs) == 1  # only rank 0 prints
    record = json.loads((out / "config.json").read_text())
    assert record["workers"] == 2 and record["config"]["kvstore"] == kvstore
    assert "x 2 workers (%s)" % kvstore in proc.stdout
    last_checkpoint(out)
    assert_no_process_left(port)


def start_long_job(tmp_path, tiny_hotdog, tiny_source):
    """A 2-worker job of many epochs; returns (launcher, port, run folder) once epoch 1 is saved."""
    port = free_port()
    out = tmp_path / "run"
    proc = start_job(["launch", "-n", "2", "-s", "1", "--port", port, "--"]
                     + tiny_train(tiny_hotdog, tiny_source, out, "--epochs", LONG, "--freeze-features"))
    try:
        wait_for(lambda: (out / "checkpoints" / "last.json").exists(), JOB_TIMEOUT,
                 "checkpoint of epoch 1", proc)
    except BaseException:
        kill_job(proc)
        raise
    return proc, port, out


def kill_mid_run(tmp_path, tiny_hotdog, tiny_source, role):
    """Start a long job, SIGKILL one process of ``role`` after the first checkpoint.

    Returns (launcher CompletedProcess, victim pid, seconds from the kill to the launcher's exit).
    """
    proc, port, _ = start_long_job(tmp_path, tiny_hotdog, tiny_source)
    try:
        victims = sorted(pid for pid, cmd in job_processes(port, role).items()
                         if "gluon_finetune" in cmd or "import mxnet" in cmd)
        assert len(victims) == (2 if role == "worker" else 1), victims
        os.kill(victims[-1], signal.SIGKILL)
        killed_at = time.time()
        done = finish_job(proc, timeout=STOP_BOUND)
        stopped_after = time.time() - killed_at
    finally:
        kill_job(proc)
    assert_no_process_left(port)
    return done, victims[-1], stopped_after


def test_a_killed_worker_stops_the_job_and_the_checkpoint_resumes(tiny_hotdog, tiny_source, tmp_path):
    done, victim, stopped_after = kill_mid_run(tmp_path, tiny_hotdog, tiny_source, "worker")
    assert done.returncode == 1
    assert "error: worker 1 (pid %d) was killed by SIGKILL; stopping the other 3 process(es)" % victim \
        in done.stderr
    assert stopped_after < STOP_BOUND
    # rank 0's last checkpoint loads, and the job resumes from it
    out = tmp_path / "run"
    last = last_checkpoint(out)
    port = free_port()
    resumed = run_job(["launch", "-n", "2", "-s", "1", "--port", port, "--", "train", "--resume", out,
                       "--epochs", last["epoch"] + 1, "--quiet"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming" in resumed.stdout and "epoch %d," % (last["epoch"] + 1) in resumed.stdout
    assert read_history(out)[-1]["epoch"] == last["epoch"] + 1
    assert_no_process_left(port)


def test_a_killed_server_stops_the_job(tiny_hotdog, tiny_source, tmp_path):
    done, victim, stopped_after = kill_mid_run(tmp_path, tiny_hotdog, tiny_source, "server")
    assert done.returncode == 1
    assert "error: server 0 (pid %d) was killed by SIGKILL; stopping the other 3 process(es)" % victim \
        in done.stderr
    assert stopped_after < STOP_BOUND
    last_checkpoint(tmp_path / "run")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_stopping_the_launcher_stops_every_process(tiny_hotdog, tiny_source, tmp_path, signum):
    proc, port, out = start_long_job(tmp_path, tiny_hotdog, tiny_source)
    try:
        assert len(job_processes(port)) == 4
        os.kill(proc.pid, signum)  # the launcher alone, not its process group
        proc.wait(timeout=STOP_BOUND)
        assert proc.returncode == (128 + signum if signum == signal.SIGTERM else -signum)
        # SIGTERM: the launcher stops the job itself; SIGKILL: the death signal its children asked for
        assert_no_process_left(port, timeout=STOP_BOUND)
    finally:
        kill_job(proc)
    last_checkpoint(out)


# --------------------------------------------------------------------------- over ssh

FAKE_SSH = r"""#!/bin/sh
# A stand-in for ssh: logs the call, then runs the remote command here the way a
# login on the host would: in the home folder, with a clean environment.
port=
while [ $# -gt 2 ]; do
  case "$1" in
    -o) shift 2 ;;
    -p) port=$2; shift 2 ;;
    *) echo "fake ssh: unexpected argument $1" >&2; exit 255 ;;
  esac
done
printf '%s\t%s\t%s\n' "$1" "$port" "$2" >> "$(dirname "$0")/ssh.log"
cd "$HOME" || exit 255
exec env -i PATH="$PATH" HOME="$HOME" /bin/sh -c "$2"
"""


def fake_ssh_setup(tmp_path):
    """A fake ssh program, a hostfile of two loopback 'hosts' and a working folder."""
    ssh = tmp_path / "ssh"
    ssh.write_text(FAKE_SSH)
    ssh.chmod(0o755)
    hostfile = tmp_path / "hosts.txt"
    hostfile.write_text("# two names for this machine\n127.0.0.1\n\n127.0.0.2:2222  # second host\n")
    work = tmp_path / "work"
    work.mkdir()
    return ssh, hostfile, work


def ssh_calls(ssh):
    calls = []
    for line in (ssh.parent / "ssh.log").read_text().splitlines():
        host, port, command = line.split("\t")
        role = command.split("export DMLC_ROLE=")[1].split(";")[0]
        calls.append((role, host, port, command))
    return calls


def ssh_launch(ssh, hostfile, port, *command):
    # The remote shells start from an empty environment: forward PYTHONPATH when the
    # package is found through it here, as a user would for a non-installed checkout.
    forward = ["--env", "PYTHONPATH"] if os.environ.get("PYTHONPATH") else []
    return (["launch", "-n", "2", "-s", "1", "--hostfile", hostfile, "--ssh", ssh, "--host", "127.0.0.1",
             "--port", port, "--env", "MXNET_HOME=/nonexistent/mxnet-home"] + forward + ["--"]
            + list(command))


def test_a_hostfile_job_runs_over_ssh_on_each_host(tiny_hotdog, tiny_source, tmp_path):
    ssh, hostfile, work = fake_ssh_setup(tmp_path)
    port = free_port()
    proc = run_job(ssh_launch(ssh, hostfile, port, *tiny_train(tiny_hotdog, tiny_source, "run",
                                                               "--epochs", 1)), cwd=work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "over ssh on 127.0.0.1, 127.0.0.2" in proc.stderr
    calls = ssh_calls(ssh)
    # round-robin over the hosts: servers first, then workers, each from the first host
    assert sorted((role, host, port_) for role, host, port_, _ in calls) == [
        ("server", "127.0.0.1", ""), ("worker", "127.0.0.1", ""), ("worker", "127.0.0.2", "2222")]
    for _role, host, _, command in calls:
        for export in ("DMLC_PS_ROOT_URI=127.0.0.1", "DMLC_PS_ROOT_PORT=%d" % port,
                       "DMLC_NUM_WORKER=2", "DMLC_NUM_SERVER=1", "DMLC_NODE_HOST=" + host,
                       "MXNET_HOME=/nonexistent/mxnet-home", distributed.SEED_ENV + "="):
            assert "export " + export in command, (export, command)
        assert "cd %s " % work in command
    # the relative --out resolved in the launcher's working folder: the remote cd happened
    run = work / "run"
    assert [h["epoch"] for h in read_history(run)] == [1]
    record = json.loads((run / "config.json").read_text())
    assert record["workers"] == 2 and record["config"]["kvstore"] == "dist_sync"
    assert proc.stdout.count("epoch 1,") == 1
    assert_no_process_left(port)


def test_a_remote_worker_that_dies_stops_every_remote_process(tiny_hotdog, tiny_source, tmp_path):
    ssh, hostfile, work = fake_ssh_setup(tmp_path)
    port = free_port()
    proc = start_job(ssh_launch(ssh, hostfile, port, *tiny_train(tiny_hotdog, tiny_source, "run",
                                                                 "--epochs", LONG, "--freeze-features")), cwd=work)
    try:
        wait_for(lambda: (work / "run" / "checkpoints" / "last.json").exists(), JOB_TIMEOUT,
                 "checkpoint of epoch 1", proc)
        workers = {pid: cmd for pid, cmd in job_processes(port, "worker").items() if "gluon_finetune" in cmd}
        assert len(workers) == 2, workers
        os.kill(max(workers), signal.SIGKILL)
        done = finish_job(proc, timeout=STOP_BOUND)
    finally:
        kill_job(proc)
    assert done.returncode == 1
    assert "exited with status 137 (killed by SIGKILL on its host); stopping the other" in done.stderr
    # the launcher's own children are gone; the remote ones (the other worker, the server)
    # were stopped by their watchers when their connections closed
    assert_no_process_left(port)
    last_checkpoint(work / "run")


def run_remote(command, close_input_after=None, timeout=30):
    """Run a :func:`remote_command` string as ssh would: ``sh -c`` with the connection as stdin."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(["/bin/sh", "-c", command], stdin=subprocess.PIPE, stdout=out,
                                stderr=err, text=True, start_new_session=True)
        try:
            if close_input_after is not None:
                time.sleep(close_input_after)
                proc.stdin.close()  # the connection closes: the launcher stopped the job
            # Otherwise stdin stays open: the command's end alone must end the shell.
            proc.wait(timeout=timeout)
        finally:
            kill_job(proc)
            if not proc.stdin.closed:
                proc.stdin.close()
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read(), err.read()


def test_remote_command_runs_in_its_folder_with_its_environment(tmp_path):
    work = tmp_path / "work dir"
    work.mkdir()
    argv = ["printf", "%s|", "it's here", "$HOME"]
    command = launch_mod.remote_command({"B": "two words", "A": "1"}, argv + ["x"], str(work))
    assert command.startswith("export A=1; export B='two words'; cd %s || exit 1;"
                              % launch_mod.shlex.quote(str(work)))
    code, stdout, _ = run_remote(command.replace(" x </dev/null", ' "$A" "$B" "$PWD" </dev/null'))
    assert code == 0
    assert stdout == "it's here|$HOME|1|two words|%s|" % work  # arguments reach it verbatim
    code, stdout, _ = run_remote(launch_mod.remote_command({}, ["false"], str(work)))
    assert code == 1  # the command's status is the shell's
    code, stdout, stderr = run_remote(launch_mod.remote_command({}, ["pwd"], str(tmp_path / "missing")))
    assert code == 1 and stdout == ""  # never runs anywhere else


def test_remote_command_stops_when_its_connection_closes(tmp_path):
    # `trap '' TERM`: a process deaf to SIGTERM (like a worker stuck inside MXNet) gets SIGKILL
    for argv, status in ((["sleep", "60"], 128 + signal.SIGTERM),
                         (["sh", "-c", "trap '' TERM; sleep 60 & wait; sleep 60"], 128 + signal.SIGKILL)):
        started = time.time()
        code, _, _ = run_remote(launch_mod.remote_command({}, argv, str(tmp_path), grace=2),
                                close_input_after=1)
        assert code == status, argv
        assert time.time() - started < 30


# --------------------------------------------------------------------------- user mistakes


def test_scheduler_port_in_use_is_a_clear_error(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        proc = run_cli("launch", "-n", "1", "-s", "1", "--port", port, "--", "train", "--data", tmp_path,
                       timeout=120)
    finally:
        holder.close()
    assert_user_error(proc, "port %d" % port, "in use", "--port")


def test_dist_kvstore_without_launcher_says_how_to_start(tiny_hotdog, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMLC_")}
    proc = subprocess.run(PY + ["train", "--data", tiny_hotdog, "--kvstore", "dist_sync",
                                "--out", str(tmp_path / "r")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert_user_error(proc, "gluon-finetune launch")


def test_a_worker_of_a_job_refuses_a_local_kvstore(tiny_hotdog, tmp_path):
    # e.g. `launch -- train --kvstore device`: every worker would train alone into one folder
    proc = run_cli("train", "--data", tiny_hotdog, "--kvstore", "device", "--out", tmp_path / "r",
                   env={"DMLC_ROLE": "worker"}, timeout=120)
    assert_user_error(proc, "DMLC_ROLE=worker", "--kvstore device", "dist_sync")
    assert not (tmp_path / "r").exists()


def test_hostfile_lines(tmp_path):
    good = tmp_path / "hosts"
    good.write_text("a.example  # first\n\nb:2222\n")
    assert launch_mod.read_hostfile(str(good)) == [("a.example", None), ("b", 2222)]
    for text, fragment in (("", "lists no hosts"), ("a b\n", "line 1"), ("x:ssh\n", "NAME:SSH_PORT")):
        bad = tmp_path / "bad"
        bad.write_text(text)
        with pytest.raises(UserError, match=fragment):
            launch_mod.read_hostfile(str(bad))
    with pytest.raises(UserError, match="cannot read hostfile"):
        launch_mod.read_hostfile(str(tmp_path / "missing"))


def test_env_options():
    here = {"MXNET_HOME": "/data/mx"}
    assert launch_mod.parse_env(["MXNET_HOME", "PS_VERBOSE=1"], here) == {"MXNET_HOME": "/data/mx",
                                                                       "PS_VERBOSE": "1"}
    for item, fragment in (("NOPE", "not set here"), ("DMLC_ROLE=server", "sets this variable"),
                           ("=1", "NAME=VALUE"), ("A B=1", "NAME=VALUE")):
        with pytest.raises(UserError, match=fragment):
            launch_mod.parse_env([item], here)


def test_exchange_per_step_counts_what_the_trainer_pushes():
    net = model.scratch_net(1000)
    net(mx.nd.zeros((1, 3, 32, 32)))
    full = distributed.exchange_per_step(net)
    assert full.params == sum(p.data().size for p in net.collect_params().values() if p.grad_req != "null")
    assert full.bytes == 4 * full.params
    assert 11.6e6 < full.params < 11.8e6  # resnet18: 11.7 M parameters
    frozen = distributed.exchange_per_step(model.finetune_net(net, 2, freeze=True))
    assert frozen.params == 512 * 2 + 2  # the new head alone
    assert frozen.frozen_params > 11e6
