"""Weight EMA: an exponential moving average of a network's weights (timm's ModelEmaV2).

After every optimizer step, ``ema = decay * ema + (1 - decay) * w`` for every
parameter of the network, starting from the weights the training starts with.
BatchNorm's running mean and variance are parameters of a Gluon network too
(with ``grad_req='null'``) and are averaged the same way, as ModelEmaV2 does
with a model's whole ``state_dict``: the averaged network is then evaluated
with statistics that match its averaged weights. Frozen weights (``grad_req
'null'``, e.g. ``--freeze-features``) never change, so their average is
themselves: they are not copied or updated, only saved as they are.

The average lives on one device and is saved as an ordinary ``.params`` file
(the keys of ``net.save_parameters``), so ``net.load_parameters`` reads it.
"""
import contextlib

import mxnet as mx
from mxnet.gluon.parameter import DeferredInitializationError

from ..fsutil import atomic_path

__all__ = ["WeightEMA"]


class WeightEMA:
    """The moving average of ``net``'s weights.

    Parameters
    ----------
    net : gluon.Block
        Initialised (a network whose shapes are still deferred is run once on
        zeros of ``image_size`` to settle them).
    decay : float
        ``0 < decay < 1``; the average remembers about ``1 / (1 - decay)`` steps.
    ctx : mx.Context
        Where the average is kept and updated (the first training device).
    """

    def __init__(self, net, decay, ctx, image_size=224):
        self.decay = float(decay)
        self.ctx = ctx
        every = net._collect_params_with_prefix()
        self.params = [(k, p) for k, p in every.items() if _changes(k, p)]
        self.frozen = [(k, p) for k, p in every.items() if not _changes(k, p)]
        try:
            self.shadow = [p.data(ctx).copy() for _, p in self.params]
        except DeferredInitializationError:
            net(mx.nd.zeros((1, 3, image_size, image_size), ctx=ctx))
            self.shadow = [p.data(ctx).copy() for _, p in self.params]

    def update(self):
        """One step of the average, after an optimizer step."""
        d = self.decay
        for (_, p), e in zip(self.params, self.shadow):
            e[:] = d * e + (1.0 - d) * p.data(self.ctx)

    @contextlib.contextmanager
    def applied(self):
        """The network holds the averaged weights inside the ``with`` block, its own after."""
        raw = [p.data(self.ctx).copy() for _, p in self.params]
        for (_, p), e in zip(self.params, self.shadow):
            _write(p, e)
        try:
            yield
        finally:
            for (_, p), w in zip(self.params, raw):
                _write(p, w)

    def save(self, path):
        """Write the average as a ``.params`` file, atomically."""
        with atomic_path(path) as tmp:
            saved = {name: p.data(self.ctx) for name, p in self.frozen}
            saved.update((name, e) for (name, _), e in zip(self.params, self.shadow))
            mx.nd.save(tmp, saved)

    def load(self, path):
        """Restore an average saved by :meth:`save` (a resumed run continues it exactly)."""
        saved = mx.nd.load(path)
        for (name, _), e in zip(self.params, self.shadow):
            e[:] = saved[name].as_in_context(self.ctx)


def _write(param, value):
    """Copy ``value`` into every device's copy of ``param``, in place.

    Not ``Parameter.set_data``: with a trainer that updates on a kvstore it resets
    the kvstore (losing the optimizer state there) or, in a distributed job, raises.
    The swap is undone before the next step, so the kvstore's copy stays right.
    """
    for arr in param.list_data():
        arr[:] = value


def _changes(name, param):
    """Whether training changes ``param``: a trained weight, or BatchNorm's running statistics."""
    return param.grad_req != "null" or "running_" in name
