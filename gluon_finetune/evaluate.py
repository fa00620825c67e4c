"""Measuring a trained network: accuracy over a loader."""
import mxnet as mx
from mxnet import gluon


def split_batch(data, label, ctxs):
    """Split a batch over ``ctxs`` with ``split_and_load``, even when it does not divide evenly.

    A batch smaller than the number of devices uses only as many devices as it
    has samples (``split_and_load`` refuses to make empty slices).
    """
    ctxs = ctxs[:max(1, min(len(ctxs), data.shape[0]))]
    return (gluon.utils.split_and_load(data, ctxs, even_split=False),
            gluon.utils.split_and_load(label, ctxs, even_split=False))


def accuracy(net, loader, ctxs):
    """Fraction of correctly classified samples of ``loader`` (inference mode)."""
    correct = mx.nd.zeros((1,), ctx=ctxs[0])
    n = 0
    for data, label in loader:
        xs, ys = split_batch(data, label, ctxs)
        for x, y in zip(xs, ys):
            pred = net(x).argmax(axis=1)
            correct += (pred == y.astype("float32")).sum().as_in_context(ctxs[0])
        n += data.shape[0]
    return correct.asscalar() / max(n, 1)
