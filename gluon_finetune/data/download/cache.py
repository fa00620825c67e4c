"""The marker beside an extracted folder: which archive (and sha1) it came from, so nothing is fetched twice.
"""
import json
import os
import re

from .archives import _open_zip, _top_level, archive_entries, extract_archive
from .files import _create_temp_file, _remove, _say


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


def verified_copy(root, archive_name, sha1):
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
