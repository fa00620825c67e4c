"""MixUp and CutMix: whole-batch mixes with soft targets, as timm's ``Mixup`` does them.

One job: given a training batch (images ``N x C x H x W`` and class indices),
return the mixed images and their soft targets. The meaning is timm's
(``timm/data/mixup.py``, ``mode="batch"``):

- per batch, with probability ``prob`` the batch is mixed, else left alone
  (its targets are still the one-hot ones, smoothed);
- with both ``mixup_alpha`` and ``cutmix_alpha`` above 0, CutMix is chosen with
  probability ``switch_prob``, MixUp otherwise; with one of them, that one;
- ``lam ~ Beta(alpha, alpha)`` of the chosen mix;
- the batch is paired with itself in reverse order (image ``i`` with image
  ``N - 1 - i``; in an odd batch the middle image pairs with itself);
- MixUp: ``x = lam * x + (1 - lam) * x_flipped``;
- CutMix: a box of area ``(1 - lam) * H * W`` and the image's aspect ratio,
  centred at a uniform random pixel and clipped to the image, takes the paired
  image's pixels; ``lam`` becomes ``1 - box area / (H * W)``, the share the
  image really keeps (timm's ``correct_lam``);
- targets ``lam * onehot(y) + (1 - lam) * onehot(y_flipped)``, where each one-hot
  row is label-smoothed as timm does it: ``off = smoothing / classes``,
  ``on = 1 - smoothing + off`` (the same numbers as the training loop's own
  label smoothing), so every target row sums to one.

The images are mixed after normalisation, which is the same as mixing before it
(normalisation is affine and the pairs share it).

Randomness: each batch draws from its own NumPy generator seeded by
``(seed, epoch, rank, step)`` (:meth:`BatchMix.rng`). The global generators that
the augmentations and the shuffle use see no extra draw, so a run without mixing
is the run it always was, and a resumed run mixes its batches as an
uninterrupted one does, with no generator state to save.
"""
import dataclasses
from typing import NamedTuple, Optional, Tuple

import mxnet as mx
import numpy as np


class MixInfo(NamedTuple):
    """What :meth:`BatchMix.mix` did to a batch."""

    kind: str                           # "none", "mixup" or "cutmix"
    lam: float                          # the share of each image's own label
    box: Optional[Tuple[int, int, int, int]] = None  # CutMix: (y0, y1, x0, x1)


@dataclasses.dataclass(frozen=True)
class BatchMix:
    """MixUp and/or CutMix of whole batches with timm's meaning (see the module's doc).

    Parameters
    ----------
    classes : int
        Number of classes (the width of the soft targets).
    mixup_alpha, cutmix_alpha : float
        Beta distribution parameters; 0 turns that mix off.
    prob : float
        Probability that a batch is mixed at all.
    switch_prob : float
        With both alphas above 0: probability of CutMix rather than MixUp.
    label_smoothing : float
        Smoothing of the one-hot rows before they are mixed.
    seed : tuple of int
        The run's key, usually ``(seed, epoch, rank)``; each step adds its index.
    """

    classes: int
    mixup_alpha: float = 0.0
    cutmix_alpha: float = 0.0
    prob: float = 1.0
    switch_prob: float = 0.5
    label_smoothing: float = 0.0
    seed: tuple = (0,)

    @property
    def enabled(self):
        return self.mixup_alpha > 0 or self.cutmix_alpha > 0

    def rng(self, step):
        """The generator of batch ``step``: a function of ``seed`` and ``step`` alone."""
        return np.random.default_rng([int(s) for s in self.seed] + [int(step)])

    def draw(self, rng, height, width):
        """The mix of one batch: ``MixInfo(kind, lam, box)`` drawn from ``rng``."""
        if not self.enabled or rng.random() >= self.prob:
            return MixInfo("none", 1.0)
        if self.mixup_alpha > 0 and self.cutmix_alpha > 0:
            cutmix = bool(rng.random() < self.switch_prob)
        else:
            cutmix = self.cutmix_alpha > 0
        alpha = self.cutmix_alpha if cutmix else self.mixup_alpha
        lam = float(rng.beta(alpha, alpha))
        if not cutmix:
            return MixInfo("mixup", lam)
        box, lam = cutmix_box(height, width, lam, rng)
        return MixInfo("cutmix", lam, box)

    def __call__(self, data, label, step):
        """Mix batch ``step``: return ``(images, soft targets)`` (see :meth:`mix`)."""
        images, targets, _ = self.mix(data, label, step)
        return images, targets

    def mix(self, data, label, step):
        """Mix ``data`` (``N x C x H x W``) with class indices ``label`` (``N``).

        Returns
        -------
        (NDArray, NDArray, MixInfo)
            The images (``data`` itself when the batch is not mixed), the
            ``N x classes`` float32 targets, and what was done.
        """
        info = self.draw(self.rng(step), data.shape[-2], data.shape[-1])
        if info.kind == "mixup":
            data = info.lam * data + (1.0 - info.lam) * mx.nd.flip(data, axis=0)
        elif info.kind == "cutmix" and info.lam < 1.0:  # (an empty box changes nothing)
            y0, y1, x0, x1 = info.box
            data = data.copy()
            data[:, :, y0:y1, x0:x1] = mx.nd.flip(data[:, :, y0:y1, x0:x1], axis=0)
        return data, soft_targets(label, self.classes, info.lam, self.label_smoothing), info


def cutmix_box(height, width, lam, rng):
    """timm's ``rand_bbox`` and ``correct_lam``: ``((y0, y1, x0, x1), corrected lam)``.

    The box's sides are ``int(side * sqrt(1 - lam))``, its centre a uniform random
    pixel; clipping it to the image can make it smaller, and the returned ``lam``
    is the share of the image outside the box.
    """
    ratio = np.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * ratio), int(width * ratio)
    cy, cx = int(rng.integers(0, height)), int(rng.integers(0, width))
    y0, y1 = int(np.clip(cy - cut_h // 2, 0, height)), int(np.clip(cy + cut_h // 2, 0, height))
    x0, x1 = int(np.clip(cx - cut_w // 2, 0, width)), int(np.clip(cx + cut_w // 2, 0, width))
    lam = 1.0 - (y1 - y0) * (x1 - x0) / float(height * width)
    return (y0, y1, x0, x1), lam


def soft_targets(label, classes, lam=1.0, smoothing=0.0):
    """``lam * onehot(label) + (1 - lam) * onehot(label reversed)``, label-smoothed.

    ``off = smoothing / classes`` and ``on = 1 - smoothing + off`` (timm's
    ``mixup_target``); every row sums to one.
    """
    off = smoothing / classes
    on = 1.0 - smoothing + off
    y = mx.nd.one_hot(label, classes, on_value=on, off_value=off)
    if lam == 1.0:
        return y
    return lam * y + (1.0 - lam) * mx.nd.flip(y, axis=0)


def from_config(config, classes, epoch, rank=0):
    """The :class:`BatchMix` of a :class:`~gluon_finetune.training.config.TrainConfig` for
    ``epoch`` on worker ``rank``, or None when the run does not mix."""
    if not (config.mixup > 0 or config.cutmix > 0):
        return None
    return BatchMix(classes, mixup_alpha=config.mixup, cutmix_alpha=config.cutmix,
                    prob=config.mix_prob, switch_prob=config.mix_switch_prob,
                    label_smoothing=config.label_smoothing, seed=(config.seed, epoch, rank))


def hard_labels(targets):
    """The class of each row's larger share: what train accuracy is measured against."""
    return targets.argmax(axis=1) if targets.ndim == 2 else targets
