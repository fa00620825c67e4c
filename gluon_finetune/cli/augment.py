"""``gluon-finetune augment``: preview augmentations on a picture, as in the book."""
from . import formatter

DESCRIPTION = """\
Draw random augmentations of one picture into a PNG grid, as the book's
`apply(img, aug)` does. Without IMAGE a built-in picture is used; without
--augs you get one row per augmentation the book shows (flips, random-resized
crop, brightness, hue, contrast, all colours, and their composition).

An augmentation spec is a comma-separated list of words applied in order:
  resize:S  force_resize:WxH  resized_crop:S[:AREA_LO-AREA_HI[:RATIO_LO-RATIO_HI]]
  crop:S  center_crop:S  min_size:S  flip[:P]  vflip[:P]  gray[:P]
  brightness:F  contrast:F  saturation:F  hue:F  color:F  color:B:C:S:H
  to_tensor  normalize  book_train[:S]  book_test[:S]
Colour factors mean what they mean in torchvision's ColorJitter.

Automatic policies and random erasing (put them after the crop and flip):
  trivial_augment  rand_augment[:N[:M]]  auto_augment  erasing[:P[:VALUE]]
Their operations, one at a time, at the policies' magnitudes (signed ones
flip sign at random unless written with one: rotate:+30), P = 1 by default:
  rotate:DEG[:P]  shear_x:M[:P]  shear_y:M[:P]  translate_x:PX[:P]
  translate_y:PX[:P]  enhance_brightness:M[:P]  enhance_color:M[:P]
  enhance_contrast:M[:P]  enhance_sharpness:M[:P]  posterize:BITS[:P]
  solarize:T[:P]  autocontrast[:P]  equalize[:P]  invert[:P]  identity"""

EPILOG = """\
examples:
  gluon-finetune augment --out book.png                     # the book's figures, one row each
  gluon-finetune augment cat.jpg --augs flip --out flip.png # one augmentation, 2 x 4 grid
  gluon-finetune augment --augs "resized_crop:200:0.1-1:0.5-2" --augs "color:0.5" --out two.png
  gluon-finetune augment --augs book_train --seed 1 --out train.png
  gluon-finetune augment --augs trivial_augment --out grid.png
  gluon-finetune augment --augs "resized_crop:224,flip,rand_augment:2:9,erasing" --out ra.png
"""


def register(sub):
    p = sub.add_parser("augment", formatter_class=formatter, help="preview augmentations on a picture",
                       description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("image", nargs="?", help="picture to augment (default: a built-in hotdog scene)")
    p.add_argument("--augs", action="append", metavar="SPEC",
                   help="augmentation spec; repeat for one row per spec (default: the book's set)")
    p.add_argument("--out", default="augment.png", help="PNG to write (default: %(default)s)")
    p.add_argument("--rows", type=int, default=2, help="grid rows for a single --augs (default: 2)")
    p.add_argument("--cols", type=int, default=4, help="samples per row (default: 4)")
    p.add_argument("--scale", type=float, default=1.5, help="inches per image (default: 1.5)")
    p.add_argument("--seed", type=int, default=0, help="random seed, so the grid repeats (default: 0)")
    p.set_defaults(func=run)


def run(args):
    import mxnet as mx

    from .. import augment
    from ..augment import spec as augspec
    from ..errors import UserError
    from ..imageio import read_image

    if args.rows < 1 or args.cols < 1:
        raise UserError("--rows and --cols must be at least 1")
    specs = args.augs or augspec.BOOK_EXAMPLES
    rows = [(spec, augspec.parse_spec(spec)) for spec in specs]
    if args.image:
        pixels = read_image(args.image)
    else:
        from ..data.synthetic import sample_image

        pixels = sample_image()
    img = mx.nd.array(pixels, dtype="uint8")
    augment.seed_everything(args.seed)
    if len(rows) == 1:
        augment.apply(img, rows[0][1], args.rows, args.cols, scale=args.scale, out=args.out)
    else:
        augment.preview(img, rows, samples=args.cols, scale=args.scale, out=args.out)
    print("wrote %s (%s)" % (args.out, "; ".join(specs)))
    return 0
