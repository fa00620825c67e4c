"""Sample grids: a few training images of each class, drawn like the book's hotdog figure.

:func:`sample_images` picks the images (what ``gluon-finetune data show``
draws); :func:`show_samples` draws them with :func:`gluon_finetune.plots.show_images`.
"""
from collections import namedtuple

from .. import plots
from ..errors import UserError
from ..imageio import ImageReadError, read_image
from .folders import _display, scan_folder

__all__ = ["Samples", "sample_images", "show_samples"]

Samples = namedtuple("Samples", "images titles num_rows num_cols shown classes")


def sample_images(root, n=8, max_classes=8, split=None, split_seed=0):
    """Pick training images for a preview grid, like the book's hotdog figure.

    Two classes give the book's grid: the first ``n`` training images (class 0)
    on the first row and the last ``n`` (the last class, newest first) on the
    second. More classes give one row per class with its first ``n`` images,
    for the first ``max_classes`` classes. A file that does not decode is
    passed over for the next one.

    Returns
    -------
    Samples
        ``images`` (H, W, 3 uint8 arrays, row by row), ``titles`` (the class name
        on each row's first image), ``num_rows``, ``num_cols``, ``shown`` (the
        class of each row) and ``classes`` (all class names).
    """
    report = scan_folder(root, split=split, split_seed=split_seed)
    items = report.items["train"]
    n_classes = len(report.classes)
    if n_classes == 2:
        rows = [(0, [p for p, l in items if l == 0]),
                (1, [p for p, l in reversed(items) if l == 1])]
    else:
        rows = [(label, [p for p, l in items if l == label])
                for label in range(min(n_classes, max_classes))]
    picked = [(label, _read_first(paths, n)) for label, paths in rows]
    cols = min(n, min(len(imgs) for _, imgs in picked))
    if cols == 0:
        raise UserError("no readable training image in class %s of %s" % (
            ", ".join(report.classes[l] for l, imgs in picked if not imgs),
            _display(report.root)))
    images, titles = [], []
    for label, imgs in picked:
        images.extend(imgs[:cols])
        titles.extend([_display(report.classes[label])] + [""] * (cols - 1))
    return Samples(images, titles, len(picked), cols, [report.classes[l] for l, _ in picked],
                   list(report.classes))


def show_samples(root, out=None, n=8, max_classes=8, scale=1.4, split=None, split_seed=0):
    """Draw :func:`sample_images` as a grid (the book's ``show_images``), save to ``out``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    s = sample_images(root, n=n, max_classes=max_classes, split=split, split_seed=split_seed)
    return plots.show_images(s.images, s.num_rows, s.num_cols, scale=scale, titles=s.titles,
                             out=out)


def _read_first(paths, n):
    images = []
    for path in paths:
        if len(images) == n:
            break
        try:
            images.append(read_image(path))
        except ImageReadError:
            continue
    return images
