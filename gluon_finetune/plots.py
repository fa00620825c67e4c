"""Every matplotlib figure of the project, drawn on Agg canvases.

Figures are built with :class:`matplotlib.figure.Figure` and an Agg canvas
rather than ``pyplot``: nothing needs a display, nothing touches global state,
and a notebook that imports this module keeps its own backend.
"""
import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .constants import IMAGENET_MEAN, IMAGENET_STD


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
        img = img * np.asarray(IMAGENET_STD) + np.asarray(IMAGENET_MEAN)
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
        per-epoch records with ``epoch``, ``loss``, ``train_acc``, ``test_acc``
        (and ``val_acc``, ``ema_val_acc`` when the run has them: drawn too).
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
        for key, style in (("val_acc", "^:"), ("ema_val_acc", "v-.")):
            if history and key in history[0]:  # validation images, weight EMA
                ax_acc.plot(epochs, [h[key] for h in history], style, color=colour,
                            label=prefix + key.replace("_acc", " acc").replace("_", " "))
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


def confusion_matrix(cm, classes, out=None, title=None):
    """A confusion matrix as a coloured grid with the count in every cell.

    Rows are the true classes and columns the predicted ones; a cell's colour
    is its share of the row (so the diagonal shows each class's recall), its
    text the number of images.

    Parameters
    ----------
    cm : array (C, C) of int
        ``cm[i, j]``: images of class i predicted as class j.
    classes : sequence of str
    """
    cm = np.asarray(cm)
    n = len(classes)
    side = min(max(3.2, 0.55 * n + 2.0), 20.0)
    fig = new_figure(side + 1.0, side)
    ax = fig.subplots()
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=np.float64), where=rows > 0)
    shown = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    tilt = n > 4 or max(len(c) for c in classes) > 8
    ax.set_xticklabels(classes, rotation=30 if tilt else 0, ha="right" if tilt else "center",
                       rotation_mode="anchor", fontsize=8)
    ax.set_yticklabels(classes, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if n <= 30:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=9,
                        color="white" if share[i, j] > 0.5 else "black")
    ax.set_title(title or "confusion matrix", fontsize=9)
    fig.tight_layout()
    if out is not None:
        save(fig, out)
    return fig


def mistakes(items, num_cols=4, scale=2.2, out=None, title=None):
    """A gallery of misclassified images, each titled with its true and predicted class.

    Parameters
    ----------
    items : sequence of (image, str, str, float)
        The image (any layout :func:`to_display` accepts), its true class, the
        predicted class and the predicted probability, most confident first.
    num_cols : int
        Images per row.
    title : str, optional
        Above the gallery.

    An empty ``items`` draws a small figure that says there was no mistake.
    """
    if not items:
        fig = new_figure(4, 1.2)
        if title:
            fig.text(0.5, 0.65, title, ha="center", va="center", fontsize=10)
        fig.text(0.5, 0.3 if title else 0.5, "no mistakes", ha="center", va="center",
                 color="tab:green")
        if out is not None:
            save(fig, out)
        return fig
    num_cols = max(1, min(num_cols, len(items)))
    num_rows = (len(items) + num_cols - 1) // num_cols
    fig = new_figure(num_cols * scale, num_rows * (scale + 0.6) + (0.4 if title else 0))
    axes = fig.subplots(num_rows, num_cols, squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k < len(items):
            img, true, pred, prob = items[k]
            ax.imshow(to_display(img))
            ax.set_title("true: %s\npredicted: %s (%.0f%%)" % (true, pred, 100 * prob),
                         fontsize=8, color="tab:red")
    top = 1.0
    if title:
        fig.suptitle(title, fontsize=10)
        top = 1.0 - 0.4 / fig.get_figheight()  # keep the first row's titles clear of it
    # Room for two title lines above every row, whatever the images' aspect ratios.
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=top - 0.5 / fig.get_figheight(),
                        wspace=0.1, hspace=0.6 / scale * 1.5)
    if out is not None:
        save(fig, out)
    return fig
