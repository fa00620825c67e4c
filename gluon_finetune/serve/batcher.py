"""Dynamic batching: requests wait in one bounded queue, one thread runs them in batches.

A network answers a batch of 16 images in far less than 16 times one image's
time, but each HTTP request brings one image (or a few). So requests do not
call the network: they put their decoded images in a queue and wait. One
inference thread takes the oldest waiting image and, with it, every image that
is waiting, up to ``max_batch``; when fewer are waiting it waits for more,
but never past ``max_delay_ms`` after the oldest one arrived (Triton's and
TorchServe's two knobs). Under load the queue is never empty, so batches fill
without waiting; alone, a request waits at most ``max_delay_ms``.

Only that thread touches the network: MXNet's front end is not made to be
called from several threads at once, and one caller needs no lock.

The queue is bounded, in images (``queue_size``: every image accepted and not
yet running, those of a batch still filling included) and in decoded pixels (so
that a burst of 48-megapixel photos cannot exhaust memory while small ones
queue by the hundred). A request that does not fit is refused at once with
:class:`Overloaded` (HTTP 503 with ``Retry-After``) rather than waiting in a
queue that only grows: that is what lets a client or a load balancer back off.
"""
import asyncio
import collections
import concurrent.futures
import dataclasses
import math
import threading
import time

import numpy as np

from .problems import RequestError


class Overloaded(RequestError):
    """The queue is full: 503, and ``Retry-After`` says when to try again (seconds)."""

    def __init__(self, message, retry_after=1):
        super().__init__(503, message, {"Retry-After": str(int(retry_after))})


@dataclasses.dataclass
class Answer:
    """One image's answer and how long it took.

    Attributes
    ----------
    probabilities : numpy.ndarray
        Softmax over the classes, float32.
    queue_s : float
        Seconds from the queue to the start of its batch.
    inference_s : float
        Seconds its batch took (preprocessing, network, softmax).
    batch_size : int
        How many images that batch held.
    """

    probabilities: np.ndarray
    queue_s: float
    inference_s: float
    batch_size: int


@dataclasses.dataclass
class _Job:
    image: np.ndarray
    future: concurrent.futures.Future
    enqueued: float

    @property
    def pixels(self):
        return int(self.image.shape[0]) * int(self.image.shape[1])


class Batcher:
    """The queue and the inference thread around a :class:`~gluon_finetune.inference.predict.Predictor`.

    Parameters
    ----------
    predictor : Predictor
        Anything with ``probabilities(images, batch_size=N)`` returning an
        (N, classes) array for N HWC ``uint8`` images: the float32 predictor of
        :func:`~gluon_finetune.inference.predict.load_run` or the INT8 one of
        :func:`~gluon_finetune.inference.int8.quantize.quantize_run`.
    max_batch : int
        The most images in one batch.
    max_delay_ms : float
        How long the oldest waiting image may wait for a batch to fill.
    queue_size : int
        The most images waiting (beyond it: :class:`Overloaded`).
    max_queued_pixels : int, optional
        The most decoded pixels waiting; one image is always accepted into an
        empty queue, whatever its size (default: no pixel bound).
    metrics : object, optional
        Told about each batch: ``observe_batch(size, inference_s, queue_times)``.
    """

    def __init__(self, predictor, max_batch=16, max_delay_ms=5.0, queue_size=256,
                 max_queued_pixels=None, metrics=None):
        self.predictor = predictor
        self.max_batch = int(max_batch)
        self.max_delay = float(max_delay_ms) / 1000.0
        self.queue_size = int(queue_size)
        self.max_queued_pixels = max_queued_pixels
        self.metrics = metrics
        self._queue = collections.deque()
        #: Images accepted and not yet running (the queue and a batch still filling), and
        #: their pixels: what the bounds count.
        self._waiting = 0
        self._pixels = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = None
        self._ready = threading.Event()
        self._startup_error = None
        #: Seconds the last batches took, for Retry-After's estimate.
        self._recent = collections.deque(maxlen=20)

    # ------------------------------------------------------------------ life cycle

    def start(self, warmup_image=None):
        """Start the inference thread; return once it has run ``warmup_image`` (if given).

        The first call of a hybridized network builds its graph (hundreds of
        milliseconds): done here, the first request does not pay for it.
        """
        self._thread = threading.Thread(target=self._main, args=(warmup_image,),
                                        name="gluon-finetune-inference", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error
        return self

    @property
    def ready(self):
        return self._ready.is_set() and self._startup_error is None and not self._stopping

    def stop(self, timeout=30.0):
        """Answer what is queued, then end the thread (waits up to ``timeout`` seconds)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def depth(self):
        """Images waiting now (queued, or in a batch that is still filling)."""
        return self._waiting

    # ------------------------------------------------------------------ requests

    def submit(self, images):
        """Queue ``images`` (HWC ``uint8`` arrays) together; one future per image.

        All or none: a request is never half queued.

        Raises
        ------
        Overloaded
            The queue has no room for them (or the service is stopping).
        """
        images = list(images)
        now = time.perf_counter()
        jobs = [_Job(img, concurrent.futures.Future(), now) for img in images]
        pixels = sum(job.pixels for job in jobs)
        with self._cond:
            if self._stopping:
                raise Overloaded("the service is shutting down")
            if self._waiting + len(jobs) > self.queue_size:
                raise Overloaded("the queue is full (%d images waiting, --queue %d); try again "
                                 "shortly" % (self._waiting, self.queue_size),
                                 self._retry_after())
            if (self.max_queued_pixels is not None and self._waiting
                    and self._pixels + pixels > self.max_queued_pixels):
                raise Overloaded("too many large images are waiting (%d pixels); try again shortly"
                                 % self._pixels, self._retry_after())
            self._queue.extend(jobs)
            self._waiting += len(jobs)
            self._pixels += pixels
            self._cond.notify()
        return [job.future for job in jobs]

    async def infer(self, images):
        """Queue ``images`` and wait for their :class:`Answer` objects (in order)."""
        futures = self.submit(images)
        # wrap_future: the thread sets the result; asyncio wakes the waiting request. If
        # the client goes away, cancelling the request cancels its images still waiting.
        return await asyncio.gather(*[asyncio.wrap_future(f) for f in futures])

    def _retry_after(self):
        """Seconds until the queue has likely drained: its batches times the recent batch time."""
        per_batch = (sum(self._recent) / len(self._recent)) if self._recent else 0.1
        return max(1, math.ceil(self._waiting / max(self.max_batch, 1) * per_batch
                                + self.max_delay))

    # ------------------------------------------------------------------ the thread

    def _main(self, warmup_image):
        try:
            if warmup_image is not None:
                self.predictor.probabilities([warmup_image], batch_size=1)
        except BaseException as err:  # shown by start(), in the caller's thread
            self._startup_error = err
            self._ready.set()
            return
        self._ready.set()
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if batch:
                self._run(batch)

    def _next_batch(self):
        """The next batch of jobs (cancelled ones dropped); None once stopped and drained."""
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._cond.wait()
            batch = [self._queue.popleft()]
            # Wait from the oldest image's arrival, not from now: under load it has
            # already waited, so the batch takes what is queued and goes.
            deadline = batch[0].enqueued + self.max_delay
            while len(batch) < self.max_batch:
                if self._queue:
                    batch.append(self._queue.popleft())
                    continue
                remaining = deadline - time.perf_counter()
                if remaining <= 0 or self._stopping:
                    break
                self._cond.wait(remaining)
            self._waiting -= len(batch)
            self._pixels -= sum(job.pixels for job in batch)
        # A request whose client went away cancelled its futures: skip its images.
        return [job for job in batch if job.future.set_running_or_notify_cancel()]

    def _run(self, batch):
        started = time.perf_counter()
        try:
            probs = self.predictor.probabilities([job.image for job in batch],
                                                 batch_size=len(batch))
        except Exception as err:
            if len(batch) == 1:
                batch[0].future.set_exception(err)
                return
            # One image spoiled the batch (it should not: all were decoded and checked):
            # answer each alone so the others still get theirs.
            probs = None
        if probs is None:
            for job in batch:
                self._run_alone(job)
            return
        took = time.perf_counter() - started
        self._recent.append(took)
        queue_times = [started - job.enqueued for job in batch]
        for job, row, waited in zip(batch, probs, queue_times):
            job.future.set_result(Answer(np.asarray(row, np.float32), waited, took, len(batch)))
        if self.metrics is not None:
            self.metrics.observe_batch(len(batch), took, queue_times)

    def _run_alone(self, job):
        started = time.perf_counter()
        try:
            probs = self.predictor.probabilities([job.image], batch_size=1)
        except Exception as err:
            job.future.set_exception(err)
            return
        took = time.perf_counter() - started
        job.future.set_result(Answer(np.asarray(probs[0], np.float32), started - job.enqueued,
                                     took, 1))
        if self.metrics is not None:
            self.metrics.observe_batch(1, took, [started - job.enqueued])
