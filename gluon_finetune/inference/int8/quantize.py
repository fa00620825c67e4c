"""INT8 inference for a trained run: calibrate, quantise with oneDNN, cache the result.

::

    >>> from gluon_finetune.inference.predict import load_run          # doctest: +SKIP
    >>> from gluon_finetune.inference.int8.quantize import quantize_run
    >>> q = quantize_run(load_run("runs/hotdog", ctx="cpu"))
    >>> q.predictor.predict("lunch.jpg").label               # the INT8 network
    'hotdog'

MXNet 1.9.1's post-training quantisation (:func:`mxnet.contrib.quantization.quantize_net_v2`)
fuses the graph with the ``MKLDNN_QUANTIZE`` subgraph backend (convolution +
BatchNorm + ReLU + residual add in one oneDNN primitive), runs the float32
network over *calibration images* to learn every layer's output range
(``naive``: min/max; ``entropy``: the range whose INT8 histogram is closest, in
KL divergence, to the float32 one), and writes INT8 weights with those ranges
baked in, so no range is computed at run time.

Calibration images are the run's *training* images (never its test images: the
accuracy ``evaluate --int8`` reports would otherwise have seen its own test
set), sampled with a seed and put through the run's test-time preprocessing,
which is what the network sees when it is used.

Layers kept in float32 (:func:`excluded_layers`, ``keep_float``): by default
only the output layer, whose logits are the answer. Everything else runs in
INT8, after one repair of MXNet's quantised graph (:mod:`gluon_finetune.inference.int8.graph`):
ResNet v2's first residual sum adds an unsigned shortcut into a signed result,
which MXNet 1.9.1's fused INT8 convolution + sum gets wrong (its negative values
are lost), so that shortcut is converted to int8 first. Measured on the demo's
fine-tuned run (200 synthetic test pictures, ``scripts/int8_accuracy.py``):
without the repair, INT8 gave float32's label on 95.5% of them and lost 1.5
points, with naive and entropy calibration alike, and only keeping that sum (or
its convolution, or the whole first stage) in float32 brought it back, at a
quarter to a half of INT8's throughput; with the repair it agrees on 99.5% at
full INT8 speed. ``"first-conv"`` (also the first convolution, whose input is
the normalised picture) and ``"stage1"`` (also the first stage's convolutions)
remain for comparison. The choice is recorded in ``quantization.json`` beside
the weights, with the repaired sums and how well the INT8 network agreed with
float32 on the calibration images.

The result is cached in ``RUN/int8/<key>/``; the key hashes the checkpoint's
weights file, the calibration settings and the list of calibration files, so a
retrained checkpoint (or new training images) gets a fresh calibration.
"""
import dataclasses
import hashlib
import json
import os
import random
import shutil
import tempfile
import warnings

import numpy as np

from ... import capability
from ...data import SINGLE, TRAIN_TEST, find_layout, list_images, scan_folder
from ...errors import UserError, first_line
from ...fsutil import read_json, write_json
from ...imageio import ImageReadError
from . import graph as int8_graph
from .options import (  # noqa: F401 (CALIB_MODES, KEEP_FLOAT: the choices, named here too)
    CALIB_MODES,
    DEFAULT_CALIB_IMAGES,
    DEFAULTS,
    KEEP_FLOAT,
    MIN_CALIB_IMAGES,
    Int8Options,
)

#: The options' defaults live in one place: :class:`~gluon_finetune.inference.int8.options.Int8Options`.
DEFAULT_CALIB_MODE = DEFAULTS.calib_mode
DEFAULT_CALIB_SEED = DEFAULTS.seed
#: quantize_net_v2 settings: per-channel weight scales keep accuracy for the same speed;
#: "smart" leaves alone operators oneDNN would run slower in INT8 than in float32.
QUANTIZE_MODE = "smart"
#: "auto": uint8 after ReLUs, int8 elsewhere. int8 everywhere was 4% slower here and still
#: gave the unsigned first shortcut (the stem's ReLU output stays uint8), so no cure for it.
QUANTIZED_DTYPE = "auto"
GRANULARITY = "channel-wise"
#: The cache folder inside a run, and the layout version of what it holds.
CACHE_FOLDER = "int8"
CACHE_VERSION = 2  # 2: the signed-sum repair (int8_graph)
STEM = "int8"
DEFAULT_KEEP_FLOAT = DEFAULTS.keep_float
INPUT_NAME = "data"


@dataclasses.dataclass
class Quantized:
    """An INT8 network made (or found cached) by :func:`quantize_run`.

    Attributes
    ----------
    predictor : gluon_finetune.inference.predict.Predictor
        The run's predictor with the INT8 network in place of the float32 one.
    record : dict
        ``quantization.json``: checkpoint digest, calibration settings and files,
        excluded layers and why, float32 agreement on the calibration images.
    folder : str
        The cache folder holding ``int8-symbol.json``, ``int8-0000.params``,
        ``quantization.json``.
    cached : bool
        True when it was loaded from the cache rather than calibrated now.
    """

    predictor: object
    record: dict
    folder: str
    cached: bool

    @property
    def symbol_file(self):
        return os.path.join(self.folder, "%s-symbol.json" % STEM)

    @property
    def params_file(self):
        return os.path.join(self.folder, "%s-0000.params" % STEM)


# --------------------------------------------------------------------------- checks


def check_int8_context(ctx):
    """Refuse a GPU context: MXNet's INT8 path here is oneDNN, a CPU library."""
    if getattr(ctx, "device_type", "cpu") != "cpu":
        raise UserError("--int8 runs on the CPU only (MXNet's oneDNN backend); got --ctx %s. "
                        "Use --ctx cpu, or drop --int8 and use --amp (float16) on the GPU "
                        "(INT8 on GPUs through TensorRT is not supported)" % (ctx,))


def int8_speed_note(flags=None):
    """A warning when the CPU lacks VNNI/AMX INT8 instructions (None when it has them).

    oneDNN still runs INT8 without them (with AVX2 or AVX-512 multiply-adds), so
    it works, but it may not be faster than float32.
    """
    if capability.has_int8_speedup(flags) is not False:
        return None
    return ("this CPU has no VNNI or AMX INT8 instructions (%s in %s): INT8 inference "
            "works but may not be faster than float32"
            % (" / ".join(capability.INT8_CPU_FLAGS), capability.cpuinfo_path()))


# --------------------------------------------------------------------------- calibration images


def calibration_pool(config, calib_data=None):
    """Every training image calibration may draw from: ``(paths, description)``.

    - ``calib_data`` None: the run's own training data (``config.json``'s
      ``data``): ``train/`` of a train/test folder, or the training part of the
      run's split of a single folder (same split, same seed as training);
    - ``calib_data`` with ``train/`` and ``test/``: its ``train/`` images only;
    - any other folder: every image below it.

    Raises
    ------
    UserError
        No data folder recorded and none given, a folder that does not exist or
        holds no images.
    """
    option = "--calib-data"
    if calib_data is None:
        if not config.data:
            raise UserError("the run's config.json records no training folder to calibrate on; "
                            "give one with --calib-data DIR")
        calib_data, option = config.data, "the run's training folder"
        if not os.path.isdir(str(calib_data)):
            raise UserError("%s %s (from config.json) is gone; give the training images with "
                            "--calib-data DIR" % (option, calib_data))
    folder = os.path.abspath(str(calib_data))
    if not os.path.isdir(folder):
        raise UserError("%s %s is not a folder; give a folder of training images (or a dataset "
                        "folder with train/ and test/, whose train/ is used)" % (option, calib_data))
    same = bool(config.data and os.path.realpath(str(config.data)) == os.path.realpath(folder))
    layout = _layout(folder)
    if layout == TRAIN_TEST:
        paths = [p for p, _ in scan_folder(folder).items["train"]]
        what = "%s (training images)" % os.path.join(folder, "train")
    elif layout == SINGLE and same:
        paths = [p for p, _ in scan_folder(folder, split=config.split).items["train"]]
        what = "%s (the run's training split)" % folder
    else:
        paths = list_images(folder, recursive=True)
        what = folder
    if not paths:
        raise UserError("%s %s holds no image files to calibrate on" % (option, calib_data))
    return sorted(paths), what


def _layout(folder):
    try:
        return find_layout(folder)
    except UserError:  # loose images, or a lone train/: a plain folder of images then
        return None


def pick_calibration_files(paths, n=None, seed=DEFAULT_CALIB_SEED):
    """``n`` of ``paths`` drawn with ``seed`` (all of them when there are fewer), sorted.

    Raises
    ------
    UserError
        When ``n`` was asked for and there are fewer, or there are fewer than
        :data:`MIN_CALIB_IMAGES`.
    """
    if len(paths) < MIN_CALIB_IMAGES:
        raise UserError("only %d calibration image%s found; INT8 calibration needs at least %d "
                        "training images (give another folder with --calib-data)"
                        % (len(paths), "" if len(paths) == 1 else "s", MIN_CALIB_IMAGES))
    if n is not None and int(n) > len(paths):
        raise UserError("--calib-images %d asks for more images than the %d training images "
                        "found; use --calib-images %d or fewer" % (int(n), len(paths), len(paths)))
    n = min(DEFAULT_CALIB_IMAGES, len(paths)) if n is None else int(n)
    return sorted(random.Random(seed).sample(sorted(paths), n))


def calibration_batches(predictor, paths, batch_size=32):
    """The preprocessed calibration images as a Gluon DataLoader; unreadable files skipped.

    Returns ``(loader, used paths, skipped (path, reason))``.
    """
    import mxnet as mx

    tensors, used, skipped = [], [], []
    for path in paths:
        try:
            tensors.append(predictor.preprocess(path))
            used.append(path)
        except ImageReadError as err:
            skipped.append((path, str(err)))
    if len(used) < MIN_CALIB_IMAGES:
        raise UserError("only %d of %d calibration images could be read (first problem: %s); "
                        "INT8 calibration needs at least %d" % (
                            len(used), len(paths), skipped[0][1] if skipped else "none",
                            MIN_CALIB_IMAGES))
    if len({t.shape for t in tensors}) > 1:
        raise UserError("the run's test preprocessing gives images of different sizes (it has "
                        "no crop or resize to a fixed size); INT8 calibration needs one input size")
    x = mx.nd.stack(*tensors)
    dataset = mx.gluon.data.ArrayDataset(x, mx.nd.zeros((len(used),)))
    return mx.gluon.data.DataLoader(dataset, batch_size=batch_size), used, skipped


# --------------------------------------------------------------------------- quantisation


def excluded_layers(net, keep_float=DEFAULT_KEEP_FLOAT):
    """The layers to keep in float32, ``{symbol name: reason}``.

    The output layer; with ``keep_float="first-conv"`` also the first
    convolution, with ``"stage1"`` also the convolutions of the first stage
    (names with ``stage1_``).
    """
    import mxnet as mx

    sym = net(mx.sym.var(INPUT_NAME))
    nodes = json.loads(sym.tojson())["nodes"]
    convs = [n["name"] for n in nodes if n["op"] == "Convolution"]
    dense = [n["name"] for n in nodes if n["op"] == "FullyConnected"]
    out = {}
    if keep_float in ("first-conv", "stage1") and convs:
        out[convs[0]] = ("first convolution: its input is the normalised image "
                         "(--keep-float %s)" % keep_float)
    if keep_float == "stage1":
        for name in convs[1:]:
            if "stage1_" in name:
                out[name] = "first stage (--keep-float stage1)"
    if dense:
        out[dense[-1]] = "output layer: the logits are the answer"
    return out


def quantize_network(net, loader, calib_mode=DEFAULT_CALIB_MODE, exclude=(), ctx=None):
    """``net`` (a float32 HybridBlock) quantised to INT8 and calibrated on ``loader``.

    Returns ``(network, repaired sums)``: the network with
    :func:`gluon_finetune.inference.int8.graph.repair` applied, hybridized with static
    shapes, and the list of residual sums that repair converted.
    """
    import mxnet as mx
    from mxnet.contrib import quantization

    ctx = ctx or mx.cpu()
    try:
        with warnings.catch_warnings():
            # The SymbolBlock it builds cannot infer its input's type before the first call.
            warnings.simplefilter("ignore", UserWarning)
            qnet = quantization.quantize_net_v2(
                net, quantized_dtype=QUANTIZED_DTYPE, quantize_mode=QUANTIZE_MODE,
                quantize_granularity=GRANULARITY, exclude_layers=list(exclude),
                calib_data=loader, calib_mode=calib_mode,
                num_calib_examples=len(loader._dataset), ctx=ctx, logger=None)
    except Exception as err:
        raise UserError("MXNet could not quantise this network: %s" % first_line(err)) from None
    qnet, fixed = int8_graph.repair(qnet, INPUT_NAME)
    _hybridize(qnet)
    return qnet, fixed


def _hybridize(net):
    """Static memory and shapes: a fixed input shape (one picture at a time, or full batches)
    then runs without re-planning the graph; batch-1 latency was 4x lower than with
    ``static_alloc`` alone (docs/bench/int8-static-shape-latency.txt)."""
    net.hybridize(static_alloc=True, static_shape=True)


def load_int8(folder, stem=STEM):
    """The INT8 network saved in ``folder`` (``STEM-symbol.json`` + ``STEM-0000.params``)."""
    import mxnet as mx

    with warnings.catch_warnings():
        # Its input's type is only known at the first call (INT8 weights, float32 data).
        warnings.simplefilter("ignore", UserWarning)
        return mx.gluon.SymbolBlock.imports(os.path.join(folder, "%s-symbol.json" % stem),
                                            [INPUT_NAME],
                                            os.path.join(folder, "%s-0000.params" % stem),
                                            ctx=mx.cpu())


def _logits(net, loader):
    return np.concatenate([net(x).asnumpy() for x, _ in loader])


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def file_digest(path):
    """sha256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_key(params_digest, settings, files):
    """The cache entry's name: weights, calibration settings and files, MXNet version, hashed."""
    import mxnet as mx

    blob = json.dumps({"params": params_digest, "settings": settings, "files": files,
                       "mxnet": mx.__version__, "version": CACHE_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def quantize_run(predictor, options=None, cache=True, log=None, **fields):
    """The INT8 version of a loaded run, calibrated on its training images (cached in the run).

    Parameters
    ----------
    predictor : gluon_finetune.inference.predict.Predictor
        From :func:`gluon_finetune.inference.predict.load_run` on the CPU, without AMP.
    options : Int8Options, optional
        Calibration folder, image count, mode, float32 layers and seed (default:
        :class:`~gluon_finetune.inference.int8.options.Int8Options`'s defaults).
    **fields
        Any field of :class:`~gluon_finetune.inference.int8.options.Int8Options`
        (``calib_images=64, keep_float="first-conv"``), replacing the one of ``options``.
    cache : bool
        Look for and store the result in ``RUN/int8/<key>/``.
    log : callable, optional
        Receives progress lines (calibration, a CPU without VNNI, cache use).

    Returns
    -------
    Quantized

    Raises
    ------
    UserError
        A GPU context, bad calibration options or folder, too few readable images.
    """
    import mxnet as mx

    from ..predict import Predictor

    log = log or (lambda line: None)
    check_int8_context(predictor.ctx)
    options = Int8Options.of(options, **fields).check()
    calib_mode, keep_float, seed = options.calib_mode, options.keep_float, options.seed
    note = int8_speed_note()
    if note:
        log("note: " + note)
    pool, where = calibration_pool(predictor.config, options.calib_data)
    files = pick_calibration_files(pool, options.calib_images, seed)
    exclude = excluded_layers(predictor.net, keep_float)
    settings = {"calib_mode": calib_mode, "calib_images": len(files), "seed": seed,
                "quantize_mode": QUANTIZE_MODE, "granularity": GRANULARITY,
                # By role, not by name: Gluon numbers a network's layer names by how many
                # networks the process built before it, and the cache outlives the process.
                "keep_float": keep_float}
    params_digest = file_digest(predictor.checkpoint["params"])
    key = cache_key(params_digest, settings, files)
    root = os.path.join(predictor.path, CACHE_FOLDER)
    folder = os.path.join(root, key)

    def wrap(net):
        return Predictor(net, predictor.classes, predictor.augs, predictor.ctx,
                         config=predictor.config, path=predictor.path,
                         checkpoint=predictor.checkpoint)

    if cache and os.path.isfile(os.path.join(folder, "quantization.json")):
        record = read_json(os.path.join(folder, "quantization.json"))
        net = load_int8(folder)
        _hybridize(net)
        log("INT8 network from the cache %s" % folder)
        return Quantized(wrap(net), record, folder, cached=True)

    log("calibrating INT8 (%s) on %d training images from %s" % (calib_mode, len(files), where))
    loader, used, skipped = calibration_batches(predictor, files)
    qnet, fixed = quantize_network(predictor.net, loader, calib_mode, exclude, ctx=mx.cpu())
    ref, got = _logits(predictor.net, loader), _logits(qnet, loader)
    record = {
        "version": CACHE_VERSION, "key": key, "run": predictor.path,
        "checkpoint": predictor.checkpoint.get("tag"), "epoch": predictor.checkpoint.get("epoch"),
        "params": predictor.checkpoint["params"], "params_sha256": params_digest,
        "calibration": dict(settings, folder=where, files=used,
                            skipped=[{"path": p, "reason": r} for p, r in skipped]),
        "excluded_layers": exclude,
        "signed_sum_inputs": fixed,
        "agreement_on_calibration": {
            "labels": float((ref.argmax(axis=1) == got.argmax(axis=1)).mean()),
            "max_probability_difference": float(np.abs(_softmax(ref) - _softmax(got)).max()),
            "images": len(used)},
        "mxnet": mx.__version__,
    }
    if cache:
        folder = _store(qnet, record, root, key, loader)
    if fixed:
        log("converted the unsigned shortcut of %d fused residual sum%s to int8 (MXNet 1.9.1 "
            "would drop the sum's negative values: see gluon_finetune.inference.int8.graph)"
            % (len(fixed), "" if len(fixed) == 1 else "s"))
    log("INT8 labels agree with float32 on %.1f%% of the calibration images"
        % (100 * record["agreement_on_calibration"]["labels"]))
    return Quantized(wrap(qnet), record, folder if cache else None, cached=False)


def _store(qnet, record, root, key, loader):
    """Write the cache entry whole or not at all: into a temporary folder, then renamed."""
    os.makedirs(root, exist_ok=True)
    folder = os.path.join(root, key)
    tmp = tempfile.mkdtemp(prefix=".%s-" % key, dir=root)
    try:
        x = next(iter(loader))[0]
        qnet(x)  # export() writes the graph of the last call
        qnet.export(os.path.join(tmp, STEM), epoch=0)
        write_json(os.path.join(tmp, "quantization.json"), record)
        _prune(root, record)
        if os.path.isdir(folder):  # another process got there first: same key, same content
            shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _prune(root, record):
    """Drop cached entries of the same checkpoint name made from other weights (stale)."""
    for name in os.listdir(root):
        path = os.path.join(root, name, "quantization.json")
        if name.startswith(".") or not os.path.isfile(path):
            continue
        try:
            old = read_json(path)
        except (OSError, ValueError):
            continue
        if old.get("checkpoint") == record["checkpoint"] and \
                old.get("params_sha256") != record["params_sha256"]:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
