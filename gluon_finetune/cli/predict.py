"""``gluon-finetune predict``: what a trained run says about new images."""
from ..inference.options import PredictOptions
from . import add_int8_options, add_options, add_run_options, checked_options, formatter, int8_predictor

DESCRIPTION = """\
Classify images with a trained run: one line per image with the predicted class
and its probability (softmax). Folders are searched for image files
(recursively). Images go through the run's own test preprocessing.

Files that cannot be read (missing, empty, not an image) are reported one by
one and do not stop the others. Exit status: 0 when every image was
classified, 1 when any failed, 2 for a usage error (e.g. RUN_DIR is not a run).

--json prints a list of {"path", "label", "probability", "top_k", "error"};
--csv prints path,label,probability[,label_2,probability_2,...],error.

--int8 predicts with the run quantised to INT8 by MXNet's oneDNN backend (CPU
only), calibrated on the run's training images (or --calib-data) with its test
preprocessing; the first call calibrates and caches the result in RUN_DIR/int8/,
later calls load it. --latency then times the model one image at a time (as a
service calls it) and prints the median and 95th percentile on stderr."""

EPILOG = """\
examples:
  gluon-finetune predict runs/hotdog lunch.jpg dinner.png
  gluon-finetune predict runs/hotdog photos/ --top-k 2
  gluon-finetune predict runs/hotdog photos/ --json > predictions.json
  gluon-finetune predict runs/hotdog photos/ --csv --checkpoint last > predictions.csv
  gluon-finetune predict runs/hotdog photos/ --int8 --latency

from Python:
  from gluon_finetune.inference.predict import load_run
  model = load_run("runs/hotdog")
  model.predict("lunch.jpg").label          # or a list of paths / HWC uint8 arrays
"""


def register(sub):
    p = sub.add_parser("predict", formatter_class=formatter,
                       help="classify images with a trained run",
                       description=DESCRIPTION, epilog=EPILOG)
    add_run_options(p, PredictOptions)
    p.add_argument("images", metavar="IMAGE_OR_FOLDER", nargs="+",
                   help="image files or folders, or CSV files listing images (relative to the "
                        "CSV's folder) in a column named path")
    add_options(p, PredictOptions, ["path_col", "top_k"])
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON")
    out.add_argument("--csv", action="store_true", help="print CSV")
    add_options(p, PredictOptions, ["batch_size"])
    add_int8_options(p, PredictOptions)
    add_options(p, PredictOptions, ["latency"])
    p.set_defaults(func=run)


def run(args):
    import csv
    import json
    import sys

    from ..inference.predict import load_run

    checked_options(PredictOptions, args)
    model = load_run(args.run, checkpoint=args.checkpoint, ctx=args.ctx, amp=args.amp,
                     weights=args.weights)
    if model.checkpoint["weights"] == "ema":
        # stderr: stdout stays the predictions (CSV, JSON)
        print("using the EMA weights of %s (--weights raw for the raw ones)" % model.path,
              file=sys.stderr)
    if args.int8:
        model = int8_predictor(model, args).predictor
    preds = model.predict_files(args.images, top_k=args.top_k, batch_size=args.batch_size,
                                path_col=args.path_col)
    k = min(args.top_k, len(model.classes))
    if args.json:
        print(json.dumps([p.to_dict() for p in preds], indent=2, ensure_ascii=False))
    elif args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        header = ["path", "label", "probability"]
        for rank in range(2, k + 1):
            header += ["label_%d" % rank, "probability_%d" % rank]
        writer.writerow(header + ["error"])
        for p in preds:
            row = [p.source]
            for rank in range(k):
                if p.ok:
                    row += [p.top[rank][0], "%.6f" % p.top[rank][1]]
                else:
                    row += ["", ""]
            writer.writerow(row + [p.error or ""])
    else:
        print(_table(preds, k))
    failed = [p for p in preds if not p.ok]
    if args.latency is not None and len(failed) < len(preds):
        from ..inference.predict import measure_latency

        t = measure_latency(model, [p.source for p in preds if p.ok], calls=args.latency)
        print("latency, one image at a time (%s, %d calls; preprocessing + network + softmax): "
              "median %.1f ms, p95 %.1f ms" % ("INT8" if args.int8 else "bfloat16/float16"
                                              if args.amp else "float32", t["calls"],
                                              t["median_ms"], t["p95_ms"]), file=sys.stderr)
    for p in failed:
        print("failed: %s" % p.error, file=sys.stderr)
    if failed:
        print("%d of %d images could not be classified" % (len(failed), len(preds)), file=sys.stderr)
    return 1 if failed else 0


def _table(preds, k):
    width = max([len(p.source) for p in preds] + [5])
    label_w = max([len(l) for p in preds for l, _ in p.top] + [5]
                  + [len("(unreadable)") for p in preds if not p.ok])
    head = "%-*s  %-*s  %11s" % (width, "image", label_w, "label", "probability")
    if k > 1:
        head += "  others"
    lines = [head]
    for p in preds:
        if not p.ok:
            lines.append("%-*s  %-*s  %11s" % (width, p.source, label_w, "(unreadable)", "-"))
            continue
        line = "%-*s  %-*s  %11.3f" % (width, p.source, label_w, p.label, p.probability)
        if k > 1:
            line += "  " + ", ".join("%s %.3f" % (l, pr) for l, pr in p.top[1:])
        lines.append(line)
    return "\n".join(lines)
