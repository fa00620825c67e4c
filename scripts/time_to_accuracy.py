#!/usr/bin/env python
"""Time to accuracy: the book's recipe against ``--recipe fast`` (or any options), seed by seed.

Each seed trains the book's recipe, then the other one, in this process, one
after the other (so both see the same load on a shared machine). Wall time is
measured from the start of ``fit()`` (data, network, feature caching included)
to the end of each epoch (its evaluation included). The table gives:

- book: mean final test accuracy after its epochs, and its wall time;
- fast: the wall time until its test accuracy first reaches the book's mean
  final accuracy, and its own final accuracy.

    python scripts/time_to_accuracy.py --data runs/demo/data/hotdog \\
        --weights runs/demo/source/resnet18_v2-source.params --like runs/demo/compare/finetune \\
        --seeds 0,1,2 --out runs/tta

Tuning without the test set: ``--make-split DIR`` writes DIR/train and DIR/test
(symbolic links) holding 80% and 20% of each class of ``--data``'s training
images (seeded), and exits; compare recipes on DIR, then measure on ``--data``.

``--like RUN`` takes image size, batch size and augmentations from a run's
config.json (the demo's). ``--fast "--schedule onecycle --lr 0.02"`` compares
other options instead of ``--recipe fast``; ``--book`` likewise.
"""
import argparse
import json
import os
import shlex
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gluon_finetune  # noqa: F401,E402  (before mxnet: it chooses MXNet's thread count)
from gluon_finetune.cli.train import config_from_args, register  # noqa: E402
from gluon_finetune.fsutil import write_json  # noqa: E402
from gluon_finetune.training.train import fit  # noqa: E402


def config_for(options, args, seed, out):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    argv = ["train", "--data", args.data, "--seed", str(seed), "--out", out, "--quiet"]
    if args.weights:
        argv += ["--weights", args.weights]
    if args.like:
        like = json.load(open(os.path.join(args.like, "config.json")))["config"]
        argv += ["--image-size", str(like["image_size"]), "--batch-size", str(like["batch_size"])]
        for key in ("train_augs", "test_augs"):
            if like.get(key):
                argv += ["--" + key.replace("_", "-"), like[key]]
    return config_from_args(parser.parse_args(argv + shlex.split(options)))


def timed_fit(config):
    start = time.time()
    marks = []

    def log(line):
        if line.startswith("epoch ") and "," in line:
            marks.append(time.time() - start)

    result = fit(config, log=log)
    return [dict(h, wall=t) for h, t in zip(result.history, marks)]


def make_split(data, out, fraction=0.2, seed=0):
    import random

    rng = random.Random(seed)
    src = os.path.join(data, "train")
    for label in sorted(os.listdir(src)):
        files = sorted(os.listdir(os.path.join(src, label)))
        rng.shuffle(files)
        held = int(len(files) * fraction)
        for part, names in (("test", files[:held]), ("train", files[held:])):
            os.makedirs(os.path.join(out, part, label), exist_ok=True)
            for name in names:
                os.symlink(os.path.abspath(os.path.join(src, label, name)), os.path.join(out, part, label, name))
        print("%s: %d training, %d held out" % (label, len(files) - held, held))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--weights")
    p.add_argument("--like", metavar="RUN", help="take image size, batch size and augmentations from RUN")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--book", default="", help="options of the baseline (default: none, the book's)")
    p.add_argument("--fast", default="--recipe fast", help="options of the contender")
    p.add_argument("--out", default="runs/tta")
    p.add_argument("--target", type=float, metavar="ACC",
                   help="skip the book's runs and use ACC as its mean final accuracy (from an earlier table)")
    p.add_argument("--make-split", metavar="DIR", help="write a tuning split of --data's training images and exit")
    args = p.parse_args()
    if args.make_split:
        return make_split(args.data, args.make_split)
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = {"book": [], "fast": []}
    for seed in seeds:
        for name, options in (("book", args.book), ("fast", args.fast)):
            if name == "book" and args.target is not None:
                continue
            out = os.path.join(args.out, "%s-seed%d" % (name, seed))
            history = timed_fit(config_for(options, args, seed, out))
            runs[name].append(history)
            print("%s seed %d: test acc %s, %.1f s" % (name, seed, " ".join(
                "%.3f" % h["test_acc"] for h in history), history[-1]["wall"]), flush=True)
    if args.target is not None:
        target = args.target
        runs["book"] = [[{"test_acc": target, "wall": float("nan")}]]
    else:
        target = statistics.mean(h[-1]["test_acc"] for h in runs["book"])
    reach = []
    for history in runs["fast"]:
        hit = next((h for h in history if h["test_acc"] >= target - 1e-9), None)
        reach.append(hit["wall"] if hit else None)
    book_time = statistics.mean(h[-1]["wall"] for h in runs["book"])
    summary = {
        "seeds": seeds, "book_options": args.book, "fast_options": args.fast,
        "book_final_acc": [h[-1]["test_acc"] for h in runs["book"]],
        "book_mean_final_acc": target, "book_wall": [h[-1]["wall"] for h in runs["book"]],
        "fast_final_acc": [h[-1]["test_acc"] for h in runs["fast"]],
        "fast_wall": [h[-1]["wall"] for h in runs["fast"]],
        "fast_time_to_book_acc": reach, "runs": runs,
    }
    write_json(os.path.join(args.out, "time_to_accuracy.json"), summary)
    print("| recipe | final test acc (seeds %s) | mean | wall time, all epochs (mean) | "
          "time to the book's mean %.3f |" % (",".join(map(str, seeds)), target))
    print("|---|---|---|---|---|")
    print("| book%s | %s | %.3f | %.1f s | %.1f s |" % (
        " " + args.book if args.book else "", " ".join("%.3f" % a for a in summary["book_final_acc"]),
        target, book_time, book_time))
    fast_reach = [r for r in reach if r is not None]
    print("| %s | %s | %.3f | %.1f s | %s |" % (
        args.fast, " ".join("%.3f" % a for a in summary["fast_final_acc"]),
        statistics.mean(summary["fast_final_acc"]), statistics.mean(summary["fast_wall"]),
        ("%.1f s (%.0f%% of the book's)" % (statistics.mean(fast_reach), 100 * statistics.mean(fast_reach)
                                            / book_time) if len(fast_reach) == len(reach)
         else "reached in %d of %d seeds" % (len(fast_reach), len(reach)))))


if __name__ == "__main__":
    main()
