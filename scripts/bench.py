#!/usr/bin/env python
"""Throughput of gluon-finetune on this machine, beside the book's PyTorch pipeline.

Every measurement runs the project's own code (``imageio.read_image``,
``data.make_loaders``, ``train.train_epoch``, the networks' forward pass,
``features.cache_features``, ``train.fit``); this script only times it. With
``--peer PYTHON`` the peer script ``../shared/bench/peer_torch.py`` (the book's
torchvision pipeline) runs on the same image folder in the same session,
section by section between ours, and the table puts its figures and the ratio
beside ours. Throughput is images per second from the median of several reps:
single timings on a shared machine swing 2-3x.

    python scripts/bench.py --peer ~/peer-venv/bin/python          # everything (~25 min)
    python scripts/bench.py --only decode,pipeline --peer ~/peer-venv/bin/python
    python scripts/bench.py --quick                                # smoke run, ~1 min
    python scripts/bench.py --json > bench.jsonl                   # one JSON record per line

Sections: decode, pipeline, policy_pipeline, step, infer, head, amp, int8, epoch, book_epoch, serve
(and sgemm, always). ``serve`` loads a real ``gluon-finetune serve`` with 1-64 clients
(``--serve-seconds``, ``--serve-clients``; see ``scripts/bench_serve.py``). ``int8`` is deployment speed: inference at batch 64 and 224 px and the latency of
one picture (batch 1; median and p95 ms of the network call) for float32, float32 fused by
oneDNN (``predict.fuse_network``), bfloat16 ``--amp`` (in a child process) and INT8
(``quantize.quantize_network``, calibrated on 64 of the folder's training images; with the
default ``--keep-float output`` and with ``first-conv`` and ``stage1``), beside
the peer's ``infer``, ``infer_bf16``, ``infer_int8`` and ``infer_latency``. ``amp`` repeats the hybridized training steps and inference with ``--amp``
(bfloat16 mixed precision on a CPU that has it) in a child process, since AMP
rewrites MXNet's operators for the rest of a process; the peer runs its bfloat16
autocast sections beside it (``train_step_bf16``, ``infer_bf16``). ``book_epoch`` is
the peer's ``epoch``: whole fine-tuning epochs of ``fit()`` on the peer's folder, 224 px,
batch 32, evaluation excluded (the median of the epochs after the first); with
``--epoch-grid`` it runs once per (threads, loader workers) pair, each in a child
process, to find the fastest defaults.

MXNet runs on every physical core (``gluon_finetune.threads``) unless
``OMP_NUM_THREADS`` says otherwise; the peer gets the same count (``--threads``).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import gluon_finetune  # noqa: F401  (before mxnet: it chooses MXNet's thread count)

# isort: split
import bench_serve  # scripts/bench_serve.py, beside this script
import mxnet as mx
import numpy as np

from gluon_finetune import augment, capability, data, devices, imageio, threads
from gluon_finetune.data import synthetic
from gluon_finetune.errors import UserError, first_line
from gluon_finetune.inference import predict
from gluon_finetune.inference.int8 import quantize
from gluon_finetune.networks import model
from gluon_finetune.training import features, train
from gluon_finetune.training.config import TrainConfig

SECTIONS = ("decode", "pipeline", "policy_pipeline", "step", "infer", "head", "amp", "int8", "epoch",
            "book_epoch", "serve")
AMP_TAG = ", bf16 --amp"
#: The peer's bfloat16 sections, skipped with ours on a CPU without bfloat16 instructions.
PEER_BF16 = ("train_step_bf16", "infer_bf16")
FUSED_TAG = ", fused"
INT8_TAG = ", INT8"
#: The calibration images of the int8 section's INT8 network.
CALIB_IMAGES = 64
#: resnet18 FLOP per image for a training step (forward 3.63 + backward 7.02 GFLOP at 224 px;
#: the peer's FlopCounterMode counts); scales with the pixel count.
STEP_GFLOP_224 = 10.65
PEER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                           "shared", "bench", "peer_torch.py")
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "gluon-finetune", "bench")


# --------------------------------------------------------------------------- timing helpers


def timed(fn, reps, warmup=1):
    """Seconds of each of ``reps`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    secs = []
    for _ in range(reps):
        tic = time.perf_counter()
        fn()
        secs.append(time.perf_counter() - tic)
    return secs


def load():
    return round(os.getloadavg()[0], 2)


class Results:
    """Collects records; prints JSON lines as they come when asked to."""

    def __init__(self, as_json):
        self.records, self.as_json = [], as_json

    def add(self, bench, variant, images, secs, gflop_per_image=None, **extra):
        med = statistics.median(secs)
        rec = dict(impl="gluon-finetune", bench=bench, variant=variant,
                   images_per_s=round(images / med, 3), n_per_rep=images,
                   reps_s=[round(s, 4) for s in secs],
                   spread_pct=round(100 * (max(secs) - min(secs)) / med, 1), load=load(), **extra)
        if gflop_per_image:
            rec["gflops"] = round(images / med * gflop_per_image, 1)
        self.records.append(rec)
        self.emit(rec)
        return rec

    def emit(self, rec):
        if self.as_json:
            print(json.dumps(rec), flush=True)
        else:
            print("  %-14s %-32s %9.1f img/s  (reps %s s, load %.2f)" % (
                rec["bench"], rec["variant"], rec["images_per_s"],
                " ".join("%.3g" % s for s in rec["reps_s"]), rec["load"]), file=sys.stderr, flush=True)


class Peer:
    """The book's PyTorch pipeline, run section by section with ``python`` on the same folder."""

    def __init__(self, python, folder, quick, epoch_px=None, timeout=None, script=PEER_SCRIPT):
        self.python, self.folder, self.quick, self.epoch_px = python, folder, quick, epoch_px
        self.timeout, self.script = timeout, os.path.abspath(script)
        self.records, self.failed = [], []

    def run(self, only, as_json):
        """Run the peer's sections ``only``; a failure or timeout is reported, not raised,
        so that the sections after it still run."""
        if not self.python:
            return []
        cmd = [self.python, self.script, "--data", self.folder, "--only", only,
               "--tag", "beside-gluon-finetune"]
        if self.quick:
            cmd += ["--steps", "1", "--warmup", "1", "--epochs", "1", "--epoch-hw", "32"]
        # Like with like: the peer computes on as many threads as MXNet does here, and its
        # epoch runs at the image size of ours.
        count = threads.runtime_threads()
        cmd += ["--threads", str(count)]
        if self.epoch_px and not self.quick:
            cmd += ["--epoch-hw", str(self.epoch_px)]
        env = dict(os.environ, OMP_NUM_THREADS=str(count))
        try:
            if not os.path.isfile(self.script):
                raise OSError("the peer script %s is not there (it lives in ../shared/bench/ "
                              "beside this clone; or pass --peer-script PATH)" % self.script)
            proc = subprocess.run(cmd, cwd=os.path.dirname(self.script), env=env,
                                  capture_output=True, text=True, timeout=self.timeout)
        except OSError as err:  # no peer script, or an interpreter that cannot start
            proc = subprocess.CompletedProcess(cmd, -1, "", str(err))
        except subprocess.TimeoutExpired as err:
            proc = subprocess.CompletedProcess(cmd, -1, err.stdout or "", "timed out after %d s"
                                               % self.timeout)
            proc.stdout = proc.stdout.decode() if isinstance(proc.stdout, bytes) else proc.stdout
        if proc.returncode != 0:
            why = (proc.stderr.strip().splitlines() or ["exit status %d" % proc.returncode])[-1]
            self.failed.append((only, why))
            print("peer %s: failed, the other sections go on: %s" % (only, why), file=sys.stderr,
                  flush=True)
        got = []
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                rec = json.loads(line)
                rec["load"] = load()
                got.append(rec)
                if as_json:
                    print(json.dumps(rec), flush=True)
        self.records += got
        return got

    def latency(self):
        """The peer's ``infer_latency``: median p50 and p95 over rounds, or None."""
        found = [rec for rec in self.records if rec.get("bench") == "infer_latency"]
        if not found:
            return None
        return {"p50_ms": statistics.median(r["p50_ms"] for r in found),
                "p95_ms": statistics.median(r["p95_ms"] for r in found), "rounds": len(found)}

    def find(self, bench, **config):
        """The peer's figure for ``bench``: the median over rounds of the matching records."""
        found = [rec for rec in self.records
                 if rec.get("bench") == bench and all(rec.get("config", {}).get(k) == v
                                                      for k, v in config.items())]
        if not found:
            return None
        return dict(found[0], images_per_s=statistics.median(r["images_per_s"] for r in found),
                    rounds=len(found))


# --------------------------------------------------------------------------- data


def image_folder(path, n_per_class, size=(400, 500)):
    """A synthetic hotdog folder of ~400x500 px JPEGs (train/ and test/), made once."""
    marker = os.path.join(path, synthetic.MARKER)
    if os.path.isfile(marker):
        with open(marker) as f:
            meta = json.load(f)
        if meta.get("complete") and meta.get("n_per_class") == n_per_class:
            return path
    print("generating %d synthetic images per class in %s ..." % (n_per_class, path), file=sys.stderr)
    synthetic.generate(path, task="hotdog", n_per_class=n_per_class, size=size, seed=0, quiet=True)
    return path


def train_files(root):
    report = data.scan_folder(root)
    return [p for p, _ in report.items["train"]]


class Repeat:
    """The same ``(data, label)`` batch ``n`` times: a loader without input cost."""

    def __init__(self, x, y, n):
        self.x, self.y, self.n = x, y, n

    def __len__(self):
        return self.n

    def __iter__(self):
        for _ in range(self.n):
            yield self.x, self.y


def random_batch(batch, px, classes=2, seed=0):
    rng = np.random.RandomState(seed)
    x = mx.nd.array(rng.standard_normal((batch, 3, px, px)).astype(np.float32))
    y = mx.nd.array(rng.randint(0, classes, batch), dtype="int64")
    return x, y


def source_net():
    """A 1000-class resnet18_v2 with random weights: timing does not depend on their values."""
    mx.random.seed(0)
    net = model.scratch_net(1000)
    net(mx.nd.zeros((1, 3, 32, 32)))
    return net


def source_params(folder):
    path = os.path.join(folder, "source-random.params")
    if not os.path.isfile(path):
        os.makedirs(folder, exist_ok=True)
        source_net().save_parameters(path)
    return path


# --------------------------------------------------------------------------- sections


def bench_decode(res, args, files):
    import cv2
    from PIL import Image

    reps = args.reps_io
    res.add("decode_only", "read_image (library)", len(files),
            timed(lambda: [imageio.read_image(f) for f in files], reps))
    res.add("decode_only", "OpenCV imdecode+RGB", len(files),
            timed(lambda: [cv2.cvtColor(cv2.imdecode(np.fromfile(f, np.uint8), cv2.IMREAD_COLOR),
                                        cv2.COLOR_BGR2RGB) for f in files], reps))
    res.add("decode_only", "PIL open+convert", len(files),
            timed(lambda: [np.asarray(Image.open(f).convert("RGB")) for f in files], reps))


def bench_pipeline(res, args, root, n_images):
    reps = args.reps_io
    for workers in (0, 1, 2):
        loaders = data.make_loaders(root, batch_size=32, size=224, num_workers=workers, check=False,
                                    quiet=True)
        secs = timed(lambda loaders=loaders: [x.wait_to_read() for x, _ in loaders.train], reps)
        res.add("train_pipeline", _workers(workers), len(loaders.train_set), secs,
                num_workers=workers)
        del loaders
    bench_recordio(res, args, root)
    if args.plain:
        # The plain mxnet.image pipeline (before this project's fast path), for reference.
        from functools import partial

        augs = augment.train_augs(224)
        ds = mx.gluon.data.vision.ImageFolderDataset(os.path.join(root, "train")).transform_first(
            partial(augment.apply_aug_list, augs=augs))
        for workers in (0, 2):
            loader = mx.gluon.data.DataLoader(ds, batch_size=32, shuffle=True, num_workers=workers)
            secs = timed(lambda loader=loader: [x.wait_to_read() for x, _ in loader], reps)
            res.add("train_pipeline", "plain mxnet.image, %d w" % workers, len(ds), secs,
                    num_workers=workers, plain=True)
            del loader


def packed(root):
    """``root`` packed once as RecordIO in the bench cache (``data pack``, the files' own bytes)."""
    from gluon_finetune.data.recordio import pack_folder

    name = "%s-%s" % (os.path.basename(os.path.abspath(root)), data.scan_folder(root).fingerprint())
    out = os.path.join(CACHE, "rec", name)
    if not os.path.isfile(out + ".rec"):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        pack_folder(root, out, overwrite=True, quiet=True)
    return out + ".rec"


def evict(paths):
    """Drop ``paths`` from the page cache (``posix_fadvise DONTNEED``): the next read is cold."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def cold_timed(fn, files, reps):
    """:func:`timed`, with ``files`` evicted from the page cache before each call."""
    secs = []
    for _ in range(reps + 1):  # the first call warms everything but the files, as timed() does
        evict(files)
        tic = time.perf_counter()
        fn()
        secs.append(time.perf_counter() - tic)
    return secs[1:]


def bench_recordio(res, args, root):
    """The same training images as a folder of files and as one ``.rec``, 2 workers, book augs.

    Twice: the bench's photo-sized JPEGs at 224 px, and a folder of many small files
    (2,000 pictures of 40-60 px, at 32 px), where opening a file costs most beside the
    work on it; the small files once more with a cold page cache (each file, or the
    ``.rec``, evicted before each pass, as on a first epoch or a disk larger than the
    memory). ``read bytes`` rows read every image's bytes and nothing else.
    """
    reps = args.reps_io
    small = image_folder(os.path.join(CACHE, "small-quick" if args.quick else "small"),
                         50 if args.quick else 1000, size=(40, 60))
    for tag, folder, px, cold in (("", root, 224, False), ("small files: ", small, 32, False),
                                  ("small files, cold cache: ", small, 32, True)):
        rec = packed(folder)
        for what, source in (("folder of files", folder), ("one .rec", rec)):
            loaders = data.make_loaders(source, batch_size=32, size=px, num_workers=2, check=False,
                                        quiet=True)
            paths = [p for p, _ in loaders.report.items["train"]]
            files = [rec, rec[:-4] + ".idx"] if source == rec else paths
            clock = (lambda fn, files=files: cold_timed(fn, files, reps)) if cold else \
                (lambda fn: timed(fn, reps))
            secs = clock(lambda loaders=loaders: [x.wait_to_read() for x, _ in loaders.train])
            res.add("recordio", "%s%s, 2 w" % (tag, what), len(loaders.train_set), secs,
                    num_workers=2, px=px, source=source, cold_cache=cold)
            del loaders
            res.add("recordio", "%sread bytes, %s" % (tag, what), len(paths),
                    clock(lambda paths=paths: [imageio.read_bytes(p) for p in paths]),
                    source=source, cold_cache=cold)


#: The automatic policies measured, as spec words, with the peer's name for each.
POLICIES = (("trivial_augment", "trivial_augment_wide"), ("rand_augment:2:9", "rand_augment_2_9"),
            ("auto_augment", "auto_augment_imagenet"))


def bench_policy_pipeline(res, args, root):
    """The training input pipeline with each automatic policy, as the peer's ``policy_pipeline``.

    Random-resized crop 224, flip, the policy, to-tensor, normalise, batches of
    32 from the training folder, 0 and 2 workers (the project's loader: the
    list on the uint8 fast path, to-tensor and normalise per batch).
    """
    reps = args.reps_io
    for words, peer_name in POLICIES:
        augs = augment.parse_spec("resized_crop:224,flip,%s,to_tensor,normalize" % words)
        for workers in (0, 2):
            loaders = data.make_loaders(root, batch_size=32, size=224, num_workers=workers,
                                        train_augs=augs, check=False, quiet=True)
            secs = timed(lambda loaders=loaders: [x.wait_to_read() for x, _ in loaders.train], reps)
            res.add("policy_pipeline", "%s, %s" % (words, _workers(workers)), len(loaders.train_set),
                    secs, num_workers=workers, policy=peer_name)
            del loaders


def _workers(n):
    return "%d worker%s" % (n, "" if n == 1 else "s")


def _step_net(px, hybrid, freeze=False):
    net = model.finetune_net(source_net(), 2, freeze=freeze)
    if hybrid:
        net.hybridize(static_alloc=True, static_shape=True)
    return net


def bench_step(res, args, tag=""):
    config = TrainConfig(quiet=True).resolved()
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    ctxs = [mx.cpu()]
    for px in args.step_sizes:
        for hybrid in (True, False):
            if not hybrid and (px not in (224, 112) or args.quick or tag):
                continue  # the four: 224 and 112 px, hybridized and not
            net = _step_net(px, hybrid)
            x, y = random_batch(args.batch, px)
            trainer = train.make_trainer(net, config, steps_per_epoch=args.steps)
            batches = Repeat(x, y, args.steps)
            secs = timed(lambda net=net, batches=batches, trainer=trainer: train.train_epoch(
                net, batches, trainer, loss_fn, ctxs, config), args.reps)
            gflop = STEP_GFLOP_224 * (px / 224.0) ** 2
            res.add("train_step", "%d px, %s%s" % (px, "hybridized" if hybrid else "imperative", tag),
                    args.batch * args.steps, secs, gflop_per_image=gflop, hw=px, batch=args.batch,
                    hybrid=hybrid)
            if px == 224 and hybrid and not args.quick and not tag:
                secs = timed(lambda net=net, batches=batches, trainer=trainer: _plain_steps(
                    net, batches, trainer, loss_fn), args.reps)
                res.add("train_step", "224 px, plain loop", args.batch * args.steps, secs,
                        gflop_per_image=gflop, hw=px, batch=args.batch, hybrid=True, plain=True)


def _plain_steps(net, batches, trainer, loss_fn):
    """A bare hybridized loop (no metrics, no progress): the ceiling train_epoch must keep."""
    from mxnet import autograd

    for x, y in batches:
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(x.shape[0])
    mx.nd.waitall()


def bench_infer(res, args, tag=""):
    _timed_infer(res, args, _step_net(224, True), tag)


def bench_latency(res, args, net, tag=""):
    """One picture at a time: the network call at batch 1, as a service makes it."""
    x = random_batch(1, 224)[0]
    for _ in range(5):
        net(x).wait_to_read()
    secs = []
    for _ in range(args.latency_n):
        tic = time.perf_counter()
        net(x).wait_to_read()
        secs.append(time.perf_counter() - tic)
    ms = sorted(1000 * t for t in secs)
    res.add("infer_latency", "224 px, batch 1" + (tag or ", float32"), 1, secs, hw=224, batch=1,
            p50_ms=round(float(np.median(ms)), 2), p95_ms=round(float(np.percentile(ms, 95)), 2))


def _timed_infer(res, args, net, tag):
    """The network's forward pass on a batch, ``args.steps`` times a rep, each waited for: what
    the peer's ``infer`` sections time (no argmax or accuracy, which cost INT8 about 10%)."""
    x = random_batch(args.infer_batch, 224)[0]

    def forward():
        for _ in range(args.steps):
            net(x).wait_to_read()
    secs = timed(forward, args.reps)
    res.add("infer", "224 px, batch %d%s" % (args.infer_batch, tag), args.infer_batch * args.steps,
            secs, hw=224, batch=args.infer_batch)


def calibration_loader(root, n=CALIB_IMAGES):
    """``n`` training images of ``root`` through the book's test list at 224 px."""
    augs = augment.test_augs(224)
    paths = quantize.pick_calibration_files(train_files(root), min(n, len(train_files(root))))
    x = mx.nd.stack(*[augment.apply_aug_list(mx.nd.array(imageio.read_image(p), dtype="uint8"),
                                             augs) for p in paths])
    return mx.gluon.data.DataLoader(mx.gluon.data.ArrayDataset(x, mx.nd.zeros((len(paths),))),
                                    batch_size=32)


def bench_int8(res, args, root):
    """Deployment: float32, fused float32 and INT8 at batch 64 and at batch 1; bf16 in a child."""
    nets = {"": _step_net(224, True)}
    fused = _step_net(224, True)
    nets[FUSED_TAG] = predict.fuse_network(fused, 224, mx.cpu())
    loader = calibration_loader(root)
    for keep in quantize.KEEP_FLOAT:  # the default (more accurate) first, then the faster one
        plain = _step_net(224, False)
        plain.hybridize()
        tag = INT8_TAG + ("" if keep == quantize.DEFAULT_KEEP_FLOAT else " " + keep)
        nets[tag] = quantize.quantize_network(plain, loader, "naive",
                                              quantize.excluded_layers(plain, keep))[0]
    for tag, net in nets.items():
        if tag or "infer" not in args.only:  # the infer section measured plain float32 already
            _timed_infer(res, args, net, tag)
        bench_latency(res, args, net, tag)
    bench_amp(res, args, deploy=True)


def bench_amp(res, args, deploy=False):
    """The step and infer sections with --amp, in a child process of this script."""
    cmd = [sys.executable, os.path.abspath(__file__), "--amp-child", "--json",
           "--reps", str(args.reps), "--steps", str(args.steps)] + (["--quick"] if args.quick else [])
    if deploy:  # the int8 section's bf16 rows: batch 64 and batch 1
        cmd += ["--only", "int8"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print("amp: skipped: %s" % (proc.stderr.strip().splitlines() or ["no output"])[-1],
              file=sys.stderr)
        return
    for line in proc.stdout.splitlines():
        rec = json.loads(line) if line.startswith("{") else {}
        if rec.get("bench") in ("train_step", "infer", "infer_latency"):
            res.records.append(rec)
            res.emit(rec)


def amp_child(args):
    """``--amp-child``: AMP on for this process, then the hybridized steps and inference."""
    try:
        devices.init_amp([mx.cpu()])
    except UserError as err:
        print(err, file=sys.stderr)
        return 3
    res = Results(True)
    if args.only == ["int8"]:
        bench_infer(res, args, tag=AMP_TAG)
        bench_latency(res, args, _step_net(224, True), tag=AMP_TAG)
        return 0
    bench_step(res, args, tag=AMP_TAG)
    bench_infer(res, args, tag=AMP_TAG)
    return 0


def bench_head(res, args, root):
    config = TrainConfig(quiet=True, freeze_features=True).resolved()
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    ctxs = [mx.cpu()]
    net = _step_net(224, True, freeze=True)
    x, y = random_batch(args.batch, 224)
    trainer = train.make_trainer(net, config, steps_per_epoch=args.steps)
    batches = Repeat(x, y, args.steps)
    secs = timed(lambda: train.train_epoch(net, batches, trainer, loss_fn, ctxs, config), args.reps)
    res.add("head_only", "frozen features, per step", args.batch * args.steps, secs, hw=224,
            batch=args.batch)
    # Cached: the one-off feature pass over the folder's images, then head epochs on them.
    loaders = data.make_loaders(root, batch_size=args.infer_batch, size=224, check=False, quiet=True)
    config = TrainConfig(quiet=True, freeze_features=True, cache_features=True,
                         batch_size=args.infer_batch).resolved()
    holder = {}

    def extract():
        holder["cache"] = features.cache_features(net, loaders, config, ctxs, log=lambda _: None)

    n_all = len(loaders.train_set) + len(loaders.test_set)
    secs = timed(extract, 1, warmup=0)
    res.add("head_only", "cache: feature pass", n_all, secs, batch=args.infer_batch)
    head = net.output
    config = TrainConfig(quiet=True, freeze_features=True, cache_features=True,
                         batch_size=128).resolved()
    cache = holder["cache"]
    feats = features.FeatureBatches(cache.train.features, cache.train.labels,
                                    mx.gluon.data.BatchSampler(
                                        mx.gluon.data.RandomSampler(len(cache.train.features)),
                                        128, "keep"))
    trainer = train.make_trainer(net, config, steps_per_epoch=len(feats))
    secs = timed(lambda: train.train_epoch(head, feats, trainer, loss_fn, ctxs, config),
                 max(args.reps, 5))
    res.add("head_only", "cache: head epoch, batch 128", len(cache.train.features), secs)


def bench_epoch(res, args, root, workdir):
    """One epoch of the hotdog-sized set through fit(): fine-tune, and head-only cached.

    The figure is the epoch's training pass (``train_time``); evaluating the test set
    and the one feature pass of the cached run are in ``fit_seconds``.
    """
    import shutil

    weights = source_params(workdir)
    common = dict(data=root, weights=weights, epochs=1, seed=0, quiet=True,
                  image_size=args.epoch_px)
    runs = [("fine-tune", {}), ("head-only, cached features",
                                dict(freeze_features=True, cache_features=True))]
    n_train = len(train_files(root))
    for name, extra in runs:
        out = os.path.join(workdir, "run-%s" % name.split(",")[0].replace(" ", "-"))
        shutil.rmtree(out, ignore_errors=True)
        lines = []
        tic = time.perf_counter()
        result = train.fit(TrainConfig(out=out, **dict(common, **extra)), log=lines.append)
        total = time.perf_counter() - tic
        h = result.final
        # train_time: the epoch's training pass, without evaluating the test set
        res.add("epoch", name, n_train, [h["train_time"]], px=args.epoch_px, fit_seconds=round(total, 1),
                test_acc=h["test_acc"], train_acc=h["train_acc"],
                workers=data.default_workers(n_train, result.config.batch_size),
                log=[l for l in lines if l.startswith("computed")])
        shutil.rmtree(out, ignore_errors=True)


def bench_book_epoch(res, args, root, workdir, workers=None):
    """The peer's ``epoch``: whole epochs of fit() on ``root``, batch 32, evaluation excluded.

    fit() runs 1 + ``--reps`` epochs; the first (graph building, workers starting) is
    the peer's warm-up, and the figure is the median ``train_time`` of the rest.
    """
    import shutil

    out = os.path.join(workdir, "run-book-epoch-%d" % os.getpid())
    shutil.rmtree(out, ignore_errors=True)
    px = args.epoch_px
    result = train.fit(TrainConfig(data=root, out=out, weights=source_params(workdir), seed=0,
                                   quiet=True, image_size=px, batch_size=32, epochs=1 + args.reps,
                                   num_workers=workers), log=lambda _: None)
    n_train = len(train_files(root))
    used = data.default_workers(n_train, 32) if workers is None else workers
    count = threads.runtime_threads()
    res.add("book_epoch", "%d thread%s, %s" % (count, "" if count == 1 else "s", _workers(used)),
            n_train, [h["train_time"] for h in result.history[1:]], px=px, batch=32, threads=count,
            workers=used, default=workers is None)
    shutil.rmtree(out, ignore_errors=True)


def book_epochs(res, args, root):
    """book_epoch here, or once per ``--epoch-grid`` pair in child processes."""
    if not args.epoch_grid:
        return bench_book_epoch(res, args, root, os.path.join(CACHE, "runs"))
    for pair in args.epoch_grid.split(","):
        count, workers = (int(v) for v in pair.split(":"))
        cmd = [sys.executable, os.path.abspath(__file__), "--epoch-child", str(workers), "--json",
               "--data", root, "--reps", str(args.reps), "--epoch-px", str(args.epoch_px)] + \
            (["--quick"] if args.quick else [])
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              env=dict(os.environ, OMP_NUM_THREADS=str(count)))
        if proc.returncode != 0:
            raise SystemExit("book_epoch child failed (%s):\n%s" % (" ".join(cmd), proc.stderr[-3000:]))
        for line in proc.stdout.splitlines():
            rec = json.loads(line) if line.startswith("{") else {}
            if rec.get("bench") == "book_epoch":
                res.records.append(rec)
                res.emit(rec)


def bench_sgemm(res, args):
    n = 2048
    a = mx.nd.random.normal(shape=(n, n))
    b = mx.nd.random.normal(shape=(n, n))
    secs = timed(lambda: mx.nd.dot(a, b).wait_to_read(), max(args.reps, 5), warmup=2)
    return res.add("sgemm", "2048^3 mx.nd.dot", 1, secs, gflop_per_image=2 * n ** 3 / 1e9, n=n)["gflops"]


# --------------------------------------------------------------------------- table


def ratio(a, b):
    return a / b if a and b else None


def table(res, peer, sgemm, peer_sgemm, cpu=None):
    """The comparison table; its first line names the CPU the records came from."""
    ours = {}
    for r in res.records:  # the median over rounds of each measurement
        ours.setdefault((r["bench"], r["variant"]), []).append(r)
    ours = {k: dict(v[0], images_per_s=statistics.median(r["images_per_s"] for r in v),
                    gflops=statistics.median(r["gflops"] for r in v) if "gflops" in v[0] else None,
                    rounds=len(v))
            for k, v in ours.items()}
    rows = []

    def row(bench, variant, peer_rec=None, note=""):
        rec = ours.get((bench, variant))
        if rec is None:
            return None
        p = peer_rec["images_per_s"] if peer_rec else None
        rows.append((bench, variant, rec["images_per_s"], p, ratio(rec["images_per_s"], p), note, rec))
        return rec

    decode = row("decode_only", "read_image (library)", peer.find("decode_only"))
    row("decode_only", "OpenCV imdecode+RGB", peer.find("decode_only"))
    row("decode_only", "PIL open+convert", peer.find("decode_only"))
    single = decode["images_per_s"] if decode else None
    for w in (0, 1, 2):
        p = peer.find("train_pipeline", num_workers=w, persistent=(w == 2)) or \
            peer.find("train_pipeline", num_workers=w)
        notes = []
        if w == 2:
            rec = ours.get(("train_pipeline", _workers(2)))
            if rec and single:
                notes.append("%.0f%% of 2x decode" % (100 * rec["images_per_s"] / (2 * single)))
            pd = peer.find("train_pipeline", num_workers=2, persistent=False)
            if rec and pd:
                notes.append("%.2fx peer default (re-forked)" % (rec["images_per_s"] / pd["images_per_s"]))
            if p:
                notes.append("peer: persistent workers")
        row("train_pipeline", _workers(w), p, "; ".join(notes))
    for words, peer_name in POLICIES:
        for w in (0, 2):
            p = peer.find("policy_pipeline", policy=peer_name, num_workers=w)
            row("policy_pipeline", "%s, %s" % (words, _workers(w)), p,
                "peer: torchvision, persistent workers" if p and w == 2 else "")
    for tag in ("", "small files: ", "small files, cold cache: "):
        for what in ("", "read bytes, "):
            files = ours.get(("recordio", "%s%sfolder of files%s" % (tag, what, "" if what else ", 2 w")))
            row("recordio", "%s%sfolder of files%s" % (tag, what, "" if what else ", 2 w"))
            rec = row("recordio", "%s%sone .rec%s" % (tag, what, "" if what else ", 2 w"))
            if rec and files:
                rows[-1] = rows[-1][:5] + ("%.2fx the folder of files" % (
                    rec["images_per_s"] / files["images_per_s"]),) + rows[-1][6:]
    row("train_pipeline", "plain mxnet.image, 0 w", peer.find("train_pipeline", num_workers=0))
    row("train_pipeline", "plain mxnet.image, 2 w",
        peer.find("train_pipeline", num_workers=2, persistent=True))
    for key in sorted((k for k in ours if k[0] == "train_step"), key=lambda k: k[1]):
        rec = ours[key]
        p = peer.find("train_step", hw=rec["hw"])
        note = ""
        if key[1].endswith(AMP_TAG):
            p = peer.find("train_step_bf16", hw=rec["hw"])
            note = "bfloat16 mixed precision; the peer under bfloat16 autocast"
        elif sgemm and rec.get("gflops"):
            note = "%.0f%% of SGEMM (%.0f GFLOP/s)" % (100 * rec["gflops"] / sgemm, rec["gflops"])
        row("train_step", key[1], p, note)
    for key in sorted(k for k in ours if k[0] == "infer"):
        amp = key[1].endswith(AMP_TAG)
        int8 = INT8_TAG in key[1]
        row("infer", key[1], peer.find("infer_bf16" if amp else "infer_int8" if int8 else "infer"),
            "bfloat16 mixed precision; the peer under bfloat16 autocast" if amp else
            "oneDNN INT8, naive calibration; the peer: torch.ao FX x86 INT8" if int8 else
            "oneDNN-fused graph; the peer in float32" if key[1].endswith(FUSED_TAG) else "")
    peer_lat = peer.latency()
    for key in sorted(k for k in ours if k[0] == "infer_latency"):
        rec = ours[key]
        p50 = statistics.median(r["p50_ms"] for r in res.records
                                if (r["bench"], r["variant"]) == key)
        p95 = statistics.median(r["p95_ms"] for r in res.records
                                if (r["bench"], r["variant"]) == key)
        note = "p50 %.1f ms, p95 %.1f ms" % (p50, p95)
        if peer_lat:
            note += "; peer float32 p50 %.1f ms, p95 %.1f ms: ours/peer p50 %.2fx" % (
                peer_lat["p50_ms"], peer_lat["p95_ms"], p50 / peer_lat["p50_ms"])
        rows.append(("infer_latency", key[1], rec["images_per_s"],
                     1000.0 / peer_lat["p50_ms"] if peer_lat else None,
                     ratio(rec["images_per_s"], 1000.0 / peer_lat["p50_ms"]) if peer_lat else None,
                     note, rec))
    row("head_only", "frozen features, per step", peer.find("linear_probe"))
    row("head_only", "cache: feature pass")
    row("head_only", "cache: head epoch, batch 128")
    full = ours.get(("epoch", "fine-tune"))
    cached = ours.get(("epoch", "head-only, cached features"))
    row("epoch", "fine-tune", None, "fit() total %.0f s" % full["fit_seconds"] if full else "")
    if cached:
        note = "fit() total %.0f s (with the feature pass)" % cached["fit_seconds"]
        if full:
            note += "; epoch %.0fx faster" % (full["reps_s"][0] / max(cached["reps_s"][0], 1e-9))
        row("epoch", "head-only, cached features", None, note)
    for key in sorted(k for k in ours if k[0] == "book_epoch"):
        rec = ours[key]
        row("book_epoch", key[1], peer.find("epoch"),
            "peer: %s persistent workers" % (peer.find("epoch") or {}).get("config", {}).get(
                "num_workers", "-") if peer.find("epoch") else "")

    rows.extend(bench_serve.rows(res.records))

    lines = ["CPU: %s" % (capability.cpu_label(cpu) if cpu else "not recorded (a record older than "
                                                                  "the CPU label)"),
             "%-15s %-32s %10s %10s %8s  %s" % ("measurement", "variant", "ours img/s", "peer img/s",
                                               "ours/peer", "notes"),
             "-" * 114]
    for bench, variant, mine, p, r, note, _ in rows:
        lines.append("%-15s %-32s %10.1f %10s %8s  %s" % (
            bench, variant, mine, "%.1f" % p if p else "-", "%.2fx" % r if r else "-", note))
    lines.append("%-15s %-32s %10s %10s %8s" % (
        "sgemm", "2048^3, GFLOP/s", "%.1f" % sgemm if sgemm else "-",
        "%.1f" % peer_sgemm if peer_sgemm else "-",
        "%.2fx" % ratio(sgemm, peer_sgemm) if ratio(sgemm, peer_sgemm) else "-"))
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", metavar="DIR", help="image folder with train/ and test/ (default: a "
                   "synthetic set of 2 x 128 training images of ~400x500 px in %s)" % CACHE)
    p.add_argument("--epoch-data", metavar="DIR", help="hotdog-sized folder for the epoch section "
                   "(default: 2 x 1000 training + 2 x 400 test synthetic images in %s)" % CACHE)
    p.add_argument("--peer", metavar="PYTHON", help="run the PyTorch peer with this interpreter")
    p.add_argument("--peer-script", default=PEER_SCRIPT, metavar="PATH",
                   help="the peer's script (default: ../shared/bench/peer_torch.py beside the clone)")
    p.add_argument("--peer-timeout", type=float, default=1800, metavar="SECONDS",
                   help="stop a peer section after this long, report it and go on "
                        "(default: %(default)s)")
    p.add_argument("--only", default=",".join(SECTIONS),
                   help="comma-separated sections: %s (default: all)" % ",".join(SECTIONS))
    p.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, one rep")
    p.add_argument("--json", action="store_true",
                   help="JSON lines on stdout (the table then goes to stderr)")
    p.add_argument("--replay", metavar="JSONL", help="print the table of an earlier --json run and exit")
    p.add_argument("--reps", type=int, default=3, help="timed reps of compute sections (default: 3)")
    p.add_argument("--steps", type=int, default=2, help="steps per rep (default: 2)")
    p.add_argument("--rounds", type=int, default=1,
                   help="run each section (ours, then the peer's) this many times, alternating, and "
                        "report medians over rounds: steadier ratios on a busy machine (default: 1)")
    p.add_argument("--no-plain", dest="plain", action="store_false",
                   help="skip the plain mxnet.image pipeline used for reference")
    p.add_argument("--epoch-px", type=int, default=224,
                   help="image size of the epoch and book_epoch sections (default: 224)")
    p.add_argument("--epoch-grid", metavar="T:W,...",
                   help="book_epoch once per threads:workers pair, each in a child process "
                        "(e.g. 2:0,2:1,2:2,1:2); default: once, with this process's threads and "
                        "the default workers")
    p.add_argument("--serve-seconds", type=float, default=10.0, metavar="SECONDS",
                   help="serve section: how long each load level runs (default: %(default)s)")
    p.add_argument("--serve-clients", default=",".join(map(str, bench_serve.CLIENTS)),
                   metavar="N,...", help="serve section: concurrent clients of each load level "
                                         "(default: %(default)s)")
    p.add_argument("--amp-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--epoch-child", type=int, metavar="WORKERS", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(args.only) - set(SECTIONS))
    if unknown:
        p.error("unknown section(s) %s; choose from %s" % (", ".join(unknown), ", ".join(SECTIONS)))
    args.serve_clients = [int(c) for c in args.serve_clients.split(",") if c.strip()]
    args.batch, args.infer_batch, args.reps_io, args.latency_n = 32, 64, 3, 50
    args.step_sizes = (224, 112, 64)  # 64 px: the offline demo's size
    if args.quick:
        args.reps, args.steps, args.reps_io = 1, 1, 1
        args.batch, args.infer_batch, args.step_sizes = 4, 8, (64,)
        args.latency_n = 5
        args.epoch_px = 32
        args.serve_seconds = min(args.serve_seconds, 1.0)
        args.serve_clients = args.serve_clients[:2]
    return args


def replay(path):
    """The table of a saved ``--json`` run (ours and the peer's records, every round)."""
    res, peer, cpu = Results(False), Peer(None, None, False), None
    with open(path) as f:
        for line in f:
            if not line.startswith("{"):
                continue
            rec = json.loads(line)
            if rec.get("bench") == "versions" and rec.get("impl") == "gluon-finetune":
                cpu = rec.get("cpu")
            elif rec.get("impl") == "gluon-finetune" and "variant" in rec:
                res.records.append(rec)
            elif rec.get("impl") == "torch":
                peer.records.append(rec)
    sgemm = [r["gflops"] for r in res.records if r["bench"] == "sgemm"]
    peer_gemms = [r["gflops"] for r in peer.records if r.get("bench") == "sgemm_gflops"]
    print(table(res, peer, statistics.median(sgemm) if sgemm else None,
                statistics.median(peer_gemms) if peer_gemms else None, cpu))
    return 0


def main(argv=None):
    args = parse_args(argv)
    if args.replay:
        return replay(args.replay)
    if args.amp_child:
        return amp_child(args)
    if args.epoch_child is not None:
        res = Results(True)
        bench_book_epoch(res, args, args.data, os.path.join(CACHE, "runs"), args.epoch_child)
        return 0
    res = Results(args.json)
    root = args.data or image_folder(os.path.join(CACHE, "quick" if args.quick else "images"),
                                     16 if args.quick else 128)
    files = train_files(root)
    peer = Peer(args.peer, os.path.join(root, "train"), args.quick, args.epoch_px,
                args.peer_timeout, args.peer_script)
    header = dict(impl="gluon-finetune", bench="versions", mxnet=mx.__version__,
                  cpu=capability.cpu_record(),
                  numpy=np.__version__, python=platform.python_version(), cores=os.cpu_count(),
                  omp_num_threads=os.environ.get("OMP_NUM_THREADS"), threads=threads.describe(),
                  mxnet_env={k: v for k, v in os.environ.items() if k.startswith("MXNET_")},
                  data=root, images=len(files), load=load(), quick=args.quick,
                  default_workers=data.default_workers(len(files)))
    if args.json:
        print(json.dumps(header), flush=True)
    else:
        print("gluon-finetune bench: mxnet %s, %s, %d cores, %s, load %.2f, %d training images "
              "in %s" % (mx.__version__, capability.cpu_label(header["cpu"]), os.cpu_count(),
                         threads.text(header["threads"]), header["load"], len(files), root),
              file=sys.stderr)
    sgemm_runs = []
    sections = [
        ("decode", lambda: bench_decode(res, args, files), "decode_only"),
        ("pipeline", lambda: bench_pipeline(res, args, root, len(files)), "train_pipeline"),
        ("policy_pipeline", lambda: bench_policy_pipeline(res, args, root), "policy_pipeline"),
        ("step", lambda: bench_step(res, args), "train_step"),
        ("infer", lambda: bench_infer(res, args), "infer"),
        ("head", lambda: bench_head(res, args, root), "linear_probe"),
        # The float32 sections' peer figures serve as the amp rows' reference when they ran.
        ("amp", lambda: bench_amp(res, args), "train_step_bf16,infer_bf16"),
        ("int8", lambda: bench_int8(res, args, root),
         ",".join(["infer_bf16", "infer_int8", "infer_latency"]
                  + ([] if "infer" in args.only else ["infer"]))),
        ("book_epoch", lambda: book_epochs(res, args, root), "epoch"),
        # Its peer is a service of its own (scripts/peer_serve_torch.py), started inside.
        ("serve", lambda: bench_serve.bench_serve(
            res, args, root, os.path.join(CACHE, "runs"), source_params(os.path.join(CACHE, "runs")),
            lambda line: print(line, file=sys.stderr, flush=True)), ""),
    ]
    if not capability.has_bf16():
        # Ours refuse --amp here (no bfloat16 instructions); the peer would emulate bfloat16
        # for a quarter of an hour, and its figure would have nothing to be compared with.
        sections = [(name, ours, ",".join(p for p in peer_name.split(",") if p not in PEER_BF16))
                    for name, ours, peer_name in sections]
        print("bf16: skipped here and for the peer: %s" % capability.missing("bf16"),
              file=sys.stderr)
    failed = []
    for _ in range(args.rounds):
        sgemm_runs.append(bench_sgemm(res, args))
        peer.run("sgemm", args.json)
        for name, ours, peer_name in sections:
            if name in args.only:
                try:
                    ours()
                except Exception as err:  # one broken section must not lose the others' figures
                    failed.append((name, "%s: %s" % (type(err).__name__, first_line(err))))
                    print("%s: failed, the other sections go on: %s" % failed[-1], file=sys.stderr,
                          flush=True)
                if peer_name:
                    peer.run(peer_name, args.json)
    sgemm = statistics.median(sgemm_runs)
    if "epoch" in args.only:
        epoch_root = args.epoch_data or (
            root if args.quick else image_folder(os.path.join(CACHE, "hotdog"), 1000))
        bench_epoch(res, args, epoch_root, os.path.join(CACHE, "runs"))
    peer_gemms = [r["gflops"] for r in peer.records if r.get("bench") == "sgemm_gflops"]
    peer_gemm = statistics.median(peer_gemms) if peer_gemms else None
    text = table(res, peer, sgemm, peer_gemm, header["cpu"])
    footer = dict(impl="gluon-finetune", bench="done", load=load(),
                  failed=[{"section": n, "error": e} for n, e in failed],
                  peer_failed=[{"section": n, "error": e} for n, e in peer.failed])
    if args.json:
        print(json.dumps(footer), flush=True)
    out = sys.stderr if args.json else sys.stdout
    print(text, file=out)
    print("load average: %.2f at the start, %.2f at the end; peer: %s"
          % (header["load"], footer["load"], args.peer or "not run"), file=out)
    for who, lost in (("ours", failed), ("peer", peer.failed)):
        for name, why in lost:
            print("failed (%s): %s: %s" % (who, name, why), file=out)
    return 1 if failed or peer.failed else 0


if __name__ == "__main__":
    sys.exit(main())
