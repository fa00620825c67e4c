"""Accuracy of a network over a loader: what the epoch loop reports after each epoch.

:func:`accuracy` runs the network in inference mode over batches split across
devices and counts on the device, reading one number back per pass. The scores
of a whole evaluation (per class, balanced, top-k) are :mod:`gluon_finetune.metrics`'.
"""
import mxnet as mx
import numpy as np

from ..devices import split_batch


def accuracy(net, loader, ctxs, counts=False, confusion=False, top_k=None):
    """Fraction of correctly classified samples of ``loader`` (inference mode).

    With ``counts``, ``(accuracy, [predictions per class])``: how often each
    class was predicted (the divergence check looks for a one-class network).
    With ``confusion``, ``(accuracy, confusion matrix)`` as a NumPy array
    (rows: true class), for balanced accuracy and macro F1. With ``top_k``,
    one more value last: the fraction whose class is among the ``top_k`` highest
    scores, or None when the network has ``top_k`` classes or fewer (it would be 1).
    """
    correct = mx.nd.zeros((1,), ctx=ctxs[0])
    in_top = mx.nd.zeros((1,), ctx=ctxs[0])
    per_class = cm = None
    n = classes = 0
    for data, label in loader:
        xs, ys = split_batch(data, label, ctxs)
        for x, y in zip(xs, ys):
            out = net(x)
            classes = out.shape[1]
            pred = out.argmax(axis=1)
            correct += (pred == y.astype("float32")).sum().as_in_context(ctxs[0])
            if top_k and classes > top_k:
                best = mx.nd.topk(out, axis=1, k=top_k, ret_typ="indices")
                in_top += (best == y.astype("float32").reshape((-1, 1))).sum().as_in_context(ctxs[0])
            if counts:
                hits = mx.nd.one_hot(pred, out.shape[1]).sum(axis=0).as_in_context(ctxs[0])
                per_class = hits if per_class is None else per_class + hits
            if confusion:
                pairs = mx.nd.dot(mx.nd.one_hot(y, out.shape[1]), mx.nd.one_hot(pred, out.shape[1]),
                                  transpose_a=True).as_in_context(ctxs[0])
                cm = pairs if cm is None else cm + pairs
        n += data.shape[0]
    acc = correct.asscalar() / max(n, 1)
    out = (acc,)
    if confusion:
        out += (np.zeros((0, 0), np.int64) if cm is None else cm.asnumpy().round().astype(np.int64),)
    elif counts:
        out += ([] if per_class is None else [int(c) for c in per_class.asnumpy()],)
    if top_k:
        out += (in_top.asscalar() / max(n, 1) if classes > top_k else None,)
    return out[0] if len(out) == 1 else out
