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

One module per job: ``fetch`` (HTTP + sha1), ``archives`` (safe extraction),
``cache`` (the markers), ``hotdog`` (the book's archive), over ``files`` (temporary
files and folders). The names below are the package's public face.
"""
from .archives import (
    FREE_MARGIN,
    MAX_RATIO,
    RATIO_MIN_BYTES,
    archive_entries,
    check_expansion,
    extract_archive,
)
from .cache import verified_copy
from .fetch import DownloadError, download_file, file_sha1, normalize_sha1
from .hotdog import (
    HOTDOG_ARCHIVE,
    HOTDOG_MIRROR_URL,
    HOTDOG_SHA1,
    HOTDOG_URL,
    HOTDOG_URL_ENV,
    HOTDOG_URLS,
    ArchiveUnavailable,
    default_root,
    download_hotdog,
    hotdog_urls,
)

__all__ = [
    "DownloadError", "ArchiveUnavailable", "file_sha1", "normalize_sha1", "download_file",
    "MAX_RATIO", "RATIO_MIN_BYTES", "FREE_MARGIN", "archive_entries", "check_expansion",
    "extract_archive", "verified_copy", "HOTDOG_URL", "HOTDOG_MIRROR_URL", "HOTDOG_URLS",
    "HOTDOG_SHA1", "HOTDOG_ARCHIVE", "HOTDOG_URL_ENV", "default_root", "hotdog_urls",
    "download_hotdog",
]
