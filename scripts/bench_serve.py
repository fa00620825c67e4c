"""The ``serve`` section of ``scripts/bench.py``: ``gluon-finetune serve`` under load.

A 224 px resnet18_v2 run (its head trained for one epoch on cached features of the
bench folder; the timing does not depend on the weights) is served by a real
``gluon-finetune serve`` subprocess on loopback: float32, INT8, and float32 with
``--workers 2``. The closed-loop load generator (``gluon_finetune.serve.loadgen``)
posts the bench folder's JPEGs from 1, 4, 16 and 64 clients, each level for
``--serve-seconds``, and records throughput, p50/p95/p99 latency and the mean batch
size the server ran (from its ``/metrics``).

Beside them, measured in the same run with the server stopped:

- the ceiling: the same loaded network's offline forward pass at batch 16 and 64
  (what the ``infer`` section times), and the same images through
  ``Predictor.predict`` at batch 16 (decoding and resizing included, no HTTP);
- the single-image latency of the network (batch 1, p50).

With ``--peer PYTHON`` the peer service ``scripts/peer_serve_torch.py`` (the book's
torchvision resnet18 behind one synchronous ``http.server`` handler, no batching) is
loaded by the same clients.
"""
import hashlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

import mxnet as mx
import numpy as np

from gluon_finetune import threads
from gluon_finetune.distributed.launch import free_port
from gluon_finetune.inference.int8.quantize import quantize_run
from gluon_finetune.inference.predict import load_run
from gluon_finetune.serve.loadgen import closed_loop
from gluon_finetune.training.config import TrainConfig
from gluon_finetune.training.train import fit

CLIENTS = (1, 4, 16, 64)
#: The server settings measured (the command's defaults).
MAX_BATCH, MAX_DELAY_MS = 16, 5.0
#: ``serve`` variants: (name, extra command-line words).
VARIANTS = (("float32", []), ("INT8", ["--int8"]), ("float32, 2 workers", ["--workers", "2"]))
PEER_NAME = "torch, 1 sync handler"
PEER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_serve_torch.py")
START_SECONDS = 300
HERE = os.path.dirname(os.path.abspath(__file__))


def serve_run(root, workdir, source_params, log):
    """A finished 224 px run on ``root`` to serve (made once, reused)."""
    # One per data folder: a run trained on the --quick folder must not serve the full one.
    out = os.path.join(workdir, "serve-run-" + hashlib.sha1(os.path.abspath(root).encode())
                       .hexdigest()[:8])
    if not os.path.isfile(os.path.join(out, "history.jsonl")):
        log("training a 224 px head (cached features) for the serve section in %s ..." % out)
        shutil.rmtree(out, ignore_errors=True)  # an interrupted earlier attempt
        fit(TrainConfig(data=root, out=out, weights=source_params, epochs=1, image_size=224,
                        batch_size=32, freeze_features=True, cache_features=True, seed=0,
                        quiet=True), log=lambda line: None)
    return out


class Service:
    """A server subprocess on a free loopback port; its output goes to files."""

    def __init__(self, cmd, workdir, name, ready_path="/v2/health/ready", env=None):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.ready_path = ready_path
        self.log_path = os.path.join(workdir, "serve-%s.log" % name.replace(" ", "_").replace(",", ""))
        with open(self.log_path, "w") as f:
            self.proc = subprocess.Popen(cmd + ["--port", str(self.port)], stdout=f,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=dict(os.environ, **(env or {})))

    def wait_ready(self, workers=1):
        import http.client

        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the server exited with %s; see %s"
                                   % (self.proc.returncode, self.log_path))
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", self.ready_path)
                ok = conn.getresponse().status == 200
                conn.close()
                with open(self.log_path) as f:
                    started = f.read().count("Application startup complete")
                if ok and (workers == 1 or started >= workers):
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("the server was not ready within %d s; see %s"
                           % (START_SECONDS, self.log_path))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _forward_rate(net, batch, reps):
    x = mx.nd.array(np.random.RandomState(0).standard_normal((batch, 3, 224, 224)), dtype="float32")
    net(x).wait_to_read()
    secs = []
    for _ in range(reps):
        tic = time.perf_counter()
        net(x).wait_to_read()
        secs.append(time.perf_counter() - tic)
    return secs


def _latency_ms(net, n):
    secs = _forward_rate(net, 1, n)
    return 1000.0 * statistics.median(secs)


def ceilings(res, args, predictor, tag, files):
    """Offline figures of the served network: forward at batch 16 and 64, predict() at 16,
    and the single-image latency."""
    for batch in (16, 64):
        res.add("serve_ceiling", "%s, forward, batch %d" % (tag, batch), batch,
                _forward_rate(predictor.net, batch, args.reps), batch=batch)
    sample = files[:64]
    secs = []
    for _ in range(args.reps):
        tic = time.perf_counter()
        predictor.predict(sample, batch_size=MAX_BATCH)
        secs.append(time.perf_counter() - tic)
    res.add("serve_ceiling", "%s, predict() files, batch %d" % (tag, MAX_BATCH), len(sample), secs,
            batch=MAX_BATCH)
    ms = _latency_ms(predictor.net, args.latency_n)
    res.add("serve_ceiling", "%s, forward, batch 1" % tag, 1, [ms / 1000.0], p50_ms=round(ms, 2))


def load_levels(res, args, url, variant, bodies, batch_metrics=True):
    """One record per client count."""
    # Warm-up: oneDNN prepares its kernels once per batch shape, on first use; many clients
    # and then one meet most batch sizes before anything is timed.
    for clients in (max(args.serve_clients), 1):
        closed_loop(url, bodies, clients=clients, seconds=min(3.0, args.serve_seconds))
    for clients in args.serve_clients:
        result = closed_loop(url, bodies, clients=clients, seconds=args.serve_seconds,
                             batch_metrics=batch_metrics)
        rec = result.record()
        res.add("serve", "%s, %d clients" % (variant, clients), result.answered,
                [result.seconds], clients=clients, **{k: rec[k] for k in
                                                      ("p50_ms", "p95_ms", "p99_ms", "mean_batch",
                                                       "errors")})


def bench_serve(res, args, root, workdir, source_params, log):
    run = serve_run(root, workdir, source_params, log)
    files = sorted(os.path.join(d, f) for d, _, names in os.walk(os.path.join(root, "test"))
                   for f in names if f.lower().endswith((".jpg", ".jpeg")))
    if not files:
        files = sorted(os.path.join(d, f) for d, _, names in os.walk(os.path.join(root, "train"))
                       for f in names if f.lower().endswith((".jpg", ".jpeg")))
    bodies = [open(f, "rb").read() for f in files[:64]]
    model = load_run(run, ctx="cpu")
    ceilings(res, args, model, "float32", files)
    ceilings(res, args, quantize_run(model).predictor, "INT8", files)  # and fills the INT8 cache
    n_threads = threads.runtime_threads()
    base = [sys.executable, "-m", "gluon_finetune", "serve", run, "--max-batch", str(MAX_BATCH),
            "--max-delay-ms", str(MAX_DELAY_MS), "--no-access-log"]
    for variant, extra in VARIANTS:
        if variant.endswith("workers") and args.quick:
            continue
        workers = int(extra[extra.index("--workers") + 1]) if "--workers" in extra else 1
        # One server computes on this process's threads; workers split the cores themselves.
        cmd = base + extra + ([] if workers > 1 else ["--threads", str(n_threads)])
        svc = Service(cmd, workdir, variant)
        try:
            svc.wait_ready(workers)
            # --workers: /metrics is per worker, its batch sizes are not the service's.
            load_levels(res, args, svc.url, variant, bodies, batch_metrics=workers == 1)
        finally:
            svc.stop()
    if args.peer:
        svc = Service([args.peer, PEER_SCRIPT, "--threads", str(n_threads)], workdir, "peer",
                      ready_path="/", env={"OMP_NUM_THREADS": str(n_threads)})
        try:
            svc.wait_ready()
            load_levels(res, args, svc.url, PEER_NAME, bodies)
        finally:
            svc.stop()


def rows(records):
    """Table rows ``(bench, variant, ours, peer, ratio, note, rec)`` of the serve records."""
    def median_of(bench, variant, key="images_per_s"):
        vals = [r[key] for r in records if r["bench"] == bench and r["variant"] == variant
                and r.get(key) is not None]
        return statistics.median(vals) if vals else None

    out = []
    ceiling_names = sorted({r["variant"] for r in records if r["bench"] == "serve_ceiling"})
    for name in ceiling_names:
        rate = median_of("serve_ceiling", name)
        p50 = median_of("serve_ceiling", name, "p50_ms")
        out.append(("serve_ceiling", name, rate, None, None,
                    "p50 %.1f ms" % p50 if p50 is not None else "offline, no HTTP", None))
    variants = [v for v, _ in VARIANTS] + [PEER_NAME]
    for variant in variants:
        tag = "INT8" if variant == "INT8" else "float32"
        best = median_of("serve_ceiling", "%s, forward, batch 64" % tag)
        best16 = median_of("serve_ceiling", "%s, forward, batch 16" % tag)
        ceiling = max(v for v in (best, best16) if v) if (best or best16) else None
        single = median_of("serve_ceiling", "%s, forward, batch 1" % tag, "p50_ms")
        for clients in sorted({r["clients"] for r in records if r["bench"] == "serve"}):
            name = "%s, %d clients" % (variant, clients)
            rate = median_of("serve", name)
            if rate is None:
                continue
            peer = median_of("serve", "%s, %d clients" % (PEER_NAME, clients)) \
                if variant != PEER_NAME else None
            p50, p95, p99 = (median_of("serve", name, k) for k in ("p50_ms", "p95_ms", "p99_ms"))
            batch = median_of("serve", name, "mean_batch") if "workers" not in variant else None
            note = "p50/p95/p99 %.0f/%.0f/%.0f ms" % (p50, p95, p99)
            if batch:
                note += ", batch %.1f" % batch
            if ceiling and variant != PEER_NAME:
                note += ", %.0f%% of offline" % (100 * rate / ceiling)
            if clients == 1 and single and variant != PEER_NAME:
                note += ", single-image %.1f ms + %.0f" % (single, MAX_DELAY_MS)
            errors = [r.get("errors") for r in records if r["bench"] == "serve"
                      and r["variant"] == name and r.get("errors")]
            if errors:
                note += ", errors %s" % errors[0]
            out.append(("serve", name, rate, peer, rate / peer if peer else None, note, None))
    return out
