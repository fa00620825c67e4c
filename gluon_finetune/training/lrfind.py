"""The learning-rate range test (Smith 2017; fastai's ``lr_find``).

Train for a bounded number of mini-batches while the rate grows exponentially
from ``start`` to ``end``; record the loss of every step, smooth it (an
exponential moving average, ``beta`` 0.98, bias-corrected as in Adam), and stop
early once the smoothed loss exceeds ``diverge`` (4) times its minimum. The
suggested rate is where the smoothed loss falls fastest against ``log(lr)``
(the *steepest descent*), looked for between the first tenth of the sweep and
the minimum, so it lies below the point where training diverges; when the
sweep is too short for a slope, the rate at the minimum divided by 10.

:func:`lr_find` restores every parameter of the block it swept (weights and
BatchNorm statistics) before it returns, so a network is the same afterwards.
"""
import dataclasses
import math

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from .. import devices
from ..signals import raise_pending

#: Default sweep.
START, END, STEPS = 1e-7, 10.0, 100


@dataclasses.dataclass
class LRFindResult:
    """What a sweep measured and what it suggests.

    Attributes
    ----------
    lrs, losses, smoothed : list of float
        The base rate (``--lr``'s meaning: before ``lr_mult``) of each step, its
        mini-batch loss, and the smoothed loss.
    suggestion : float
        The suggested ``--lr``.
    method : str
        How it was chosen: ``"steepest descent of the smoothed loss"`` or ``"minimum / 10"``.
    min_lr : float
        The rate at the smallest smoothed loss (after the first tenth of the sweep).
    stopped : str or None
        Why the sweep ended before ``end`` (divergence), or None.
    """

    lrs: list
    losses: list
    smoothed: list
    suggestion: float
    method: str
    min_lr: float
    stopped: object = None

    def to_dict(self):
        return dataclasses.asdict(self)


def sweep_rates(start, end, steps):
    """``steps`` rates from ``start`` to ``end``, evenly spaced on a log scale."""
    if steps == 1:
        return [start]
    return [start * (end / start) ** (i / (steps - 1)) for i in range(steps)]


def smooth(losses, beta=0.98):
    """Exponential moving average of ``losses`` with Adam's bias correction."""
    avg, out = 0.0, []
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def suggest(lrs, smoothed):
    """``(rate, method)``: steepest descent before the minimum, else the minimum's rate / 10.

    The first tenth of the sweep is left out of both (the smoothing's start-up
    noise); the rate is never below the sweep's start.
    """
    first = len(smoothed) // 10
    low = first + int(np.argmin(smoothed[first:]))
    if low - first >= 4:
        slope = np.gradient(np.asarray(smoothed[first:low + 1]), np.log(lrs[first:low + 1]))
        return float(lrs[first + int(np.argmin(slope))]), "steepest descent of the smoothed loss"
    return max(float(lrs[low]) / 10, float(lrs[0])), "minimum / 10"


def lr_find(block, batches, loss_fn, ctxs, start=START, end=END, steps=STEPS, momentum=0.0, wd=0.0,
            beta=0.98, diverge=4.0, label_smoothing=0.0, progress=None):
    """Sweep the rate over ``steps`` mini-batches of ``batches`` training ``block``; restore it.

    Parameters
    ----------
    block : gluon.Block
        What trains: a whole network, or a head on cached features. Its
        parameters' ``lr_mult`` apply as in training.
    batches : iterable of (data, label)
        Read again from the start when exhausted before ``steps``.
    momentum, wd : float
        SGD's, as the run will use them.
    progress : callable, optional
        Called with each step's (lr, loss).

    Returns
    -------
    LRFindResult
    """
    if not (0 < start < end):
        raise ValueError("the sweep needs 0 < start < end")
    params = [p for p in block.collect_params().values()]
    saved = [[d.copy() for d in p.list_data()] for p in params]
    trainer = gluon.Trainer(block.collect_params(), "sgd",
                            {"learning_rate": start, "momentum": momentum, "wd": wd}, kvstore=None)
    lrs, losses, smoothed = [], [], []
    stopped, best = None, math.inf
    try:
        for lr, (data, label) in zip(sweep_rates(start, end, steps), _repeat(batches)):
            raise_pending()
            trainer.set_learning_rate(lr)
            xs, ys = devices.split_batch(data, label, ctxs)
            with autograd.record():
                outs = [block(x) for x in xs]
                if label_smoothing:
                    classes = outs[0].shape[1]
                    ys = [mx.nd.one_hot(y, classes, on_value=1 - label_smoothing + label_smoothing / classes,
                                        off_value=label_smoothing / classes) for y in ys]
                parts = [loss_fn(o, y) for o, y in zip(outs, ys)]
            autograd.backward(parts)
            trainer.step(data.shape[0])
            loss = sum(float(p.sum().asscalar()) for p in parts) / data.shape[0]
            lrs.append(lr)
            losses.append(loss)
            smoothed = smooth(losses, beta)
            if progress:
                progress(lr, loss)
            if not math.isfinite(loss) or not math.isfinite(smoothed[-1]):
                stopped = "the loss became %s at lr %.3g" % (loss, lr)
                break
            best = min(best, smoothed[-1])
            if len(losses) > 1 and smoothed[-1] > diverge * best:
                stopped = ("the smoothed loss passed %g x its minimum at lr %.3g" % (diverge, lr))
                break
    finally:
        for param, arrays in zip(params, saved):
            for dst, src in zip(param.list_data(), arrays):
                src.copyto(dst)
        mx.nd.waitall()
    finite = [(lr, s) for lr, s in zip(lrs, smoothed) if math.isfinite(s)]
    if not finite:
        raise ValueError("the loss was never finite; lower the start of the sweep")
    f_lrs, f_smoothed = [lr for lr, _ in finite], [s for _, s in finite]
    rate, method = suggest(f_lrs, f_smoothed)
    first = len(f_smoothed) // 10
    min_lr = f_lrs[first + int(np.argmin(f_smoothed[first:]))]
    return LRFindResult(lrs, losses, smoothed, rate, method, min_lr, stopped)


def _repeat(batches):
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            return


def plot(result, out, title=None):
    """The smoothed (and raw) loss against the rate, log x, the suggestion marked; a PNG at ``out``."""
    from ..plots import new_figure, save

    fig = new_figure(6.4, 4.2)
    ax = fig.subplots()
    ax.plot(result.lrs, result.losses, color="tab:blue", alpha=0.25, label="mini-batch loss")
    ax.plot(result.lrs, result.smoothed, color="tab:blue", label="smoothed loss")
    ax.axvline(result.suggestion, color="tab:red", linestyle="--",
               label="suggested %.2g (%s)" % (result.suggestion, result.method))
    ax.axvline(result.min_lr, color="grey", linestyle=":", label="minimum at %.2g" % result.min_lr)
    ax.set_xscale("log")
    finite = [s for s in result.smoothed if math.isfinite(s)]
    if finite:  # the divergence would squash the interesting part
        lo, hi = min(finite), finite[0]
        ax.set_ylim(lo - 0.1 * (hi - lo + 1e-12), max(hi, lo) + 0.6 * (hi - lo + 1e-12))
    ax.set_xlabel("learning rate (--lr; the head's is x --head-lr-mult)")
    ax.set_ylabel("training loss")
    ax.set_title(title or "learning-rate range test")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out)
    return out


def find_for_config(config, start=START, end=END, steps=None, log=print):
    """The range test for the training run ``config`` describes; nothing is written.

    The network is built as ``train`` builds it (source weights, head, ``lr_mult``
    of the head and of the stages, frozen features), on the same loaders and
    augmentations; with ``freeze_features`` and ``cache_features`` the head
    sweeps on features computed once. ``steps`` defaults to one epoch or 100
    mini-batches, whichever is smaller. The momentum is the run's (one-cycle's
    highest, with ``--schedule onecycle``).

    Returns
    -------
    LRFindResult
    """
    from ..networks import model
    from ..seeding import seed_everything
    from . import stages
    from .features import cache_features
    from .train import build_net, load_data

    config = config.resolved()
    if config.kvstore.startswith("dist"):
        from ..errors import UserError

        raise UserError("lr-find runs in one process; drop --kvstore %s (its suggestion holds for the "
                        "effective batch --batch-size x workers)" % config.kvstore)
    seed = 0 if config.seed is None else config.seed
    seed_everything(seed)
    config = dataclasses.replace(config, seed=seed)
    ctxs = devices.check_contexts(devices.parse_ctx(config.ctx))
    data = load_data(config)
    net, _ = build_net(config, data.classes, ctxs)
    stages.set_stage_lr_mult(net, config.lr_stage_decay)
    if config.hybridize:
        net.hybridize(static_alloc=True, static_shape=True)
    block, batches = net, data.train
    if config.cache_features and config.freeze_features:
        cache = cache_features(net, data, config, ctxs, log)
        block, batches = getattr(net, model.head_name(net)), cache.train
    elif config.cache_features:
        log("note: --cache-features needs --freeze-features here; sweeping the whole network")
    steps = steps or min(STEPS, len(batches))
    momentum = config.momentum
    if config.schedule == "onecycle" and config.onecycle_momentum:
        momentum = config.onecycle_momentum[0]
    what = "the head alone" if config.freeze_features else "every layer"
    log("sweeping the learning rate from %g to %g over %d mini-batches of %d (%s, momentum %g, "
        "wd %g, head at %g x the rate%s)"
        % (start, end, steps, config.batch_size, what, momentum, config.wd, config.head_lr_mult,
           ", stages decayed by %g" % config.lr_stage_decay if config.lr_stage_decay != 1 else ""))
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=config.label_smoothing == 0)
    return lr_find(block, batches, loss_fn, ctxs, start=start, end=end, steps=steps, momentum=momentum,
                   wd=config.wd, label_smoothing=config.label_smoothing)
