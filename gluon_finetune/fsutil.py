"""Files and folders the tools write: atomic writes, UTF-8 JSON, and who owns an output folder.

- :func:`atomic_path` and :func:`write_json`: a crash never leaves a half-written file;
- :func:`claim_folder`: a command writes only into a folder that is new, empty,
  or an earlier output of the same command, never over someone else's files.
"""
import contextlib
import json
import os
import uuid

from .errors import UserError


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
    """Write ``obj`` as indented JSON in UTF-8, atomically.

    Text such as class names is written as is (``"热狗"``, not ``"\\u70ed\\u72d7"``).
    """
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, sort_keys=True, ensure_ascii=False)
            f.write("\n")
    return path


def read_json(path):
    """The JSON file ``path``, read as UTF-8."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def claim_folder(path, marker=None, what="earlier output", option="--out", hint=None):
    """Check that a command may write into folder ``path``; return the earlier output's record.

    The folder may be missing, empty (names starting with ``.`` do not count),
    or hold ``marker``, the JSON file the same command wrote there before.
    Nothing is created or removed here.

    Parameters
    ----------
    path : str
    marker : str, optional
        File name that marks an earlier output (e.g. ``"demo.json"``). Without
        it, only a missing or empty folder is accepted.
    what : str
        What wrote the marker, for the message: ``"the output of an earlier <what>"``.
    option : str
        The option that named the folder, for the message.
    hint : str, optional
        The message's last sentence (default: choose a new or empty folder).

    Returns
    -------
    dict or None
        The marker's content when the folder holds an earlier output, else None.

    Raises
    ------
    UserError
        ``path`` is a file; or it holds other files; or its marker is not a
        JSON object (not one this tool wrote).
    """
    hint = hint or "Choose a new or empty folder for %s." % option
    if os.path.lexists(path) and not os.path.isdir(path):
        raise UserError("%s %s exists and is not a folder" % (option, path))
    entries = [n for n in os.listdir(path) if not n.startswith(".")] if os.path.isdir(path) else []
    if not entries:
        return None
    if marker is None:
        raise UserError("refusing to write into %s: the folder is not empty. %s" % (path, hint))
    if marker not in entries:
        raise UserError("refusing to write into %s: the folder is not empty and is not the output "
                        "of an earlier %s (no %s in it). %s" % (path, what, marker, hint))
    try:
        record = read_json(os.path.join(path, marker))
    except (OSError, ValueError):
        record = None
    if not isinstance(record, dict):
        raise UserError("refusing to write into %s: its %s is not one this tool wrote. %s"
                        % (path, marker, hint))
    return record


def display_path(text):
    """A path that prints anywhere: undecodable bytes shown as \\xNN escapes."""
    text = str(text)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
