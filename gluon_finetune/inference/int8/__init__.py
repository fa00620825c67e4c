"""INT8 inference: one options dataclass, calibration, quantisation, cache and graph repair.

``options`` declares the INT8 settings once (:class:`Int8Options`), ``quantize``
calibrates and quantises a float network with oneDNN and caches the result,
``graph`` repairs what MXNet 1.9.1's quantisation pass leaves wrong.

May import: the rest of ``inference`` and what it may import.
"""
