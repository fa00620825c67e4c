#!/usr/bin/env python
"""Test accuracy of fine-tuning with more augmentation than the book's, several seeds each.

On the demo's synthetic hotdog set with the demo's synthetic source model and the
demo's settings (64-pixel crops, batch 32, 5 epochs, the book's learning rates;
``gluon_finetune.experiments.demo.synthetic_inputs``), each configuration fine-tunes the
source model once per seed, at equal epochs. The script prints a markdown table of
the final test accuracy per configuration (mean, standard deviation over seeds,
min and max) and writes one JSON line per run (and one summary line per
configuration) to --jsonl.

A configuration is NAME=WORDS. WORDS are comma-separated: the batch-mix words
``mixup:ALPHA``, ``cutmix:ALPHA``, ``mix_prob:P`` and ``mix_switch_prob:P`` set the
training options of the same names (``--mixup`` ...); every other word is an
augmentation spec word (``gluon-finetune augment --help``), inserted into the book's
training list after its flip and before to_tensor, where torchvision's recipes put
their policies. An empty WORDS is the book's list. Unknown words stop the run
before anything trains, naming the word.

    python scripts/aug_accuracy.py                          # the four default configurations
    python scripts/aug_accuracy.py --only book,mix          # two of them
    python scripts/aug_accuracy.py --config book= --config "strong_mix=mixup:0.8,cutmix:1.0"
    python scripts/aug_accuracy.py --quick --seeds 0        # tiny smoke run, about a minute

The data and the source model are made once in OUT (or reused: a `gluon-finetune demo
--out OUT` leaves them there); runs go to OUT/runs/NAME-seedS. A finished run with the
same configuration is read back, not trained again, so an interrupted sweep continues.
"""
import argparse
import dataclasses
import json
import os
import shutil
import statistics
import sys
import time

from gluon_finetune.cli import apply_threads, run_guarded
from gluon_finetune.errors import UserError

#: The configurations of issue 11: the book's list, + TrivialAugment, + RandAugment,
#: + MixUp/CutMix (torchvision's reference recipe: mixup 0.2, cutmix 1.0).
DEFAULT_CONFIGS = (
    "book=",
    "trivial_augment=trivial_augment",
    "rand_augment=rand_augment",
    "mix=mixup:0.2,cutmix:1.0",
)
#: Batch-mix words and the TrainConfig fields they set.
MIX_WORDS = {"mixup": "mixup", "cutmix": "cutmix", "mix_prob": "mix_prob",
             "mix_switch_prob": "mix_switch_prob"}
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_JSONL = os.path.join(HERE, os.pardir, "docs", "bench", "aug-accuracy.jsonl")


def parse_config(text):
    """``NAME=WORDS`` -> (name, augmentation words, batch-mix fields)."""
    name, sep, words = text.partition("=")
    if not sep or not name.strip():
        raise UserError("--config takes NAME=WORDS (e.g. book= or mix=mixup:0.2,cutmix:1.0), got %r"
                        % text)
    augs, mix = [], {}
    for word in (w.strip() for w in words.split(",")):
        if not word:
            continue
        key, _, value = word.partition(":")
        if key in MIX_WORDS:
            try:
                mix[MIX_WORDS[key]] = float(value)
            except ValueError:
                raise UserError("%s in --config %s needs a number, e.g. %s:0.2"
                                % (key, name, key)) from None
        else:
            augs.append(word)
    return name.strip(), augs, mix


def train_spec(book_train, words):
    """The book's training spec with ``words`` inserted before its to_tensor."""
    if not words:
        return book_train
    parts = book_train.split(",")
    at = parts.index("to_tensor")
    return ",".join(parts[:at] + words + parts[at:])


def run_one(config, log):
    """Train ``config`` unless its folder already holds the finished run; return its history."""
    from gluon_finetune.training.train import fit

    folder = config.out
    record_path = os.path.join(folder, "config.json")
    history_path = os.path.join(folder, "history.jsonl")
    if os.path.isfile(record_path) and os.path.isfile(history_path):
        with open(record_path) as f:
            done = json.load(f)["config"]
        with open(history_path) as f:
            history = [json.loads(line) for line in f if line.strip()]
        same = {k: v for k, v in dataclasses.asdict(config.resolved()).items() if k != "quiet"}
        if all(done.get(k) == v for k, v in same.items()) and len(history) == config.epochs:
            log("  reusing the finished run %s" % folder)
            return history, True
    if os.path.exists(folder):
        shutil.rmtree(folder)  # an unfinished or different run of ours
    return fit(config, log=lambda line: None).history, False


def summarize(name, rows):
    accs = [r["test_acc"] for r in rows]
    return {"summary": name, "runs": len(rows), "seeds": [r["seed"] for r in rows],
            "mean": statistics.mean(accs), "std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
            "min": min(accs), "max": max(accs),
            "mean_best": statistics.mean(r["best_test_acc"] for r in rows),
            "seconds_per_run": statistics.mean(r["seconds"] for r in rows),
            "train_augs": rows[0]["train_augs"], "mix": rows[0]["mix"]}


def table(summaries, epochs):
    lines = ["| configuration | extra training words | test acc, mean ± std (%d epochs) | min | max "
             "| best epoch's, mean | seeds | time/run |" % epochs,
             "|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        words = ", ".join(s["extra"] + ["%s %g" % (k, v) for k, v in s["mix"].items()]) or "(the book's)"
        lines.append("| %s | %s | %.3f ± %.3f | %.3f | %.3f | %.3f | %d | %.0f s |"
                     % (s["summary"], words, s["mean"], s["std"], s["min"], s["max"], s["mean_best"],
                        s["runs"], s["seconds_per_run"]))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", action="append", metavar="NAME=WORDS",
                        help="a configuration (repeat for several); default: %s"
                             % " ".join(DEFAULT_CONFIGS))
    parser.add_argument("--only", metavar="NAME,NAME",
                        help="run only these of the configurations (e.g. book,mix)")
    parser.add_argument("--seeds", default="0,1,2", metavar="S,S",
                        help="fine-tuning seeds, one run each (default: %(default)s)")
    parser.add_argument("--epochs", type=int, metavar="N",
                        help="epochs of every run (default: the demo's, 5; --quick: 2)")
    parser.add_argument("--data-seed", type=int, default=0, metavar="S",
                        help="seed of the synthetic set and of the source model's pretraining "
                             "(default: %(default)s, the demo's)")
    parser.add_argument("--out", default="runs/aug_accuracy", metavar="DIR",
                        help="data, source model and runs (default: %(default)s)")
    parser.add_argument("--jsonl", default=os.path.normpath(DEFAULT_JSONL), metavar="FILE",
                        help="JSON lines written here, one per run and one summary per "
                             "configuration (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="the demo's tiny version (16 + 16 pictures, 32 px, 2 epochs): a smoke run")
    parser.add_argument("--threads", type=int, metavar="N", help="MXNet's compute threads")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    def experiment():
        apply_threads(args)  # before MXNet loads
        from gluon_finetune.augment import spec as augspec
        from gluon_finetune.experiments.demo import synthetic_inputs
        from gluon_finetune.training.config import TrainConfig

        configs = [parse_config(c) for c in (args.config or DEFAULT_CONFIGS)]
        if args.only:
            wanted = [w.strip() for w in args.only.split(",") if w.strip()]
            unknown = sorted(set(wanted) - {c[0] for c in configs})
            if unknown:
                raise UserError("--only names %s; the configurations are %s"
                                % (", ".join(unknown), ", ".join(c[0] for c in configs)))
            configs = [c for c in configs if c[0] in wanted]
        try:
            seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            raise UserError("--seeds takes comma-separated integers, e.g. 0,1,2") from None
        if not seeds:
            raise UserError("--seeds names no seed")
        for _name, words, _mix in configs:
            # Unknown words stop the sweep before the data and the source model are made.
            augspec.parse_spec(",".join(["flip"] + words))
        inputs = synthetic_inputs(args.out, seed=args.data_seed, quick=args.quick, quiet=args.quiet)
        settings = inputs["settings"]
        epochs = args.epochs or settings.epochs
        runs = {}
        for name, words, mix in configs:
            for seed in seeds:
                config = TrainConfig(
                    data=inputs["data"], out=os.path.join(args.out, "runs", "%s-seed%d" % (name, seed)),
                    weights=inputs["source"]["path"], allow_download=False, epochs=epochs,
                    batch_size=settings.batch_size, image_size=settings.image_size,
                    train_augs=train_spec(inputs["augs"]["train"], words), test_augs=inputs["augs"]["test"],
                    seed=seed, quiet=args.quiet, **mix)
                # Unknown words and bad mix values stop here, before any training.
                augspec.parse_spec(config.train_augs)
                config.resolved()
                runs[(name, seed)] = config
        os.makedirs(os.path.dirname(os.path.abspath(args.jsonl)), exist_ok=True)
        summaries = []
        with open(args.jsonl, "w") as out:
            for name, words, mix in configs:
                rows = []
                for seed in seeds:
                    config = runs[(name, seed)]
                    print("%s, seed %d: %s%s" % (name, seed, config.train_augs,
                                                 "".join(" --%s %g" % (k.replace("_", "-"), v)
                                                         for k, v in mix.items())), flush=True)
                    tic = time.time()
                    history, reused = run_one(config, print)
                    row = {"config": name, "seed": seed, "epochs": epochs,
                           "test_acc": history[-1]["test_acc"],
                           "best_test_acc": max(h["test_acc"] for h in history),
                           "train_acc": history[-1]["train_acc"], "loss": history[-1]["loss"],
                           "seconds": sum(h["time"] for h in history),
                           "wall_seconds": None if reused else time.time() - tic,
                           "train_augs": config.train_augs, "extra": words, "mix": mix,
                           "run": config.out, "data": inputs["data"],
                           "source": inputs["source"]["path"]}
                    print("  test acc %.3f (best %.3f), %.0f s" % (row["test_acc"], row["best_test_acc"],
                                                                   row["seconds"]), flush=True)
                    out.write(json.dumps(row) + "\n")
                    out.flush()
                    rows.append(row)
                summary = dict(summarize(name, rows), extra=words, epochs=epochs,
                               settings=dataclasses.asdict(settings))
                out.write(json.dumps(summary) + "\n")
                summaries.append(summary)
        print()
        print("synthetic hotdog set, synthetic source model, %s settings (%d px, batch %d), "
              "final test accuracy over seeds %s:" % (settings.name, settings.image_size,
                                                      settings.batch_size, ",".join(map(str, seeds))))
        print()
        for line in table(summaries, epochs):
            print(line)
        print()
        print("JSON lines: %s" % args.jsonl)
        return 0

    return run_guarded(experiment)


if __name__ == "__main__":
    sys.exit(main())
