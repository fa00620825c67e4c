"""Remake the README's figures of the automatic policies on the built-in picture.

    python scripts/readme_figures.py [FOLDER]      # default: docs/images

Writes ``augment-operations.png`` (each operation at three magnitudes) and
``augment-policies.png`` (draws of each policy), seeded, so a rerun gives the
same pictures.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gluon_finetune  # noqa: F401,E402  (before mxnet: it chooses MXNet's thread count)
from gluon_finetune.augment.previews import operations_figure, policies_figure  # noqa: E402
from gluon_finetune.data.synthetic import sample_image  # noqa: E402
from gluon_finetune.seeding import seed_everything  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", default="docs/images")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import mxnet as mx

    img = mx.nd.array(sample_image(), dtype="uint8")
    seed_everything(args.seed)
    operations_figure(img, out=os.path.join(args.folder, "augment-operations.png"))
    seed_everything(args.seed)
    policies_figure(img, out=os.path.join(args.folder, "augment-policies.png"))
    print("wrote %s/augment-operations.png and augment-policies.png" % args.folder)


if __name__ == "__main__":
    main()
