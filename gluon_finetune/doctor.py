"""``gluon-finetune doctor``: what this machine is and what it can run, for a bug report.

:func:`diagnose` gathers the versions (Python, MXNet, oneDNN, GluonCV, numpy),
the CPU and the flags that matter (from :mod:`gluon_finetune.capability`), the
thread count and why, whether ``--amp`` and ``--int8`` will help here, and the
GPUs the CUDA driver sees against what the installed MXNet wheel has kernels
for. Each probe that fails says so in its own field (``"unknown: ..."``)
instead of stopping the report: a broken environment is exactly when a user
runs this. :func:`text` lays the result out for people; ``--json`` prints the dict.
"""
import importlib.metadata
import os
import platform
import re
import subprocess
import sys

from . import __version__, capability, threads
from .errors import first_line

#: A child process runs one small convolution with oneDNN's verbose log on: the log's
#: first lines name oneDNN's version and the instruction set it chose for this CPU.
#: (MXNet 1.9.1 does not export ``dnnl_version``, so asking the library is not possible.)
ONEDNN_PROBE = (
    "import mxnet as mx\n"
    "x = mx.nd.ones((1, 3, 8, 8)); w = mx.nd.ones((4, 3, 3, 3))\n"
    "mx.nd.Convolution(x, w, kernel=(3, 3), num_filter=4, no_bias=True).wait_to_read()\n")
PROBE_TIMEOUT = 120
#: The distributions that install the ``mxnet`` import package (CPU and CUDA wheels).
MXNET_DISTRIBUTIONS = ("mxnet", "mxnet-cu112", "mxnet-cu117", "mxnet-cu110", "mxnet-cu102",
                       "mxnet-mkl", "mxnet-native")


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def mxnet_distribution():
    """``(name, version)`` of the installed MXNet wheel, or ``(None, None)``."""
    for name in MXNET_DISTRIBUTIONS:
        version = _version(name)
        if version:
            return name, version
    return None, None


def onednn_probe(python=None, timeout=PROBE_TIMEOUT):
    """``{"version", "isa"}`` that oneDNN reports in a child process, or ``{"error"}``."""
    env = dict(os.environ, MKLDNN_VERBOSE="1", DNNL_VERBOSE="1")
    try:
        proc = subprocess.run([python or sys.executable, "-c", ONEDNN_PROBE], env=env,
                              capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        return {"error": "the oneDNN probe did not finish (%s)" % err}
    version = re.search(r"oneDNN (v[\d.]+)", proc.stdout)
    isa = re.search(r"isa:([^\n]+)", proc.stdout)
    if proc.returncode != 0 or not version:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": "the oneDNN probe failed: %s" % last}
    return {"version": version.group(1), "isa": isa.group(1).strip() if isa else None}


def mxnet_features():
    """The build features MXNet reports (``MKLDNN``, ``CUDA``, ...) that are on, or an error."""
    try:
        import mxnet as mx

        return {"enabled": sorted(name for name, f in mx.runtime.Features().items() if f.enabled)}
    except Exception as err:  # a broken install is what doctor is for: report, do not stop
        return {"error": "MXNet does not load: %s" % first_line(err)}


def amp_advice(cpu, gpus_usable):
    """What ``--amp`` does here: per device kind, whether it runs and why."""
    advice = {}
    if cpu["bf16"]:
        advice["cpu"] = "yes: bfloat16 on this CPU's %s" % " / ".join(
            f for f in capability.BF16_CPU_FLAGS if f in (cpu["flags"] or ()))
    else:
        advice["cpu"] = ("no: refused, %s; train in float32"
                         % capability.missing("bf16", cpu["flags"]))
    advice["gpu"] = ("yes: float16 with dynamic loss scaling" if gpus_usable
                     else "no usable GPU")
    return advice


def int8_advice(cpu):
    """What ``--int8`` does here."""
    if cpu["int8_vnni"]:
        speed = "faster than float32: this CPU has %s" % " / ".join(
            f for f in capability.INT8_CPU_FLAGS if f in cpu["flags"])
    elif cpu["int8_vnni"] is None:
        speed = "works; speed unknown (%s)" % capability.missing("int8", cpu["flags"])
    else:
        speed = ("works, with less gain than on CPUs with VNNI: %s (an AVX2 Zen 3 ran INT8 at "
                 "2.1-2.4x float32; README: Performance)" % capability.missing("int8", cpu["flags"]))
    return {"speed": speed}


def gpu_report(mxnet_gpus):
    """The GPUs the driver sees, each with its capability and whether the wheel runs on it."""
    lo, hi = capability.SUPPORTED_CC
    wheel = "%d.%d-%d.%d" % (lo + hi)
    out = []
    for index, (name, cc) in enumerate(capability.driver_gpus()):
        ok = capability.capability_supported(cc)
        if ok is None:
            why = "compute capability unknown"
        elif not ok:
            why = ("no kernels for %d.%d in the mxnet-cu112 1.9.1 wheel (%s only, no PTX); "
                   "use --ctx cpu" % (cc + (wheel,)))
        elif mxnet_gpus <= index:
            why = "the installed MXNet cannot use it (CPU wheel?): pip install \"gluon-finetune[gpu]\""
        else:
            why = "ok: training runs here by default"
        out.append({"index": index, "name": name,
                    "compute_capability": "%d.%d" % cc if cc else None,
                    "wheel_kernels": wheel, "runs": bool(ok and mxnet_gpus > index), "why": why})
    return out


def diagnose(probe_onednn=True):
    """Everything doctor reports, as a dict (see the module docstring)."""
    name, version = mxnet_distribution()
    features = mxnet_features()
    onednn = onednn_probe() if probe_onednn and "error" not in features else {
        "error": "not probed" if "error" not in features else features["error"]}
    versions = {"python": platform.python_version(), "gluon_finetune": __version__,
                "mxnet": version, "mxnet_wheel": name, "onednn": onednn.get("version"),
                "gluoncv": _version("gluoncv"), "numpy": _version("numpy")}
    cpu = capability.cpu_record()
    cpu["cpuinfo"] = capability.cpuinfo_path()
    cpu["onednn_isa"] = onednn.get("isa")
    if "error" in onednn:
        cpu["onednn_error"] = onednn["error"]
    try:
        thread_info = threads.describe()
    except Exception as err:  # MXNet missing or broken: the count cannot be read back
        thread_info = {"error": "unknown: %s" % err}
    thread_info["cpu_quota"] = threads.cpu_quota()
    mxnet_gpus = 0
    if "error" not in features:
        from . import devices  # imports MXNet: only once it is known to load

        mxnet_gpus = devices.gpu_count()
    gpus = gpu_report(mxnet_gpus)
    return {"versions": versions, "mxnet_features": features, "cpu": cpu, "threads": thread_info,
            "amp": amp_advice(cpu, any(g["runs"] for g in gpus)), "int8": int8_advice(cpu),
            "gpus": gpus, "platform": platform.platform()}


def text(report):
    """The report as aligned lines for a terminal or a bug report."""
    v, cpu, th = report["versions"], report["cpu"], report["threads"]
    features = report["mxnet_features"]
    rows = [("gluon-finetune", v["gluon_finetune"]),
            ("python", "%s (%s)" % (v["python"], report["platform"])),
            ("mxnet", "%s (%s wheel)" % (v["mxnet"], v["mxnet_wheel"]) if v["mxnet"]
             else "not installed: pip install \"gluon-finetune[cpu]\""),
            ("mxnet features", ", ".join(features["enabled"]) if "enabled" in features
             else features["error"]),
            ("oneDNN", v["onednn"] or cpu.get("onednn_error", "unknown")),
            ("gluoncv", v["gluoncv"] or "not installed"),
            ("numpy", v["numpy"] or "not installed"),
            ("cpu", cpu["model"] or "unknown (%s lists no model name)" % cpu["cpuinfo"]),
            ("vector ISA", "%s (oneDNN picks: %s)" % (cpu["isa"] or "unknown",
                                                      cpu["onednn_isa"] or "unknown")),
            ("flags", " ".join(cpu["flags"]) if cpu["flags"] is not None
             else "unknown (%s lists none)" % cpu["cpuinfo"]),
            ("threads", _threads_text(th)),
            ("--amp on the CPU", report["amp"]["cpu"]),
            ("--amp on a GPU", report["amp"]["gpu"]),
            ("--int8", report["int8"]["speed"])]
    if not report["gpus"]:
        rows.append(("gpus", "none seen by a CUDA driver"))
    for g in report["gpus"]:
        rows.append(("gpu%d" % g["index"], "%s, compute capability %s: %s"
                     % (g["name"], g["compute_capability"] or "unknown", g["why"])))
    width = max(len(k) for k, _ in rows)
    return "\n".join("%-*s  %s" % (width, k, value) for k, value in rows)


def _threads_text(info):
    if "error" in info:
        return info["error"]
    why = {"cores": "one per physical core this process may use",
           "--threads": "--threads", "mxnet default": "MXNet's own default"}.get(
        info["source"], "set by %s" % info["source"])
    words = "%d (%s; %d physical core%s" % (info["count"], why, info["physical_cores"],
                                            "" if info["physical_cores"] == 1 else "s")
    if info.get("cpu_quota") is not None:
        words += ", cgroup limit %.2g CPUs" % info["cpu_quota"]
    words += ")"
    if "note" in info:
        words += "; " + info["note"]
    return words
