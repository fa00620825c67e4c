#!/usr/bin/env python
"""Accuracy of a run's INT8 (and fused float32) network beside float32: one line per choice.

For each ``--keep-float`` choice and ``--calib-mode``, the run is quantised as
``evaluate --int8`` does (calibrated on its training images, cached in
``RUN/int8/``) and evaluated on DATA's test images; each JSON line holds the
float32 and INT8 accuracy, the share of labels that agree, the largest
probability difference and the layers kept in float32. A last line compares the
oneDNN-fused float32 graph (``load_run(..., fuse=True)``) with the plain one.

    gluon-finetune demo --out /tmp/demo
    python scripts/int8_accuracy.py /tmp/demo/compare/finetune /tmp/demo/data/hotdog \\
        --jsonl docs/bench/int8-accuracy-demo.jsonl

The README's deployment table takes its accuracy column from these lines.
"""
import argparse
import json
import os
import sys
import tempfile
import time

from gluon_finetune.cli import apply_threads, run_guarded


def parse_args(argv=None):
    from gluon_finetune.inference.int8.options import CALIB_MODES, KEEP_FLOAT

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 2)[2])
    p.add_argument("run", help="a training run folder (the demo's: OUT/compare/finetune)")
    p.add_argument("data", help="labelled images with the run's classes (the demo's: "
                                "OUT/data/hotdog, whose test/ is used)")
    p.add_argument("--keep-float", default=",".join(KEEP_FLOAT), metavar="LIST",
                   help="comma-separated --keep-float choices (default: %(default)s)")
    p.add_argument("--calib-mode", default="naive", metavar="LIST",
                   help="comma-separated calibration modes, of %s (default: %%(default)s)"
                        % ", ".join(CALIB_MODES))
    p.add_argument("--no-fused", action="store_true", help="skip the fused float32 line")
    p.add_argument("--jsonl", metavar="FILE", help="also write the lines to FILE")
    p.add_argument("--threads", type=int, help="MXNet threads (default: every core)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    apply_threads(args)
    from gluon_finetune.errors import UserError
    from gluon_finetune.inference import evaluate
    from gluon_finetune.inference.int8.options import Int8Options
    from gluon_finetune.inference.predict import load_run

    keeps = [k for k in args.keep_float.split(",") if k]
    modes = [m for m in args.calib_mode.split(",") if m]
    for keep in keeps:
        for mode in modes:
            Int8Options(calib_mode=mode, keep_float=keep).check()
    common = {"impl": "gluon-finetune", "run": os.path.abspath(args.run),
              "data": os.path.abspath(args.data)}
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for keep in keeps:
            for mode in modes:
                tic = time.perf_counter()
                result = evaluate.evaluate_run(args.run, args.data, out=tmp, quiet=True,
                                               int8=Int8Options(calib_mode=mode, keep_float=keep),
                                               mistakes=0, ctx="cpu")
                q = result.int8
                lines.append(dict(common, bench="int8_accuracy", keep_float=keep,
                                  calib_mode=mode, images=result.plain["images"],
                                  accuracy_float32=result.accuracy, accuracy_int8=q["accuracy"],
                                  agreement=q["agreement"],
                                  max_probability_difference=q["max_probability_difference"],
                                  float32_layers=q["quantization"]["excluded_layers"],
                                  calib_images=q["quantization"]["calib_images"],
                                  seconds=round(time.perf_counter() - tic, 1)))
                print(json.dumps(lines[-1]), flush=True)
    if not args.no_fused:
        plain = load_run(args.run, ctx="cpu")
        items, _ = evaluate.evaluation_items(args.data, plain.classes, plain.config)
        if not items:
            raise UserError("no test images with the run's classes in %s" % args.data)
        paths = [p for p, _ in items]
        a = plain.probabilities(paths)
        b = load_run(args.run, ctx="cpu", fuse=True).probabilities(paths)
        lines.append(dict(common, bench="fused_accuracy", images=len(paths),
                          agreement=float((a.argmax(axis=1) == b.argmax(axis=1)).mean()),
                          max_probability_difference=float(abs(a - b).max())))
        print(json.dumps(lines[-1]), flush=True)
    if args.jsonl:
        with open(args.jsonl, "w") as f:
            f.writelines(json.dumps(line) + "\n" for line in lines)
    return 0


if __name__ == "__main__":
    sys.exit(run_guarded(main))
