"""``gluon-finetune evaluate``: how good is a trained run, class by class."""
from ..inference.options import EvaluateOptions
from . import add_int8_options, add_options, add_run_options, checked_options, formatter
from .train import add_csv_options

DESCRIPTION = """\
Evaluate a training run on a labelled image folder: accuracy, precision, recall
and F1 per class, a confusion matrix and the most confident mistakes.

Images go through the run's own test preprocessing (for the book's list: shorter
side to 256, centre crop 224, ImageNet mean/std; scaled to the run's
--image-size). Which images are used:
  DIR/train/ + DIR/test/             the test images
  DIR/<class>/, the run's own data   the part the run held out (its --split)
  any other DIR/<class>/             every image
The class folders must be the run's classes. Unreadable files are skipped and
listed.

--tta five-crop / ten-crop is the Gluon write-up's test-time trick: the softmax
of the four corner crops and the centre crop (and, with ten-crop, of their
mirror images) is averaged; both accuracies are reported, with and without.

Writes OUT/evaluation.json (every number and every image's prediction),
OUT/confusion.png and OUT/mistakes.png (plus OUT/confusion-<tta>.png with --tta).
OUT defaults to RUN/eval and is overwritten by the next evaluation there; a
folder holding other files is refused.

--int8 also evaluates the run quantised to INT8 by MXNet's oneDNN backend (CPU
only), calibrated on the run's training images (never the evaluated ones; or
--calib-data), and prints both accuracies and the share of labels that agree.
The quantised network is cached in RUN_DIR/int8/ for the next call."""

EPILOG = """\
examples:
  gluon-finetune evaluate runs/hotdog --data data/hotdog
  gluon-finetune evaluate runs/hotdog --data data/hotdog --tta ten-crop
  gluon-finetune evaluate runs/hotdog --data data/hotdog --int8 --calib-mode entropy
  gluon-finetune evaluate runs/hotdog --data new-photos/ --checkpoint last --out runs/hotdog/eval-new
"""


def register(sub):
    p = sub.add_parser("evaluate", formatter_class=formatter,
                       help="accuracy, per-class scores, confusion matrix and mistakes of a run",
                       description=DESCRIPTION, epilog=EPILOG)
    add_run_options(p, EvaluateOptions)
    p.add_argument("--data", required=True, metavar="DIR|CSV",
                   help="labelled image folder, or a CSV file of paths and labels (its test rows "
                        "when it has a split column)")
    add_csv_options(p)
    add_options(p, EvaluateOptions, ["tta", "out", "mistakes", "batch_size"])
    p.add_argument("--json", action="store_true", help="print evaluation.json instead of the table")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_int8_options(p, EvaluateOptions)
    p.set_defaults(func=run)


def run(args):
    import dataclasses
    import json
    import sys

    from ..inference.evaluate import evaluate_run
    from ..inference.int8.options import Int8Options

    options = checked_options(EvaluateOptions, args)
    settings = dataclasses.asdict(options)
    settings.pop("out")  # written below, by result.write
    settings["int8"] = Int8Options.from_args(args) if options.int8 else False
    result = evaluate_run(args.run, args.data, quiet=args.quiet, path_col=args.path_col,
                          label_col=args.label_col, **settings,
                          log=None if args.quiet else lambda line: print(line, file=sys.stderr,
                                                                         flush=True))
    result.write(options.out, mistakes=options.mistakes)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, sort_keys=True, ensure_ascii=False))
        return 0
    print(result.summary())
    print()
    for role in ("json", "confusion", "confusion_tta", "mistakes"):
        if role in result.files:
            print("wrote %s" % result.files[role])
    return 0
