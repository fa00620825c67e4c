"""`gluon-finetune serve`: a real server in a real subprocess, called over real HTTP on 127.0.0.1.

One server (module-scoped) answers most tests; one short-lived server with a tiny
queue and a long batching delay shows the overload answer and the SIGTERM drain,
which need a server that can be filled and then stopped. Images are made with PIL;
no test sends traffic anywhere but 127.0.0.1, and every wait has a deadline.
"""
import base64
import concurrent.futures
import io
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib

import httpx
import numpy as np
import pytest
from PIL import Image

from gluon_finetune.distributed.launch import free_port

from conftest import assert_user_error, run_cli_each
from headless_browser import find_chromium, upload_and_wait

#: One pytest process runs the whole module (`--dist loadgroup`): its server starts once.
pytestmark = pytest.mark.xdist_group("serve")

TOKEN = "serve-test-token-7f3a"
AUTH = {"Authorization": "Bearer " + TOKEN}
#: The module server's limits (small, so that the tests cross them with small files).
MAX_UPLOAD_MB = 1
MAX_PIXELS = 4_000_000
START_TIMEOUT = 240  # seconds: `import mxnet`, loading and warming the network, on a busy machine


class Server:
    """A `gluon-finetune serve` subprocess; its stdout and stderr go to files (no pipe to fill)."""

    def __init__(self, run_dir, folder, *extra, env=None):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.out_path = os.path.join(str(folder), "serve-%d.out" % self.port)
        self.err_path = os.path.join(str(folder), "serve-%d.err" % self.port)
        full_env = dict(os.environ, **(env or {}))
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gluon_finetune", "serve", run_dir, "--port", str(self.port),
                 "--threads", "1"] + [str(a) for a in extra],
                stdout=out, stderr=err, env=full_env)

    def logs(self):
        with open(self.out_path) as out, open(self.err_path) as err:
            return out.read(), err.read()

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("serve exited with %s: %s" % (self.proc.returncode, self.logs()))
            try:
                if httpx.get(self.url + "/v2/health/ready", timeout=5).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError("serve was not ready within %d s: %s" % (START_TIMEOUT, self.logs()))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(run_dir, tmp_path_factory):
    srv = Server(run_dir, tmp_path_factory.mktemp("serve"), "--max-upload-mb", MAX_UPLOAD_MB,
                 "--max-pixels", MAX_PIXELS, "--max-delay-ms", 20, "--max-batch", 16,
                 "--queue", 512, env={"GLUON_FINETUNE_TOKEN": TOKEN})
    try:
        yield srv.wait_ready()
    finally:
        srv.stop()


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def model_name(run_dir):
    return os.path.basename(run_dir)


@pytest.fixture(scope="module")
def expected(run_dir, tiny_hotdog):
    """The test images of the tiny run and what `load_run(...).predict` says about them."""
    from gluon_finetune.data import list_images
    from gluon_finetune.inference.predict import load_run

    files = list_images(os.path.join(tiny_hotdog, "test"), recursive=True)[:6]
    model = load_run(run_dir, ctx="cpu")
    return model, files, model.predict(files, top_k=len(model.classes))


# --------------------------------------------------------------------------- images


def encoded(image, fmt, **kwargs):
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def photo(size=(48, 40), seed=0):
    rng = np.random.RandomState(seed)
    return Image.fromarray(rng.randint(0, 256, size=(size[1], size[0], 3), dtype=np.uint8))


def jpeg(seed=0):
    return encoded(photo(seed=seed), "JPEG", quality=90)


def png_declaring(width, height):
    """A real PNG whose IHDR chunk (CRC fixed) declares ``width`` x ``height`` pixels."""
    data = bytearray(encoded(photo((8, 8)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def jpeg_declaring(width, height):
    """A real baseline JPEG whose start-of-frame segment declares ``width`` x ``height``."""
    data = bytearray(jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def animated_gif():
    frames = [Image.new("RGB", (16, 16), color) for color in ("red", "green", "blue")]
    return encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)


def cmyk_jpeg():
    return encoded(Image.new("CMYK", (40, 30), (0, 128, 255, 0)), "JPEG")


def oip_request(files, shape=None, datatype="BYTES", name="image", **extra):
    data = [base64.b64encode(f).decode("ascii") for f in files]
    body = {"inputs": [{"name": name, "datatype": datatype,
                        "shape": shape if shape is not None else [len(data)], "data": data}]}
    body.update(extra)
    return body


def metric(text, name, **labels):
    """The value of one sample of a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^([a-zA-Z_:][\w:]*)(\{.*\})? (\S+)$", line)  # a label may hold "}"
        if not match or match.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return 0.0


# --------------------------------------------------------------------------- endpoints


def test_it_says_where_it_listens_and_that_it_is_loopback_only(server, model_name):
    out, err = server.logs()
    assert "on http://127.0.0.1:%d/" % server.port in out
    assert "loopback only" in out and repr(model_name) in out


def test_the_oip_health_server_and_model_endpoints_follow_the_spec(server, client, model_name,
                                                                   expected):
    model = expected[0]
    version = str(model.checkpoint["epoch"])
    for path in ("/v2/health/live", "/v2/health/ready"):
        assert httpx.get(server.url + path, timeout=30).status_code == 200  # no token needed
    meta = client.get("/v2").json()
    assert meta["name"] == "gluon-finetune" and isinstance(meta["version"], str)
    assert isinstance(meta["extensions"], list)
    for path in ("/v2/models/%s" % model_name, "/v2/models/%s/versions/%s" % (model_name, version)):
        reply = client.get(path)
        assert reply.status_code == 200, reply.text
        m = reply.json()
        assert m["name"] == model_name and m["versions"] == [version]
        assert isinstance(m["platform"], str)
        assert m["inputs"] == [{"name": "image", "datatype": "BYTES", "shape": [-1]}]
        assert m["outputs"] == [
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, len(model.classes)]},
            {"name": "label", "datatype": "BYTES", "shape": [-1]}]
        assert m["parameters"]["classes"] == model.classes
    assert client.get("/v2/models/%s/ready" % model_name).status_code == 200
    assert client.get("/v2/models/%s/versions/%s/ready" % (model_name, version)).status_code == 200
    wrong = client.get("/v2/models/%s/versions/999/ready" % model_name)
    assert wrong.status_code == 404 and "999" in wrong.json()["error"]


def test_answers_equal_predicts_on_the_same_files_plain_and_oip(client, model_name, expected):
    model, files, preds = expected
    datas = [open(f, "rb").read() for f in files]
    for data, pred in zip(datas, preds):
        reply = client.post("/predict?top_k=%d" % len(model.classes), content=data,
                            headers={"Content-Type": "application/octet-stream"})
        assert reply.status_code == 200, reply.text
        got = reply.json()
        assert got["label"] == pred.label
        assert abs(got["probability"] - pred.probability) < 1e-5
        assert [t["label"] for t in got["top_k"]] == [label for label, _ in pred.top]
        assert set(got["timing_ms"]) == {"queue", "inference", "total"}
    # All of them in one OIP request: shapes and values as the protocol puts them.
    reply = client.post("/v2/models/%s/infer" % model_name, json=oip_request(datas, id="req-7"))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["model_name"] == model_name and body["model_version"] == str(model.checkpoint["epoch"])
    assert body["id"] == "req-7"
    probs, labels = body["outputs"]
    assert probs["name"] == "probabilities" and probs["datatype"] == "FP32"
    assert probs["shape"] == [len(files), len(model.classes)]
    assert len(probs["data"]) == len(files) * len(model.classes)
    assert labels == {"name": "label", "datatype": "BYTES", "shape": [len(files)],
                      "data": [p.label for p in preds]}
    np.testing.assert_allclose(np.array(probs["data"]).reshape(probs["shape"]),
                               np.stack([p.probabilities for p in preds]), atol=1e-5)
    # Shape [N, 1], nested data, one requested output.
    reply = client.post("/v2/models/%s/infer" % model_name,
                        json=dict(oip_request(datas[:2], shape=[2, 1]),
                                  inputs=[dict(oip_request(datas[:2], shape=[2, 1])["inputs"][0],
                                               data=[[base64.b64encode(d).decode()] for d in datas[:2]])],
                                  outputs=[{"name": "label"}]))
    assert reply.status_code == 200, reply.text
    assert reply.json()["outputs"] == [{"name": "label", "datatype": "BYTES", "shape": [2],
                                        "data": [p.label for p in preds[:2]]}]


def test_predict_takes_a_multipart_upload_and_top_k(client, expected):
    model, files, preds = expected
    with open(files[0], "rb") as f:
        reply = client.post("/predict", params={"top_k": 1}, files={"file": ("x.jpg", f, "image/jpeg")})
    assert reply.status_code == 200, reply.text
    got = reply.json()
    assert got["label"] == preds[0].label and len(got["top_k"]) == 1
    # A CMYK JPEG is a usable image, as predict reads it.
    reply = client.post("/predict", content=cmyk_jpeg(), headers={"Content-Type": "image/jpeg"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["label"] in model.classes


def test_the_page_works_offline(client):
    reply = client.get("/")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    page = reply.text
    assert "<script>" in page and "predict?top_k=5" in page and 'type="file"' in page
    # nothing loaded from elsewhere: no CDN script, stylesheet, font or image
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page


# --------------------------------------------------------------------------- load


def test_200_concurrent_requests_are_all_answered_in_batches(server, model_name):
    local = threading.local()

    def one(i):
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=server.url, headers=AUTH, timeout=120)
        if i % 4 == 0:
            reply = local.client.post("/v2/models/%s/infer" % model_name,
                                      json=oip_request([jpeg(i % 7)]))
        else:
            reply = local.client.post("/predict", content=jpeg(i % 7),
                                      headers={"Content-Type": "image/jpeg"})
        return reply.status_code

    before = httpx.get(server.url + "/metrics", headers=AUTH, timeout=30).text
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(one, range(200), timeout=300))
    assert codes == [200] * 200
    text = httpx.get(server.url + "/metrics", headers=AUTH, timeout=30).text
    batches = metric(text, "gluon_finetune_batch_size_count") - metric(
        before, "gluon_finetune_batch_size_count")
    alone = metric(text, "gluon_finetune_batch_size_bucket", le="1.0") - metric(
        before, "gluon_finetune_batch_size_bucket", le="1.0")
    assert batches - alone > 0, text  # some batches held more than one image
    assert metric(text, "gluon_finetune_batch_size_sum") - metric(
        before, "gluon_finetune_batch_size_sum") >= 200
    assert metric(text, "gluon_finetune_requests_total", endpoint="/predict", status="200") >= 150
    assert metric(text, "gluon_finetune_requests_total",
                  endpoint="/v2/models/{name}/infer", status="200") >= 50
    for name in ("gluon_finetune_queue_seconds_count", "gluon_finetune_inference_seconds_count"):
        assert metric(text, name) > 0, name
    assert "gluon_finetune_in_flight_requests" in text


# --------------------------------------------------------------------------- bad requests

RAW = "application/octet-stream"

BAD_PREDICT = [
    ("not an image", b"this is not an image at all", "image/jpeg", 422, "not an image"),
    ("truncated JPEG", jpeg()[: len(jpeg()) // 2], "image/jpeg", 422, "truncated"),
    ("zero bytes", b"", "image/png", 422, "empty"),
    ("animated GIF", animated_gif(), "image/gif", 422, "animated"),
    ("PNG declaring 50000 x 50000", png_declaring(50000, 50000), "image/png", 413, "50000 x 50000"),
    ("JPEG declaring 50000 x 50000", jpeg_declaring(50000, 50000), RAW, 413, "not decoded"),
    ("over the byte limit", os.urandom(int(1.5 * MAX_UPLOAD_MB * 1024 * 1024)), RAW, 413, "limit"),
    ("wrong content type", jpeg(), "text/plain", 415, "multipart/form-data"),
    ("no content type", jpeg(), None, 415, "(none)"),
]


@pytest.mark.parametrize("data, content_type, status, fragment",
                         [case[1:] for case in BAD_PREDICT], ids=[case[0] for case in BAD_PREDICT])
def test_a_bad_upload_gets_its_4xx_and_the_server_answers_after(client, data, content_type, status,
                                                                fragment):
    # httpx sends raw content without a Content-Type unless told one
    headers = {"Content-Type": content_type} if content_type else {}
    reply = client.post("/predict", content=data, headers=headers)
    assert reply.status_code == status, reply.text
    assert fragment in reply.json()["error"], reply.json()
    assert client.post("/predict", content=jpeg(), headers={"Content-Type": "image/jpeg"}
                       ).status_code == 200


def test_bad_forms_and_parameters(client):
    reply = client.post("/predict", data={"name": "no file here"}, files={"other": ("", b"", "")})
    assert reply.status_code in (400, 422) and "error" in reply.json()
    reply = client.post("/predict", data={"only": "text"},
                        headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    assert 400 <= reply.status_code < 500 and "error" in reply.json()
    for top_k in ("0", "two", "-3"):
        reply = client.post("/predict?top_k=" + top_k, content=jpeg(),
                            headers={"Content-Type": "image/jpeg"})
        assert reply.status_code == 400 and "top_k" in reply.json()["error"]
    reply = client.get("/no/such/page")
    assert reply.status_code == 404 and "no such endpoint" in reply.json()["error"]
    reply = client.get("/predict")
    assert reply.status_code == 405 and "error" in reply.json()


def _bad_oip_cases():
    good = [jpeg()]
    return [
        ("bad base64", json.dumps(dict(oip_request(good), inputs=[dict(
            oip_request(good)["inputs"][0], data=["@@not base64!!"])])), 400, "base64"),
        ("wrong shape", json.dumps(oip_request(good, shape=[2])), 400, "shape"),
        ("wrong rank", json.dumps(oip_request(good, shape=[1, 3])), 400, "shape"),
        ("wrong datatype", json.dumps(oip_request(good, datatype="FP32")), 400, "BYTES"),
        ("missing inputs", json.dumps({"id": "x"}), 400, "inputs"),
        ("unknown input", json.dumps(oip_request(good, name="pixels")), 400, "unknown input"),
        ("unknown output", json.dumps(oip_request(good, outputs=[{"name": "logits"}])), 400,
         "unknown output"),
        ("wrong JSON", "{not json", 400, "not valid JSON"),
        ("JSON not an object", "[1, 2]", 400, "JSON object"),
        ("not an image inside", json.dumps(oip_request([b"plain text"])), 422, "not an image"),
    ]


@pytest.mark.parametrize("body, status, fragment", [c[1:] for c in _bad_oip_cases()],
                         ids=[c[0] for c in _bad_oip_cases()])
def test_a_bad_oip_request_gets_its_4xx(client, model_name, body, status, fragment):
    reply = client.post("/v2/models/%s/infer" % model_name, content=body,
                        headers={"Content-Type": "application/json"})
    assert reply.status_code == status, reply.text
    assert fragment in reply.json()["error"], reply.json()
    assert client.get("/v2/health/ready").status_code == 200


def test_oip_unknown_model_and_wrong_content_type(client, model_name):
    reply = client.post("/v2/models/nosuchmodel/infer", json=oip_request([jpeg()]))
    assert reply.status_code == 404 and "nosuchmodel" in reply.json()["error"]
    assert client.get("/v2/models/nosuchmodel").status_code == 404
    reply = client.post("/v2/models/%s/infer" % model_name, content=json.dumps(oip_request([jpeg()])),
                        headers={"Content-Type": "text/plain"})
    assert reply.status_code == 415 and "application/json" in reply.json()["error"]


def test_the_token_is_required_except_on_health_probes_and_never_logged(server):
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        for method, path in (("GET", "/"), ("GET", "/metrics"), ("POST", "/predict"),
                             ("GET", "/v2"), ("GET", "/v2/models/x"), ("POST", "/v2/models/x/infer")):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                reply = anonymous.request(method, path, headers=headers, content=b"")
                assert reply.status_code == 401, (method, path, headers)
                assert reply.headers["WWW-Authenticate"] == "Bearer"
                assert "token" in reply.json()["error"]
        assert anonymous.get("/v2/health/live").status_code == 200
        assert anonymous.get("/v2/health/ready").status_code == 200
    text = httpx.get(server.url + "/metrics", headers=AUTH, timeout=30).text
    assert metric(text, "gluon_finetune_requests_total", endpoint="/metrics", status="401") >= 3
    out, err = server.logs()
    assert TOKEN not in out + err
    assert "POST /predict" in out + err  # the access log is on (uvicorn: stdout), without headers


# --------------------------------------------------------------------------- overload, SIGTERM


def test_int8_answers_then_overload_503_recovery_and_sigterm_drain(run_dir, tmp_path, expected,
                                                                   model_name):
    # An INT8 server whose queue three images fill; a batch waits up to 2 s for a fourth,
    # so queued images stay queued long enough to be seen, refused beside, and drained.
    from gluon_finetune.inference.int8.quantize import quantize_run

    srv = Server(run_dir, tmp_path, "--int8", "--queue", 3, "--max-batch", 4, "--max-delay-ms",
                 2000, "--no-access-log")
    try:
        srv.wait_ready()
        model, files, _ = expected
        datas = [open(f, "rb").read() for f in files[:3]]
        # INT8: the answers of predict --int8 (the same cached network, loaded here)
        reply = httpx.post(srv.url + "/v2/models/%s/infer" % model_name, json=oip_request(datas),
                           timeout=60)
        assert reply.status_code == 200, reply.text
        int8 = quantize_run(model).predictor.predict(files[:3])
        probs, labels = reply.json()["outputs"]
        assert labels["data"] == [p.label for p in int8]
        np.testing.assert_allclose(np.array(probs["data"]).reshape(probs["shape"]),
                                   np.stack([p.probabilities for p in int8]), atol=1e-5)

        def post():
            with httpx.Client(base_url=srv.url, timeout=60) as c:
                return c.post("/predict", content=jpeg(), headers={"Content-Type": "image/jpeg"})

        def wait_queue(n):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if metric(httpx.get(srv.url + "/metrics", timeout=30).text,
                          "gluon_finetune_queue_images") == n:
                    return
                time.sleep(0.05)
            raise AssertionError("the queue never held %d images" % n)

        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            first = [pool.submit(post) for _ in range(3)]
            wait_queue(3)
            refused = post()
            assert refused.status_code == 503, refused.text
            assert int(refused.headers["Retry-After"]) >= 1
            assert "queue is full" in refused.json()["error"]
            for f in first:
                reply = f.result(timeout=60)
                assert reply.status_code == 200 and reply.json()["batch_size"] == 3
            # Recovered: a new request is accepted; SIGTERM arrives while it waits.
            last = pool.submit(post)
            wait_queue(1)
            srv.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            refused_new = False
            while time.monotonic() < deadline and not last.done():
                try:
                    with socket.create_connection(("127.0.0.1", srv.port), timeout=1):
                        pass
                except OSError:
                    refused_new = True
                    break
                time.sleep(0.05)
            reply = last.result(timeout=60)
        assert reply.status_code == 200, reply.text  # the request in flight was answered
        assert refused_new, "new connections were still accepted after SIGTERM"
        assert srv.proc.wait(timeout=60) == 0, srv.logs()
        assert "Traceback" not in srv.logs()[1]
    finally:
        srv.stop()


# --------------------------------------------------------------------------- command line


def test_bad_command_lines_are_one_error_line(run_dir, tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = str(busy.getsockname()[1])
    try:
        procs = run_cli_each(
            ["serve", str(tmp_path), "--port", free_port()],
            ["serve", run_dir, "--port", "70000"],
            ["serve", run_dir, "--port", free_port(), "--max-batch", "0"],
            ["serve", run_dir, "--port", free_port(), "--int8", "--amp"],
            ["serve", run_dir, "--port", port],
            ["serve", "--help"],
            ["serve", run_dir, "--port", free_port(), "--workers", "0"])
    finally:
        busy.close()
    assert_user_error(procs[0], "is not a run folder")
    assert_user_error(procs[1], "--port must be 0 to 65535")
    assert_user_error(procs[2], "--max-batch must be at least 1")
    assert_user_error(procs[3], "--int8 and --amp")
    assert_user_error(procs[4], "port %s" % port, "another --port")
    assert procs[5].returncode == 0
    assert "/v2/models/NAME/infer" in procs[5].stdout and "curl" in procs[5].stdout
    assert_user_error(procs[6], "--workers must be at least 1")


# --------------------------------------------------------------------------- load and workers


def test_the_load_generator_counts_what_the_server_counts(server):
    from gluon_finetune.serve.loadgen import closed_loop

    before = httpx.get(server.url + "/metrics", headers=AUTH, timeout=30).text
    result = closed_loop(server.url, [jpeg(i) for i in range(4)], clients=4, seconds=1.5,
                         headers=AUTH)
    text = httpx.get(server.url + "/metrics", headers=AUTH, timeout=30).text
    answered = metric(text, "gluon_finetune_requests_total", endpoint="/predict", status="200") \
        - metric(before, "gluon_finetune_requests_total", endpoint="/predict", status="200")
    assert result.errors == {} and result.answered > 0
    assert result.answered == answered
    rec = result.record()
    assert 0 < rec["p50_ms"] <= rec["p95_ms"] <= rec["p99_ms"]
    assert rec["images_per_s"] == pytest.approx(result.answered / result.seconds, rel=1e-2)
    assert 1 <= result.mean_batch <= 4  # four clients: never more than four images waiting
    # Wrong token: every request is counted as an error, none as answered.
    refused = closed_loop(server.url, [jpeg()], clients=1, seconds=0.3)
    assert refused.answered == 0 and refused.errors.get(401, 0) >= 1


def test_workers_share_one_port_split_the_cores_and_stop_on_sigterm(run_dir, tmp_path):
    from gluon_finetune.serve.loadgen import closed_loop

    srv = Server(run_dir, tmp_path, "--workers", 2, "--no-access-log")
    try:
        srv.wait_ready()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:  # the second worker may still be loading
            pids = re.findall(r"Started server process \[(\d+)\]", srv.logs()[1])
            if len(pids) == 2:
                break
            time.sleep(0.2)
        out, err = srv.logs()
        assert "starting 2 workers (1 thread each)" in out and "loopback only" in out
        assert "worker 1/2: serving" in out and "worker 2/2: serving" in out
        assert len(set(pids)) == 2 and str(srv.proc.pid) not in pids
        result = closed_loop(srv.url, [jpeg(i) for i in range(4)], clients=4, seconds=1.0)
        assert result.errors == {} and result.answered > 0
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=90) == 0, srv.logs()
        for pid in pids:  # the children ended with the parent (and were reaped by it)
            with pytest.raises(ProcessLookupError):
                os.kill(int(pid), 0)
        assert "Traceback" not in srv.logs()[1]
    finally:
        srv.stop()


def test_a_worker_that_cannot_start_stops_the_others_with_its_error(run_dir):
    # A thread count from the environment is the user's: the workers inherit it as it is.
    from gluon_finetune.threads import AUTO_MARKER

    env = {k: v for k, v in os.environ.items() if k != AUTO_MARKER}
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run([sys.executable, "-m", "gluon_finetune", "serve", run_dir, "--port",
                           str(free_port()), "--workers", "2", "--ctx", "gpu99"],
                          capture_output=True, text=True, timeout=240, env=env)
    assert "starting 2 workers (OMP_NUM_THREADS=1)" in proc.stdout, proc
    assert proc.returncode == 2, proc
    assert "error: --ctx: gpu(99) not available" in proc.stderr
    assert "a worker ended (exit status 2)" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(find_chromium() is None, reason="Debian's chromium is not installed")
def test_the_page_classifies_a_chosen_photo_in_headless_chromium(server, expected, tmp_path):
    model, files, answers = expected
    seen, shown = upload_and_wait(
        server.url + "/", "#file", files[0],
        until_js="document.querySelector('#result .row') || document.getElementById('error')"
                 ".textContent",
        read_js="({names: Array.from(document.querySelectorAll('#result .name'), e => "
                "e.textContent), error: document.getElementById('error').textContent, "
                "time: document.getElementById('time').textContent})",
        user_data_dir=str(tmp_path / "profile"), headers=AUTH)
    assert shown["error"] == "", shown
    assert shown["names"][0] == answers[0].label  # the predicted class, first
    assert sorted(shown["names"]) == sorted(model.classes)
    assert shown["time"].startswith("answered in "), shown
    assert seen.errors == []
    # The page and its one POST: nothing from elsewhere (no CDN), nothing but this server.
    assert seen.requests and all(u.startswith((server.url, "blob:", "data:"))
                                 for u in seen.requests), seen.requests
    assert any(u.startswith(server.url + "/predict") for u in seen.requests), seen.requests
