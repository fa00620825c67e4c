"""Read MXNet RecordIO files (``.rec`` + ``.idx``) without MXNet, one image at a time.

A ``.rec`` is a chain of records, each ``magic, length, payload, padding to 4
bytes`` (dmlc-core's ``RecordIOWriter``; a payload that holds the magic number
at a 4-byte boundary is cut there into parts, flagged 1, 2, 3, and joined back
here with the magic in between). An image payload starts with MXNet's
``IRHeader`` (``flag, label, id, id2``, then ``flag`` float labels when
``flag > 0``) and goes on with the encoded image, as ``mx.recordio.pack``
writes it. The ``.idx`` beside it lists ``key<TAB>byte offset`` per record and
the optional ``.lst`` (``im2rec``'s list) ``key<TAB>label<TAB>relative path``.

Each record is named by a path inside the ``.rec``: ``pets.rec/cat/001.jpg``
for the ``.lst`` path ``cat/001.jpg`` (or ``pets.rec/<label>/<key>`` without a
``.lst``), so that a record is listed, split, shown and reported like a file:
:func:`gluon_finetune.imageio.read_image` reads such a path through
:func:`read_member`. This module is a leaf: pure Python and the standard
library, no MXNet import, and every file handle is opened per process, so the
loaders' forked workers each read with their own.

:func:`load_index` checks a file once, before anything trains: a ``.rec`` cut
short, an ``.idx`` whose offsets do not start records, a record whose header
does not hold a label. Each refusal names the record and the file.
"""
import json
import math
import os
import struct

from .errors import UserError

__all__ = ["MAGIC", "RecordIndex", "RecordError", "is_record_file", "split_member",
           "load_index", "read_member", "member_size", "classes_file", "forget"]

#: The 32-bit word that starts every record (dmlc-core ``RecordIOWriter::kMagic``).
MAGIC = 0xced7230a
_MAGIC_BYTES = struct.pack("<I", MAGIC)
_HEAD = struct.Struct("<II")           # magic, cflag << 29 | length
_IR_HEADER = struct.Struct("<IfQQ")    # MXNet's IRHeader: flag, label, id, id2
_MARK = ".rec" + os.sep


class RecordError(UserError):
    """A ``.rec`` / ``.idx`` pair that cannot be read as it is."""


def is_record_file(path):
    """Whether ``--data path`` names a RecordIO file (``.rec``, any case, not a folder)."""
    return str(path).lower().endswith(".rec") and not os.path.isdir(str(path))


def classes_file(rec_path):
    """The class-names file ``data pack`` writes for the ``.rec`` at ``rec_path``.

    ``NAME.rec``, ``NAME-test.rec`` and ``NAME-val.rec`` share ``NAME-classes.json``.
    """
    stem = str(rec_path)[:-len(".rec")]
    for suffix in ("-test", "-val", "-train"):
        if stem.endswith(suffix):
            stem = stem[:-len(suffix)]
            break
    return stem + "-classes.json"


def split_member(path):
    """``(rec path, member name)`` for a path inside a ``.rec``, or None for any other path."""
    path = str(path)
    start = 0
    while True:
        at = path.lower().find(_MARK, start)
        if at < 0:
            return None
        rec = path[:at + len(".rec")]
        if os.path.isfile(rec):
            return rec, path[at + len(_MARK):].replace(os.sep, "/")
        start = at + 1


class RecordIndex:
    """The checked records of one ``.rec``: names, keys, offsets, labels, classes.

    Attributes
    ----------
    rec, idx : str
        The two files.
    names : list of str
        Each record's member name (its ``.lst`` path, or ``<label>/<key>``), in file order.
    keys, offsets, lengths, labels : list of int
        ``.idx`` key, byte offset, payload length and integer label of each record.
    classes : list of str
        ``classes[label]``: from ``NAME-classes.json``, else from the ``.lst``'s
        first folder per label, else the label numbers.
    by_name : dict
        Member name -> position in the lists.
    """

    def __init__(self, rec, idx, names, keys, offsets, lengths, labels, classes):
        self.rec, self.idx = rec, idx
        self.names, self.keys, self.offsets = names, keys, offsets
        self.lengths, self.labels, self.classes = lengths, labels, classes
        self.by_name = {n: i for i, n in enumerate(names)}

    def __len__(self):
        return len(self.names)

    def member(self, i):
        """The path of record ``i``, as :func:`gluon_finetune.imageio.read_image` reads it."""
        return os.path.join(self.rec, *self.names[i].split("/"))


_indices = {}   # (rec path, size, mtime) -> RecordIndex, per process
_loaded = {}    # rec path -> its RecordIndex last loaded (what read_member uses)
_handles = {}   # rec path -> (pid, open file)


def load_index(rec):
    """The :class:`RecordIndex` of ``rec``, checked against the file (cached per process).

    Raises
    ------
    RecordError
        A missing ``.rec`` or ``.idx``, an ``.idx`` that is not ``key<TAB>offset``
        lines, an offset that does not start a record or a record that runs past
        the end of the ``.rec`` (a truncated copy), a record with no image
        header, or a ``.lst`` whose keys are not the ``.idx``'s.
    """
    rec = os.path.abspath(str(rec))
    try:
        st = os.stat(rec)
    except OSError:
        raise RecordError("RecordIO file %s does not exist" % rec) from None
    key = (rec, st.st_size, st.st_mtime_ns)
    if key not in _indices:
        _indices[key] = _read_index(rec, st.st_size)
    _loaded[rec] = _indices[key]
    return _indices[key]


def _read_index(rec, size):
    idx = rec[:-len(".rec")] + ".idx"
    if not os.path.isfile(idx):
        raise RecordError("%s has no index %s beside it: write both with `gluon-finetune data "
                          "pack` (or MXNet's im2rec)" % (rec, os.path.basename(idx)))
    entries = []
    with open(idx, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            parts = line.split("\t")
            try:
                entries.append((int(parts[0]), int(parts[1])))
            except (ValueError, IndexError):
                raise RecordError("line %d of %s is not `key<TAB>offset`: %r"
                                  % (number, idx, line.rstrip("\n")[:80])) from None
    if not entries:
        raise RecordError("%s lists no records" % idx)
    keys, offsets, lengths, labels = [], [], [], []
    with open(rec, "rb") as f:
        for k, offset in entries:
            where = "record %d (at byte %d in %s, listed in %s)" % (k, offset, rec, idx)
            if offset < 0 or offset + _HEAD.size > size:
                raise RecordError("%s lies past the end of the file (%d bytes): the .rec is "
                                  "truncated or the .idx belongs to another file; pack it again"
                                  % (where, size))
            f.seek(offset)
            head = f.read(_HEAD.size + _IR_HEADER.size)
            magic, lrec = _HEAD.unpack_from(head)
            if magic != MAGIC:
                raise RecordError("%s does not start a record: the .idx disagrees with the "
                                  ".rec; pack it again, or rebuild the .idx" % where)
            length, cflag = lrec & ((1 << 29) - 1), lrec >> 29
            if cflag == 0 and offset + _HEAD.size + length > size:
                raise RecordError("%s runs past the end of the file (%d bytes needed, %d there): "
                                  "the .rec is truncated; copy or pack it again"
                                  % (where, offset + _HEAD.size + length, size))
            if cflag == 0 and len(head) == _HEAD.size + _IR_HEADER.size \
                    and length >= _IR_HEADER.size:
                flag, label = _IR_HEADER.unpack_from(head, _HEAD.size)[:2]
                if flag > 0:  # the labels follow the header; the first is the class
                    label = _label(_payload(f, offset, rec, k))
            elif cflag == 1:  # a record cut in parts: read it whole, which checks every part
                label = _label(_payload(f, offset, rec, k))
            else:
                label = None
            if label is None:
                raise RecordError("%s holds no image header (flag, label, id): it is not a record "
                                  "written by `data pack`, im2rec or mx.recordio.pack" % where)
            if not math.isfinite(label) or label < 0 or label != int(label):
                raise RecordError("%s has label %r: a class needs a whole number from 0"
                                  % (where, label))
            keys.append(k)
            offsets.append(offset)
            lengths.append(length)
            labels.append(int(label))
    names = _names(rec, keys, labels)
    return RecordIndex(rec, idx, names, keys, offsets, lengths, labels,
                       _classes(rec, names, labels))


def _names(rec, keys, labels):
    """Each record's member name: its ``.lst`` path, else ``<label>/<key>``."""
    lst = rec[:-len(".rec")] + ".lst"
    if not os.path.isfile(lst):
        return ["%d/%d" % (label, k) for k, label in zip(keys, labels)]
    paths = {}
    with open(lst, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                paths[int(parts[0])] = parts[-1].replace("\\", "/")
    missing = [k for k in keys if k not in paths]
    if missing:
        raise RecordError("%s has no line for record %d (of %d such) that %s lists: it belongs to "
                          "another .rec; pack it again, or delete it to name records by key"
                          % (lst, missing[0], len(missing), rec[:-len(".rec")] + ".idx"))
    names = [paths[k] for k in keys]
    seen = set()
    for k, name in zip(keys, names):
        if name in seen:
            raise RecordError("%s lists %s twice (again for record %d)" % (lst, name, k))
        seen.add(name)
    return names


def _classes(rec, names, labels):
    path = classes_file(rec)
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                classes = json.load(f)["classes"]
        except (ValueError, KeyError, TypeError):
            raise RecordError("%s is not a class list ({\"classes\": [...]}); pack the data "
                              "again or delete it" % path) from None
        if max(labels) >= len(classes):
            raise RecordError("%s names %d classes, but a record of %s has label %d"
                              % (path, len(classes), rec, max(labels)))
        return [str(c) for c in classes]
    first = {}
    for name, label in zip(names, labels):
        first.setdefault(label, name.split("/")[0] if "/" in name else str(label))
    return [first.get(label, str(label)) for label in range(max(labels) + 1)]


def _label(payload):
    """The class label in an image payload's header (the first of ``flag`` labels), or None."""
    if len(payload) < _IR_HEADER.size:
        return None
    flag, label = _IR_HEADER.unpack_from(payload)[:2]
    if flag > 0:
        if len(payload) < _IR_HEADER.size + 4 * flag:
            return None
        label = struct.unpack_from("<f", payload, _IR_HEADER.size)[0]
    return label


def _payload(f, offset, rec, key):
    """The payload of the record at ``offset`` of open file ``f``, its parts joined."""
    parts, at = [], offset
    while True:
        f.seek(at)
        head = f.read(_HEAD.size)
        if len(head) < _HEAD.size or _HEAD.unpack(head)[0] != MAGIC:
            raise RecordError("record %d of %s is cut short or overwritten (no record at byte %d)"
                              % (key, rec, at))
        lrec = _HEAD.unpack(head)[1]
        length, cflag = lrec & ((1 << 29) - 1), lrec >> 29
        data = f.read(length)
        if len(data) < length:
            raise RecordError("record %d of %s is cut short: %d of its %d bytes are there"
                              % (key, rec, len(data), length))
        parts.append(data)
        if cflag in (0, 3):
            return _MAGIC_BYTES.join(parts)
        at += _HEAD.size + ((length + 3) & ~3)


def _open(rec):
    pid = os.getpid()
    held = _handles.get(rec)
    if held is None or held[0] != pid:
        _handles[rec] = held = (pid, open(rec, "rb"))
    return held[1]


def read_member(path):
    """The encoded image bytes of the record at ``path`` (``NAME.rec/<member>``).

    Returns None when ``path`` does not lie inside a ``.rec``.

    Raises
    ------
    RecordError
        When the ``.rec`` has no such record, or the record cannot be read (the
        file changed since it was checked).
    """
    path = str(path)
    at = path.lower().find(_MARK)
    # The loaders' path: a .rec already indexed in this process, looked up without a stat.
    index = _loaded.get(path[:at + len(".rec")]) if at >= 0 else None
    if index is not None:
        name = path[at + len(_MARK):]
    else:
        where = split_member(path)
        if where is None:
            return None
        index, name = load_index(where[0]), where[1]
    if os.sep != "/":
        name = name.replace(os.sep, "/")
    i = index.by_name.get(name)
    if i is None:
        raise RecordError("%s has no record named %s" % (index.rec, name))
    f = _open(index.rec)
    try:
        # One record in one part with one label, as data pack and im2rec write them: the
        # image bytes are read as they are, without joining or slicing a copy.
        f.seek(index.offsets[i])
        head = f.read(_HEAD.size + _IR_HEADER.size)
        if len(head) == _HEAD.size + _IR_HEADER.size:
            magic, lrec = _HEAD.unpack_from(head)
            if magic == MAGIC and lrec >> 29 == 0 and _IR_HEADER.unpack_from(head, _HEAD.size)[0] == 0:
                data = f.read((lrec & ((1 << 29) - 1)) - _IR_HEADER.size)
                if len(data) == (lrec & ((1 << 29) - 1)) - _IR_HEADER.size:
                    return data
        payload = _payload(f, index.offsets[i], index.rec, index.keys[i])
    except OSError as err:
        raise RecordError("cannot read record %d of %s: %s" % (index.keys[i], index.rec,
                                                               err)) from None
    if len(payload) < _IR_HEADER.size:
        raise RecordError("record %d of %s holds no image header" % (index.keys[i], index.rec))
    flag = _IR_HEADER.unpack_from(payload)[0]
    return payload[_IR_HEADER.size + 4 * flag:]


def forget(rec):
    """Drop this process's index and handle of ``rec`` (it was rewritten: read it afresh)."""
    rec = os.path.abspath(str(rec))
    _loaded.pop(rec, None)
    held = _handles.pop(rec, None)
    if held is not None and held[0] == os.getpid():
        held[1].close()


def member_size(path):
    """The payload length of the record at ``path``, or None for a path outside any ``.rec``."""
    where = split_member(path)
    if where is None:
        return None
    index = load_index(where[0])
    i = index.by_name.get(where[1])
    return None if i is None else index.lengths[i]
