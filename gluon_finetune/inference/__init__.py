"""Inference: a finished run used, on one image or a folder.

Owns loading a run as a network (``predict.load_run``), predictions with
test-time augmentation and latency (``predict``), evaluation on a labelled
folder (``evaluate``), export as symbol + params (``export``), the commands'
settings, each declared once (``options``), and INT8 in
``int8/``: options, calibration, quantisation, the cache and the repair of
the quantised graph.

May import: ``training`` (a run's ``TrainConfig``), ``networks``, ``runs``,
``data``, ``augment`` and the leaves. Not ``experiments``, ``serve`` or ``cli``.
"""
