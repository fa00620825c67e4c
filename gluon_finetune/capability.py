"""What this machine can run: the one place that decides it from the CPU's flags.

Every choice that depends on the processor reads this module: whether ``--amp``
can compute in bfloat16 on the CPU, whether INT8 is likely to be faster than
float32, which vector instructions oneDNN will pick, and what the benchmark and
``gluon-finetune doctor`` say about the CPU (the GPU's half is in
:mod:`gluon_finetune.devices`). The tests read it too, so a test that needs a feature is
skipped on a CPU without it, naming the missing flag, instead of failing.

The flags come from ``/proc/cpuinfo`` (Linux). ``GLUON_FINETUNE_CPUINFO`` points
the check at another file laid out the same way, so the refusal and warning
paths can be exercised on any CPU, in this process or in a child process.
This module imports nothing heavy (no MXNet), so a command can ask before it
loads a network.
"""
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
