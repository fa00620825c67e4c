"""Every matplotlib figure of the project, drawn on Agg canvases.

Figures are built with :class:`matplotlib.figure.Figure` and an Agg canvas
rather than ``pyplot``: nothing needs a display, nothing touches global state,
and a notebook that imports this module keeps its own backend.
"""
import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])


def to_display(img):
    """Turn an image from anywhere in an aug_list into an RGB array imshow can draw.

    Accepts HWC ``uint8`` images, HWC float images in [0, 255] (the output of
    colour jitter), CHW tensors in [0, 1] (after to-tensor), and CHW tensors
    normalised with the ImageNet mean and std, as NDArray or NumPy.
    """
    if hasattr(img, "asnumpy"):
        img = img.asnumpy()
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[2] not in (1, 3):
        img = img.transpose(1, 2, 0)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    if img.dtype == np.uint8:
        return img
    img = img.astype(np.float64)
    if img.min() < -1e-3:  # normalised: undo the ImageNet statistics
        img = img * IMAGENET_STD + IMAGENET_MEAN
    elif img.max() > 1.0 + 1e-3:  # float pixels in [0, 255]
        img = img / 255.0
    return np.clip(img, 0.0, 1.0)


def new_figure(width, height):
    """A Figure of ``width`` x ``height`` inches on its own Agg canvas."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def save(fig, out, dpi=100):
    """Write ``fig`` as PNG to ``out`` atomically (creating its folder); return ``out``."""
    out = str(out)
    folder = os.path.dirname(os.path.abspath(out))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, ".%s.tmp" % os.path.basename(out))
    fig.savefig(tmp, dpi=dpi, format="png")
    os.replace(tmp, out)
    return out


def show_images(imgs, num_rows, num_cols, scale=2, titles=None, out=None):
    """The book's ``show_images``: a grid of images without axes.

    Parameters
    ----------
    imgs : sequence
        ``num_rows * num_cols`` images in any layout :func:`to_display` accepts.
    num_rows, num_cols : int
        Grid shape.
    scale : float
        Inches per grid cell.
    titles : sequence of str, optional
        One title per image.
    out : str, optional
        When given, the figure is saved there as PNG.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(num_cols * scale, num_rows * scale)
    axes = fig.subplots(num_rows, num_cols, squeeze=False)
    for i in range(num_rows):
        for j in range(num_cols):
            ax = axes[i][j]
            k = i * num_cols + j
            if k < len(imgs):
                ax.imshow(to_display(imgs[k]))
                if titles is not None and k < len(titles):
                    ax.set_title(titles[k], fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    if out is not None:
        save(fig, out)
    return fig


def augmentation_rows(rows, scale=1.5, out=None):
    """One labelled row of augmented samples per augmentation.

    Parameters
    ----------
    rows : sequence of (str, sequence of images)
        A label (e.g. the augmentation's spec) and the samples drawn with it.
    """
    num_cols = max(len(samples) for _, samples in rows)
    fig = new_figure(num_cols * scale, len(rows) * (scale + 0.3))
    axes = fig.subplots(len(rows), num_cols, squeeze=False)
    for i, (label, samples) in enumerate(rows):
        for j in range(num_cols):
            ax = axes[i][j]
            if j < len(samples):
                ax.imshow(to_display(samples[j]))
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        # The label sits above the row, left-aligned, so long specs do not squeeze the images.
        axes[i][0].set_title(label, loc="left", fontsize=9, fontfamily="monospace")
    # tight_layout would shrink the images to make room for long labels.
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.3 / fig.get_figheight(),
                        wspace=0.04, hspace=0.3 / scale * 1.2)
    if out is not None:
        save(fig, out)
    return fig


def training_curves(histories, out=None, title=None):
    """Loss and accuracy per epoch for one or more runs, side by side.

    Parameters
    ----------
    histories : dict of str -> list of dict
        A label (e.g. ``"fine-tune"``; ``""`` for a single run) and the run's
        per-epoch records with ``epoch``, ``loss``, ``train_acc``, ``test_acc``.
    """
    fig = new_figure(10, 3.8)
    ax_loss, ax_acc = fig.subplots(1, 2)
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]
    for colour, (label, history) in zip(colours, histories.items()):
        epochs = [h["epoch"] for h in history]
        prefix = label + " " if label else ""
        ax_loss.plot(epochs, [h["loss"] for h in history], "o-", color=colour, label=prefix + "train loss")
        ax_acc.plot(epochs, [h["train_acc"] for h in history], "o--", color=colour,
                    label=prefix + "train acc")
        ax_acc.plot(epochs, [h["test_acc"] for h in history], "s-", color=colour, label=prefix + "test acc")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("training loss")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_ylim(0, 1.02)
    ax_acc.set_title("accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if out is not None:
        save(fig, out)
    return fig
