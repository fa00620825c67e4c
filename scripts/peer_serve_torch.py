#!/usr/bin/env python
"""The simplest PyTorch service a user would otherwise write: the peer of ``serve``.

The book's fine-tuning network (torchvision's resnet18 with a 2-class ``fc``) behind
one synchronous handler of the standard library's ``http.server``: one request at a
time, one image per forward pass, no batching. ``POST /predict`` takes the raw image
bytes and answers the top class as JSON, after the book's test preprocessing
(Resize 256, CenterCrop 224, ImageNet normalisation). ``GET /`` answers 200 once
the network is warm. ``scripts/bench.py --only serve --peer PYTHON`` starts it with
the peer's interpreter and loads it with the same clients as ``serve``.

    python scripts/peer_serve_torch.py --port 8090 --threads 2

The weights are random (timing does not depend on them), as in ``../shared/bench``.
"""
import argparse
import io
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

import torch
import torchvision
from PIL import Image
from torchvision import transforms

LABELS = ("hotdog", "not-hotdog")


def build():
    net = torchvision.models.resnet18(weights=None)
    net.fc = torch.nn.Linear(net.fc.in_features, len(LABELS))
    net.eval()
    preprocess = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    return net, preprocess


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--threads", type=int, required=True, help="torch.set_num_threads")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    net, preprocess = build()
    with torch.inference_mode():  # warm up: the first calls allocate and pick kernels
        for _ in range(3):
            net(torch.zeros(1, 3, 224, 224))

    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0, a connection per request: a one-threaded server on a kept-alive
        # connection would answer that one client only while the others wait.

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.reply(200 if self.path == "/" else 404, {"ready": self.path == "/"})

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                img = Image.open(io.BytesIO(body)).convert("RGB")
            except Exception as err:  # noqa: BLE001 (any undecodable body is the client's fault)
                self.reply(422, {"error": str(err)})
                return
            with torch.inference_mode():
                probs = torch.softmax(net(preprocess(img).unsqueeze(0)), dim=1)[0]
            k = int(probs.argmax())
            self.reply(200, {"label": LABELS[k], "probability": float(probs[k])})

        def log_message(self, *args):  # one line per request would cost more than the answer
            pass

    server = HTTPServer((args.host, args.port), Handler)
    print("peer serving on http://%s:%d/" % (args.host, args.port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
