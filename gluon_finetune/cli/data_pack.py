"""``gluon-finetune data pack``: write an image folder as MXNet RecordIO files."""
from . import formatter
from .train import add_csv_options

DESCRIPTION = """\
Pack an image folder (or a CSV of paths and labels) into MXNet's RecordIO format,
one file of records and an index, the way MXNet's im2rec writes them:

  DIR/train/ + DIR/test/ [+ DIR/val/]   NAME.rec, NAME-test.rec [, NAME-val.rec]
  DIR/<class>/*                         NAME.rec with every image (train splits it
                                        by --split, seeded, as it splits DIR)

Each .rec gets its .idx (record offsets) and .lst (im2rec's list: key, label,
path), and NAME-classes.json keeps the class names. mx.io.ImageRecordIter,
gluon.data.vision.ImageRecordDataset and GluonCV's --use-rec scripts read them;
so do train, data check, evaluate and predict with --data NAME.rec.

Images keep their bytes as they are (JPEG or not): trained with the same seed, a
packed folder gives the same numbers as the folder itself. --max-side re-encodes
them as JPEG, scaled down to fit (smaller files, faster decoding; other numbers).
One file instead of thousands helps where opening files is slow: network disks,
many small images. Files are written under temporary names and renamed at the end,
so an interrupted pack leaves nothing; earlier files are replaced only with
--overwrite."""

EPILOG = """\
examples:
  gluon-finetune data pack ~/.mxnet/datasets/hotdog --out packed/hotdog
  gluon-finetune train --data packed/hotdog.rec --epochs 5
  gluon-finetune data pack photos/ --out photos --max-side 512 --quality 90
"""


def register(actions):
    p = actions.add_parser("pack", formatter_class=formatter,
                           help="write an image folder as RecordIO (.rec, .idx, .lst)",
                           description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("dir", metavar="DIR|CSV", help="the data folder, or a CSV file of paths and labels")
    p.add_argument("--out", required=True, metavar="NAME",
                   help="where to write: NAME.rec, NAME.idx, NAME.lst (and NAME-test.*, "
                        "NAME-classes.json); its folder must exist")
    p.add_argument("--max-side", type=int, metavar="PX",
                   help="re-encode as JPEG, scaled down so no side is longer than PX "
                        "(default: keep each file's bytes)")
    p.add_argument("--quality", type=int, metavar="Q",
                   help="JPEG quality when re-encoding, 1-100 (default: 95); alone, "
                        "re-encodes at full size")
    p.add_argument("--overwrite", action="store_true",
                   help="replace earlier files named NAME")
    add_csv_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args):
    from ..data.recordio import pack_folder
    from ..fsutil import display_path

    result = pack_folder(args.dir, args.out, max_side=args.max_side, quality=args.quality,
                         overwrite=args.overwrite, quiet=args.quiet, path_col=args.path_col,
                         label_col=args.label_col)
    counts = ", ".join("%d %s" % (n, s) for s, n in result["counts"].items())
    print("packed %s records (%d classes%s) into %.1f MB in %.1f s:" % (
        counts, len(result["classes"]), ", re-encoded as JPEG" if result["reencoded"] else "",
        result["bytes"] / 1e6, result["seconds"]))
    for path in result["files"]:
        if path.endswith(".rec"):
            print("  %s" % display_path(path))
    print("train on it: gluon-finetune train --data %s" % display_path(result["files"][1]))
    return 0
