"""A closed-loop load generator for a running ``serve``: what ``scripts/bench.py --only serve``
measures with.

Each of ``clients`` threads keeps one HTTP/1.1 connection open, posts an image, waits
for the answer and posts the next one, until ``seconds`` have passed ("closed loop":
the offered load is the number of clients, not a rate, so an overloaded server slows
its clients down instead of piling up requests). It uses the standard library's
``http.client``, the cheapest client Python has: on a 2-core machine the load
generator competes with the server for the cores, and a heavier client would
lower the figures it reports.

The mean batch size comes from the server's own ``/metrics`` (the batch-size
histogram's sum and count before and after the load).
"""
import http.client
import math
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

#: The histogram series of ``gluon_finetune.serve.metrics`` the mean batch size is read from.
BATCH_SUM = "gluon_finetune_batch_size_sum"
BATCH_COUNT = "gluon_finetune_batch_size_count"


@dataclass
class LoadResult:
    """What one load level measured.

    Attributes
    ----------
    clients : int
    seconds : float
        From the first request to the last answer.
    latencies_ms : list of float
        One per answered (200) request.
    errors : dict
        HTTP status (or ``"connection"``) -> count, for every request not answered 200.
    mean_batch : float or None
        Images per batch the server ran during the load (None without metrics).
    """

    clients: int
    seconds: float
    latencies_ms: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)
    mean_batch: float = None

    @property
    def answered(self):
        return len(self.latencies_ms)

    @property
    def throughput(self):
        """Answered requests per second."""
        return self.answered / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q):
        """The ``q``-th percentile (0-100) of the latencies in ms, nearest rank."""
        if not self.latencies_ms:
            return None
        ranked = sorted(self.latencies_ms)
        return ranked[min(len(ranked) - 1, max(0, math.ceil(q / 100.0 * len(ranked)) - 1))]

    def record(self):
        """A flat dict for a JSON line or a table row."""
        return dict(clients=self.clients, seconds=round(self.seconds, 3), answered=self.answered,
                    images_per_s=round(self.throughput, 2),
                    p50_ms=_rounded(self.percentile(50)), p95_ms=_rounded(self.percentile(95)),
                    p99_ms=_rounded(self.percentile(99)),
                    mean_batch=_rounded(self.mean_batch), errors=dict(self.errors))


def _rounded(value):
    return None if value is None else round(value, 2)


def _address(url):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError("the load generator speaks plain http://HOST:PORT, got %r" % url)
    return parts.hostname, parts.port or 80


def batch_totals(url, headers=None, timeout=10):
    """``(sum, count)`` of the server's batch-size histogram, or None when it has no metrics."""
    host, port = _address(url)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", "/metrics", headers=dict(headers or {}))
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        if resp.status != 200:
            return None
    except OSError:
        return None
    finally:
        conn.close()
    found = {}
    for name in (BATCH_SUM, BATCH_COUNT):
        match = re.search(r"^%s(?:\{[^}]*\})? ([0-9.e+-]+)$" % name, text, re.M)
        if match is None:
            return None
        found[name] = float(match.group(1))
    return found[BATCH_SUM], found[BATCH_COUNT]


def closed_loop(url, bodies, clients, seconds, path="/predict", content_type="image/jpeg",
                headers=None, timeout=120, batch_metrics=True):
    """Post ``bodies`` (in turn) from ``clients`` threads for ``seconds``; a :class:`LoadResult`.

    Parameters
    ----------
    url : str
        The server, ``http://HOST:PORT``.
    bodies : list of bytes
        Request bodies (encoded images); client ``i`` starts at body ``i``.
    clients : int
    seconds : float
        No request starts after this; the ones in flight are waited for (at most ``timeout``).
    headers : dict, optional
        Extra request headers (``Authorization``).
    batch_metrics : bool
        Read the mean batch size from ``/metrics``; False for ``serve --workers N``,
        whose ``/metrics`` answers for whichever worker takes the scrape.
    """
    if clients < 1 or not bodies:
        raise ValueError("need at least one client and one body")
    host, port = _address(url)
    send = {"Content-Type": content_type}
    send.update(headers or {})
    before = batch_totals(url, headers) if batch_metrics else None
    lock = threading.Lock()
    result = LoadResult(clients, 0.0)
    start = time.perf_counter()
    deadline = start + seconds

    def client(index):
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        mine, errors, k = [], {}, index
        try:
            while time.perf_counter() < deadline:
                body = bodies[k % len(bodies)]
                k += clients
                tic = time.perf_counter()
                try:
                    conn.request("POST", path, body=body, headers=send)
                    resp = conn.getresponse()
                    resp.read()
                except (OSError, http.client.HTTPException):
                    errors["connection"] = errors.get("connection", 0) + 1
                    conn.close()  # http.client reconnects on the next request
                    continue
                if resp.status == 200:
                    mine.append(1000.0 * (time.perf_counter() - tic))
                else:
                    errors[resp.status] = errors.get(resp.status, 0) + 1
        finally:
            conn.close()
            with lock:
                result.latencies_ms.extend(mine)
                for key, n in errors.items():
                    result.errors[key] = result.errors.get(key, 0) + n

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + timeout)
    result.seconds = time.perf_counter() - start
    after = batch_totals(url, headers) if before else None
    if before and after and after[1] > before[1]:
        result.mean_batch = (after[0] - before[0]) / (after[1] - before[1])
    return result
