"""``gluon-finetune models``: the networks this tool fine-tunes, and which are ready offline."""
from . import formatter

DESCRIPTION = """\
List the networks that train, lr-find, compare, --recipe fast, evaluate, predict,
export and INT8 work with: the MXNet Gluon zoo's classifiers and GluonCV's
ResNet v1b/v1d and MobileNet v3. For each: the input size it was trained at
(train's default --image-size), its parameters (counted from the architecture),
the zoo's published ImageNet top-1 (single centre crop; where it was published is
printed below the table, the figures are not measured here), and whether its
ImageNet weights are already in the cache (else train downloads them, about
the size of 4 bytes per parameter, or use --weights FILE)."""

EPILOG = """\
examples:
  gluon-finetune models                 # everything
  gluon-finetune models 'mobilenet*'    # shell-style pattern
  gluon-finetune models --json resnet18_v2
"""


def register(sub):
    p = sub.add_parser("models", formatter_class=formatter,
                       help="the networks that can be fine-tuned: input size, size, ImageNet top-1",
                       description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("pattern", nargs="?", metavar="PATTERN",
                   help="only names matching this shell-style pattern, e.g. 'resnet*'")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--model-root", metavar="DIR",
                   help="weights cache to look in (default: $MXNET_HOME/models)")
    p.set_defaults(func=run)


def run(args):
    import json

    from ..errors import UserError
    from ..networks.catalog import SOURCES, describe, names

    chosen = names(args.pattern)
    if not chosen:
        raise UserError("no network matches %r; `gluon-finetune models` lists them all"
                        % args.pattern)
    rows = [describe(n, args.model_root) for n in chosen]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("%-18s %-8s %6s %9s %9s  %s" % ("network", "zoo", "px", "params", "top-1", "weights"))
    for r in rows:
        top1 = "%.1f%%" % (100 * r["imagenet_top1"]) if r["imagenet_top1"] is not None else "-"
        print("%-18s %-8s %6d %8.1fM %9s  %s" % (
            r["name"], r["zoo"], r["image_size"], r["parameters"] / 1e6, top1,
            "cached" if r["cached"] else "not cached"))
    print("\ntop-1: ImageNet validation, published by the zoos, not measured here:")
    for zoo in sorted({r["zoo"] for r in rows if r["imagenet_top1"] is not None}):
        print("  %s: %s" % (zoo, SOURCES[zoo]))
    return 0
