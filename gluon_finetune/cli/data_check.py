"""``gluon-finetune data check``: check an image folder before training on it."""
from . import formatter
from .train import add_csv_options

DESCRIPTION = """\
Check an image folder before any training: find its layout, compare the class
folders of train/ and test/, and decode every file, so that a bad file is found
now and not at image 1,734 of epoch 3.

Layouts:
  DIR/train/<class>/*  and  DIR/test/<class>/*    the book's hotdog layout
  DIR/<class>/*                                   split for you: --split of each
                                                  class goes to test (seeded,
                                                  the same every time)
  labels.csv  with columns path,label[,split]     paths relative to the CSV's
                                                  folder; split: train, val, test

Refused (exit status 2): class folders that differ between train/ and test/,
fewer than two classes, a class without images. Unreadable files (empty,
truncated, not an image) are listed and skipped; --strict refuses them instead.
Grayscale, RGBA, palette, 16-bit and CMYK images are fine: they are read as RGB.
Hidden files and files without an image extension are ignored and counted.
Training runs the same check and skips the same files."""

EPILOG = """\
examples:
  gluon-finetune data check ~/.mxnet/datasets/hotdog
  gluon-finetune data check photos/ --split 0.25 --seed 1   # photos/<class>/*.jpg
  gluon-finetune data check photos/ --strict                # refuse any bad file
  gluon-finetune data check photos/ --json > report.json
  gluon-finetune data check labels.csv --label-col breed      # a CSV of paths and labels
"""


def register(actions):
    p = actions.add_parser("check", formatter_class=formatter,
                           help="check an image folder: classes, counts, unreadable files",
                           description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("dir", metavar="DIR|CSV", help="the data folder, or a CSV file of paths and labels")
    add_csv_options(p)
    p.add_argument("--strict", action="store_true",
                   help="refuse unreadable files instead of skipping them")
    p.add_argument("--split", type=float, default=None, metavar="FRACTION",
                   help="for DIR/<class>/* only: fraction of each class held out "
                        "for test (default: 0.2)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of that split (default: %(default)s)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes decoding images; 0 = none (default: one per core, "
                        "at most 4, for 200 files or more)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args):
    import json
    import warnings

    from ..data import DataWarning, check_folder

    with warnings.catch_warnings():
        # The report lists the skipped files itself; the warning is for library callers.
        warnings.simplefilter("ignore", DataWarning)
        report = check_folder(args.dir, split=args.split, split_seed=args.seed,
                              strict=args.strict, workers=args.workers, path_col=args.path_col,
                              label_col=args.label_col)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(report.summary())
    return 0
