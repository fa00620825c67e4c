"""MXNet's thread count: every physical core by default, a user's choice wins.

The counts are read back from the OpenMP library that MXNet loaded in a real
subprocess (``omp_get_max_threads`` through ctypes), not from what the code
meant to set.
"""
import json
import os
import subprocess
import sys

import pytest

from gluon_finetune import threads
from gluon_finetune.errors import UserError

from conftest import assert_user_error

# Runs the real command line, then asks the OpenMP runtime in this process what MXNet got.
DRIVER = r"""
import ctypes, json, sys
from gluon_finetune.cli import main
code = main(sys.argv[1:])
paths = sorted({line.split()[-1] for line in open("/proc/self/maps") if "libgomp" in line})
omp = ctypes.CDLL(paths[0]).omp_get_max_threads() if paths else None
print("READBACK " + json.dumps({"code": code, "omp": omp}))
"""


def run_driver(*args, env=None, cpus=None):
    """The CLI in a subprocess with no thread variables but ``env``; (readback, CompletedProcess)."""
    full = {k: v for k, v in os.environ.items()
            if k not in threads.THREAD_VARIABLES + (threads.AUTO_MARKER,)}
    full.update(env or {})
    proc = subprocess.run([sys.executable, "-c", DRIVER] + [str(a) for a in args], env=full,
                          capture_output=True, text=True, timeout=300,
                          preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("READBACK ")]
    assert lines, (proc.stdout, proc.stderr)
    result = json.loads(lines[-1][len("READBACK "):])
    assert result["code"] == 0, proc.stderr
    return result["omp"], proc


def fake_cpu(root, cpu, siblings):
    topo = root / "sys" / "devices" / "system" / "cpu" / ("cpu%d" % cpu) / "topology"
    topo.mkdir(parents=True)
    (topo / "thread_siblings_list").write_text(siblings + "\n")


def test_smt_siblings_count_as_one_core(tmp_path):
    for cpu, siblings in [(0, "0,2"), (1, "1,3"), (2, "0,2"), (3, "1,3")]:
        fake_cpu(tmp_path, cpu, siblings)
    assert threads.physical_cores(cpus={0, 1, 2, 3}, root=str(tmp_path)) == 2
    assert threads.physical_cores(cpus={0, 2}, root=str(tmp_path)) == 1
    assert threads.physical_cores(cpus={0, 1}, root=str(tmp_path)) == 2
    # no topology files (some containers): one core per CPU of the mask
    assert threads.physical_cores(cpus={0, 1, 5}, root=str(tmp_path / "none")) == 3


def test_cgroup_quota_caps_the_count(tmp_path):
    for cpu in range(4):
        fake_cpu(tmp_path, cpu, str(cpu))
    cgroup = tmp_path / "sys" / "fs" / "cgroup"
    (tmp_path / "proc" / "self").mkdir(parents=True)
    (tmp_path / "proc" / "self" / "cgroup").write_text("0::/jobs/one\n")
    (cgroup / "jobs" / "one").mkdir(parents=True)
    root = str(tmp_path)
    assert threads.cpu_quota(root) is None
    (cgroup / "jobs" / "one" / "cpu.max").write_text("max 100000\n")
    assert threads.physical_cores(cpus=range(4), root=root) == 4
    # a parent's limit counts too; 1.5 CPUs run one thread unthrottled
    (cgroup / "jobs" / "cpu.max").write_text("150000 100000\n")
    assert threads.cpu_quota(root) == pytest.approx(1.5)
    assert threads.physical_cores(cpus=range(4), root=root) == 1
    (cgroup / "jobs" / "cpu.max").unlink()
    # cgroup v1
    (cgroup / "cpu").mkdir()
    (cgroup / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")
    (cgroup / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert threads.physical_cores(cpus=range(4), root=root) == 3
    (cgroup / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert threads.cpu_quota(root) is None


def test_train_uses_every_core_by_default(tiny_hotdog, tiny_source, tmp_path):
    out = tmp_path / "run"
    omp, proc = run_driver("train", "--data", tiny_hotdog, "--weights", tiny_source, "--out", out,
                           "--epochs", "1", "--batch-size", "8", "--image-size", "32", "--quiet")
    cores = threads.physical_cores()
    assert omp == cores
    words = "%d thread%s" % (cores, "" if cores == 1 else "s")
    assert "on cpu(0), %s:" % words in proc.stdout, proc.stdout
    recorded = json.loads((out / "config.json").read_text())["threads"]
    assert recorded["count"] == cores and recorded["source"] == "cores"
    assert recorded["physical_cores"] == cores and "note" not in recorded


def test_threads_option_beats_the_environment(tiny_hotdog, tiny_source, tmp_path):
    out = tmp_path / "run"
    omp, proc = run_driver("train", "--data", tiny_hotdog, "--weights", tiny_source, "--out", out,
                           "--epochs", "1", "--batch-size", "8", "--image-size", "32", "--quiet",
                           "--threads", "3", env={"OMP_NUM_THREADS": "1"})
    assert omp == 3
    assert "3 threads (--threads)" in proc.stdout
    assert json.loads((out / "config.json").read_text())["threads"]["source"] == "--threads"


def test_predict_keeps_the_users_variable_and_follows_the_affinity(run_dir, tiny_hotdog, tmp_path):
    picture = os.path.join(tiny_hotdog, "test", "hotdog", sorted(os.listdir(
        os.path.join(tiny_hotdog, "test", "hotdog")))[0])
    args = ("predict", run_dir, picture, "--ctx", "cpu")
    assert run_driver(*args)[0] == threads.physical_cores()
    assert run_driver(*args, env={"OMP_NUM_THREADS": "1"})[0] == 1
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("one CPU: an affinity limit cannot be told apart from the default here")
    assert run_driver(*args, cpus={cpus[0]})[0] == 1
    # a child of a gluon_finetune process inherits its automatic count, and chooses again
    inherited = {"OMP_NUM_THREADS": str(len(cpus)), threads.AUTO_MARKER: str(len(cpus))}
    assert run_driver(*args, env=inherited, cpus={cpus[0]})[0] == 1


def test_bad_thread_count_is_a_user_error(cli):
    with pytest.raises(UserError, match="--threads"):
        threads.configure(0)
    assert_user_error(cli("train", "--data", "nowhere", "--threads", "0"), "--threads must be at least 1")
