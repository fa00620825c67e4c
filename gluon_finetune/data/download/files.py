"""Files the downloads write: temporary names, folders created and removed, and cleanup that never raises.
"""
import os
import shutil
import sys
import uuid

from ...errors import UserError

_CHUNK = 1 << 16
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows would translate newlines otherwise


def _say(message, quiet):
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def _remove(path):
    """Delete a file or folder if it exists; cleanup must never raise over the real error."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.remove(path)
    except OSError:
        pass


def _create_temp_file(folder, prefix, suffix):
    """Like :func:`tempfile.mkstemp`, but with the umask's permissions, not 0600.

    The file is renamed into place as the user's archive, which should be as
    readable as any file they download themselves.
    """
    for _ in range(100):
        path = os.path.join(folder, "%s%s%s" % (prefix, uuid.uuid4().hex[:12], suffix))
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError("no free temporary name in %s" % folder)


def _makedirs(path, what="folder"):
    """Create ``path`` and missing parents; return the topmost folder created, or None."""
    if os.path.isdir(path):
        return None
    if os.path.lexists(path):
        raise UserError("%s %s exists but is not a folder" % (what, path))
    top = path
    while not os.path.lexists(os.path.dirname(top)) and os.path.dirname(top) != top:
        top = os.path.dirname(top)
    try:
        os.makedirs(path)
    except FileExistsError:
        return None
    except OSError as err:
        raise UserError("cannot create %s %s: %s (choose another place with --root)"
                        % (what, path, err.strerror or err)) from None
    return top


def _remove_empty_dirs(path, top):
    """Remove ``path`` and its parents up to ``top`` while they are empty.

    ``top`` is what :func:`_makedirs` returned for ``path`` (an ancestor of it,
    or ``path`` itself), so nothing that existed before is removed.
    """
    if top is None:
        return
    while True:
        try:
            os.rmdir(path)  # only when empty: never take anything else with it
        except OSError:
            return
        if path == top or os.path.dirname(path) == path:
            return
        path = os.path.dirname(path)
