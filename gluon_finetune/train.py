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
from .distributed import Cluster
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
    rank: int = 0  # this process's worker rank in a distributed job

    @property
    def final(self):
        return self.history[-1] if self.history else None

    @property
    def best(self):
        return max(self.history, key=lambda h: h["test_acc"]) if self.history else None


def fit(config, log=print):
    """Train a network as ``config`` says (see :class:`TrainConfig`); return a :class:`RunResult`."""
    config = config.resolved()
    cluster = Cluster(config.kvstore)
    seed = cluster.job_seed(config.seed)
    if seed is None:
        # Always run with a known seed, so every run folder can be repeated.
        seed = random.SystemRandom().randrange(2 ** 31)
    config = dataclasses.replace(config, seed=seed, quiet=config.quiet or not cluster.is_root)
    seed_everything(config.seed)
    ctxs = devices.check_contexts(devices.parse_ctx(config.ctx))
    data = load_data(config, cluster)
    net, source = build_net(config, data.classes, ctxs)
    out = config.out or default_run_path(config.mode)
    config = dataclasses.replace(config, out=out)
    run = None
    if cluster.is_root:
        record = {"config": config.to_dict(), "classes": data.classes, "source": source,
                  "data": data.report.to_dict(), "workers": cluster.workers,
                  "made_by": provenance()}
        run = RunDir.create(out, record)
    else:
        log = _silent
    log("training %s (%s) on %s: %d training and %d test images, classes %s"
        % (config.model, describe_source(config, source), describe_devices(ctxs, cluster),
           len(data.train_set), len(data.test_set), ", ".join(data.classes)))
    return _train_epochs(config, run, net, data, ctxs, 0, [], log, cluster=cluster)


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
    cluster = Cluster(config.kvstore)
    if not cluster.is_root:
        config, log = dataclasses.replace(config, quiet=True), _silent
    ctxs = devices.check_contexts(devices.parse_ctx(config.ctx))
    data = load_data(config, cluster)
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
    return _train_epochs(config, run if cluster.is_root else None, net, data, ctxs, start, history,
                         log, states=states, cluster=cluster)


def load_data(config, cluster=None):
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
        last_batch="keep", quiet=config.quiet, shard=cluster.shard if cluster else None)


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
    trainer = gluon.Trainer(net.collect_params(), "sgd", params,
                            kvstore=kvstore if kvstore is not None else config.kvstore)
    # The optimizer reads lr_mult/wd_mult from its param_dict, which pickling drops
    # when a distributed kvstore ships the optimizer to its servers: the head's 10x
    # would silently become 1x there. The index-keyed tables survive the trip.
    opt = trainer._optimizer
    opt.lr_mult = {i: p.lr_mult for i, p in opt.param_dict.items()}
    opt.wd_mult = {i: p.wd_mult for i, p in opt.param_dict.items()}
    return trainer


def _train_epochs(config, run, net, data, ctxs, start_epoch, history, log, states=None, cluster=None):
    """Epochs ``start_epoch + 1 .. config.epochs``; ``run`` is None on workers other than rank 0."""
    cluster = cluster or Cluster("device")
    steps_per_epoch = len(data.train)
    trainer = make_trainer(net, config, steps_per_epoch, kvstore=cluster.kvstore)
    if states:
        trainer.load_states(states)
        # The saved optimizer carries its learning rate; a new one from resume() wins.
        if config.schedule == "constant" and not config.warmup_epochs:
            trainer.set_learning_rate(config.lr)
    elif start_epoch:
        # No optimizer state (a distributed run keeps it on the servers, which cannot
        # save it): restart the update count so the schedule continues where it was.
        # Momentum buffers start again from zero.
        done = start_epoch * steps_per_epoch
        trainer._optimizer.num_update = trainer._optimizer.begin_num_update = done
    if config.hybridize:
        # static_alloc pins the graph's parameter memory; with a distributed kvstore
        # writing pulled weights into those arrays, a worker's first forward after the
        # last step can wait forever (seen with MXNet 1.9.1 and BatchNorm nets). Plain
        # hybridize keeps the graph speed-up and the exchange safe.
        static = not cluster.distributed
        net.hybridize(static_alloc=static, static_shape=static)
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
                                              "epoch %d/%d" % (epoch, config.epochs), cluster.workers)
                if run is None:  # other workers: train on; rank 0 measures and writes
                    continue
                test_acc = accuracy(net, data.test, ctxs)
                rec = {"epoch": epoch, "loss": loss, "train_acc": train_acc, "test_acc": test_acc,
                       "time": time.time() - tic, "lr": trainer.learning_rate}
                history = history + [rec]
                tags = ["last"] + (["best"] if test_acc > best else [])
                best = max(best, test_acc)
                run.checkpoints.save(tags, net, trainer, {"epoch": epoch, "history": history},
                                     with_states=not cluster.distributed)
                run.checkpoints.drop("interrupted")
                run.write_history(history)
                _write_curves(run, history)
                line = EPOCH_LINE.format(**rec)
                run.log(line)
                log(line)
        except KeyboardInterrupt:
            if run is not None:
                run.checkpoints.save(["interrupted"], net, trainer,
                                     {"epoch": epoch, "history": history, "partial": True},
                                     with_states=not cluster.distributed)
                log("interrupted during epoch %d: its weights are in %s; the last completed epoch "
                    "(%d) is kept; continue with: gluon-finetune train --resume %s"
                    % (epoch, run.checkpoints.folder, epoch - 1, run.path))
            raise
    return RunResult(run.path if run else None, history, data.classes, config, net, cluster.rank)


def train_epoch(net, loader, trainer, loss_fn, ctxs, config, desc="", workers=1):
    """One pass over ``loader``; return (mean loss per sample, training accuracy).

    With ``workers`` > 1 (a distributed job) each step's gradient is averaged
    over all workers' images, and the loss and accuracy are this worker's.
    """
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
        trainer.step(data.shape[0] * workers)
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


def describe_devices(ctxs, cluster):
    text = devices.describe(ctxs)
    if cluster.distributed:
        text += " x %d workers (%s)" % (cluster.workers, cluster.name)
    return text


def _silent(_line):
    pass


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
