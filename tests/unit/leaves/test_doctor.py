"""gluon-finetune doctor and the capability check it reads: on this CPU and on faked ones."""
import json
import os
import re

from gluon_finetune import capability, doctor

from conftest import AVX2_FLAGS, AVX512_FLAGS, run_cli, write_cpuinfo


def test_capability_reads_a_cpuinfo_file(tmp_path):
    avx2 = write_cpuinfo(tmp_path, AVX2_FLAGS, model="AMD EPYC 7763 64-Core Processor")
    info = capability.cpuinfo(avx2)
    assert info["model"] == "AMD EPYC 7763 64-Core Processor" and "avx2" in info["flags"]
    assert capability.isa(info["flags"]) == "AVX2"
    assert not capability.has_bf16(info["flags"]) and capability.has_int8_speedup(info["flags"]) is False
    assert "avx512_bf16 / amx_bf16" in capability.missing("bf16", info["flags"])
    big = capability.cpu_flags(write_cpuinfo(tmp_path, AVX512_FLAGS))
    assert capability.isa(big) == "AVX-512" and capability.has_bf16(big)
    assert capability.missing("int8", big) is None
    assert capability.isa(frozenset({"amx_tile", "avx512f"})) == "AMX"
    assert capability.cpu_flags(str(tmp_path / "missing")) is None
    assert capability.has_int8_speedup(frozenset()) is False and capability.isa(frozenset()) == "baseline"
    record = capability.cpu_record(big, model="X")
    assert record == {"model": "X", "isa": "AVX-512", "bf16": True, "int8_vnni": True,
                      "flags": sorted(set(AVX512_FLAGS.split()) - {"fpu"})}
    assert capability.cpu_label(record) == "X (AVX-512, VNNI, bf16)"


def test_doctor_describes_this_cpu_in_a_real_process():
    proc = run_cli("doctor")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in proc.stdout.splitlines())
    assert lines["cpu"] == (capability.cpu_model() or lines["cpu"])
    assert lines["vector ISA"].startswith(capability.isa() or "unknown")
    assert re.match(r"v\d+\.\d+", lines["oneDNN"]), lines["oneDNN"]  # oneDNN answered the probe
    assert lines["mxnet"].startswith("1.9.1")
    assert lines["--amp on the CPU"].startswith("yes" if capability.has_bf16() else "no: refused")
    assert re.match(r"\d+ \(", lines["threads"])


def test_doctor_json_on_faked_cpus_and_without_cpuinfo(tmp_path):
    env = {capability.CPUINFO_VARIABLE: write_cpuinfo(tmp_path, AVX2_FLAGS, model="Laptop CPU")}
    proc = run_cli("doctor", "--json", "--no-probe", env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["cpu"]["model"] == "Laptop CPU" and report["cpu"]["isa"] == "AVX2"
    assert report["amp"]["cpu"].startswith("no: refused") and "avx512_bf16" in report["amp"]["cpu"]
    assert report["int8"]["speed"].startswith("works, with less gain than on CPUs with VNNI")
    assert report["versions"]["mxnet"] == "1.9.1" and report["threads"]["count"] >= 1
    # No cpuinfo at all: every line still prints, saying what is unknown.
    proc = run_cli("doctor", "--no-probe", env={capability.CPUINFO_VARIABLE: str(tmp_path / "absent")})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "absent lists none" in proc.stdout  # the flags line
    assert "speed unknown" in proc.stdout and "does not say whether" not in proc.stdout


def test_doctor_names_a_gpu_the_wheel_cannot_run(monkeypatch):
    # The one input no machine here has: GPUs, as the CUDA driver would list them.
    monkeypatch.setattr(capability, "driver_gpus", lambda: [("NVIDIA H100", (9, 0)),
                                                         ("NVIDIA A10", (8, 6))])
    gpus = doctor.gpu_report(mxnet_gpus=0)
    assert [g["compute_capability"] for g in gpus] == ["9.0", "8.6"]
    assert "no kernels for 9.0" in gpus[0]["why"] and not gpus[0]["runs"]
    assert "CPU wheel" in gpus[1]["why"] and "gluon-finetune[gpu]" in gpus[1]["why"]
    assert doctor.gpu_report(mxnet_gpus=2)[1]["runs"]
    assert capability.capability_supported((5, 0)) and capability.capability_supported(None) is None


def test_doctor_reports_an_mxnet_that_does_not_load(tmp_path):
    # An installed but broken MXNet (a missing shared library is the usual one): a real
    # package named mxnet, first on the path, whose import fails as such an install's does.
    stub = tmp_path / "site" / "mxnet"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text(
        'raise OSError("libgfortran.so.5: cannot open shared object file: No such file")\n')
    pythonpath = os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")])
    proc = run_cli("doctor", env={"PYTHONPATH": pythonpath})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert "MXNet does not load: libgfortran.so.5: cannot open shared object file" in proc.stdout
    assert re.search(r"CPU .*\S", proc.stdout)  # the rest of the report is still there
