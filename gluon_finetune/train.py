"""The fit loop: the book's ``train`` with checkpoints, resume, and devices.

:func:`fit` reads top to bottom as the steps of a run:

1. seed every random generator;
2. check the data folder and build the loaders (the book's augmentations);
3. build the network: pretrained features + new Xavier head, or all from scratch;
4. make the SGD trainer (the head's ``lr_mult`` of 10 gives it the book's 10x rate);
5. create the run folder and write ``config.json``;
6. train epoch by epoch: one line per epoch in the book's format, a checkpoint,
   ``history.jsonl`` and ``curves.png`` after each.

:func:`resume` continues a run folder from its last completed epoch and, on the
CPU with a fixed seed and no loader workers, gives the same numbers as a run
that was never interrupted: every epoch reseeds from ``seed + epoch``, so the
shuffle order and the augmentations of epoch ``e`` do not depend on what ran before.
"""
import dataclasses
import math
import os
import random
import signal
import time

import mxnet as mx
from mxnet import autograd, gluon

from . import augspec, data as data_mod, devices, model
from .config import TrainConfig
from .errors import UserError
from .evaluate import accuracy, split_batch
from .progress import progress
from .rundir import RunDir, default_run_path, provenance
from .seeding import seed_everything

EPOCH_LINE = ("epoch {epoch}, loss {loss:.4f}, train acc {train_acc:.3f}, "
              "test acc {test_acc:.3f}, time {time:.1f} sec")

#: Loss and accuracy are read back from the device every this many batches
#: (for the progress bar and the non-finite check); in between, the loop never waits.
SYNC_EVERY = 8


class NonFiniteLoss(UserError):
    """The loss became NaN or infinite; the run stopped with its last good checkpoint kept."""

    exit_code = 3


@dataclasses.dataclass
class RunResult:
    """What :func:`fit` returns: where the run is and what it learned."""

    path: str
    history: list
    classes: list
    config: TrainConfig
    net: object = None

    @property
    def final(self):
        return self.history[-1] if self.history else None

    @property
    def best(self):
        return max(self.history, key=lambda h: h["test_acc"]) if self.history else None


def fit(config, log=print):
    """Train a network as ``config`` says (see :class:`TrainConfig`); return a :class:`RunResult`."""
    config = config.resolved()
    if config.seed is None:
        # Always run with a known seed, so every run folder can be repeated.
        config = dataclasses.replace(config, seed=random.SystemRandom().randrange(2 ** 31))
    seed_everything(config.seed)
    ctxs = devices.check_contexts(devices.parse_ctx(config.ctx))
    data = load_data(config)
    net, source = build_net(config, data.classes, ctxs)
    out = config.out or default_run_path(config.mode)
    config = dataclasses.replace(config, out=out)
    record = {"config": config.to_dict(), "classes": data.classes, "source": source,
              "data": data.report.to_dict(),
              "made_by": provenance()}
    run = RunDir.create(out, record)
    log("training %s (%s) on %s: %d training and %d test images, classes %s"
        % (config.model, describe_source(config, source), devices.describe(ctxs),
           len(data.train_set), len(data.test_set), ", ".join(data.classes)))
    return _train_epochs(config, run, net, data, ctxs, start_epoch=0, history=[], log=log)


def resume(path, epochs=None, lr=None, log=print):
    """Continue the run in folder ``path`` from its last completed epoch.

    Parameters
    ----------
    path : str
        A run folder written by :func:`fit`.
    epochs : int, optional
        A new total number of epochs (to train longer than first planned).
    lr : float, optional
        A new learning rate from here on (constant schedule only; the saved
        optimizer state otherwise keeps the rate the run had).
    """
    run = RunDir.open(path)
    record = run.record()
    config = TrainConfig.from_dict(record["config"])
    if epochs is not None:
        config = dataclasses.replace(config, epochs=int(epochs))
    if lr is not None:
        if config.schedule != "constant" or config.warmup_epochs:
            raise UserError("a new --lr on resume needs the constant schedule without warm-up; "
                            "this run uses %s" % config.schedule)
        config = dataclasses.replace(config, lr=float(lr))
    config = config.resolved()
    ctxs = devices.check_contexts(devices.parse_ctx(config.ctx))
    data = load_data(config)
    if data.classes != record["classes"]:
        raise UserError("the classes in %s are now %s, but the run was trained on %s; resume needs "
                        "the same data" % (config.data, data.classes, record["classes"]))
    last = run.checkpoints.load_meta("last")
    seed_everything(config.seed)
    net, _ = build_net(config, data.classes, ctxs)
    if last is None:
        log("no completed epoch in %s yet: starting it from the beginning" % path)
        start, history, states = 0, [], None
    else:
        net.load_parameters(last["params"], ctx=ctxs)
        start, history, states = last["epoch"], last["history"], last["states"]
        log("resuming %s after epoch %d of %d" % (path, start, config.epochs))
    if start >= config.epochs:
        log("nothing to do: the run already finished %d epochs (pass --epochs to train longer)" % start)
        return RunResult(run.path, history, data.classes, config, net)
    return _train_epochs(config, run, net, data, ctxs, start, history, log, states=states)


def load_data(config):
    """The checked data folder and its loaders, with the augmentations of ``config``."""
    if not config.data:
        raise UserError("no data folder given; pass --data DIR (a folder with train/<class>/ and "
                        "test/<class>/, or one <class>/ folder per class)")
    return data_mod.make_loaders(
        config.data, batch_size=config.batch_size, size=config.image_size,
        num_workers=config.num_workers or 0,
        train_augs=augspec.parse_spec(config.train_augs) if config.train_augs else None,
        test_augs=augspec.parse_spec(config.test_augs) if config.test_augs else None,
        seed=config.seed, split=config.split, strict=config.strict,
        # 'keep' like the book's loader; rollover would carry images from one
        # epoch into the next, which a resumed run could not repeat.
        last_batch="keep", quiet=config.quiet)


def build_net(config, classes, ctxs):
    """The network of ``config`` for ``classes``: fine-tune (pretrained features) or scratch."""
    if config.mode == "scratch":
        return model.scratch_net(len(classes), config.model, ctx=ctxs), {"kind": "scratch"}
    source, info = model.load_source(config.model, weights=config.weights, root=config.model_root,
                                     allow_download=config.allow_download, ctx=mx.cpu())
    net = model.finetune_net(source, len(classes), config.model, head_lr_mult=config.head_lr_mult,
                             freeze=config.freeze_features, ctx=ctxs)
    return net, info


def describe_source(config, source):
    if source["kind"] == "scratch":
        return "from scratch, Xavier initialisation"
    if source["kind"] == "imagenet":
        return "fine-tuning ImageNet weights %s" % os.path.basename(source["path"])
    return "fine-tuning source weights %s" % source["path"]


def make_trainer(net, config, steps_per_epoch, kvstore=None):
    """SGD with the book's settings and the optional schedule and warm-up of ``config``."""
    total = config.epochs * steps_per_epoch
    warmup = int(round(config.warmup_epochs * steps_per_epoch))
    scheduler = None
    if config.schedule == "cosine":
        scheduler = mx.lr_scheduler.CosineScheduler(max(total, warmup + 1), base_lr=config.lr,
                                                    final_lr=0.0, warmup_steps=warmup)
    elif config.schedule == "step":
        steps = sorted(max(e * steps_per_epoch, warmup + 1) for e in config.step_epochs)
        scheduler = mx.lr_scheduler.MultiFactorScheduler(steps, factor=config.step_factor,
                                                         base_lr=config.lr, warmup_steps=warmup)
    elif warmup:
        scheduler = mx.lr_scheduler.FactorScheduler(step=total + 1, factor=1.0, base_lr=config.lr,
                                                    warmup_steps=warmup)
    params = {"learning_rate": config.lr, "wd": config.wd, "momentum": config.momentum}
    if scheduler is not None:
        params["lr_scheduler"] = scheduler
    return gluon.Trainer(net.collect_params(), "sgd", params,
                         kvstore=kvstore if kvstore is not None else config.kvstore)


def _train_epochs(config, run, net, data, ctxs, start_epoch, history, log, states=None):
    steps_per_epoch = len(data.train)
    trainer = make_trainer(net, config, steps_per_epoch)
    if states:
        trainer.load_states(states)
        # The saved optimizer carries its learning rate; a new one from resume() wins.
        if config.schedule == "constant" and not config.warmup_epochs:
            trainer.set_learning_rate(config.lr)
    if config.hybridize:
        net.hybridize(static_alloc=True, static_shape=True)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=config.label_smoothing == 0)
    best = max((h["test_acc"] for h in history), default=-1.0)
    epoch = start_epoch
    with _sigterm_as_interrupt():
        try:
            for epoch in range(start_epoch + 1, config.epochs + 1):
                # Seeding per epoch makes epoch e the same whether or not the run was resumed.
                seed_everything(config.seed + epoch)
                tic = time.time()
                loss, train_acc = train_epoch(net, data.train, trainer, loss_fn, ctxs, config,
                                              "epoch %d/%d" % (epoch, config.epochs))
                test_acc = accuracy(net, data.test, ctxs)
                rec = {"epoch": epoch, "loss": loss, "train_acc": train_acc, "test_acc": test_acc,
                       "time": time.time() - tic, "lr": trainer.learning_rate}
                history = history + [rec]
                tags = ["last"] + (["best"] if test_acc > best else [])
                best = max(best, test_acc)
                run.checkpoints.save(tags, net, trainer, {"epoch": epoch, "history": history})
                run.checkpoints.drop("interrupted")
                run.write_history(history)
                _write_curves(run, history)
                line = EPOCH_LINE.format(**rec)
                run.log(line)
                log(line)
        except KeyboardInterrupt:
            run.checkpoints.save(["interrupted"], net, trainer,
                                 {"epoch": epoch, "history": history, "partial": True})
            log("interrupted during epoch %d: its weights are in %s; the last completed epoch (%d) "
                "is kept; continue with: gluon-finetune train --resume %s"
                % (epoch, run.checkpoints.folder, epoch - 1, run.path))
            raise
    return RunResult(run.path, history, data.classes, config, net)


def train_epoch(net, loader, trainer, loss_fn, ctxs, config, desc=""):
    """One pass over ``loader``; return (mean loss per sample, training accuracy)."""
    classes = None
    loss_sum = mx.nd.zeros((1,), ctx=ctxs[0])
    correct = mx.nd.zeros((1,), ctx=ctxs[0])
    n = 0
    bar = progress(total=len(loader), desc=desc, unit="batch", quiet=config.quiet)
    for i, (data, label) in enumerate(loader):
        xs, ys = split_batch(data, label, ctxs)
        with autograd.record():
            outs = [net(x) for x in xs]
            if config.label_smoothing:
                classes = classes or outs[0].shape[1]
                targets = [_smooth(y, classes, config.label_smoothing) for y in ys]
            else:
                targets = ys
            losses = [loss_fn(o, t) for o, t in zip(outs, targets)]
        autograd.backward(losses)
        trainer.step(data.shape[0])
        for o, y, l in zip(outs, ys, losses):
            loss_sum += l.sum().as_in_context(ctxs[0])
            correct += (o.argmax(axis=1) == y.astype("float32")).sum().as_in_context(ctxs[0])
        n += data.shape[0]
        bar.update(1)
        if (i + 1) % SYNC_EVERY == 0:
            _check_finite(loss_sum.asscalar(), n)
            bar.set_postfix(loss="%.4f" % (loss_sum.asscalar() / n))
    bar.close()
    total = loss_sum.asscalar()
    _check_finite(total, n)
    return total / max(n, 1), correct.asscalar() / max(n, 1)


def _smooth(label, classes, eps):
    return mx.nd.one_hot(label, classes, on_value=1.0 - eps + eps / classes, off_value=eps / classes)


def _check_finite(loss_sum, n):
    if not math.isfinite(loss_sum):
        raise NonFiniteLoss("the training loss became %s after %d images; the run stopped and its last "
                            "good checkpoint is kept. Lower the learning rate (--lr) or add warm-up "
                            "(--warmup-epochs 1)." % ("NaN" if loss_sum != loss_sum else "infinite", n))


def _write_curves(run, history):
    from .plots import training_curves

    training_curves({"": history}, run.curves_path)


class _sigterm_as_interrupt:
    """Treat SIGTERM like Ctrl-C inside the loop, so `kill` also saves the weights."""

    def __enter__(self):
        self._old = None
        try:
            self._old = signal.signal(signal.SIGTERM, self._raise)
        except ValueError:  # not the main thread: leave signals alone
            pass
        return self

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)
        return False
