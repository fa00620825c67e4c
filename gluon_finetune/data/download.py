"""Get the book's hotdog archive (or any zipped image folder) onto disk, safely.

Three steps, each of which can fail without leaving anything half-done behind:

1. **download** (:func:`download_file`): stream the URL into a temporary file
   beside the destination, with a progress bar in bytes; check the byte count
   against ``Content-Length`` and the sha1 *after* the download; rename the file
   into place only when both match, delete it otherwise.
2. **verify**: an archive the user already has (``archive=``) must have the
   expected sha1 too, unless the caller names another one or turns checking off,
   which is how the same code serves people's own zipped datasets.
3. **extract** (:func:`extract_archive`): refuse entries that would land outside
   the target (``..``, absolute paths, drive letters, symlinks) and archives that
   would expand without bound (:func:`check_expansion`: more than the target
   disk's free space, or an entry inflating more than :data:`MAX_RATIO` times;
   the bytes are counted as they are written too, since headers can lie), skip
   macOS and dot-file junk, extract into a temporary folder and rename it into
   place at the end.

:func:`download_hotdog` chains them and records each successful extraction in a
small marker file (``.<archive name>.extracted``, JSON with the archive's sha1)
beside the extracted folder, so a second call with a verified copy in place does
nothing at all.
"""
import hashlib
import http.client
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
import zipfile

from mxnet.base import data_dir

from ..errors import UserError
from ..progress import progress

#: Where the book (Dive into Deep Learning) keeps ``hotdog.zip``.
HOTDOG_URL = "http://d2l-data.s3-accelerate.amazonaws.com/hotdog.zip"
#: MXNet's copy of the same file, tried when the book's data store fails.
HOTDOG_MIRROR_URL = "https://apache-mxnet.s3-accelerate.amazonaws.com/gluon/dataset/hotdog.zip"
#: URLs tried in order by :func:`download_hotdog`.
HOTDOG_URLS = (HOTDOG_URL, HOTDOG_MIRROR_URL)
#: sha1 of the book's ``hotdog.zip`` (the d2l ``DATA_HUB`` entry).
HOTDOG_SHA1 = "fba480ffa8aa7e0febbb511d181409f899b9baa5"
#: File name the archive is stored under in the data root.
HOTDOG_ARCHIVE = "hotdog.zip"
#: Environment variable with replacement URLs (space or comma separated),
#: for local mirrors and tests.
HOTDOG_URL_ENV = "GLUON_FINETUNE_HOTDOG_URL"

#: The most an entry of more than :data:`RATIO_MIN_BYTES` may inflate (uncompressed /
#: compressed size). Photo collections such as hotdog.zip stay near 1:1 (JPEG is
#: already compressed), text about 3-10:1; a "zip bomb" of zeros reaches 1000:1.
MAX_RATIO = 100
#: Entries up to this size are not held to :data:`MAX_RATIO`: a small text file can
#: compress far better and cannot fill a disk.
RATIO_MIN_BYTES = 1 << 20
#: Room left free on the target disk after an extraction.
FREE_MARGIN = 64 << 20

_CHUNK = 1 << 16
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows would translate newlines otherwise
_NETWORK_ERRORS = (OSError, ValueError, http.client.HTTPException)
_SHA1_RE = re.compile(r"^[0-9a-f]{40}$")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


class DownloadError(UserError):
    """One URL could not be fetched (network, HTTP status, short read or sha1)."""


class ArchiveUnavailable(UserError):
    """No URL gave the archive; ``reasons`` lists why, one line per URL (and per note)."""

    def __init__(self, message, reasons):
        super().__init__(message)
        self.reasons = list(reasons)


# ---------------------------------------------------------------------------
# small helpers

def default_root():
    """MXNet's dataset folder: ``$MXNET_HOME/datasets``, else ``~/.mxnet/datasets``.

    The same folder ``mxnet.gluon.data.vision`` downloads MNIST and CIFAR into,
    so every Gluon project on the machine shares one cache.
    """
    return os.path.join(data_dir(), "datasets")


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


def hotdog_urls(urls=None):
    """The URLs to try: ``urls`` if given, else ``$GLUON_FINETUNE_HOTDOG_URL``, else the book's."""
    if urls is None:
        env = os.environ.get(HOTDOG_URL_ENV, "").strip()
        urls = re.split(r"[\s,]+", env) if env else HOTDOG_URLS
    elif isinstance(urls, str):
        urls = [urls]
    urls = [u for u in urls if u]
    if not urls:
        raise UserError("no URL to download from (set %s or pass a URL)" % HOTDOG_URL_ENV)
    return list(urls)


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


# ---------------------------------------------------------------------------
# download

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


# ---------------------------------------------------------------------------
# extraction

def _entry_parts(info):
    """The path components of a zip entry; raise UserError when it is unsafe.

    Returns an empty list for entries to skip (macOS resource forks, dot-files,
    the root folder itself).
    """
    raw = info.filename
    name = raw.replace("\\", "/")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UserError("refusing archive entry %r: it is a symbolic link, which could "
                        "point outside the target folder" % raw)
    if name.startswith("/") or _DRIVE_RE.match(name):
        raise UserError("refusing archive entry %r: it is an absolute path" % raw)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UserError("refusing archive entry %r: it would land outside the target "
                        "folder ('..')" % raw)
    if not parts or parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts):
        return []
    return parts


def archive_entries(zip_file):
    """The entries of an open :class:`zipfile.ZipFile` that extraction would write.

    Returns
    -------
    list of (zipfile.ZipInfo, list of str)
        Each kept entry with its path components, in archive order.

    Raises
    ------
    UserError
        For the first entry that would land outside the target folder.
    """
    kept = []
    for info in zip_file.infolist():
        parts = _entry_parts(info)
        if parts:
            kept.append((info, parts))
    return kept


def _open_zip(zip_path):
    try:
        return zipfile.ZipFile(zip_path)
    except FileNotFoundError:
        raise UserError("archive %s does not exist" % zip_path) from None
    except (zipfile.BadZipFile, OSError) as err:
        raise UserError("cannot read %s as a zip archive (incomplete or damaged file?): %s"
                        % (zip_path, err)) from None


def _size(n):
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return ("%d %s" if unit == "bytes" else "%.1f %s") % (n, unit)
        n /= 1024.0


def _existing_parent(path):
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def check_expansion(entries, zip_path, target_dir):
    """Refuse, before anything is written, an archive that would expand without bound.

    Parameters
    ----------
    entries : list of (zipfile.ZipInfo, list of str)
        What :func:`archive_entries` returned.
    zip_path, target_dir : str
        The archive and where it would be extracted (for the free space and messages).

    Returns
    -------
    int
        The declared uncompressed total: the byte budget of the extraction.

    Raises
    ------
    UserError
        An entry inflating more than :data:`MAX_RATIO` times its compressed size,
        or a declared total larger than the target disk's free space (less
        :data:`FREE_MARGIN`).
    """
    total = 0
    for info, _ in entries:
        total += info.file_size
        if info.file_size > RATIO_MIN_BYTES and \
                info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UserError(
                "refusing %s: its entry %r would expand from %s to %s, more than %d times its "
                "compressed size (photo archives stay near 1:1; this looks like a zip bomb). "
                "Nothing was extracted." % (zip_path, info.filename, _size(info.compress_size),
                                            _size(info.file_size), MAX_RATIO))
    disk = _existing_parent(target_dir)
    free = shutil.disk_usage(disk).free
    if total + FREE_MARGIN > free:
        raise UserError("refusing %s: it would expand to %s, but the disk of %s has %s free. "
                        "Nothing was extracted; free some space or extract elsewhere (--root)."
                        % (zip_path, _size(total), disk, _size(free)))
    return total


def _top_level(entries):
    """Map each first path component to True when it is a folder."""
    tops = {}
    for info, parts in entries:
        is_dir = len(parts) > 1 or info.is_dir()
        tops[parts[0]] = tops.get(parts[0], False) or is_dir
    return tops


def extract_archive(zip_path, target_dir, folder=None, quiet=False):
    """Extract a zip archive safely into ``target_dir``.

    Every entry is checked before anything is written: an entry that would land
    outside the target (``..``, an absolute path, a drive letter, a symbolic
    link) makes the whole archive refused. ``__MACOSX/`` entries and dot-files
    (``.DS_Store``, ``._photo.jpg``) are skipped. The entries are extracted into
    a temporary folder inside ``target_dir``; only when all of them are written
    is each top-level entry renamed into place, replacing a same-named entry as a
    whole. On any failure the temporary folder is removed and ``target_dir`` is
    as before (and removed again if this call created it).

    Parameters
    ----------
    zip_path : str
        The archive.
    target_dir : str
        Folder that receives the archive's top-level entries; created if missing.
    folder : str or None
        When given, put all entries under ``target_dir/folder`` instead, for
        archives that have several entries at their top level.
    quiet : bool
        No progress bar.

    Returns
    -------
    list of str
        The top-level names now in ``target_dir`` that came from the archive.

    Raises
    ------
    UserError
        Unsafe entry, empty or damaged archive, or a file that cannot be written.
    """
    target_dir = os.path.abspath(os.path.expanduser(target_dir))
    if folder is not None and (not folder or folder in (".", "..")
                               or re.search(r"[\\/]", folder)):
        raise UserError("folder must be a plain folder name, got %r" % (folder,))
    with _open_zip(zip_path) as zf:
        entries = archive_entries(zf)
        if not entries:
            raise UserError("archive %s holds no files to extract" % zip_path)
        budget = [check_expansion(entries, zip_path, target_dir)]
        if folder is not None:
            entries = [(info, [folder] + parts) for info, parts in entries]
        created = _makedirs(target_dir, "target folder")
        tmp = None
        try:
            tmp = tempfile.mkdtemp(prefix=".%s.partial-" % os.path.basename(zip_path),
                                   dir=target_dir)
            real_tmp = os.path.realpath(tmp)
            for info, parts in progress(entries, desc="extracting", unit="file", quiet=quiet):
                dest = os.path.join(tmp, *parts)
                # Belt and braces after the name checks: nothing may resolve
                # outside the temporary folder.
                if not os.path.realpath(dest).startswith(real_tmp + os.sep):
                    raise UserError("refusing archive entry %r: it would land outside "
                                    "the target folder" % info.filename)
                _write_entry(zf, info, dest, zip_path, budget)
            names = sorted({parts[0] for _, parts in entries})
            _swap_into_place(tmp, target_dir, names)
        except BaseException:
            if tmp is not None:
                _remove(tmp)
            if created:
                _remove(target_dir)
                if created != target_dir:
                    _remove_empty_dirs(os.path.dirname(target_dir), created)
            raise
        _remove(tmp)
    return names


def _write_entry(zf, info, dest, zip_path, budget):
    """Write one entry; ``budget`` is ``[bytes the archive declared and has not yet written]``."""
    try:
        if info.is_dir():
            os.makedirs(dest, exist_ok=True)
            return
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        # Our own copy rather than ZipFile.extract: no permission bits, no
        # set-uid files, no links, whatever the archive says. The bytes are
        # counted against what the headers declared, which the check before
        # extraction trusted.
        written = 0
        with zf.open(info) as src, open(dest, "wb") as out:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                written += len(chunk)
                budget[0] -= len(chunk)
                if written > info.file_size or budget[0] < 0:
                    raise UserError("refusing %s: entry %r expands beyond the %s its header "
                                    "declares; nothing was extracted"
                                    % (zip_path, info.filename, _size(info.file_size)))
                out.write(chunk)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, NotImplementedError) as err:
        raise UserError("cannot extract %r from %s (damaged or incomplete archive?): %s"
                        % (info.filename, zip_path, err)) from None
    except OSError as err:
        raise UserError("cannot extract %r from %s: %s"
                        % (info.filename, zip_path, err.strerror or err)) from None


def _swap_into_place(tmp, target_dir, names):
    """Rename each extracted top-level entry over its old version, old one last out."""
    trash = os.path.join(tmp, ".old")
    os.mkdir(trash)
    for name in names:
        new, dest = os.path.join(tmp, name), os.path.join(target_dir, name)
        if os.path.lexists(dest):
            os.rename(dest, os.path.join(trash, name))
        os.rename(new, dest)


# ---------------------------------------------------------------------------
# the hotdog data set (and any zipped image folder)

def _marker_path(root, archive_name):
    return os.path.join(root, ".%s.extracted" % archive_name)


def _markers(root):
    """Archive names that have a marker in ``root``."""
    try:
        names = os.listdir(root)
    except OSError:
        return []
    return [n[1:-len(".extracted")] for n in names
            if n.startswith(".") and n.endswith(".extracted") and len(n) > len("..extracted")]


def _read_marker(root, archive_name):
    """The marker's record, or None when it is missing or unreadable."""
    try:
        with open(_marker_path(root, archive_name), encoding="utf-8") as f:
            record = json.load(f)
        return record if isinstance(record, dict) else None
    except (OSError, ValueError):
        return None


def _verified_copy(root, archive_name, sha1):
    """Path of an extracted folder recorded for ``sha1`` (any sha1 when None), or None."""
    record = _read_marker(root, archive_name)
    folder = record.get("folder") if record else None
    if not isinstance(folder, str) or folder in ("", ".", "..") or re.search(r"[\\/]", folder):
        return None
    if sha1 is not None and record.get("sha1") != sha1:
        return None
    path = os.path.join(root, record["folder"])
    return path if os.path.isdir(path) else None


def _extract_and_mark(archive, root, archive_name, sha1, source, quiet):
    """Extract ``archive`` into ``root``; write the marker last; return the data folder."""
    with _open_zip(archive) as zf:
        tops = _top_level(archive_entries(zf))
    if len(tops) == 1 and list(tops.values())[0]:
        folder, wrap = list(tops)[0], None  # hotdog.zip holds one folder: hotdog/
    else:
        folder = os.path.splitext(archive_name)[0] or "data"
        wrap = folder
    # No record may outlive the tree it describes (this archive's, or another
    # archive's that extracted to the same folder name), even if we crash
    # between replacing the tree and writing the new record.
    _remove(_marker_path(root, archive_name))
    for other in _markers(root):
        if (_read_marker(root, other) or {}).get("folder") == folder:
            _remove(_marker_path(root, other))
    _say("extracting %s into %s" % (archive, root), quiet)
    extract_archive(archive, root, folder=wrap, quiet=quiet)
    record = {"archive": archive_name, "sha1": sha1, "folder": folder, "source": source}
    marker = _marker_path(root, archive_name)
    fd, tmp = _create_temp_file(root, os.path.basename(marker) + ".", ".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, marker)
    finally:
        _remove(tmp)
    return os.path.join(root, folder)


def download_hotdog(root=None, archive=None, sha1=HOTDOG_SHA1, verify=True, urls=None,
                    quiet=False, timeout=60):
    """Download, verify and extract the book's ``hotdog.zip``; return the data folder.

    The result is ``<root>/hotdog`` holding ``train/`` and ``test/``, each with
    ``hotdog/`` and ``not-hotdog/`` class folders. Nothing is downloaded or
    extracted again when a copy extracted from an archive with the expected sha1
    is already there.

    Parameters
    ----------
    root : str or None
        Folder for the archive and the extracted data. Default: MXNet's dataset
        folder, ``$MXNET_HOME/datasets`` or ``~/.mxnet/datasets``.
    archive : str or None
        A zip file already on disk (the offline path): it is verified and
        extracted, nothing is downloaded and the file itself is left where it is.
        Also works for your own zipped dataset together with ``sha1`` or
        ``verify=False``; its single top-level folder (or, when it has several
        top-level entries, a folder named after the archive) becomes the result.
    sha1 : str
        Expected sha1 of the archive; default the book's ``hotdog.zip``.
    verify : bool
        ``False`` accepts any archive content (the download is still checked
        against ``Content-Length``, and extraction is still safe).
    urls : str, list of str or None
        URLs tried in order; default ``$GLUON_FINETUNE_HOTDOG_URL`` (space or
        comma separated) if set, else :data:`HOTDOG_URLS` (the book's data store,
        then MXNet's mirror).
    quiet : bool
        No progress bars or status lines on stderr.
    timeout : float
        Seconds a connection may stall before the next URL is tried.

    Returns
    -------
    str
        The extracted data folder.

    Raises
    ------
    UserError
        The archive has another sha1, is unsafe or damaged, or no URL worked
        (the message then says which file to put in which folder).
    """
    root = os.path.abspath(os.path.expanduser(root if root is not None else default_root()))
    expected = normalize_sha1(sha1) if verify else None
    if archive is not None:
        return _use_archive(archive, root, expected, quiet)

    done = _verified_copy(root, HOTDOG_ARCHIVE, expected)
    if done:
        _say("%s is already there (extracted from %s, %s)"
             % (done, HOTDOG_ARCHIVE, "sha1 %s" % expected if expected else "not verified"),
             quiet)
        return done

    created = _makedirs(root, "data folder")
    try:
        return _download_and_extract(root, expected, hotdog_urls(urls), quiet, timeout)
    except BaseException:
        _remove_empty_dirs(root, created)
        raise


def _use_archive(archive, root, expected, quiet):
    archive = os.path.abspath(os.path.expanduser(archive))
    if not os.path.isfile(archive):
        raise UserError("archive %s does not exist (or is not a file)" % archive)
    actual = file_sha1(archive)
    if expected is not None and actual != expected:
        if expected == HOTDOG_SHA1:
            what = "the book's hotdog.zip (%s)" % HOTDOG_SHA1
        else:
            what = "the expected %s" % expected
        raise UserError("refusing %s: its sha1 is %s, not %s; if it is your own dataset, "
                        "pass --sha1 %s (sha1= in Python) or --no-verify to extract it"
                        % (archive, actual, what, actual))
    name = os.path.basename(archive)
    done = _verified_copy(root, name, actual)
    if done:
        _say("%s is already there (extracted from %s, sha1 %s)" % (done, name, actual), quiet)
        return done
    created = _makedirs(root, "data folder")
    try:
        return _extract_and_mark(archive, root, name, actual, archive, quiet)
    except BaseException:
        _remove_empty_dirs(root, created)
        raise


def _download_and_extract(root, expected, urls, quiet, timeout):
    target = os.path.join(root, HOTDOG_ARCHIVE)
    notes = []
    if os.path.isfile(target):
        actual = file_sha1(target)
        if expected is None or actual == expected:
            return _extract_and_mark(target, root, HOTDOG_ARCHIVE, actual, target, quiet)
        # Left in place: it may be the user's file, and a successful download
        # replaces it atomically anyway.
        notes.append("%s is there but its sha1 is %s, not %s" % (target, actual, expected))

    failures = []
    for i, url in enumerate(urls):
        _say("downloading %s\n         to %s" % (url, target), quiet)
        try:
            download_file(url, target, sha1=expected, quiet=quiet, timeout=timeout)
        except DownloadError as err:
            failures.append(str(err))
            if i + 1 < len(urls):
                _say("failed: %s; trying the next URL" % err, quiet)
            continue
        try:
            return _extract_and_mark(target, root, HOTDOG_ARCHIVE, file_sha1(target), url,
                                     quiet)
        except UserError:
            if expected is None:
                # Unverified and unusable: it came from us, so it goes.
                _remove(target)
            raise
    raise ArchiveUnavailable(_offline_message(root, target, expected, urls, failures, notes),
                             failures + notes)


def _offline_message(root, target, expected, urls, failures, notes):
    sha1 = expected or HOTDOG_SHA1
    lines = ["could not download %s:" % HOTDOG_ARCHIVE]
    lines += ["  " + f for f in failures]
    lines += ["  (" + n + ")" for n in notes]
    lines.append("To work offline, fetch the file on a machine with internet access:")
    sources = [urls[0]]
    if sha1 == HOTDOG_SHA1 and HOTDOG_URL not in sources:
        sources.append(HOTDOG_URL)  # the tried URL was a local override
    lines += ["  %s" % u for u in sources]
    lines += [
        "  sha1 %s   (check with: sha1sum %s)" % (sha1, HOTDOG_ARCHIVE),
        "then either put it at",
        "  %s" % target,
        "and run the same command again, or point to it wherever it is:",
        "  gluon-finetune data download --archive /path/to/%s%s"
        % (HOTDOG_ARCHIVE, "" if root == _maybe_default_root() else " --root %s" % root),
    ]
    return "\n".join(lines)


def _maybe_default_root():
    try:
        return os.path.abspath(default_root())
    except Exception:  # mxnet missing or broken: then no default to compare with
        return None
