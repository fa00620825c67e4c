"""Pack an image folder into MXNet RecordIO: ``NAME.rec``, ``NAME.idx`` and ``NAME.lst``.

MXNet's fast format is one ``.rec`` of records plus an ``.idx`` of byte
offsets, as ``im2rec`` writes them and ``mx.io.ImageRecordIter``,
``gluon.data.vision.ImageRecordDataset`` and GluonCV's ``--use-rec`` scripts read
them. :func:`pack_folder` writes them from a folder (or CSV) that
:func:`~gluon_finetune.data.folders.scan_folder` reads:

- ``train/`` + ``test/`` (+ ``val/``) give ``NAME.rec``, ``NAME-test.rec``
  (and ``NAME-val.rec``), each with its ``.idx`` and ``.lst``;
- a single folder of class folders gives ``NAME.rec`` with every image, split
  at training time by ``--split`` as the folder would be;
- ``NAME-classes.json`` keeps the class names (a record holds only a number).

Each record is ``mx.recordio.pack(IRHeader(0, label, key, 0), image bytes)``,
written by MXNet's own writer. The bytes are the file's own (JPEG or not), so
``--data NAME.rec`` decodes to the very pixels of the folder and trains to the
same numbers with the same seed; ``max_side`` (or ``quality``) re-encodes
each image as JPEG instead, scaled down to fit. Every file is written under a
temporary name and renamed when all are complete, so an interrupted pack leaves
nothing behind, and nothing is replaced without ``overwrite``.
"""
import contextlib
import io
import os
import time

from .. import recfile
from ..errors import UserError
from ..fsutil import atomic_path, write_json
from ..fsutil import display_path as _display
from ..imageio import ImageReadError, read_bytes, read_image
from ..progress import progress
from .folders import CSV_SPLITS, TRAIN_TEST, scan_folder

__all__ = ["pack_folder", "DEFAULT_QUALITY"]

#: JPEG quality of re-encoded images (``--max-side`` / ``--quality``), im2rec's default.
DEFAULT_QUALITY = 95
_SPLIT_SUFFIX = {"train": "", "test": "-test", "val": "-val"}
_OUTPUTS = (".rec", ".idx", ".lst")


def pack_folder(src, out, max_side=None, quality=None, overwrite=False, quiet=False,
                path_col=None, label_col=None):
    """Write ``src`` as RecordIO files named ``out`` (a path without extension).

    Parameters
    ----------
    src : str
        A folder (either layout) or a CSV file, as ``--data`` takes them.
    out : str
        ``out.rec``, ``out.idx``, ``out.lst`` (and ``out-test.*``, ``out-val.*``)
        and ``out-classes.json`` are written; a trailing ``.rec`` is dropped.
        ``--out photos`` beside a folder ``photos/`` is fine (``photos.rec``...).
    max_side : int, optional
        Re-encode as JPEG, scaled down so that neither side is longer.
    quality : int, optional
        JPEG quality of re-encoded images (1-100, default :data:`DEFAULT_QUALITY`);
        alone, it re-encodes every image at full size.
    overwrite : bool
        Replace earlier files of that name; without it they are refused.

    Returns
    -------
    dict
        ``files`` (written paths), ``counts`` (records per split), ``bytes``,
        ``reencoded``, ``seconds``.

    Raises
    ------
    UserError
        Bad options, a source that does not scan, files that would be replaced,
        an image that cannot be read (when re-encoding).
    """
    start = time.monotonic()
    out = str(out)
    if out.lower().endswith(".rec"):
        out = out[:-len(".rec")]
    if max_side is not None and int(max_side) < 8:
        raise UserError("--max-side %s is too small: give the longest side in pixels, e.g. 512"
                        % max_side)
    if quality is not None and not 1 <= int(quality) <= 100:
        raise UserError("--quality %s is not a JPEG quality: give 1-100 (default %d)"
                        % (quality, DEFAULT_QUALITY))
    if not os.path.basename(out):
        raise UserError("--out %s names a folder: give a file name without extension, e.g. %s"
                        % (_display(out), _display(os.path.join(out, "data"))))
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise UserError("--out %s: folder %s does not exist; create it first"
                        % (_display(out), _display(parent)))
    report = scan_folder(src, path_col=path_col, label_col=label_col)
    splits = _splits(report)
    # The classes file first: ExitStack renames in reverse, so it appears last.
    written = [recfile.classes_file(out + ".rec")]
    written += [out + _SPLIT_SUFFIX[s] + ext for s in splits for ext in _OUTPUTS]
    stale = [out + suffix + ext for s, suffix in _SPLIT_SUFFIX.items() if s not in splits
             for ext in _OUTPUTS]
    present = [p for p in written + stale if os.path.exists(p)]
    if present and not overwrite:
        more = " and %d more files of that name" % (len(present) - 1) if len(present) > 1 else ""
        raise UserError("%s%s already exist%s: pass --overwrite to replace them, or choose "
                        "another --out" % (_display(present[0]), more,
                                           "s" if len(present) == 1 else ""))
    reencode = max_side is not None or quality is not None
    quality = int(quality or DEFAULT_QUALITY)
    total = sum(len(items) for items, _ in splits.values())
    counts = {}
    with contextlib.ExitStack() as stack, progress(total=total, desc="packing", unit="img",
                                                   quiet=quiet) as bar:
        temps = {p: stack.enter_context(atomic_path(p)) for p in written}
        for split, (items, base) in splits.items():
            name = out + _SPLIT_SUFFIX[split]
            counts[split] = _write_split(items, base, temps[name + ".rec"], temps[name + ".idx"],
                                         temps[name + ".lst"], max_side if reencode else None,
                                         quality, reencode, bar)
        write_json(temps[written[0]], {"classes": list(report.classes), "source": _display(
            os.path.abspath(str(src))), "reencoded": reencode, "max_side": max_side,
            "quality": quality if reencode else None})
    for path in stale:
        if os.path.exists(path):
            os.remove(path)
    for path in written + stale:
        if path.endswith(".rec"):
            recfile.forget(path)  # this process reads the new files, not what it had indexed
    size = sum(os.path.getsize(p) for p in written if p.endswith(".rec"))
    return dict(files=written, counts=counts, bytes=size, reencoded=reencode,
                classes=list(report.classes), seconds=time.monotonic() - start)


def _splits(report):
    """``{split: (items, base folder for the .lst paths)}`` in the order they are written."""
    root = os.path.abspath(report.root)
    if report.layout == TRAIN_TEST:
        folders = {"train": "train", "test": "test", "val": (report.val_from or "val").rstrip("/")}
        return {s: (report.items[s], os.path.join(root, folders[s]))
                for s in ("train", "test", "val") if s in report.items}
    base = os.path.dirname(root) if os.path.isfile(root) else root
    if report.layout == CSV_SPLITS:
        return {s: (report.items[s], base) for s in ("train", "test", "val") if s in report.items}
    # One set: every image, by class then name, split later by --split as the folder is.
    return {"train": (report.all_items(), base)}


def _write_split(items, base, rec_tmp, idx_tmp, lst_tmp, max_side, quality, reencode, bar):
    import mxnet as mx  # the writer is MXNet's own, so that MXNet's readers agree

    writer = mx.recordio.MXIndexedRecordIO(idx_tmp, rec_tmp, "w")
    try:
        with open(lst_tmp, "w", encoding="utf-8", newline="\n") as lst:
            for key, (path, label) in enumerate(items):
                data = _encoded(path, max_side, quality) if reencode else read_bytes(path)
                header = mx.recordio.IRHeader(0, float(label), key, 0)
                writer.write_idx(key, mx.recordio.pack(header, data))
                rel = os.path.relpath(path, base).replace(os.sep, "/")
                lst.write("%d\t%f\t%s\n" % (key, float(label), rel))
                bar.update(1)
    finally:
        writer.close()
    return len(items)


def _encoded(path, max_side, quality):
    from PIL import Image

    try:
        pixels = read_image(path)
    except ImageReadError as err:
        raise UserError("%s; fix or remove it (`gluon-finetune data check` lists every such "
                        "file), or pack without --max-side/--quality to keep the bytes as "
                        "they are" % err) from None
    im = Image.fromarray(pixels)
    if max_side and max(im.size) > max_side:
        scale = max_side / float(max(im.size))
        im = im.resize((max(1, round(im.size[0] * scale)), max(1, round(im.size[1] * scale))),
                       Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
