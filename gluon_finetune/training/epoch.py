"""One training pass over a loader: forward, backward and step, batch by batch.

:func:`train_epoch` is the book's inner loop with what a real run needs inside
one pass: several devices, distributed workers, AMP loss scaling, batch mixes,
label smoothing, a progress bar and the non-finite loss stop. What happens
between steps and between passes (EMA, evaluation, checkpoints, unfreezing) is
a hook of :mod:`gluon_finetune.training.loop`, called through ``after_step`` and
``on_loss``.
"""
import math

import mxnet as mx
from mxnet import autograd

from .. import devices
from ..augment import mix as batchmix
from ..errors import UserError
from ..progress import progress
from ..signals import raise_pending

__all__ = ["train_epoch", "logged_lr", "NonFiniteLoss", "SYNC_EVERY"]

#: Loss and accuracy are read back from the device every this many batches
#: (for the progress bar and the non-finite check); in between, the loop never waits.
SYNC_EVERY = 8


class NonFiniteLoss(UserError):
    """The loss became NaN or infinite; the run stopped with its last good checkpoint kept."""

    exit_code = 3


def train_epoch(net, loader, trainer, loss_fn, ctxs, config, desc="", workers=1, after_step=None,
                mix=None, on_loss=None, lines=None):
    """One pass over ``loader``; return (mean loss per sample, training accuracy).

    With ``mix`` (a :class:`gluon_finetune.augment.mix.BatchMix`) every batch is
    MixUp/CutMix-mixed with soft, label-smoothed targets (``loss_fn`` then takes
    dense labels), and accuracy counts a prediction right when it is the class
    with the larger share of the image's mixed label.

    With ``workers`` > 1 (a distributed job) each step's gradient is averaged
    over all workers' images, and the loss and accuracy are this worker's.
    With a trainer prepared by ``amp.init_trainer`` the loss is scaled for the
    backward pass (AMP's dynamic loss scaling). ``after_step`` is called after
    every optimizer step (the loop's ``on_batch_end`` hooks). ``on_loss(mean_loss,
    images)`` is called with the mean loss of every stretch of images between
    looks at the loss (the loop's ``on_loss`` hooks: the divergence stop).
    ``lines`` (a :class:`gluon_finetune.progress.ProgressLines`) writes a progress
    line whenever one is due, for logs where no bar shows.

    The loop never waits for the device except every :data:`SYNC_EVERY`
    batches (and at the end): MXNet runs the step asynchronously while the
    next batch is loaded.
    """
    scaled = getattr(trainer, "_amp_loss_scaler", None) is not None
    if scaled:
        from mxnet.contrib import amp
    classes = None
    loss_sum = mx.nd.zeros((1,), ctx=ctxs[0])
    correct = mx.nd.zeros((1,), ctx=ctxs[0])
    n = 0
    mark = (0.0, 0)  # loss sum and images at the last look (the divergence check's stretches)
    bar = progress(total=len(loader), desc=desc, unit="batch", quiet=config.quiet)
    for i, (data, label) in enumerate(loader):
        raise_pending()
        if mix is not None:
            data, label = mix(data, label, i)  # soft targets, label smoothing included
        xs, ys = devices.split_batch(data, label, ctxs)
        with autograd.record():
            outs = [net(x) for x in xs]
            if config.label_smoothing and mix is None:
                classes = classes or outs[0].shape[1]
                targets = [_smooth(y, classes, config.label_smoothing) for y in ys]
            else:
                targets = ys
            losses = [loss_fn(o, t) for o, t in zip(outs, targets)]
            if scaled:
                with amp.scale_loss(losses, trainer) as scaled_losses:
                    autograd.backward(scaled_losses)
        if not scaled:
            autograd.backward(losses)
        if len(xs) < len(ctxs):
            # A batch smaller than the number of devices leaves some of them idle; their
            # gradient of the previous step is still there, and the trainer would sum it in.
            _zero_idle_grads(net, len(xs))
        trainer.step(data.shape[0] * workers)
        if after_step is not None:
            after_step()
        for o, y, l in zip(outs, ys, losses):
            # float32 casts (no-ops without AMP) keep float16 outputs summing exactly
            loss_sum += l.sum().astype("float32", copy=False).as_in_context(ctxs[0])
            pred = o.argmax(axis=1).astype("float32", copy=False)
            y = batchmix.hard_labels(y)
            correct += (pred == y.astype("float32", copy=False)).sum().as_in_context(ctxs[0])
        n += data.shape[0]
        bar.update(1)
        if (i + 1) % SYNC_EVERY == 0:
            total = loss_sum.asscalar()
            _check_finite(total, n)
            mark = _stretch(on_loss, total, n, mark)
            bar.set_postfix(loss="%.4f" % (total / n))
        if lines is not None and lines.due(i + 1):
            lines.line(i + 1, n, loss_sum.asscalar() / n)
    bar.close()
    total = loss_sum.asscalar()
    _check_finite(total, n)
    _stretch(on_loss, total, n, mark)
    return total / max(n, 1), correct.asscalar() / max(n, 1)


def _stretch(on_loss, total, n, mark):
    """Call ``on_loss`` with the mean loss of the images since ``mark`` (loss sum, count); new mark."""
    if on_loss is not None and n > mark[1]:
        on_loss((total - mark[0]) / (n - mark[1]), n - mark[1])
    return total, n


def _zero_idle_grads(net, used):
    """Zero the gradients of every device after the first ``used``.

    See :func:`gluon_finetune.devices.split_batch`.
    """
    for param in net.collect_params().values():
        if param.grad_req != "null":
            for grad in param.list_grad()[used:]:
                grad[:] = 0


def _smooth(label, classes, eps):
    return mx.nd.one_hot(label, classes, on_value=1.0 - eps + eps / classes, off_value=eps / classes)


def _check_finite(loss_sum, n):
    if not math.isfinite(loss_sum):
        raise NonFiniteLoss("the training loss became %s after %d images; the run stopped and its last "
                            "good checkpoint is kept. Lower the learning rate (--lr) or add warm-up "
                            "(--warmup-epochs 1)." % ("NaN" if loss_sum != loss_sum else "infinite", n))


def logged_lr(trainer, updates, cluster):
    """The learning rate of the last step, after ``updates`` steps.

    In a distributed job the servers run the optimizer (``update_on_kvstore``):
    this worker's copy never counts an update, so its ``learning_rate`` would stay
    at the start of the schedule. Its schedule, asked at the step count, is the
    servers' rate (dist_sync: one update per step).
    """
    opt = trainer._optimizer
    if cluster.distributed and opt.lr_scheduler is not None:
        return opt.lr_scheduler(updates)
    return trainer.learning_rate
