#!/usr/bin/env python
"""Distributed training on this machine: 1 process vs 2 workers, and what a step sends.

Two parts:

1. What one worker pushes (gradients) and pulls (weights) per step for
   resnet18_v2, computed from the real network with
   :func:`gluon_finetune.distributed.kvstore.exchange_per_step`: the ImageNet net, the
   fine-tune net (all layers train) and with --freeze-features (the head alone),
   and how long that takes at a few network speeds, on paper.
2. Images per second of a small real fine-tune (resnet18_v2 on a synthetic
   hotdog set, 64 px) as one process with batch B and as
   ``gluon-finetune launch -n 2 -s 1`` with batch B/2 per worker (the same
   effective batch), run alternately ``--reps`` times; the median epoch after
   the first (which includes start-up and graph building). An epoch's time is
   rank 0's training pass plus its pass over the small test set.

On a 2-core machine two workers share the cores the one process had (and the
server sums and updates on them too): this measures the overhead of the
exchange, not scaling.

    python scripts/bench_dist.py                   # both parts, ~4 min on 2 cores
    python scripts/bench_dist.py --only exchange   # part 1, seconds
    python scripts/bench_dist.py --json            # one JSON record per line
"""
import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time

#: Network speeds (Gbit/s) for the on-paper transfer times.
LINKS = (1, 10, 25, 100)


def exchange_table(classes=2):
    """Rows of (name, Exchange) for resnet18_v2."""
    import mxnet as mx

    from gluon_finetune.distributed import kvstore as distributed
    from gluon_finetune.networks import model

    imagenet = model.scratch_net(1000)
    imagenet(mx.nd.zeros((1, 3, 32, 32)))  # the first BatchNorm's shape is deferred
    rows = [("resnet18_v2, ImageNet head (1000 classes)", distributed.exchange_per_step(imagenet))]
    for freeze, name in ((False, "fine-tune, all layers (%d classes)" % classes),
                         (True, "fine-tune, --freeze-features (%d classes)" % classes)):
        net = model.finetune_net(imagenet, classes, freeze=freeze)
        rows.append((name, distributed.exchange_per_step(net)))
    return rows


def transfer_ms(nbytes, gbit):
    """Milliseconds to move ``nbytes`` one way over a ``gbit`` Gbit/s link (no overhead)."""
    return nbytes * 8 / (gbit * 1e9) * 1e3


def run(cmd, timeout):
    """Run ``cmd`` in a session of its own; kill the whole group on timeout."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise SystemExit("timed out after %d s: %s" % (timeout, " ".join(cmd))) from None
    if proc.returncode != 0:
        raise SystemExit("failed (%d): %s\n%s" % (proc.returncode, " ".join(cmd), err[-3000:]))
    return out


def throughput(work, args, freeze, workers, rep):
    """Images/second of the epochs after the first, one run."""
    out = os.path.join(work, "run-%s-%d-%d" % ("frozen" if freeze else "all", workers, rep))
    train = ["train", "--data", os.path.join(work, "hotdog"), "--weights", os.path.join(work, "source.params"),
             "--out", out, "--epochs", str(args.epochs), "--image-size", str(args.image_size),
             "--batch-size", str(args.batch // workers), "--seed", "0", "--quiet"]
    if freeze:
        train.append("--freeze-features")
    py = [sys.executable, "-m", "gluon_finetune"]
    cmd = py + train if workers == 1 else py + ["launch", "-n", str(workers), "-s", "1", "--"] + train
    tic = time.time()
    run(cmd, args.timeout)
    wall = time.time() - tic
    images = args.images // args.batch * args.batch  # a job drops an incomplete global batch
    from gluon_finetune.runs.rundir import RunDir

    epoch_s = statistics.median(h["time"] for h in RunDir(out).read_history()[1:])
    return {"workers": workers, "freeze_features": freeze, "rep": rep, "wall_s": wall,
            "epoch_s": epoch_s, "img_per_s": images / epoch_s}


def prepare(work, args):
    import mxnet as mx

    from gluon_finetune.data import synthetic
    from gluon_finetune.networks import model

    synthetic.generate(os.path.join(work, "hotdog"), task="hotdog", n_per_class=args.images // 2,
                       n_test_per_class=8, size=(args.image_size, args.image_size + 16), seed=0, quiet=True)
    mx.random.seed(0)
    source = model.scratch_net(1000)
    source(mx.nd.zeros((1, 3, 32, 32)))
    source.save_parameters(os.path.join(work, "source.params"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("exchange", "throughput"), help="one part only")
    parser.add_argument("--images", type=int, default=128, help="training images (default: %(default)s)")
    parser.add_argument("--image-size", type=int, default=64, help="crop size (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=32,
                        help="effective batch: one process's, split over 2 workers (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (default: %(default)s)")
    parser.add_argument("--reps", type=int, default=2, help="runs of each kind (default: %(default)s)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per run (default: %(default)s)")
    parser.add_argument("--work", help="folder for the data and runs (default: a temporary one)")
    parser.add_argument("--json", action="store_true", help="JSON records instead of tables")
    args = parser.parse_args(argv)
    emit = (lambda rec: print(json.dumps(rec))) if args.json else None

    if args.only in (None, "exchange"):
        rows = exchange_table()
        if emit:
            for name, ex in rows:
                emit({"part": "exchange", "net": name, "params": ex.params, "bytes_each_way": ex.bytes,
                      "ms_each_way": {str(g): transfer_ms(ex.bytes, g) for g in LINKS}})
        else:
            print("Per step and per worker, pushed (gradients) and pulled (weights), float32:")
            print("%-46s %12s %10s   %s" % ("network", "parameters", "MB", "  ".join(
                "%6s" % ("%dG ms" % g) for g in LINKS)))
            for name, ex in rows:
                print("%-46s %12d %10.3f   %s" % (name, ex.params, ex.bytes / 1e6, "  ".join(
                    "%6.2f" % transfer_ms(ex.bytes, g) for g in LINKS)))
            print("(ms: one way at 1/10/25/100 Gbit/s, no protocol overhead; a step moves it twice)\n")

    if args.only in (None, "throughput"):
        if args.images % args.batch or args.batch % 2:
            parser.error("--images must be a multiple of --batch, and --batch even")
        with tempfile.TemporaryDirectory() as tmp:
            work = args.work or tmp
            os.makedirs(work, exist_ok=True)
            prepare(work, args)
            results = []
            for freeze in (False, True):
                for rep in range(args.reps):
                    for workers in (1, 2):  # alternate, so a busy spell hits both
                        rec = throughput(work, args, freeze, workers, rep)
                        results.append(rec)
                        if emit:
                            emit(dict(rec, part="throughput"))
        if not emit:
            print("Fine-tune of resnet18_v2, %d training images of %d px, effective batch %d, %d epochs;"
                  % (args.images, args.image_size, args.batch, args.epochs))
            print("%s, %d cores, load average %s at the end" % (
                platform.processor() or platform.machine(), os.cpu_count(),
                " ".join("%.2f" % x for x in os.getloadavg())))
            print("%-28s %18s %12s %10s" % ("", "workers x batch", "img/s", "vs 1"))
            for freeze in (False, True):
                base = statistics.median(r["img_per_s"] for r in results
                                         if r["freeze_features"] == freeze and r["workers"] == 1)
                for workers in (1, 2):
                    speed = statistics.median(r["img_per_s"] for r in results
                                              if r["freeze_features"] == freeze and r["workers"] == workers)
                    print("%-28s %18s %12.1f %9.2fx" % (
                        "--freeze-features" if freeze else "all layers train",
                        "%d x %d" % (workers, args.batch // workers), speed, speed / base))
            print("(median over %d runs of the median epoch after the first)" % args.reps)


if __name__ == "__main__":
    main()
