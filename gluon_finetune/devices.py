"""Choosing the devices to train on (every usable GPU, else the CPU) and spreading batches over them.

The published ``mxnet-cu112`` 1.9.1 wheel carries machine code for CUDA compute
capability 5.0 to 8.6 and no PTX, so on a newer GPU (Hopper is 9.0) its kernels
cannot load; training would fail deep inside the first operator or hang. The
capability is checked up front and such a GPU is refused with a message.
"""
import mxnet as mx
from mxnet import gluon

from . import capability
from .errors import UserError

# The GPU's capability (SUPPORTED_CC, compute_capability) lives with the CPU's in
# capability, which imports no MXNet, so doctor can report a GPU even when MXNet does not load.


def parse_ctx(spec):
    """``"cpu"``, ``"cpu0,cpu1"``, ``"gpu"``, ``"gpu0,gpu1"`` or ``"auto"`` -> list of contexts.

    ``"gpu"`` means every GPU; ``"auto"`` every GPU when there is one, else the CPU.
    """
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        n = gpu_count()
        return [mx.gpu(i) for i in range(n)] if n else [mx.cpu()]
    if spec == "gpu":
        n = gpu_count()
        if not n:
            raise UserError("--ctx gpu: no GPU is visible to MXNet (is the mxnet-cu112 wheel installed "
                            "and the NVIDIA driver loaded?); use --ctx cpu")
        return [mx.gpu(i) for i in range(n)]
    contexts = []
    for word in spec.split(","):
        word = word.strip()
        kind = word.rstrip("0123456789")
        index = word[len(kind):]
        if kind not in ("cpu", "gpu") or (word != kind and not index):
            raise UserError("--ctx: %r is not a device; use cpu, gpu, auto, or a list such as "
                            "cpu0,cpu1 or gpu0,gpu1" % word)
        contexts.append(mx.Context(kind, int(index or 0)))
    if len(set(contexts)) != len(contexts):
        raise UserError("--ctx %s names a device twice" % spec)
    if len({c.device_type for c in contexts}) > 1:
        raise UserError("--ctx %s mixes CPU and GPU; train on one kind of device" % spec)
    gpus = [c for c in contexts if c.device_type == "gpu"]
    if gpus:
        n = gpu_count()
        missing = [str(c) for c in gpus if c.device_id >= n]
        if missing:
            raise UserError("--ctx: %s not available; MXNet sees %d GPU(s)" % (", ".join(missing), n))
    return contexts


def split_batch(data, label, ctxs):
    """Split a batch over ``ctxs`` with ``split_and_load``, even when it does not divide evenly.

    A batch smaller than the number of devices uses only as many devices as it
    has samples (``split_and_load`` refuses to make empty slices).
    """
    ctxs = ctxs[:max(1, min(len(ctxs), data.shape[0]))]
    return (gluon.utils.split_and_load(data, ctxs, even_split=False),
            gluon.utils.split_and_load(label, ctxs, even_split=False))


def gpu_count():
    """Number of GPUs MXNet can use (0 with the CPU wheel or without a driver)."""
    try:
        return mx.context.num_gpus()
    except Exception:  # the CPU wheel raises when asked about CUDA
        return 0


def check_capability(cc, device="gpu(0)"):
    """Raise :class:`UserError` when capability ``cc`` has no kernels in the installed wheel."""
    lo, hi = capability.SUPPORTED_CC
    if capability.capability_supported(cc) is False:
        raise UserError(
            "%s has CUDA compute capability %d.%d, but the mxnet-cu112 1.9.1 wheel only carries "
            "kernels for %d.%d-%d.%d (and no PTX to compile for newer GPUs), so MXNet cannot run "
            "on it. Use --ctx cpu, or a GPU of capability %d.%d-%d.%d (Maxwell to Ampere)."
            % ((device,) + tuple(cc) + lo + hi + lo + hi))


def check_contexts(contexts):
    """Refuse GPUs the wheel cannot run on, before any work starts."""
    for ctx in contexts:
        if ctx.device_type == "gpu":
            check_capability(capability.compute_capability(ctx.device_id), str(ctx))
    return contexts


def amp_dtype(contexts):
    """The low-precision type ``--amp`` computes in on ``contexts``.

    float16 on GPUs (with dynamic loss scaling), bfloat16 on a CPU with native
    bfloat16 instructions (the same exponent range as float32, so no loss
    scaling). MXNet 1.9.1 has no float16 matrix products on the CPU.

    Raises
    ------
    UserError
        A mix of CPU and GPU contexts, or a CPU without bfloat16 instructions.
    """
    kinds = {c.device_type for c in contexts}
    if kinds == {"gpu"}:
        return "float16"
    if kinds != {"cpu"}:
        raise UserError("--amp needs one kind of device (float16 on GPUs, bfloat16 on the CPU), "
                        "but --ctx names %s; pick GPUs or the CPU" % describe(contexts))
    if not capability.has_bf16():
        raise UserError("--amp on the CPU computes in bfloat16, which needs a CPU with %s "
                        "(AMD Zen 4, Intel Cooper Lake or Sapphire Rapids and newer); %s, and "
                        "MXNet 1.9.1's oneDNN has no bfloat16 convolution without them (or "
                        "emulates it more slowly than float32). Drop --amp to run in float32, "
                        "or pass --ctx gpu on a machine with a GPU (`gluon-finetune doctor` "
                        "says what this machine can run)."
                        % (" or ".join(capability.BF16_CPU_FLAGS),
                           "this CPU does not list them in %s" % capability.cpuinfo_path()
                           if capability.cpu_flags() is not None
                           else "this system does not say whether its CPU has them"))
    return "bfloat16"


def init_amp(ctxs):
    """Turn on MXNet's automatic mixed precision (``mxnet.contrib.amp``) for this process.

    It must run before the network is built: AMP rewrites the operators the
    network's graph is made of, casting to the low-precision type of
    :func:`amp_dtype` (float16 on GPUs, bfloat16 on a CPU
    with bfloat16 instructions) where its lists say it is safe (convolutions,
    dense layers) and keeping float32 elsewhere (BatchNorm statistics, softmax,
    the loss). The weights and the SGD update stay float32, so checkpoints and
    exports are float32 networks. It cannot be undone in the same process.

    Returns
    -------
    str
        The type, ``"float16"`` or ``"bfloat16"``.

    Raises
    ------
    UserError
        Devices without a fast low-precision type (see ``amp_dtype``).
    """
    dtype = amp_dtype(ctxs)
    from mxnet.contrib import amp

    amp.init(target_dtype=dtype)
    return dtype


def describe(contexts):
    return ", ".join(str(c) for c in contexts)
