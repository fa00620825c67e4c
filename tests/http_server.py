"""A real HTTP server on 127.0.0.1, in a thread of the test process, for download tests.

It serves the bytes a test registers per path, counts requests, can cut a
response short (``mode="truncate"``) and answers 404 for anything else.
"""
import http.server
import threading
from collections import Counter


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        srv = self.server
        srv.hits[self.path] += 1
        route = srv.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        body, mode = route
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "truncate":
            # Promise the whole body, send half, hang up (HTTP/1.0 closes).
            self.wfile.write(body[:len(body) // 2])
        else:
            self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server:
    def __init__(self):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.routes = {}
        self.httpd.hits = Counter()
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def serve(self, path, body, mode="ok"):
        self.httpd.routes[path] = (body, mode)
        return self.url(path)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.httpd.server_address[1], path)

    def hits(self, path):
        return self.httpd.hits[path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
