"""The settings of ``gluon-finetune serve``, each declared once (:func:`gluon_finetune.options.option`).

``serve``'s argparse options are derived from :class:`ServeOptions`, and
:func:`~gluon_finetune.options.check` refuses an impossible value before a port is
bound or a network loaded. Like the rest of :mod:`gluon_finetune.serve` this
imports no MXNet, and no Starlette either (``--help`` reads it).
"""
import dataclasses
from typing import Optional

from ..inference.int8.options import int8_switch
from ..inference.options import INT8_NOT_AMP, LoadOptions
from ..options import at_least, option

__all__ = ["ServeOptions", "DEFAULT_WORKERS", "TOKEN_ENV"]

#: Server processes by default (scripts/bench.py --only serve measured 1 and 2 on 2 cores).
DEFAULT_WORKERS = 1
#: The environment variable that can hold the token (kept out of `ps` and shell history).
TOKEN_ENV = "GLUON_FINETUNE_TOKEN"

_AT_LEAST_ONE = at_least(1, got=True)


@dataclasses.dataclass(frozen=True)
class ServeOptions(LoadOptions):
    """Where ``serve`` listens, how it batches, what it accepts and who may ask."""

    int8: bool = int8_switch()
    host: str = option(
        "127.0.0.1", flag="--host",
        help="address to listen on (default: {default}, this machine only; 0.0.0.0 for every "
             "interface)")
    port: int = option(
        8080, flag="--port", type=int,
        check=(lambda v: 0 <= v <= 65535, "must be 0 to 65535, got %(value)s"),
        help="(default: {default}; 0: a free one)")
    max_batch: int = option(
        16, flag="--max-batch", type=int, metavar="N", check=_AT_LEAST_ONE,
        help="most images in one batch (default: {default})")
    max_delay_ms: float = option(
        5.0, flag="--max-delay-ms", type=float, metavar="MS",
        check=(lambda v: v >= 0, "must be 0 or more, got %(value)s"),
        help="how long the oldest waiting image may wait for a batch to fill (default: "
             "{default:g})")
    queue: int = option(
        256, flag="--queue", type=int, metavar="N", check=_AT_LEAST_ONE,
        help="most images waiting; beyond, 503 with Retry-After (default: {default})")
    max_upload_mb: float = option(
        20.0, flag="--max-upload-mb", type=float, metavar="MB",
        check=(lambda v: v > 0, "must be more than 0, got %(value)s"),
        help="largest image file accepted, in MiB (default: {default:g})")
    max_pixels: int = option(
        50_000_000, flag="--max-pixels", type=int, metavar="N", check=_AT_LEAST_ONE,
        help="most pixels an image may have, read from its header before decoding (default: "
             "{default}, a 48-megapixel photo fits)")
    top_k: int = option(
        5, flag="--top-k", type=int, metavar="K", check=_AT_LEAST_ONE,
        help="classes POST /predict lists without ?top_k= (default: {default})")
    token: Optional[str] = option(
        None, flag="--token", metavar="TOKEN",
        help="require 'Authorization: Bearer TOKEN' on every endpoint but the health probes "
             "(default: %s from the environment; prefer it: a command line is visible to "
             "other users in `ps`)" % TOKEN_ENV)
    access_log: bool = option(
        True, flag="--no-access-log", kind="negated",
        help="do not log one line per request on stderr")
    workers: int = option(
        DEFAULT_WORKERS, flag="--workers", type=int, metavar="N", check=_AT_LEAST_ONE,
        help="server processes on the one port, each loading the run and batching on its "
             "own, the cores split between them unless --threads says (default: "
             "%(default)s; the serving guide's benchmark says when more help). /metrics "
             "then shows the figures of the worker that answers")

    RULES = (INT8_NOT_AMP,)
