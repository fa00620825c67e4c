"""Export a trained run for deployment: the network, its labels and its preprocessing as data.

``export_run(run, out)`` writes::

    OUT/
      NAME-symbol.json     the hybridized network's graph (HybridBlock.export)
      NAME-0000.params     its weights
      labels.json          ["hotdog", "not-hotdog"]: labels[i] names output i
      preprocessing.json   what to do to an image before the network sees it
      export.json          where it came from: run, checkpoint, epoch, versions

or, with ``format="onnx"``, ``NAME.onnx`` instead of the two MXNet files, made
by MXNet's own exporter (:func:`mxnet.onnx.export_model`) with a dynamic batch
dimension.

Nothing in the export needs this package. In MXNet::

    net = mx.gluon.SymbolBlock.imports("NAME-symbol.json", ["data"], "NAME-0000.params")

and ``preprocessing.json`` lists the steps (for the book's test list: shorter
side to ``resize_shorter`` pixels with bilinear interpolation, a centre crop of
``center_crop``, pixel values divided by 255, minus ``mean``, divided by
``std``, HWC RGB to CHW). The network outputs logits; a softmax over axis 1
gives probabilities.

With ``quantize="int8"`` the network is the run quantised to INT8 by MXNet's
oneDNN backend (:mod:`gluon_finetune.inference.int8.quantize`: calibrated on training images
with the run's test preprocessing), the files are ``NAME-int8-symbol.json`` and
``NAME-int8-0000.params``, and ``quantization.json`` records the calibration,
the layers kept in float32 and why. It loads the same way, on a CPU (the INT8
operators are oneDNN's; an MXNet build without oneDNN cannot run them).

ONNX: MXNet 1.9.1's exporter imports ``onnx.mapping``, which onnx 1.19 removed;
onnx 1.14.1 to 1.18.0 work (checked), so the ``onnx`` extra pins 1.18.0.
"""
import os
import shutil
import tempfile
import warnings

import numpy as np

from ..errors import OptionError, UserError, first_line
from ..fsutil import claim_folder, write_json
from ..networks import symbol_source
from ..options import check
from .int8.options import Int8Options
from .options import ExportOptions

#: The onnx release the ``onnx`` extra installs: the newest MXNet 1.9.1's exporter works with.
ONNX_REQUIREMENT = "onnx==1.18.0"

#: Written into preprocessing.json so a reader can tell which layout of the file it has.
PREPROCESSING_VERSION = 1

INPUT_NAME = "data"


def check_onnx():
    """Raise :class:`UserError` unless an onnx package MXNet's exporter can use is installed."""
    try:
        import onnx
    except ImportError:
        raise UserError("--format onnx needs the onnx package, which is not installed; install "
                        "the extra: pip install \"gluon-finetune[onnx]\" (%s), or from a checkout "
                        "pip install -e \".[onnx]\"" % ONNX_REQUIREMENT) from None
    try:
        from onnx import mapping  # noqa: F401  (what mxnet.onnx imports)
    except ImportError:
        raise UserError("onnx %s is too new for MXNet 1.9.1's exporter (it needs onnx.mapping, "
                        "removed in onnx 1.19); install %s"
                        % (onnx.__version__, ONNX_REQUIREMENT)) from None
    return onnx.__version__


def preprocessing_record(steps, input_size=None, output_name=None):
    """``preprocessing.json``: the test-time steps as data, with the common ones spelled out.

    Parameters
    ----------
    steps : list of dict
        From :func:`gluon_finetune.augment.spec.preprocessing_steps`.
    input_size : (int, int) or None
        The network's input (width, height) after the steps, when fixed.
    output_name : str, optional
        The name of the network's output.
    """
    first = {}
    for step in steps:
        first.setdefault(step["op"], step)
    normalize = first.get("normalize", {"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]})
    crop = first.get("center_crop")
    resize = first.get("resize_shorter")
    width, height = input_size if input_size else (None, None)
    return {
        "version": PREPROCESSING_VERSION,
        "input": {"name": INPUT_NAME, "layout": "NCHW", "channel_order": "RGB", "dtype": "float32",
                  "shape": [None, 3, height, width]},
        "resize_shorter": resize["size"] if resize else None,
        "center_crop": [crop["width"], crop["height"]] if crop else None,
        "interpolation": (resize or crop or {}).get("interpolation", "bilinear"),
        "pixel_scale": 1.0 / 255.0 if "to_tensor" in first else 1.0,
        "mean": list(normalize["mean"]),
        "std": list(normalize["std"]),
        "steps": steps,
        "output": {"name": output_name, "kind": "logits",
                   "probabilities": "softmax over axis 1", "labels": "labels.json"},
        "notes": [
            "Decode the image as 8-bit RGB (grayscale and RGBA converted to RGB), height x width x 3.",
            "resize_shorter S: scale so the shorter side is S and the longer floor(longer * S / "
            "shorter), with OpenCV's bilinear interpolation (cv2.INTER_LINEAR, as "
            "mxnet.image.resize_short); other resizers differ slightly.",
            "center_crop [W, H]: the W x H box at x = (width - W) // 2, y = (height - H) // 2 "
            "(mxnet.image.center_crop).",
            "Then x = (pixel * pixel_scale - mean) / std per channel, and HWC -> CHW, a batch "
            "dimension in front: the input is N x 3 x H x W float32.",
        ],
    }


def input_size_of(steps):
    """The (width, height) the steps end with, or None when it depends on the image."""
    size = None
    for step in steps:
        if step["op"] in ("center_crop", "resize"):
            size = (step["width"], step["height"])
        elif step["op"] in ("resize_shorter", "min_size"):
            size = None
    return size


def _prepare_out(out, files):
    """Make ``out``: missing, empty, or an earlier export (whose files are replaced)."""
    earlier = claim_folder(out, "export.json", "export")
    if earlier is not None:
        # Remove what the earlier export wrote, so a format switch leaves no stale model behind.
        for name in earlier.get("files", {}).values():
            path = os.path.join(out, os.path.basename(name))
            if os.path.isfile(path) and os.path.basename(name) not in files:
                os.remove(path)
    os.makedirs(out, exist_ok=True)


def export_run(run, out=None, format="mxnet", checkpoint="best", name=None, weights="auto",
               quantize=None, int8=None, log=None):
    """Export a run folder's network for deployment.

    Parameters
    ----------
    run : str
        A run folder written by ``gluon-finetune train``.
    out : str, optional
        Target folder (default ``RUN/export``): missing, empty, or an earlier
        export, whose files are replaced.
    format : {"mxnet", "onnx"}
        ``NAME-symbol.json`` + ``NAME-0000.params``, or ``NAME.onnx``.
    checkpoint : {"best", "last"}
    name : str, optional
        File name stem (default: the model's name, e.g. ``resnet18_v2``, with
        ``-int8`` when quantised).
    weights : {"auto", "ema", "raw"}
        The run's EMA weights when it has them (``auto``), or the raw ones;
        ``export.json`` says which (``weights``).
    quantize : {None, "int8"}
        Export the INT8 network (``format="mxnet"`` only).
    int8 : Int8Options, optional
        How ``quantize="int8"`` calibrates (default: its defaults; see
        :func:`gluon_finetune.inference.int8.quantize.quantize_run`).
    log : callable, optional
        Receives INT8 calibration progress lines.

    Returns
    -------
    dict
        The manifest written as ``export.json``; ``files`` maps each role
        (``symbol``, ``params`` or ``onnx``; ``labels``, ``preprocessing``;
        ``quantization`` for INT8) to its path.

    Raises
    ------
    UserError
        Unknown format, a bad run or checkpoint, a random test augmentation, a
        missing or unsuitable onnx package, an --out folder holding other files.
    """
    import mxnet as mx

    from .. import __version__
    from ..augment.spec import preprocessing_steps
    from ..runs.rundir import provenance
    from .predict import load_run

    check(ExportOptions(out=out, format=format, checkpoint=checkpoint, name=name, weights=weights,
                        quantize=quantize))
    int8 = Int8Options.of(int8)
    if quantize is not None:
        int8.check()
    elif int8.sets_calibration:
        raise OptionError("{calib_data} and {calib_images} go with {quantize} int8")
    onnx_version = check_onnx() if format == "onnx" else None
    model = load_run(run, checkpoint=checkpoint, ctx=mx.cpu(), weights=weights)
    steps = preprocessing_steps(model.augs)
    size = input_size_of(steps)
    quantized = None
    if quantize:
        from .int8.quantize import quantize_run

        quantized = quantize_run(model, int8, log=log)
    name = name or symbol_source.short_name(model.config.model) + ("-int8" if quantize else "")
    out = os.path.abspath(out or os.path.join(model.path, "export"))
    if format == "mxnet":
        model_files = {"symbol": "%s-symbol.json" % name, "params": "%s-0000.params" % name}
    else:
        model_files = {"onnx": "%s.onnx" % name}
    files = dict(model_files, labels="labels.json", preprocessing="preprocessing.json")
    if quantized:
        files["quantization"] = "quantization.json"
    _prepare_out(out, set(files.values()) | {"export.json"})

    width, height = size or (model.image_size, model.image_size)
    net = model.net
    net.hybridize()
    net(mx.nd.zeros((1, 3, height, width)))  # builds the cached graph that export() writes
    tmp = tempfile.mkdtemp(prefix=".export-", dir=out)
    try:
        stem = os.path.join(tmp, name)
        symbol, params = stem + "-symbol.json", stem + "-0000.params"
        if quantized:
            shutil.copyfile(quantized.symbol_file, symbol)
            shutil.copyfile(quantized.params_file, params)
        else:
            net.export(stem, epoch=0)
        output_name = mx.sym.load(symbol).list_outputs()[0]
        if format == "onnx":
            output_name = _to_onnx(symbol, params, os.path.join(tmp, model_files["onnx"]),
                                   (width, height), dynamic_size=size is None)
        for fname in model_files.values():
            os.replace(os.path.join(tmp, fname), os.path.join(out, fname))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if quantized:
        write_json(os.path.join(out, "quantization.json"), quantized.record)
    write_json(os.path.join(out, "labels.json"), model.classes)
    write_json(os.path.join(out, "preprocessing.json"),
               preprocessing_record(steps, size, output_name))
    manifest = {
        "format": format, "name": name, "files": files,
        "run": model.path, "checkpoint": checkpoint, "epoch": model.checkpoint.get("epoch"),
        "weights": model.checkpoint["weights"], "chosen_on": model.checkpoint["chosen_on"],
        "model": model.config.model, "classes": model.classes,
        "input": {"name": INPUT_NAME, "shape": [None, 3, size[1] if size else None,
                                                size[0] if size else None]},
        "output": output_name, "test_augs": model.config.test_augs,
        "precision": "int8" if quantized else "float32",
        "made_by": dict(provenance(), onnx=onnx_version, gluon_finetune=__version__),
    }
    write_json(os.path.join(out, "export.json"), manifest)
    return dict(manifest, out=out, files={k: os.path.join(out, v) for k, v in files.items()})


def _to_onnx(symbol, params, path, size, dynamic_size=False):
    """Convert an exported symbol + params pair to ONNX; return the graph's output name."""
    import mxnet as mx
    import onnx

    width, height = size
    dynamic_shape = (None, 3, None if dynamic_size else height, None if dynamic_size else width)
    try:
        with warnings.catch_warnings():
            # The exporter uses onnx.mapping, which onnx 1.14-1.18 flag as deprecated on every call.
            warnings.simplefilter("ignore", DeprecationWarning)
            mx.onnx.export_model(symbol, params, in_shapes=[(1, 3, height, width)],
                                 in_types=[np.float32], onnx_file_path=path, dynamic=True,
                                 dynamic_input_shapes=[dynamic_shape])
    except Exception as err:
        raise UserError("MXNet's ONNX exporter (onnx %s) failed on this network: %s; the MXNet "
                        "export (--format mxnet) still works" % (onnx.__version__, first_line(err))) from None
    graph = onnx.load(path).graph
    return graph.output[0].name
