"""Writing files so that a crash never leaves a half-written one behind."""
import contextlib
import json
import os
import uuid


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary name beside ``path``; rename it to ``path`` only on success.

    The temporary file lives in the same folder, so the final ``os.replace`` is
    atomic: readers (and a run resumed after a crash or SIGKILL) see either the
    old complete file or the new complete one, never a partial file.

    Example
    -------
    >>> with atomic_path("run/last.params") as tmp:   # doctest: +SKIP
    ...     net.save_parameters(tmp)
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, ".%s.%s.tmp" % (os.path.basename(path), uuid.uuid4().hex[:8]))
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, sort_keys=True)
            f.write("\n")
    return path


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
