"""How many OpenMP threads MXNet computes with: every physical core by default.

MXNet 1.9.1 reads its thread count once, when ``libmxnet`` loads: with neither
``OMP_NUM_THREADS`` nor ``MXNET_OMP_MAX_THREADS`` set it takes the CPU count
and halves it on x86, assuming two hyper-threads per core. On a machine
without SMT (many cloud VMs and CPU-limited containers) that leaves half the
cores idle. ``MXSetNumOMPThreads`` after the import does not help: it sets the
calling thread's OpenMP value only, and the engine's worker threads, which run
the operators, keep the count read at load time.

So the count is chosen before ``import mxnet``: importing :mod:`gluon_finetune`
sets ``OMP_NUM_THREADS`` to the process's physical cores (:func:`physical_cores`)
unless the user set a thread variable, and the command line's ``--threads N``
(:func:`configure`) runs before any command imports MXNet. This module imports
nothing heavy, so that order holds.

This is the one place the choice is made, for the commands and for Python
callers of ``fit`` or ``load_run`` alike. A host project that manages its own
threads opts out in any of three ways: set ``OMP_NUM_THREADS`` (or
``MXNET_OMP_MAX_THREADS``) itself, which always wins; import ``mxnet`` before
``gluon_finetune``; or set ``GLUON_FINETUNE_THREADS=off``, which leaves the
environment untouched and MXNet to its own default.
"""
import ctypes
import math
import os
import sys

#: The variables through which a user chooses MXNet's thread count.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS")

#: ``GLUON_FINETUNE_THREADS=off``: importing the package chooses nothing (a host
#: project's own thread management stays in charge).
OPT_OUT = "GLUON_FINETUNE_THREADS"

#: Set beside ``OMP_NUM_THREADS`` when this package chose the count, so that a child
#: process (which inherits both) chooses again for itself instead of taking the
#: parent's automatic count for a user's choice.
AUTO_MARKER = "GLUON_FINETUNE_AUTO_THREADS"


def _user_choice(environ):
    auto = environ.get(AUTO_MARKER)
    for name in THREAD_VARIABLES:
        value = environ.get(name, "").strip()
        if value and not (name == "OMP_NUM_THREADS" and value == auto):
            return name, value
    return None


#: What the user had set before this package was imported (None: nothing).
_USER_CHOICE = _user_choice(os.environ)

#: How the count in force was chosen: "cores", "--threads", or a variable's name.
_source = None


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def cpu_quota(root="/"):
    """The CPU limit of this process's cgroup, in CPUs (e.g. 1.5), or None when unlimited.

    Reads cgroup v2's ``cpu.max`` (``"150000 100000"``) for the process's own
    cgroup and its parent folders, and cgroup v1's ``cpu.cfs_quota_us`` /
    ``cpu.cfs_period_us``; the smallest limit found wins. ``root`` lets tests
    point it at a folder laid out like ``/``.
    """
    base = os.path.join(root, "sys", "fs", "cgroup")
    limits = []
    own = "/"
    for line in (_read(os.path.join(root, "proc", "self", "cgroup")) or "").splitlines():
        if line.startswith("0::"):
            own = line[3:] or "/"
    path = own.strip("/")
    while True:  # the process's cgroup, then each parent up to the root
        text = _read(os.path.join(base, path, "cpu.max"))
        if text and not text.startswith("max"):
            quota, _, period = text.partition(" ")
            limits.append(int(quota) / int(period or 100000))
        if not path:
            break
        path = os.path.dirname(path)
    for folder in ("cpu", "cpu,cpuacct", ""):
        quota = _read(os.path.join(base, folder, "cpu.cfs_quota_us"))
        period = _read(os.path.join(base, folder, "cpu.cfs_period_us"))
        if quota and period and int(quota) > 0 and int(period) > 0:
            limits.append(int(quota) / int(period))
    return min(limits) if limits else None


def physical_cores(cpus=None, root="/"):
    """The cores this process may run on: what the thread count should be.

    Counts the CPUs in the process's affinity mask (``cpus``, by default
    ``os.sched_getaffinity(0)``) once per physical core (SMT siblings, as
    ``/sys/devices/system/cpu/cpuN/topology/thread_siblings_list`` lists them,
    count as one), then caps that at the cgroup CPU quota rounded down
    (:func:`cpu_quota`). At least 1.
    """
    if cpus is None:
        cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for cpu in cpus:
        topology = os.path.join(root, "sys", "devices", "system", "cpu", "cpu%d" % cpu, "topology")
        siblings = _read(os.path.join(topology, "thread_siblings_list")) or \
            _read(os.path.join(topology, "core_cpus_list"))
        cores.add(siblings or str(cpu))
    count = len(cores)
    quota = cpu_quota(root)
    if quota is not None:
        # Rounded down: threads beyond the quota are throttled, not run.
        count = min(count, max(1, math.floor(quota)))
    return max(1, count)


def user_choice():
    """``(variable, value)`` the user set before this package loaded, or None."""
    return _USER_CHOICE


def configure(threads=None):
    """Choose MXNet's OpenMP thread count for this process, before MXNet loads.

    Parameters
    ----------
    threads : int, optional
        A count the user asked for (``--threads``): it wins over everything.
        Without it, a thread variable the user set is kept, and otherwise the
        count is :func:`physical_cores`.

    Returns
    -------
    int or None
        The count chosen (None: ``GLUON_FINETUNE_THREADS=off``, MXNet's own
        default). Once MXNet is loaded a new count cannot take effect (see the
        module docstring); :func:`describe` then says so.
    """
    global _source
    if threads is not None:
        if threads < 1:
            from .errors import UserError

            raise UserError("--threads must be at least 1, got %d" % threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)
        os.environ.pop("MXNET_OMP_MAX_THREADS", None)
        os.environ.pop(AUTO_MARKER, None)
        _source = "--threads"
        return threads
    if _USER_CHOICE is not None:
        _source = _USER_CHOICE[0]
        return _parse(_USER_CHOICE[1])
    if opted_out():
        _source = "%s=off" % OPT_OUT
        return None
    count = physical_cores()
    os.environ["OMP_NUM_THREADS"] = os.environ[AUTO_MARKER] = str(count)
    _source = "cores"
    return count


def opted_out(environ=None):
    """True when ``GLUON_FINETUNE_THREADS=off`` asks the package to choose no thread count."""
    return (environ if environ is not None else os.environ).get(OPT_OUT, "").strip().lower() == "off"


def _parse(value):
    try:
        return max(1, int(str(value).split(",")[0]))
    except ValueError:
        return None


def _openmp_runtime():
    """The OpenMP library MXNet loaded (a ``ctypes.CDLL``), or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "libgomp" in line or "libiomp" in line}
    except OSError:
        paths = set()
    for path in sorted(paths) or ["libgomp.so.1"]:
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def runtime_threads():
    """The thread count MXNet runs its operators with, read from the loaded runtime.

    Imports MXNet. MXNet applies its count to the importing thread's OpenMP
    setting, and its engine threads use the same, so reading
    ``omp_get_max_threads()`` from the OpenMP library in this process tells
    what MXNet is doing, not what was meant. ``MXNET_OMP_MAX_THREADS`` caps
    MXNet's count without touching OpenMP's, so it is read when set.
    """
    import mxnet  # noqa: F401  (the count is fixed when libmxnet loads)

    cap = _parse(os.environ.get("MXNET_OMP_MAX_THREADS", ""))
    if cap is not None:
        return cap
    runtime = _openmp_runtime()
    return int(runtime.omp_get_max_threads()) if runtime is not None else 1


def describe():
    """A dict for ``config.json`` and logs: the count in force, how it was chosen, the cores."""
    count = runtime_threads()
    source = _source or (_USER_CHOICE[0] if _USER_CHOICE else "mxnet default")
    info = {"count": count, "source": source, "physical_cores": physical_cores()}
    if source in ("cores", "mxnet default") and count != info["physical_cores"]:
        info["note"] = ("MXNet was loaded before gluon_finetune chose its thread count; set "
                        "OMP_NUM_THREADS before importing mxnet to use every core")
    return info


def text(info=None):
    """``"2 threads"`` (and why, when it is not every core) for a start-up line."""
    info = info or describe()
    words = "%d thread%s" % (info["count"], "" if info["count"] == 1 else "s")
    if info["source"] in ("--threads",) + THREAD_VARIABLES:
        words += " (%s)" % info["source"]
    elif "note" in info:
        words += " (%s)" % info["note"]
    return words


def mxnet_loaded():
    return "mxnet" in sys.modules
