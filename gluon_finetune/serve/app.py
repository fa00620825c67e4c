"""The Starlette application: the routes, the token check, request metrics, errors as JSON.

Why Starlette on uvicorn: an ASGI stack that is small (Starlette has one
dependency, anyio), kept up to date, and installs beside MXNet 1.9.1's
``numpy<1.24`` (FastAPI would add pydantic, whose only use here would be
validating one JSON shape, done by hand in :mod:`.oip` with messages that name
the field). uvicorn brings what a hand-written server would get wrong: HTTP/1.1
keep-alive, limits on header sizes, graceful shutdown on SIGTERM (stop
accepting, finish the requests in flight, then exit).

Requests are asyncio tasks on one event loop; the two slow things they do run
elsewhere, so the loop stays free to accept and answer: decoding an upload runs
in a worker thread (a bounded number at a time: decoded pixels are memory),
and the network runs in the batcher's one inference thread (:mod:`.batcher`).
"""
import contextlib
import hmac
import time

import anyio
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Match, Route

from . import oip
from .batcher import Batcher
from .images import decode_upload
from .metrics import Metrics
from .page import render_page
from .problems import RequestError

#: Content types ``POST /predict`` takes as the raw image file.
RAW_TYPES = ("image/", "application/octet-stream")
#: Paths open without the token: orchestrators probe them without credentials.
OPEN_PREFIX = "/v2/health/"
#: Reading a body over its limit goes on (and discards) up to this many times the limit, so
#: the client gets its 413 instead of a connection reset while it is still sending.
DRAIN_FACTOR = 2


class Settings:
    """What a :func:`create_app` service is allowed to accept.

    Parameters
    ----------
    max_upload_bytes : int
        The largest image file (raw body, multipart part, or one base64-decoded
        OIP element).
    max_pixels : int
        The most pixels an image's header may declare.
    top_k : int
        Classes ``POST /predict`` lists without ``?top_k=``.
    decoders : int
        Uploads decoded at the same time (each holds a decoded image).
    token : str, optional
        The bearer token required on every path but ``/v2/health/*``.
    """

    def __init__(self, max_upload_bytes=20 * 1024 * 1024, max_pixels=50_000_000, top_k=5,
                 decoders=2, token=None):
        self.max_upload_bytes = int(max_upload_bytes)
        self.max_pixels = int(max_pixels)
        self.top_k = int(top_k)
        self.decoders = int(decoders)
        self.token = token or None


class Service:
    """The state the routes share: the model's identity, the batcher, limits, metrics."""

    def __init__(self, batcher, classes, name, version, settings, metrics):
        self.batcher = batcher
        self.classes = list(classes)
        self.name = name
        self.version = str(version)
        self.settings = settings
        self.metrics = metrics
        self.decode_limiter = anyio.CapacityLimiter(max(1, settings.decoders))

    # ------------------------------------------------------------------ helpers

    def check_model(self, request):
        name = request.path_params["name"]
        if name != self.name:
            raise RequestError(404, "unknown model %r; this server serves %r" % (name, self.name))
        version = request.path_params.get("version")
        if version is not None and version != self.version:
            raise RequestError(404, "model %r has no version %r; its version is %r"
                               % (self.name, version, self.version))

    async def read_body(self, request, limit, what="the body"):
        """The request body, at most ``limit`` bytes (413 beyond, however the client sends it)."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > DRAIN_FACTOR * limit:
            raise RequestError(413, "%s is %s bytes, over the limit of %d bytes (--max-upload-mb)"
                               % (what, declared, limit))
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size <= limit:
                chunks.append(chunk)
            elif size > DRAIN_FACTOR * limit:
                break
        if size > limit:
            raise RequestError(413, "%s is over the limit of %d bytes (--max-upload-mb)"
                               % (what, limit))
        return b"".join(chunks)

    async def decode(self, files):
        """Decode uploaded files in a worker thread, a bounded number of uploads at a time."""
        s = self.settings

        def work():
            names = ["the image"] if len(files) == 1 else \
                ["input %r element %d" % (oip.INPUT, i) for i in range(len(files))]
            return [decode_upload(data, s.max_upload_bytes, s.max_pixels, name)
                    for data, name in zip(files, names)]

        return await anyio.to_thread.run_sync(work, limiter=self.decode_limiter)

    # ------------------------------------------------------------------ routes

    async def page(self, request):
        return HTMLResponse(render_page(self.name, self.version, self.classes))

    async def metrics_text(self, request):
        body, content_type = self.metrics.render(queue_depth=self.batcher.depth)
        return Response(body, media_type=content_type)

    async def predict(self, request):
        """``POST /predict``: one image as a multipart upload or the raw body; the top-k as JSON."""
        started = time.perf_counter()
        top_k = _top_k(request.query_params.get("top_k"), self.settings.top_k, len(self.classes))
        data = await self.upload(request)
        image, = await self.decode([data])
        answer, = await self.batcher.infer([image])
        probs = answer.probabilities
        order = sorted(range(len(self.classes)), key=lambda j: -probs[j])[:top_k]
        top = [{"label": self.classes[j], "probability": float(probs[j])} for j in order]
        return JSONResponse({
            "model_name": self.name, "model_version": self.version,
            "label": top[0]["label"], "probability": top[0]["probability"], "top_k": top,
            "batch_size": answer.batch_size,
            "timing_ms": {"queue": 1000 * answer.queue_s, "inference": 1000 * answer.inference_s,
                          "total": 1000 * (time.perf_counter() - started)}})

    async def upload(self, request):
        """The image file of a ``POST /predict``: a multipart form's file, or the body itself."""
        content_type = request.headers.get("content-type", "")
        kind = content_type.split(";")[0].strip().lower()
        limit = self.settings.max_upload_bytes
        if kind == "multipart/form-data":
            # The whole form within the limit (plus room for its boundaries and headers),
            # read here so that python-multipart parses bytes already bounded.
            body = await self.read_body(request, limit + 64 * 1024, "the upload")

            async def stream():
                yield body
                yield b""

            try:
                form = await MultiPartParser(request.headers, stream(), max_files=1,
                                             max_fields=16).parse()
            except MultiPartException as err:
                raise RequestError(400, "cannot read the multipart form: %s" % err.message) from None
            files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
            if not files:
                raise RequestError(422, "the multipart form holds no file; send the image as "
                                   "a file field, e.g. curl -F file=@photo.jpg")
            try:
                return await files[0].read()
            finally:
                await form.close()
        if any(kind.startswith(t) for t in RAW_TYPES):
            return await self.read_body(request, limit, "the image")
        raise RequestError(415, "POST /predict takes an image as multipart/form-data (curl -F "
                           "file=@photo.jpg) or as the raw body with Content-Type image/... or "
                           "application/octet-stream (curl --data-binary @photo.jpg -H "
                           "'Content-Type: image/jpeg'); got Content-Type %r"
                           % (content_type or "(none)"))

    async def server_metadata(self, request):
        from .. import __version__

        return JSONResponse({"name": "gluon-finetune", "version": __version__, "extensions": []})

    async def live(self, request):
        return JSONResponse({"live": True})

    async def ready(self, request):
        # The protocol: 200 means ready, a 4xx status means not ready.
        if self.batcher.ready:
            return JSONResponse({"ready": True})
        return JSONResponse({"ready": False, "error": "the model is not ready"}, status_code=400)

    async def model_metadata(self, request):
        self.check_model(request)
        return JSONResponse(oip.model_metadata(self.name, self.version, self.classes))

    async def model_ready(self, request):
        self.check_model(request)
        return await self.ready(request)

    async def infer(self, request):
        """``POST /v2/models/{name}/infer``: BYTES images in, FP32 probabilities and labels out."""
        self.check_model(request)
        content_type = request.headers.get("content-type", "")
        kind = content_type.split(";")[0].strip().lower()
        if kind not in ("", "application/json"):
            raise RequestError(415, "an inference request is JSON: send Content-Type "
                               "application/json (got %r)" % content_type)
        # base64 is 4/3 of the bytes; the rest is room for the JSON around them.
        limit = self.settings.max_upload_bytes * 4 // 3 + 64 * 1024
        body = await self.read_body(request, limit, "the request")
        files, outputs, request_id = oip.parse_infer_request(oip.parse_json(body),
                                                             self.batcher.queue_size)
        images = await self.decode(files)
        answers = await self.batcher.infer(images)
        probs = [a.probabilities for a in answers]
        return JSONResponse(oip.infer_reply(self.name, self.version, probs, self.classes,
                                            outputs, request_id))

    def routes(self):
        model = "/v2/models/{name}"
        versioned = "/v2/models/{name}/versions/{version}"
        return [
            Route("/", self.page, methods=["GET"]),
            Route("/metrics", self.metrics_text, methods=["GET"]),
            Route("/predict", self.predict, methods=["POST"]),
            Route("/v2", self.server_metadata, methods=["GET"]),
            Route("/v2/health/live", self.live, methods=["GET"]),
            Route("/v2/health/ready", self.ready, methods=["GET"]),
            Route(model, self.model_metadata, methods=["GET"]),
            Route(versioned, self.model_metadata, methods=["GET"]),
            Route(model + "/ready", self.model_ready, methods=["GET"]),
            Route(versioned + "/ready", self.model_ready, methods=["GET"]),
            Route(model + "/infer", self.infer, methods=["POST"]),
            Route(versioned + "/infer", self.infer, methods=["POST"]),
        ]


def _top_k(text, default, classes):
    if text is None:
        return min(default, classes)
    try:
        k = int(text)
    except ValueError:
        k = 0
    if k < 1:
        raise RequestError(400, "top_k must be a whole number of at least 1, got %r" % text)
    return min(k, classes)


class ServiceMiddleware:
    """Outermost (inside Starlette's 500 handler): counts every answer by route and status,
    tracks requests in flight, and checks the bearer token.

    A plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``, which
    wraps each response in a memory stream: this only watches the status go by.
    """

    def __init__(self, app, metrics, routes, token=None):
        self.app = app
        self.metrics = metrics
        self.routes = routes
        self.token = token.encode("utf-8") if token else None

    def endpoint(self, scope):
        """The route template a request matched (``other`` for none): a bounded label."""
        for route in self.routes:
            match, _ = route.matches(scope)
            if match != Match.NONE:
                return route.path
        return "other"

    def authorized(self, scope):
        for key, value in scope.get("headers", ()):
            if key == b"authorization":
                scheme, _, given = value.partition(b" ")
                # compare_digest: the time taken does not tell how much of a guess was right
                return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.token)
        return False

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]  # what an exception that escapes the app becomes

        async def watch(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        endpoint = self.endpoint(scope)
        self.metrics.in_flight.inc()
        try:
            if self.token and not scope["path"].startswith(OPEN_PREFIX) and not self.authorized(scope):
                has_header = any(k == b"authorization" for k, _ in scope.get("headers", ()))
                message = ("wrong token" if has_header else
                           "this server needs a token: send the header 'Authorization: Bearer "
                           "<token>' (the one given to serve --token or GLUON_FINETUNE_TOKEN)")
                response = JSONResponse({"error": message}, status_code=401,
                                        headers={"WWW-Authenticate": "Bearer"})
                await response(scope, receive, watch)
            else:
                await self.app(scope, receive, watch)
        finally:
            self.metrics.in_flight.dec()
            self.metrics.count(endpoint, status[0])


async def _request_error(request, err):
    return JSONResponse({"error": err.message}, status_code=err.status, headers=err.headers)


async def _http_error(request, err):
    if err.status_code == 404:
        message = ("no such endpoint: %s %s; the endpoints are GET /, POST /predict, GET /metrics "
                   "and the Open Inference Protocol's under /v2" % (request.method, request.url.path))
    elif err.status_code == 405:
        message = "%s is not allowed on %s" % (request.method, request.url.path)
    else:
        message = err.detail
    return JSONResponse({"error": message}, status_code=err.status_code, headers=err.headers)


async def _internal_error(request, err):
    # Starlette logs the traceback; the client gets JSON like every other error.
    return JSONResponse({"error": "internal error: %s" % (type(err).__name__,)}, status_code=500)


def create_app(predictor, name, version, settings=None, max_batch=16, max_delay_ms=5.0,
               queue_size=256, warmup=True):
    """The service for ``predictor``, its batcher started (and stopped at shutdown).

    Parameters
    ----------
    predictor : Predictor
        What answers (see :class:`~.batcher.Batcher`); needs ``classes`` and
        ``image_size``.
    name, version : str
        The model's name and version in the Open Inference Protocol.
    settings : Settings, optional
    max_batch, max_delay_ms, queue_size
        The batcher's (see :class:`~.batcher.Batcher`).
    warmup : bool
        Run one image through the network before the first request.

    Returns
    -------
    starlette.applications.Starlette
        With ``state.service`` the :class:`Service`.
    """
    import numpy as np

    settings = settings or Settings()
    metrics = Metrics(name, str(version))
    # The pixel bound of the queue: a few of the largest images, or the queue full of small ones.
    batcher = Batcher(predictor, max_batch=max_batch, max_delay_ms=max_delay_ms,
                      queue_size=queue_size, max_queued_pixels=4 * settings.max_pixels,
                      metrics=metrics)
    size = int(getattr(predictor, "image_size", 224))
    batcher.start(np.zeros((size, size, 3), np.uint8) if warmup else None)
    service = Service(batcher, predictor.classes, name, version, settings, metrics)
    routes = service.routes()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        # uvicorn has finished the requests in flight: answer what is left, end the thread.
        await anyio.to_thread.run_sync(batcher.stop)

    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(ServiceMiddleware, metrics=metrics, routes=routes,
                                           token=settings.token)],
                    exception_handlers={RequestError: _request_error, HTTPException: _http_error,
                                        Exception: _internal_error})
    app.state.service = service
    return app
