"""Labels from a CSV file: ``--data labels.csv`` instead of class folders.

Kaggle-style data comes as a table of file names and labels (fastai's
``ImageDataLoaders.from_csv``, GluonCV's ``ImageClassificationDataset.from_csv``)::

    path,label,split
    images/0001.jpg,cat,train
    images/0002.jpg,dog,test

Paths are relative to the CSV's folder and must stay inside it. The ``split``
column (``train``, ``val`` or ``valid``, ``test``) is optional: without it each
class is split by ``--split`` as a single folder is, and ``--val-split`` holds
validation images out of the training ones either way. The columns' names are
``path`` and ``label`` unless ``--path-col`` and ``--label-col`` say otherwise.

Every row is checked before anything is read: an empty path or label, a path
outside the folder, a missing file, a path listed twice, an unknown split. The
refusal names the row (the header is row 1) and lists up to ten of them.
:func:`gluon_finetune.data.folders.scan_folder` turns the rows into the report a
folder gets.
"""
import csv
import os

from ..errors import UserError
from ..fsutil import display_path as _display
from ..imageio import is_image_file

__all__ = ["read_rows", "PATH_COL", "LABEL_COL", "SPLIT_COL", "SPLIT_NAMES"]

PATH_COL, LABEL_COL, SPLIT_COL = "path", "label", "split"
#: Split names a CSV may use, and the split each means.
SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
_MAX_LISTED = 10


def read_rows(path, path_col=None, label_col=None, labelled=True):
    """The checked rows of CSV ``path``: a list of ``(row number, image path, label, split)``.

    ``split`` is None when the file has no ``split`` column; image paths are absolute.
    With ``labelled=False`` (``predict``) the label column is not needed.

    Raises
    ------
    UserError
        A missing file or column, or rows that cannot be used, each named by its number.
    """
    path_col, label_col = path_col or PATH_COL, label_col or LABEL_COL
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:  # -sig: Excel's byte-order mark
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            rows = list(reader)
    except FileNotFoundError:
        raise UserError("CSV file %s does not exist" % _display(path)) from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UserError("cannot read CSV file %s: %s (expected UTF-8 text with a header row)"
                        % (_display(path), err)) from None
    for column, option in ((path_col, "--path-col"), (label_col, "--label-col"))[:2 if labelled else 1]:
        if column not in header:
            raise UserError("CSV file %s has no %r column (its columns: %s); name the column "
                            "with %s" % (_display(path), column, ", ".join(header) or "none",
                                         option))
    folder = os.path.dirname(os.path.abspath(path))
    has_split = SPLIT_COL in header
    out, problems, seen = [], [], {}
    for number, row in enumerate(rows, start=2):
        name = (row.get(path_col) or "").strip()
        label = (row.get(label_col) or "").strip()
        split = (row.get(SPLIT_COL) or "").strip().lower() if has_split else None
        full = os.path.normpath(os.path.join(folder, name))
        if not name:
            problems.append("row %d: empty %s" % (number, path_col))
        elif labelled and not label:
            problems.append("row %d: empty %s for %s" % (number, label_col, name))
        elif os.path.commonpath([folder, full]) != folder:
            problems.append("row %d: %s lies outside the CSV's folder %s" % (number, name, folder))
        elif full in seen:
            problems.append("row %d: %s is listed twice (first in row %d)" % (number, name, seen[full]))
        elif not os.path.isfile(full):
            problems.append("row %d: %s does not exist" % (number, name))
        elif not is_image_file(full):
            problems.append("row %d: %s has no image extension" % (number, name))
        elif has_split and split not in SPLIT_NAMES:
            problems.append("row %d: split %r is not one of train, val, test" % (number, split))
        else:
            seen[full] = number
            out.append((number, full, label, SPLIT_NAMES[split] if has_split else None))
    if problems:
        more = "\n  ... and %d more" % (len(problems) - _MAX_LISTED) if len(problems) > _MAX_LISTED else ""
        raise UserError("CSV file %s has %d row%s that cannot be used:\n  %s%s"
                        % (_display(path), len(problems), "" if len(problems) == 1 else "s",
                           "\n  ".join(problems[:_MAX_LISTED]), more))
    if not out:
        raise UserError("CSV file %s lists no images" % _display(path))
    return out
