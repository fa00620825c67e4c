"""What this machine can run: the one place that decides it from the CPU's flags.

Every choice that depends on the processor reads this module: whether ``--amp``
can compute in bfloat16 on the CPU, whether INT8 is likely to be faster than
float32, which vector instructions oneDNN will pick, and what the benchmark and
``gluon-finetune doctor`` say about the CPU, and which GPUs the installed
MXNet wheel has kernels for (asked of the CUDA driver, not MXNet). The tests read it too, so a test that needs a feature is
skipped on a CPU without it, naming the missing flag, instead of failing.

The flags come from ``/proc/cpuinfo`` (Linux). ``GLUON_FINETUNE_CPUINFO`` points
the check at another file laid out the same way, so the refusal and warning
paths can be exercised on any CPU, in this process or in a child process.
This module imports nothing heavy (no MXNet), so a command can ask before it
loads a network.
"""
import ctypes
import functools
import os

#: Points the check at a file laid out like ``/proc/cpuinfo`` (tests, bug reproduction).
CPUINFO_VARIABLE = "GLUON_FINETUNE_CPUINFO"
CPUINFO = "/proc/cpuinfo"

#: Native bfloat16 matrix products (AMD Zen 4, Intel Cooper Lake, Sapphire Rapids and newer).
#: Without them oneDNN 2.4 (MXNet 1.9.1) has no bfloat16 convolution at all on AVX2 and
#: emulates it, slower than float32, on plain AVX-512.
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
#: INT8 dot-product instructions oneDNN's INT8 kernels are fast with (VNNI, AMX).
INT8_CPU_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
#: The vector instruction sets oneDNN chooses between, widest first: (name, flags it needs).
ISA_LEVELS = (("AMX", ("amx_tile",)), ("AVX-512", ("avx512f",)), ("AVX2", ("avx2", "fma")),
              ("AVX", ("avx",)), ("SSE4.1", ("sse4_1",)))
#: The flags a bug report or a choice of options needs (everything else is noise).
FLAGS_THAT_MATTER = ("sse4_1", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni",
                     "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")


def cpuinfo_path():
    """The cpuinfo file the check reads: ``$GLUON_FINETUNE_CPUINFO`` or ``/proc/cpuinfo``."""
    return os.environ.get(CPUINFO_VARIABLE) or CPUINFO


@functools.lru_cache(maxsize=None)
def _read_cpuinfo(path):
    info = {"model": None, "flags": None, "path": path}
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and info["model"] is None:
                    info["model"] = value.strip()
                elif key in ("flags", "Features") and info["flags"] is None:
                    info["flags"] = frozenset(value.split())
                if info["model"] is not None and info["flags"] is not None:
                    break
    except OSError:
        pass
    return info


def cpuinfo(path=None):
    """``{"model", "flags", "path"}`` of the first processor in a cpuinfo file.

    ``flags`` is a frozenset, or None when the file is missing or lists none
    (not Linux, or a sandbox that hides it). Read once per file and process:
    the flags do not change while it runs.
    """
    return _read_cpuinfo(path or cpuinfo_path())


def cpu_flags(path=None):
    """The CPU's feature flags as a frozenset, or None where they cannot be read."""
    return cpuinfo(path)["flags"]


def cpu_model(path=None):
    """The CPU's model name (``"AMD EPYC 7763 64-Core Processor"``), or None."""
    return cpuinfo(path)["model"]


def _flags(flags):
    return cpu_flags() if flags is None else frozenset(flags)


def has_bf16(flags=None):
    """Whether the CPU has native bfloat16 instructions (False when unknown)."""
    flags = _flags(flags)
    return bool(flags and flags & set(BF16_CPU_FLAGS))


def has_int8_speedup(flags=None):
    """Whether the CPU has VNNI or AMX INT8 instructions (None when its flags are unknown)."""
    flags = _flags(flags)
    if flags is None:
        return None
    return bool(flags & set(INT8_CPU_FLAGS))


def isa(flags=None):
    """The widest vector instruction set the CPU has, as oneDNN names it (None when unknown)."""
    flags = _flags(flags)
    if flags is None:
        return None
    for name, needs in ISA_LEVELS:
        if set(needs) <= flags:
            return name
    return "baseline"


def missing(feature, flags=None):
    """Why ``feature`` (``"bf16"`` or ``"int8"``) is not fast here, for a skip or a message;
    None when it is."""
    wanted = {"bf16": BF16_CPU_FLAGS, "int8": INT8_CPU_FLAGS}[feature]
    flags = _flags(flags)
    if flags is None:
        return "%s does not list the CPU's flags (needs %s)" % (cpuinfo_path(), " or ".join(wanted))
    if flags & set(wanted):
        return None
    return "this CPU has none of %s in %s" % (" / ".join(wanted), cpuinfo_path())


def cpu_record(flags=None, model=None):
    """What a benchmark record or a report says about the CPU it ran on."""
    flags = _flags(flags)
    return {"model": model if model is not None else cpu_model(),
            "isa": isa(flags),
            "flags": sorted(flags & set(FLAGS_THAT_MATTER)) if flags is not None else None,
            "bf16": has_bf16(flags), "int8_vnni": has_int8_speedup(flags)}


def cpu_label(record):
    """``"AMD EPYC (AVX2, no VNNI, no bf16)"``: how a table names the CPU of a record."""
    if not record:
        return "unknown CPU"
    words = [record.get("isa") or "unknown ISA",
             "VNNI" if record.get("int8_vnni") else "no VNNI",
             "bf16" if record.get("bf16") else "no bf16"]
    return "%s (%s)" % (record.get("model") or "unknown model", ", ".join(words))


#: Compute capabilities the mxnet-cu112 1.9.1 wheel has kernels for (major, minor): it
#: carries machine code for 5.0 to 8.6 and no PTX, so a newer GPU cannot run it.
SUPPORTED_CC = ((5, 0), (8, 6))


@functools.lru_cache(maxsize=None)
def _cuda_driver():
    """The CUDA driver library, initialised, or None (no driver, or it refuses to start).

    Loaded and initialised once per process: every GPU's question goes to the same handle.
    """
    for name in ("libcuda.so.1", "libcuda.so", "libcuda.dylib", "nvcuda.dll"):
        try:
            cuda = ctypes.CDLL(name)
            break
        except OSError:
            continue
    else:
        return None
    return cuda if cuda.cuInit(0) == 0 else None


def driver_gpus():
    """``[(name, (major, minor) or None), ...]`` of every GPU the CUDA driver sees.

    Asks the driver, not MXNet, so that it also answers with the CPU wheel
    installed or a GPU the wheel has no kernels for (``gluon-finetune doctor``).
    """
    cuda = _cuda_driver()
    count = ctypes.c_int()
    if cuda is None or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return []
    gpus = []
    for index in range(count.value):
        device, name = ctypes.c_int(), ctypes.create_string_buffer(256)
        if cuda.cuDeviceGet(ctypes.byref(device), index) != 0:
            continue
        cuda.cuDeviceGetName(name, 256, device)
        gpus.append((name.value.decode(errors="replace") or "GPU %d" % index,
                     compute_capability(index)))
    return gpus


def compute_capability(device_id):
    """(major, minor) of GPU ``device_id`` from the CUDA driver, or None when unknown."""
    cuda = _cuda_driver()
    major, minor, device = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    if cuda is None or cuda.cuDeviceGet(ctypes.byref(device), device_id) != 0:
        return None
    # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75, _MINOR = 76 (cuda.h)
    if (cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, device) != 0
            or cuda.cuDeviceGetAttribute(ctypes.byref(minor), 76, device) != 0):
        return None
    return major.value, minor.value


def capability_supported(cc):
    """Whether the installed wheel has kernels for compute capability ``cc`` (None: unknown)."""
    if cc is None:
        return None
    lo, hi = SUPPORTED_CC
    return lo <= tuple(cc) <= hi
