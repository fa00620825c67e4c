#!/usr/bin/env python
"""The book's hotdog experiment: fine-tune resnet18_v2 vs train it from scratch.

Dive into Deep Learning's "fine-tuning" chapter, end to end, thin over
gluon_finetune.hotdog.hotdog_experiment(), the same code as `gluon-finetune demo`:

- data: --data DIR, else the book's hotdog set if it is already extracted
  under $MXNET_HOME/datasets (`gluon-finetune data download` puts it there),
  else a synthetic hotdog set drawn into OUT/data/hotdog;
- source weights: --weights FILE, else resnet18_v2's ImageNet weights if they
  are already in $MXNET_HOME/models, else a source model pretrained here on a
  synthetic ten-class food task;
- the augmentation and sample grids, fine-tuning vs scratch (same epochs, same
  seed), the fine-tuned network's confusion matrix and mistakes, OUT/report.html.

On real data (the hotdog set or --data) with real source weights (ImageNet's or
--weights) it uses the book's settings: 224-pixel crops, batch 128, 5 epochs, lr
0.01 (output layer 10x) fine-tuned and 0.1 from scratch; that takes about an hour
on a 2-core CPU and minutes on a GPU. With a synthetic stand-in for either, it uses
the offline demo's 64-pixel crops and batch 32 (a source model pretrained here at
224 px would take hours on a CPU). --image-size, --batch-size and --epochs override.
Nothing is downloaded; the script prints which data and weights it used.

    python scripts/train_hotdog.py                               # runs/hotdog/report.html
    python scripts/train_hotdog.py --data ~/.mxnet/datasets/hotdog --epochs 5
    python scripts/train_hotdog.py --weights source.params --image-size 112 --batch-size 64
"""
import argparse
import sys

from gluon_finetune.cli import apply_threads, run_guarded
from gluon_finetune.cli.demo import add_experiment_options


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_experiment_options(parser, out="runs/hotdog", book=True)
    args = parser.parse_args(argv)

    def experiment():
        apply_threads(args)  # before MXNet loads
        from gluon_finetune.hotdog import command_line, hotdog_experiment

        hotdog_experiment(out=args.out, quick=args.quick, data=args.data, weights=args.weights,
                          epochs=args.epochs, image_size=args.image_size,
                          batch_size=args.batch_size, seed=args.seed, book=True,
                          command=command_line("python scripts/train_hotdog.py"),
                          quiet=args.quiet)

    return run_guarded(experiment)


if __name__ == "__main__":
    sys.exit(main())
