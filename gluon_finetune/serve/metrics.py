"""The service's Prometheus metrics (``GET /metrics``), with the ``prometheus_client`` library.

Each :class:`Metrics` has its own registry rather than the library's global
one: two apps in one process (tests, an embedding application) then never
count into each other, and ``/metrics`` shows only the service's own series.

Label values are bounded: ``endpoint`` is the route's template
(``/v2/models/{name}/infer``), never the path as sent, so a scan of random
URLs cannot create unbounded series.
"""
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

PREFIX = "gluon_finetune"
#: Batch sizes are small integers: one bucket per power of two up to 256.
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
#: Seconds, from well under a millisecond (a 32 px test network) to seconds (a loaded CPU).
TIME_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                5.0, 10.0)


class Metrics:
    """Request counts, batch sizes, queue and inference times, in-flight requests.

    Attributes
    ----------
    registry : prometheus_client.CollectorRegistry
    """

    def __init__(self, model_name="", model_version=""):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("%s_requests" % PREFIX, "HTTP requests answered, by route and status",
                                ["endpoint", "status"], registry=r)
        self.in_flight = Gauge("%s_in_flight_requests" % PREFIX, "HTTP requests being answered now",
                               registry=r)
        self.batch_size = Histogram("%s_batch_size" % PREFIX, "Images per batch the network ran",
                                    buckets=BATCH_BUCKETS, registry=r)
        self.queue_time = Histogram("%s_queue_seconds" % PREFIX,
                                    "Seconds an image waited before its batch started",
                                    buckets=TIME_BUCKETS, registry=r)
        self.inference_time = Histogram("%s_inference_seconds" % PREFIX,
                                        "Seconds per batch: preprocessing, network and softmax",
                                        buckets=TIME_BUCKETS, registry=r)
        self.queue_depth = Gauge("%s_queue_images" % PREFIX, "Images waiting for a batch now",
                                 registry=r)
        info = Gauge("%s_model_info" % PREFIX, "The model served (always 1)",
                     ["name", "version"], registry=r)
        info.labels(model_name, model_version).set(1)

    def observe_batch(self, size, inference_s, queue_times):
        """One batch ran: its size, its time, and how long each of its images waited."""
        self.batch_size.observe(size)
        self.inference_time.observe(inference_s)
        for waited in queue_times:
            self.queue_time.observe(waited)

    def count(self, endpoint, status):
        self.requests.labels(endpoint, str(status)).inc()

    def render(self, queue_depth=None):
        """``(body bytes, content type)`` of the Prometheus text exposition."""
        if queue_depth is not None:
            self.queue_depth.set(queue_depth)
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
