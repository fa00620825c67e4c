"""The book's ``hotdog.zip``: its URLs and sha1, and :func:`download_hotdog`, which chains the other modules.
"""
import os
import re

from mxnet.base import data_dir

from ...errors import UserError
from .cache import _extract_and_mark, verified_copy
from .fetch import DownloadError, download_file, file_sha1, normalize_sha1
from .files import _makedirs, _remove, _remove_empty_dirs, _say

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


class ArchiveUnavailable(UserError):
    """No URL gave the archive; ``reasons`` lists why, one line per URL (and per note)."""

    def __init__(self, message, reasons):
        super().__init__(message)
        self.reasons = list(reasons)


def default_root():
    """MXNet's dataset folder: ``$MXNET_HOME/datasets``, else ``~/.mxnet/datasets``.

    The same folder ``mxnet.gluon.data.vision`` downloads MNIST and CIFAR into,
    so every Gluon project on the machine shares one cache.
    """
    return os.path.join(data_dir(), "datasets")


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

    done = verified_copy(root, HOTDOG_ARCHIVE, expected)
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
    done = verified_copy(root, name, actual)
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
