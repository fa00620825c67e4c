"""Safe extraction of a zip archive: no entry outside the target, no unbounded expansion.
"""
import os
import re
import shutil
import stat
import tempfile
import zipfile

from ...errors import UserError
from ...progress import progress
from .files import _CHUNK, _makedirs, _remove, _remove_empty_dirs

#: The most an entry of more than :data:`RATIO_MIN_BYTES` may inflate (uncompressed /
#: compressed size). Photo collections such as hotdog.zip stay near 1:1 (JPEG is
#: already compressed), text about 3-10:1; a "zip bomb" of zeros reaches 1000:1.
MAX_RATIO = 100
#: Entries up to this size are not held to :data:`MAX_RATIO`: a small text file can
#: compress far better and cannot fill a disk.
RATIO_MIN_BYTES = 1 << 20
#: Room left free on the target disk after an extraction.
FREE_MARGIN = 64 << 20
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


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
