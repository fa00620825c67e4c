"""``gluon-finetune data synth``: draw a synthetic image folder for offline work."""
import time

from . import formatter

DESCRIPTION = """\
Draw a synthetic image folder for work without a network: OUT/train/<class>/*.jpg
and OUT/test/<class>/*.jpg, plus OUT/synthetic.json saying how it was made.

  --task hotdog   the book's two classes, hotdog and not-hotdog: a sausage lying in
                  a bun against other foods made to look alike (baguettes, lone
                  sausages, sub sandwiches, pizza, burgers, ...) on cluttered tables
  --task source   ten food classes (one of them hotdog, as in ImageNet) drawn from
                  the same shapes and textures, for pretraining a source network
                  when the ImageNet weights cannot be downloaded

The same arguments give the same bytes. Test images per class default to 40% of the
training count for hotdog (the book's 400 for 1000) and 12.5% for source (50 for
400). OUT must be missing, empty, or an earlier
output of this command for the same task, which is then replaced; nothing is
written outside OUT.

Big pictures cost decoding and resizing time in every epoch: for a quick run at
64 px, --size 96-128 is plenty.
"""

EPILOG = """\
examples:
  gluon-finetune data synth --out data/hotdog                      # 2000 + 800 pictures, 200-500 px
  gluon-finetune data synth --out data/hotdog-small --n-per-class 500 --size 96-128
  gluon-finetune data synth --out data/source --task source --size 96-128
"""


def register(actions):
    p = actions.add_parser(
        "synth", formatter_class=formatter,
        help="generate a synthetic hotdog-like (or source-task) image folder",
        description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder to write: missing, empty, or an earlier synth output "
                        "of the same task")
    p.add_argument("--task", default="hotdog", choices=["hotdog", "source"],
                   help="which data set (default: hotdog)")
    p.add_argument("--n-per-class", type=int, metavar="N",
                   help="training pictures per class (default: 1000 for hotdog, 400 for source)")
    p.add_argument("--n-test-per-class", type=int, metavar="N",
                   help="test pictures per class (default: 40%% of --n-per-class for "
                        "hotdog, 12.5%% for source)")
    p.add_argument("--seed", type=int, default=0, help="data set seed (default: 0)")
    p.add_argument("--size", default="200-500", metavar="PX",
                   help="height and width range in pixels, LOW-HIGH or N (default: 200-500)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="processes drawing in parallel (default: up to 2)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args):
    from ..data import synthetic

    size = synthetic.parse_size(args.size)
    start = time.time()
    meta = synthetic.generate(args.out, task=args.task, n_per_class=args.n_per_class,
                              n_test_per_class=args.n_test_per_class, seed=args.seed,
                              size=size, workers=args.workers, quiet=args.quiet)
    n_cls = len(meta["classes"])
    print("wrote %d %s pictures to %s in %.1f s: train %d x %d classes, test %d x %d, "
          "%d-%d px, seed %d"
          % (meta["files"], meta["task"], meta["out"], time.time() - start,
             meta["n_per_class"], n_cls, meta["n_test_per_class"], n_cls,
             meta["size"][0], meta["size"][1], meta["seed"]))
    return 0
