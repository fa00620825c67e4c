"""``gluon-finetune data show``: a PNG grid of training images, as in the book."""
from . import formatter

DESCRIPTION = """\
Draw training images of a data folder into a PNG grid, to see what the network
will see (sizes and aspect ratios vary; the loaders crop and resize them).

Two classes give the book's figure: the first N images of the first class
(hotdog) on the top row, the last N of the second class (not-hotdog) below.
More classes give one row per class with its first N images, for the first
--max-classes classes (alphabetical, as the labels are numbered). Images are
the training split (for DIR/<class>/*, the same seeded split as `data check`)."""

EPILOG = """\
examples:
  gluon-finetune data show ~/.mxnet/datasets/hotdog --out samples.png
  gluon-finetune data show photos/ --n 6 --max-classes 5 --out photos.png
"""


def register(actions):
    p = actions.add_parser("show", formatter_class=formatter,
                           help="draw a grid of training images into a PNG",
                           description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("dir", metavar="DIR", help="the data folder")
    p.add_argument("--out", default="samples.png", help="PNG to write (default: %(default)s)")
    p.add_argument("--n", type=int, default=8, metavar="N",
                   help="images per row (default: %(default)s)")
    p.add_argument("--max-classes", type=int, default=8, metavar="K",
                   help="rows at most, when there are more than two classes "
                        "(default: %(default)s)")
    p.add_argument("--scale", type=float, default=1.4,
                   help="inches per image (default: %(default)s, the book's)")
    p.add_argument("--split", type=float, default=None, metavar="FRACTION",
                   help="for DIR/<class>/* only: fraction held out for test (default: 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of that split (default: %(default)s)")
    p.set_defaults(func=run)


def run(args):
    from .. import plots
    from ..data import sample_images
    from ..errors import UserError

    if args.n < 1 or args.max_classes < 1:
        raise UserError("--n and --max-classes must be at least 1")
    s = sample_images(args.dir, n=args.n, max_classes=args.max_classes, split=args.split,
                      split_seed=args.seed)
    plots.show_images(s.images, s.num_rows, s.num_cols, scale=args.scale, titles=s.titles,
                      out=args.out)
    if len(s.classes) == 2:
        what = "first %d %r and last %d %r training images" % (
            s.num_cols, s.shown[0], s.num_cols, s.shown[1])
    else:
        what = "first %d training images of %s" % (s.num_cols, ", ".join(map(repr, s.shown)))
        if len(s.classes) > len(s.shown):
            what += " (%d of %d classes; see --max-classes)" % (len(s.shown), len(s.classes))
    print("wrote %s: %s" % (args.out, what))
    return 0
