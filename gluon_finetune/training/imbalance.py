"""Imbalanced classes: loss weights per class and a sampler that draws classes equally.

On a folder of 9 pictures of one class for every 1 of the other, a network that
always answers the big class is right 9 times in 10; an unweighted loss and a
uniform sampler push training that way, and the book's recipe has neither cure.
Two cures, as MXNet users ask for them (apache/mxnet#10598, #6157, #7918):

- :func:`class_weights` (``--class-weights auto`` or a JSON file) and
  :class:`WeightedLoss`: each image's loss times its class's weight. ``auto`` is
  inverse frequency, ``N / (C * n_c)`` (scikit-learn's ``"balanced"``): the weights
  average 1 over the training images, so the loss keeps its scale;
- :class:`~gluon_finetune.data.sampling.BalancedSampler` (``--sampler balanced``),
  which the loaders use and so lives in :mod:`gluon_finetune.data`: each epoch draws every class
  equally often, as many images as the training set has, from NumPy's global
  generator, which the fit loop reseeds every epoch: a resumed run draws the same.

Choosing the best checkpoint on balanced accuracy or macro F1
(``--select-metric``) is :mod:`gluon_finetune.runs.selection`'s.
"""
import json
import math
import os

from ..data.folders import IMBALANCE_WARN_RATIO, imbalance_ratio  # noqa: F401 (named here too)
from ..data.sampling import SAMPLERS, BalancedSampler  # noqa: F401 (named here too)
from ..errors import UserError

__all__ = ["class_weights", "WeightedLoss", "BalancedSampler", "SAMPLERS", "imbalance_ratio",
           "IMBALANCE_WARN_RATIO"]

def class_weights(spec, classes, counts):
    """Loss weights per class, in the order of ``classes``, or None for unweighted.

    Parameters
    ----------
    spec : None, "auto" or str
        ``auto``: inverse frequency ``N / (C * n_c)``; otherwise a JSON file
        holding ``{"class": weight, ...}`` for every class (or a list, in class order).
    classes : list of str
    counts : dict
        Training images per class name.
    """
    if spec is None:
        return None
    if spec == "auto":
        total = sum(counts[c] for c in classes)
        return [total / (len(classes) * counts[c]) for c in classes]
    if not os.path.isfile(spec):
        raise UserError("--class-weights %s: no such file; give auto (inverse class frequency) "
                        "or a JSON file of weights such as {\"%s\": 1.0, ...}" % (spec, classes[0]))
    try:
        with open(spec, encoding="utf-8") as f:
            given = json.load(f)
    except (OSError, ValueError) as err:
        raise UserError("--class-weights %s is not readable JSON (%s); write {\"class\": weight, "
                        "...}" % (spec, err)) from None
    if isinstance(given, list):
        if len(given) != len(classes):
            raise UserError("--class-weights %s lists %d weights for %d classes (%s)"
                            % (spec, len(given), len(classes), ", ".join(classes)))
        weights = given
    elif isinstance(given, dict):
        missing = [c for c in classes if c not in given]
        unknown = sorted(set(given) - set(classes))
        if missing or unknown:
            found = (["missing " + ", ".join(missing)] if missing else []) + \
                (["unknown " + ", ".join(unknown)] if unknown else [])
            raise UserError("--class-weights %s must name every class exactly (%s); the classes "
                            "are %s" % (spec, "; ".join(found), ", ".join(classes)))
        weights = [given[c] for c in classes]
    else:
        raise UserError("--class-weights %s must hold an object {\"class\": weight} or a list"
                        % spec)
    try:
        weights = [float(w) for w in weights]
    except (TypeError, ValueError):
        raise UserError("--class-weights %s: every weight must be a number" % spec) from None
    if not all(w > 0 and math.isfinite(w) for w in weights):
        raise UserError("--class-weights %s: every weight must be a positive number" % spec)
    return weights


class WeightedLoss:
    """``loss_fn`` with each image's loss times its class's weight (MXNet's ``sample_weight``).

    Sparse labels take their class's weight; soft targets (label smoothing,
    MixUp, CutMix) take the target-weighted mean of the weights.
    """

    def __init__(self, loss_fn, weights, ctx=None):
        import mxnet as mx

        self.loss_fn = loss_fn
        self.weights = mx.nd.array(weights, ctx=ctx)

    def __call__(self, output, target):
        w = self.weights.as_in_context(output.context)
        if target.ndim == 2:
            sample = (target.astype("float32", copy=False) * w).sum(axis=1, keepdims=True)
        else:
            sample = w.take(target.astype("int32", copy=False)).reshape((-1, 1))
        return self.loss_fn(output, target, sample)
