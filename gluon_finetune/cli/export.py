"""``gluon-finetune export``: a trained run as files a deployment can load without this package."""
from ..inference.options import ExportOptions
from . import add_int8_options, add_options, add_run_options, formatter

DESCRIPTION = """\
Export a run's network for deployment, with its labels and its test-time
preprocessing written as data:

  NAME-symbol.json, NAME-0000.params   the hybridized network (--format mxnet)
  NAME.onnx                            the same through MXNet's ONNX exporter (--format onnx)
  labels.json                          labels[i] names output i
  preprocessing.json                   resize shorter side, centre crop, scale, mean,
                                       std, RGB channel order, NCHW layout
  export.json                          run, checkpoint, epoch and versions it came from

Nothing here needs gluon-finetune to load:
  net = mxnet.gluon.SymbolBlock.imports("NAME-symbol.json", ["data"], "NAME-0000.params")
The network outputs logits: a softmax over axis 1 gives probabilities.

--format onnx needs the onnx extra (pip install "gluon-finetune[onnx]": onnx
1.18.0, the newest release MXNet 1.9.1's exporter works with). Run the .onnx with
onnxruntime in its own environment: every onnxruntime wheel for Python 3.11 needs
numpy>=1.24, which MXNet 1.9.1 cannot import.

--quantize int8 exports the network quantised to INT8 by MXNet's oneDNN backend
(NAME-int8-symbol.json + NAME-int8-0000.params, and quantization.json: the
calibration images and the layers kept in float32). It is calibrated on
--calib-images training images (default: the run's own training folder) with
the run's test preprocessing, and loads with the same SymbolBlock.imports line
on a CPU."""

EPILOG = """\
examples:
  gluon-finetune export runs/hotdog --out deploy/hotdog
  gluon-finetune export runs/hotdog --out deploy/hotdog-onnx --format onnx
  gluon-finetune export runs/hotdog --out deploy/last --checkpoint last --name hotdog
  gluon-finetune export runs/hotdog --out deploy/int8 --quantize int8 --calib-data data/hotdog
"""


def register(sub):
    p = sub.add_parser("export", formatter_class=formatter,
                       help="export a run for deployment (MXNet symbol + params, or ONNX)",
                       description=DESCRIPTION, epilog=EPILOG)
    add_run_options(p, ExportOptions)
    add_options(p, ExportOptions, ["out", "format", "name", "quantize"])
    add_int8_options(p)
    p.set_defaults(func=run)


def run(args):
    import dataclasses
    import os
    import sys

    from ..inference.export import export_run
    from ..inference.int8.options import Int8Options
    from ..options import from_args
    from ..runs.selection import checkpoint_label

    result = export_run(args.run, **dataclasses.asdict(from_args(ExportOptions, args)),
                        int8=Int8Options.from_args(args),
                        log=lambda line: print(line, file=sys.stderr, flush=True))
    print("exported %s (%s, epoch %s) as %s %s to %s"
          % (result["run"], checkpoint_label(result["checkpoint"], result.get("chosen_on"),
                                             result.get("weights", "raw")),
             result["epoch"], result["format"], result["precision"], result["out"]))
    for path in result["files"].values():
        print("  %-28s %10d bytes" % (os.path.basename(path), os.path.getsize(path)))
    print("  %-28s %10d bytes" % ("export.json", os.path.getsize(os.path.join(result["out"],
                                                                           "export.json"))))
    return 0
