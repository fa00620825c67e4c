"""``gluon-finetune serve``: a trained run as an HTTP service (Open Inference Protocol, /predict)."""
import argparse

from ..serve.options import TOKEN_ENV, ServeOptions
from . import add_int8_options, add_options, add_run_options, checked_options, formatter, int8_predictor

DESCRIPTION = """\
Serve a trained run over HTTP: the Open Inference Protocol (KServe v2 REST,
which KServe, Triton, MLServer and TorchServe clients speak), a plain
POST /predict for curl, Prometheus metrics, and a page to try a photo.

The run is loaded once, with the same weights (best checkpoint, EMA when the
run kept one), preprocessing and --int8 cache as `predict`, so the answers are
predict's. Requests are batched: one inference loop takes up to --max-batch
waiting images, or what arrived within --max-delay-ms of the oldest, as one
batch. The queue holds at most --queue images; beyond, requests get 503 with
Retry-After, so overload never grows memory.

Endpoints:
  GET  /                               a page: drop a photo, see the top classes
  POST /predict[?top_k=K]              an image (multipart file or raw body) -> top-K JSON
  GET  /metrics                        Prometheus text: requests, batch sizes, times
  GET  /v2/health/live, /v2/health/ready   probes (never need the token)
  GET  /v2/models/NAME[/ready]         OIP model metadata / readiness
  POST /v2/models/NAME/infer           OIP: input "image", BYTES (base64 files) ->
                                       "probabilities" FP32 [N, classes], "label" BYTES [N]
NAME is the run folder's name; the model version is the checkpoint's epoch.

Limits: an upload over --max-upload-mb, or an image whose header declares more
than --max-pixels pixels (checked before decoding), gets 413; zero bytes, not
an image, a truncated file or an animated image gets 422; every error is JSON
{"error": "..."} and the server stays up.

It listens on 127.0.0.1 (this machine only) unless --host says otherwise. With
--token (or %s in the environment) every endpoint but /v2/health/*
needs "Authorization: Bearer TOKEN" (401 otherwise); the token is never logged.
SIGTERM stops accepting connections, finishes the requests in flight, and
exits 0 (Ctrl-C the same, with exit status 130).""" % TOKEN_ENV

EPILOG = """\
examples:
  gluon-finetune serve runs/hotdog                       # http://127.0.0.1:8080/ in a browser
  gluon-finetune serve runs/hotdog --int8 --port 9000
  GLUON_FINETUNE_TOKEN=s3cret gluon-finetune serve runs/hotdog --host 0.0.0.0

  curl -F file=@lunch.jpg 'http://127.0.0.1:8080/predict?top_k=2'
  curl --data-binary @lunch.jpg -H 'Content-Type: image/jpeg' http://127.0.0.1:8080/predict
  curl -H 'Authorization: Bearer s3cret' http://127.0.0.1:8080/metrics

Open Inference Protocol (the model is named after the run folder, here hotdog):
  curl http://127.0.0.1:8080/v2/models/hotdog
  echo '{"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
         "data": ["'$(base64 -w0 lunch.jpg)'"]}]}' > request.json
  curl -H 'Content-Type: application/json' -d @request.json \\
       http://127.0.0.1:8080/v2/models/hotdog/infer
"""


def register(sub):
    p = sub.add_parser("serve", formatter_class=formatter,
                       help="an HTTP inference service for a run (Open Inference Protocol)",
                       description=DESCRIPTION, epilog=EPILOG)
    add_run_options(p, ServeOptions)
    add_int8_options(p, ServeOptions)
    add_options(p, ServeOptions, ["host", "port", "max_batch", "max_delay_ms", "queue",
                                  "max_upload_mb", "max_pixels", "top_k", "token", "access_log",
                                  "workers"])
    # A child of --workers N: serve on this inherited socket, and name yourself in the log.
    p.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)
    p.add_argument("--worker-name", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def listen(host, port):
    """A listening socket on ``host``:``port`` (bound before the model loads: a busy port
    is one error line at once, not a traceback after seconds of loading)."""
    import errno
    import socket

    from ..errors import UserError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise UserError("cannot listen on --host %s: %s" % (host, err.strerror)) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as err:
        sock.close()
        hint = {errno.EADDRINUSE: "; another server has it: choose another --port",
                errno.EACCES: "; ports below 1024 need privileges: choose --port 8080 or higher",
                errno.EADDRNOTAVAIL: "; this machine has no such address"}.get(err.errno, "")
        raise UserError("cannot listen on %s port %d: %s%s" % (host, port, err.strerror, hint)) \
            from None
    sock.listen(2048)
    return sock


def is_loopback(sock):
    import ipaddress

    return ipaddress.ip_address(sock.getsockname()[0].split("%")[0]).is_loopback


def run(args):
    import os

    from ..errors import UserError

    try:
        import python_multipart  # noqa: F401 (Starlette's form parser needs it)
        import uvicorn

        from ..serve.app import Settings, create_app
    except ImportError as err:
        raise UserError("serve needs %s: pip install 'gluon-finetune[serve]' (Starlette, uvicorn, "
                        "prometheus_client, python-multipart)" % err.name) from None
    from ..runs.rundir import RunDir

    checked_options(ServeOptions, args)
    RunDir.open(args.run)  # not a run folder: said before anything is bound or loaded
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if args.listen_fd is not None:  # a child of --workers N: the parent bound the socket
        import socket

        sock = socket.socket(fileno=args.listen_fd)
    else:
        sock = listen(args.host, args.port)
    try:
        if args.workers > 1:
            return serve_workers(args, sock, token)
        return serve_here(args, sock, token, uvicorn, Settings, create_app)
    finally:
        sock.close()


def announce(sock, token, what):
    """Where it listens, and who can reach it."""
    host, port = sock.getsockname()[:2]
    shown = "[%s]" % host if ":" in host else host
    print("%s on http://%s:%d/" % (what, shown, port), flush=True)
    if is_loopback(sock):
        print("loopback only: other machines cannot connect (--host 0.0.0.0 to listen on "
              "every interface)", flush=True)
    else:
        print("listening on %s: reachable from other machines%s" % (
            host, "" if token else "; without a token anyone who can reach it may use it "
                                   "(--token or %s)" % TOKEN_ENV), flush=True)
    if token:
        print("requests need 'Authorization: Bearer <token>' (except /v2/health/*)", flush=True)


def serve_workers(args, sock, token):
    """``--workers N``: N children on ``sock`` (see :mod:`gluon_finetune.serve.workers`)."""
    import sys

    from ..serve.workers import run_workers, thread_share

    threads, how = thread_share(args.workers, args.threads)
    each = how if threads is None else "%d thread%s each" % (threads, "" if threads == 1 else "s")
    announce(sock, token, "starting %d workers (%s) to serve %s" % (args.workers, each, args.run))
    return run_workers(sock, args.argv, args.workers, threads,
                       log=lambda line: print(line, file=sys.stderr, flush=True))


def serve_here(args, sock, token, uvicorn, Settings, create_app):
    """Load the run and serve it on ``sock`` in this process until SIGTERM or Ctrl-C."""
    import os
    import signal
    import sys

    from ..inference.predict import load_run

    model = load_run(args.run, checkpoint=args.checkpoint, ctx=args.ctx, amp=args.amp,
                     weights=args.weights)
    if model.checkpoint["weights"] == "ema":
        print("using the EMA weights of %s (--weights raw for the raw ones)" % model.path,
              file=sys.stderr)
    name = os.path.basename(model.path.rstrip(os.sep))
    version = str(model.checkpoint.get("epoch", 0))
    if args.int8:
        model = int8_predictor(model, args).predictor
    settings = Settings(max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
                        max_pixels=args.max_pixels, top_k=args.top_k,
                        decoders=min(4, os.cpu_count() or 1), token=token)
    app = create_app(model, name, version, settings, max_batch=args.max_batch,
                     max_delay_ms=args.max_delay_ms, queue_size=args.queue)
    config = uvicorn.Config(
        app, log_level="info", access_log=not args.no_access_log, lifespan="on",
        # A request still running this long after SIGTERM is dropped: shutdown ends.
        timeout_graceful_shutdown=30,
        # uvicorn's own bound on connections and tasks (a plain-text 503 beyond): far
        # above what the queue admits, so clients meet the queue's JSON 503 first.
        limit_concurrency=max(128, 4 * args.queue))
    server = uvicorn.Server(config)
    what = "serving %s as model %r version %s (%d classes%s)" % (
        model.path, name, version, len(model.classes), ", INT8" if args.int8 else "")
    if args.worker_name:  # the parent said where and to whom
        print("%s: %s" % (args.worker_name, what), flush=True)
    else:
        announce(sock, token, what)
    # uvicorn answers SIGTERM with a graceful shutdown and then raises the signal again
    # for the handler it found; with Python's default one that would kill the process
    # (status -15) after it had drained. An ignoring handler makes the end exit 0.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    server.run(sockets=[sock])
    return 0
