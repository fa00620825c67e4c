#!/usr/bin/env python
"""The book's hotdog experiment, for real: fine-tune resnet18_v2 vs train it from scratch.

Dive into Deep Learning's "fine-tuning" chapter end to end, as the book runs it:

1. downloads what the book downloads, unless it is already there: the hotdog set
   (hotdog.zip: 2,000 training and 800 test photos, sha1-checked and extracted
   into $MXNET_HOME/datasets) and resnet18_v2's ImageNet weights (the model zoo's
   file, URL and sha1, into $MXNET_HOME/models);
2. fine-tunes the ImageNet network and trains the same network from scratch with
   the book's settings: 224-pixel crops, batch 128, 5 epochs, SGD lr 0.01 with the
   new output layer at 10x, weight decay 0.001; lr 0.1 from scratch;
3. prints the book's epoch lines for both, draws both runs' curves in one plot,
   evaluates the fine-tuned network and writes OUT/report.html.

If a download fails it stops before any training, naming each missing file, its
URLs, its sha1 and the folder to put it in. It never substitutes synthetic data or
weights unless asked: --synthetic runs the offline stand-in of `gluon-finetune demo`
(synthetic pictures, a source model pretrained here, 64-pixel crops).

    python scripts/demo.py                                          # runs/hotdog/report.html
    python scripts/demo.py --offline                                # only what is cached
    python scripts/demo.py --data-url http://mirror.local/hotdog.zip --data-sha1 HASH
    MXNET_GLUON_REPO=http://mirror.local/ python scripts/demo.py   # weights mirror
    python scripts/demo.py --synthetic                              # the offline stand-in
    python scripts/demo.py --data ~/photos --weights source.params --image-size 112
"""
import argparse
import sys

from gluon_finetune.cli import apply_threads, run_guarded
from gluon_finetune.cli.demo import add_experiment_options
from gluon_finetune.errors import UserError


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_experiment_options(parser, out="runs/hotdog", book=True)
    g = parser.add_argument_group("downloads")
    g.add_argument("--synthetic", action="store_true",
                   help="the offline stand-in: synthetic pictures and a synthetic source model "
                        "where the real ones are not cached (never downloads)")
    g.add_argument("--offline", action="store_true",
                   help="never use the network: run on what is cached, or stop naming what is missing")
    g.add_argument("--data-url", action="append", metavar="URL",
                   help="where to get hotdog.zip (repeat for mirrors, tried in order; default: "
                        "the book's data store, then MXNet's)")
    g.add_argument("--data-sha1", metavar="HASH",
                   help="sha1 of the hotdog.zip at --data-url (default: the book's)")
    args = parser.parse_args(argv)

    def experiment():
        apply_threads(args)  # before MXNet loads
        from gluon_finetune.experiments.demo import command_line, fetch_book_inputs, run_demo

        common = dict(out=args.out, quick=args.quick, data=args.data, weights=args.weights,
                      epochs=args.epochs, image_size=args.image_size, batch_size=args.batch_size,
                      seed=args.seed, book=True, quiet=args.quiet,
                      command=command_line("python scripts/demo.py"))
        if args.synthetic:
            if args.data_url or args.data_sha1:
                raise UserError("--synthetic downloads nothing: drop --data-url/--data-sha1")
            run_demo(**common)
            return 0
        if args.quick:
            raise UserError("--quick is the offline stand-in's tiny version: use it with --synthetic")
        found = fetch_book_inputs(data=args.data, weights=args.weights, urls=args.data_url,
                                  sha1=args.data_sha1, offline=args.offline, quiet=args.quiet)
        run_demo(hotdog_sha1=found["hotdog_sha1"], stand_ins=False, **common)
        return 0

    return run_guarded(experiment)


if __name__ == "__main__":
    sys.exit(main())
