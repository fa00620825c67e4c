"""An HTTP inference service for a trained run: ``gluon-finetune serve RUN``.

The modules, one job each:

- :mod:`.problems`: the one exception a request handler raises for a bad request
  (status, message, headers), answered as JSON ``{"error": ...}``;
- :mod:`.images`: uploaded bytes -> a decoded RGB image, with a byte limit and a
  pixel limit read from the file's header before anything is decoded;
- :mod:`.batcher`: dynamic batching: one inference thread takes up to
  ``max_batch`` waiting images (or what arrived within ``max_delay_ms``) and
  runs them through the :class:`~gluon_finetune.inference.predict.Predictor` as one batch;
- :mod:`.oip`: the Open Inference Protocol (KServe v2 REST) request and reply;
- :mod:`.metrics`: the Prometheus metrics;
- :mod:`.page`: the offline HTML page of ``GET /``;
- :mod:`.app`: the Starlette application tying them together;
- :mod:`.options`: ``serve``'s settings, each declared once with its flag and check.

Nothing here imports MXNet: the predictor is built by the command line
(:mod:`gluon_finetune.cli.serve`) and handed to :func:`.app.create_app`.
It may import the leaves and, for the settings it shares with ``predict``
(the weights, the device, INT8), :mod:`gluon_finetune.inference.options`.
"""
