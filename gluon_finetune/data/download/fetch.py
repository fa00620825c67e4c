"""HTTP with a sha1: :func:`download_file` streams a URL into place, or leaves nothing.
"""
import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request

from ...errors import UserError
from ...progress import progress
from .files import _CHUNK, _create_temp_file, _remove

_NETWORK_ERRORS = (OSError, ValueError, http.client.HTTPException)
_SHA1_RE = re.compile(r"^[0-9a-f]{40}$")


class DownloadError(UserError):
    """One URL could not be fetched (network, HTTP status, short read or sha1)."""


def file_sha1(path):
    """The sha1 of a file's content, as 40 lower-case hex digits.

    :func:`mxnet.gluon.utils.check_sha1` answers only yes or no; error messages
    here need the actual value, so users can see what they have and pass it on.
    """
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def normalize_sha1(value):
    """Lower-case and check a sha1 given by a user; raise :class:`UserError` if malformed."""
    text = str(value).strip().lower()
    if not _SHA1_RE.match(text):
        raise UserError("%r is not a sha1: expected 40 hexadecimal digits "
                        "(as printed by `sha1sum FILE`)" % (value,))
    return text


def download_file(url, path, sha1=None, quiet=False, timeout=60):
    """Download ``url`` to ``path``, which appears only when the download is complete.

    The bytes go to a temporary file in the folder of ``path``; it is renamed to
    ``path`` only when the byte count matches ``Content-Length`` and, when ``sha1``
    is given, the content hash matches. On any failure the temporary file is
    deleted and an existing ``path`` is left untouched.

    Parameters
    ----------
    url : str
        ``http://``, ``https://`` or ``file://`` URL.
    path : str
        Destination file. Its folder must exist.
    sha1 : str or None
        Expected sha1 (hex); ``None`` skips the check.
    quiet : bool
        No progress bar.
    timeout : float
        Seconds a connection or a read may stall before the download fails.

    Returns
    -------
    str
        ``path``.

    Raises
    ------
    DownloadError
        The URL failed: network, HTTP status, short read or sha1 mismatch.
    UserError
        The local file could not be written (disk full, permissions).
    """
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    try:
        fd, tmp = _create_temp_file(folder, ".%s." % name, ".part")
    except OSError as err:
        raise UserError("cannot write in %s: %s" % (folder, err.strerror or err)) from None
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=timeout)
            except _NETWORK_ERRORS as err:  # URLError, HTTPError, timeouts, bad URLs
                raise DownloadError("%s: %s" % (url, _reason(err))) from None
            with response:
                status = getattr(response, "status", None)
                if status not in (None, 200):
                    raise DownloadError("%s: HTTP status %s" % (url, status))
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                received = 0
                with progress(total=total, desc=name, unit="B", quiet=quiet,
                              unit_scale=True, unit_divisor=1024) as bar:
                    while True:
                        try:
                            chunk = response.read(_CHUNK)
                        except _NETWORK_ERRORS as err:
                            raise DownloadError("%s: connection failed after %d bytes: %s"
                                                % (url, received, _reason(err))) from None
                        if not chunk:
                            break
                        try:
                            out.write(chunk)
                        except OSError as err:
                            raise UserError("cannot write %s: %s"
                                            % (tmp, err.strerror or err)) from None
                        received += len(chunk)
                        bar.update(len(chunk))
        # http.client returns a short body without complaint when the server
        # closes early; only the count against Content-Length tells.
        if total is not None and received != total:
            raise DownloadError("%s: incomplete download, got %d of %d bytes"
                                % (url, received, total))
        # Hash what landed on disk, not what went past in memory.
        actual = file_sha1(tmp) if sha1 is not None else None
        if sha1 is not None and actual != sha1:
            raise DownloadError("%s: downloaded file has sha1 %s, expected %s "
                                "(damaged download or a different file); deleted it"
                                % (url, actual, sha1))
        os.replace(tmp, path)
    finally:
        _remove(tmp)
    return path


def _reason(err):
    """A short, human reason for a network error."""
    if isinstance(err, urllib.error.HTTPError):
        return "HTTP %s %s" % (err.code, err.reason)
    if isinstance(err, urllib.error.URLError):
        return str(err.reason)
    return str(err) or type(err).__name__
