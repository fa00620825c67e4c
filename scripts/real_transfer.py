#!/usr/bin/env python
"""Fine-tuning on real photos with real ImageNet weights: recipes x networks x seeds.

Every accuracy the project reported before was measured on synthetic pictures
with a source model pretrained here. This grid runs ``gluon-finetune train`` (in
this process, one run after another) on a real folder for each network, recipe
and seed, and writes one JSON line per run (final and best test accuracy, the
loss per epoch, wall time, whether the divergence stop fired) and a table of
mean / min / max final test accuracy and mean time per recipe and network.

With ``../shared/real`` beside the project (the ants-vs-bees photos and
MobileNet weights converted from TensorFlow's ImageNet models) it uses that kit
by default; without it, pass ``--data`` and ``--weights NETWORK=FILE`` (or let
the zoo download its ImageNet weights).

    python scripts/real_transfer.py                       # the real kit, every recipe, seeds 0,1,2
    python scripts/real_transfer.py --networks mobilenet0.75 --recipes book,head --seeds 0
    python scripts/real_transfer.py --recipe "small=--batch-size 32 --lr 0.001" --recipes small
"""
import argparse
import json
import os
import shlex
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import gluon_finetune  # noqa: F401,E402  (before mxnet: it chooses MXNet's thread count)
from gluon_finetune.cli.train import config_from_args, register  # noqa: E402
from gluon_finetune.training.divergence import Diverged  # noqa: E402
from gluon_finetune.training.recipes import TRAIN_DEFAULT  # noqa: E402
from gluon_finetune.training.train import NonFiniteLoss, fit  # noqa: E402

#: The real kit (read its README): photos and converted ImageNet weights, never committed.
KIT = os.path.join(os.path.dirname(ROOT), "shared", "real")
KIT_WEIGHTS = {"mobilenet0.75": "mobilenet0.75-tflite-imagenet.params",
               "mobilenetv2_1.0": "mobilenetv2_1.0-tflite-imagenet.params",
               # a symbol + params export, not a zoo network: --weights NET-symbol.json
               "efficientnet_lite0": "efficientnet_lite0-imagenet-symbol.json"}
#: Recipes by name: extra `train` options ("head" is what `train` does with none).
RECIPES = {
    "book": "--recipe book",
    "fast": "--recipe fast",
    "head": "--recipe head",
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="image folder with train/ and test/ (default: the kit's "
                                  "hymenoptera when ../shared/real exists)")
    p.add_argument("--networks", default=",".join(list(KIT_WEIGHTS)[:2]),
                   help="comma-separated zoo names, or efficientnet_lite0 (the kit's symbol export)")
    p.add_argument("--weights", action="append", default=[], metavar="NETWORK=FILE",
                   help="source weights of a network (default: the kit's, else the zoo's ImageNet)")
    p.add_argument("--recipes", default="book,fast,head", help="comma-separated recipe names")
    p.add_argument("--recipe", action="append", default=[], metavar="NAME=OPTIONS",
                   help="define a recipe: NAME and the train options it adds")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--options", default="", help="train options added to every run")
    p.add_argument("--out", default="runs/real-transfer", help="folder for the runs")
    p.add_argument("--record", help="JSONL record (default: OUT/real-transfer.jsonl); appended to")
    return p.parse_args(argv)


def kit_data():
    path = os.path.join(KIT, "hymenoptera")
    return path if os.path.isdir(path) else None


def run_one(argv, log):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    config = config_from_args(parser.parse_args(argv), default_recipe=TRAIN_DEFAULT)
    start = time.time()
    try:
        result = fit(config, log=log)
        history, stopped = result.history, None
    except (Diverged, NonFiniteLoss) as err:  # the divergence or NaN stop: a result too
        stopped = str(err).split(". ")[0]
        path = os.path.join(config.out, "history.jsonl")
        history = ([json.loads(line) for line in open(path)] if os.path.isfile(path) else [])
    return config, history, stopped, time.time() - start


def table(rows):
    lines = ["| network | recipe | final test acc, mean | min | max | best epoch acc, mean | "
             "stopped | time per run |", "|---|---|---|---|---|---|---|---|"]
    keys = sorted({(r["network"], r["recipe"]) for r in rows})
    for network, recipe in keys:
        rs = [r for r in rows if (r["network"], r["recipe"]) == (network, recipe)]
        final = [r["final_test_acc"] for r in rs if r["final_test_acc"] is not None]
        best = [r["best_test_acc"] for r in rs if r["best_test_acc"] is not None]
        stopped = sum(1 for r in rs if r["stopped"])
        lines.append("| %s | %s | %s | %s | %s | %s | %d of %d | %.0f s |" % (
            network, recipe, "%.3f" % statistics.mean(final) if final else "-",
            "%.3f" % min(final) if final else "-", "%.3f" % max(final) if final else "-",
            "%.3f" % statistics.mean(best) if best else "-", stopped, len(rs),
            statistics.mean(r["seconds"] for r in rs)))
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    recipes = dict(RECIPES)
    for item in args.recipe:
        name, _, options = item.partition("=")
        recipes[name.strip()] = options
    weights = {}
    data = args.data or kit_data()
    if data is None:
        sys.exit("no --data given and no real kit at %s: pass --data DIR (train/ and test/)" % KIT)
    if not args.data:
        print("using the real kit in %s: %s" % (KIT, data))
        for network, name in KIT_WEIGHTS.items():
            weights[network] = os.path.join(KIT, "weights", name)
    for item in args.weights:
        network, _, path = item.partition("=")
        weights[network] = path
    record = args.record or os.path.join(args.out, "real-transfer.jsonl")
    os.makedirs(os.path.dirname(os.path.abspath(record)), exist_ok=True)
    rows = []
    for network in args.networks.split(","):
        for recipe in args.recipes.split(","):
            if recipe not in recipes:
                sys.exit("unknown recipe %r; known: %s (add one with --recipe NAME=OPTIONS)"
                         % (recipe, ", ".join(recipes)))
            for seed in [int(s) for s in args.seeds.split(",")]:
                out = os.path.join(args.out, "%s-%s-%d" % (network, recipe, seed))
                argv = ["train", "--data", data, "--seed", str(seed), "--out", out, "--quiet"]
                if not weights.get(network, "").endswith(".json"):  # an export is its own model
                    argv += ["--model", network]
                if network in weights:
                    argv += ["--weights", weights[network]]
                argv += shlex.split(recipes[recipe]) + shlex.split(args.options)
                lines = []
                config, history, stopped, seconds = run_one(argv, lines.append)
                row = {"network": network, "recipe": recipe, "options": recipes[recipe],
                       "seed": seed, "data": data, "weights": weights.get(network, "zoo ImageNet"),
                       "epochs": len(history), "seconds": round(seconds, 1),
                       "final_test_acc": history[-1]["test_acc"] if history else None,
                       "best_test_acc": max(h["test_acc"] for h in history) if history else None,
                       "test_acc": [h["test_acc"] for h in history],
                       "loss": [round(h["loss"], 4) for h in history], "stopped": stopped,
                       "config": {k: getattr(config, k) for k in (
                           "epochs", "batch_size", "lr", "head_lr_mult", "momentum", "schedule",
                           "freeze_epochs", "cache_features", "lr_stage_decay", "image_size")},
                       "command": "gluon-finetune " + " ".join(shlex.quote(a) for a in argv)}
                rows.append(row)
                with open(record, "a") as f:
                    f.write(json.dumps(row) + "\n")
                print("%s %s seed %d: final %s, best %s, %.0f s%s" % (
                    network, recipe, seed, row["final_test_acc"], row["best_test_acc"], seconds,
                    ", stopped: " + stopped if stopped else ""), flush=True)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
