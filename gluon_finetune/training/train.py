"""The fit loop: the book's ``train`` with checkpoints, resume, and devices.

:func:`fit` reads top to bottom as the steps of a run:

1. seed every random generator;
2. check the data folder and build the loaders (the book's augmentations);
3. build the network: pretrained features + new Xavier head, or all from scratch;
4. make the SGD trainer (the head's ``lr_mult`` of 10 gives it the book's 10x rate);
5. create the run folder and write ``config.json``;
6. train epoch by epoch (:func:`gluon_finetune.training.loop.run`): one line per epoch in the
   book's format, a checkpoint, ``history.jsonl`` and ``curves.png`` after each.

Step 6 is the epoch loop with hooks: every feature beyond forward, backward and
step (EMA, head-first epochs, cached features, batch mixes, evaluation, the best
checkpoint, early and divergence stops) is a callback of
:mod:`gluon_finetune.training.callbacks`, and ``fit(config, callbacks=[...])`` adds yours.
With ``amp`` the network computes in float16 on GPUs (with dynamic loss scaling) or in
bfloat16 on CPUs that have it, where MXNet's AMP lists say it is safe
(:func:`gluon_finetune.devices.init_amp`).

:func:`resume` continues a run folder from its last completed epoch and, on the
CPU with a fixed seed, gives the same numbers as a run that was never
interrupted: every epoch reseeds from ``seed + epoch``, and every image carries
its own augmentation seed drawn from it (:class:`gluon_finetune.data.SeededBatches`),
so the shuffle order and the augmentations of epoch ``e`` depend neither on what
ran before nor on the number of loader workers.
"""
import dataclasses
import os
import random

import mxnet as mx
from mxnet import gluon

from .. import capability, devices, threads
from .. import data as data_mod
from ..augment import spec as augspec
from ..data.folders import imbalance_note
from ..distributed.kvstore import Cluster
from ..errors import UserError
from ..networks import model, symbol_source
from ..runs import selection
from ..runs.rundir import RunDir, default_run_path, provenance
from ..seeding import seed_everything
from . import callbacks as callbacks_mod
from . import imbalance, recipes, schedules, stages
from . import loop as loop_mod
from .callbacks import EPOCH_LINE, epoch_line  # noqa: F401 (this module's names before the hooks)
from .config import TrainConfig
from .epoch import SYNC_EVERY, NonFiniteLoss, train_epoch  # noqa: F401 (as above)
from .features import feature_block
from .loop import Callback, Loop  # noqa: F401 (fit's callbacks subclass Callback)


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
    def best_key(self):
        """The history field that chose :attr:`best` (``val_acc``, ``ema_val_acc``, ``test_acc``, ...)."""
        return selection.key_of(self.history, ema=bool(self.config.ema),
                                metric=self.config.select_metric)

    @property
    def best(self):
        """The best epoch's record: by validation accuracy, or by test accuracy without validation images."""
        if not self.history:
            return None
        key = self.best_key
        return selection.Selection(key, history=self.history).best

    @property
    def chosen_on(self):
        """``"validation"`` or ``"test"``: the images that chose :attr:`best`."""
        return selection.chosen_on(self.best_key)


def fit(config, log=print, callbacks=()):
    """Train a network as ``config`` says (see :class:`TrainConfig`); return a :class:`RunResult`.

    Parameters
    ----------
    config : TrainConfig
    log : callable
        Gets each line a run prints (``print``; a no-op for a quiet notebook).
    callbacks : list of :class:`gluon_finetune.training.loop.Callback`
        Your own hooks, called after the built-in ones at each point of the loop
        (see :mod:`gluon_finetune.training.loop`).
    """
    config = config.resolved()
    cluster = Cluster(config.kvstore)
    seed = cluster.job_seed(config.seed)
    if seed is None:
        # Always run with a known seed, so every run folder can be repeated.
        seed = random.SystemRandom().randrange(2 ** 31)
    config = dataclasses.replace(config, seed=seed, quiet=config.quiet or not cluster.is_root)
    ctxs, data, net, source, lr_stages, weights = _prepare(config, cluster)
    if config.cache_features:
        feature_block(net, config.image_size)  # refuse an unsupported network before the run exists
    out = config.out or default_run_path(config.mode)
    config = dataclasses.replace(config, out=out)
    run = None
    omp = threads.describe()
    if cluster.is_root:
        record = {"config": config.to_dict(), "classes": data.classes, "source": source,
                  "data": data.report.to_dict(), "workers": cluster.workers, "threads": omp,
                  "made_by": provenance()}
        if lr_stages:
            record["lr_stages"] = lr_stages  # each stage's lr_mult (the head: --head-lr-mult)
        if weights:
            record["class_weights"] = dict(zip(data.classes, weights))
        run = RunDir.create(out, record)
        if symbol_source.is_symbol_model(config.model):
            symbol_source.keep_copy(config.model, run.path)  # the run rebuilds its net from it
    else:
        log = _silent
    log("training %s (%s) on %s: %d training%s and %d test images, classes %s"
        % (config.model, describe_source(config, source), describe_devices(ctxs, cluster, config.amp, omp),
           len(data.train_set), _val_text(data), len(data.test_set), ", ".join(data.classes)))
    if data.val is None:
        log("no validation images (no val/ folder, no --val-split): the best checkpoint is chosen "
            "on the test set, an optimistic estimate")
    if config.recipe != "book":
        log("recipe %s: %s" % (config.recipe, recipes.describe(config.recipe, config)))
    note = imbalance_note(data.report.counts["train"])
    if note and not (weights or config.sampler != "random" or config.select_metric != "acc"):
        log("note: " + note)
    if weights:
        log("--class-weights %s: %s" % (config.class_weights, ", ".join(
            "%s %.3g" % (c, w) for c, w in zip(data.classes, weights))))
    if lr_stages.get("grouped"):
        log("--lr-stage-decay %g: %s (%s)" % (config.lr_stage_decay, lr_stages["grouped"], ", ".join(
            "%s %.3g" % (k, v) for k, v in lr_stages.items() if k != "grouped")))
    if not config.amp and {c.device_type for c in ctxs} == {"cpu"} and capability.has_bf16():
        log("tip: this CPU computes bfloat16 natively: --amp trains faster on large images, "
            "with float32 weights (README: Fine-tuning, mixed precision)")
    return _train_epochs(config, run, net, data, ctxs, 0, [], log, cluster=cluster,
                         callbacks=callbacks, class_weights=weights)


def resume(path, epochs=None, lr=None, log=print, callbacks=()):
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
    log, callbacks
        As in :func:`fit`.
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
    trained_by = record.get("workers", 1)
    if cluster.workers != trained_by:
        # The effective batch, its learning rate and the schedule's step count all follow
        # the number of workers: another count would not continue the same run.
        raise UserError("%s was trained by %d worker(s), and this job has %d; resume it with the "
                        "same number (gluon-finetune launch -n %d ... -- train --resume %s), or "
                        "start a new run from its weights with train --weights %s"
                        % (path, trained_by, cluster.workers, trained_by, path, path))
    if not cluster.is_root:
        config, log = dataclasses.replace(config, quiet=True), _silent

    def same_data(data):
        if data.classes != record["classes"]:
            raise UserError("the classes in %s are now %s, but the run was trained on %s; resume "
                            "needs the same data" % (config.data, data.classes, record["classes"]))
        if data.report.val_from != record.get("data", {}).get("val_from"):
            raise UserError("the validation images of %s are now from %s, but the run had %s; "
                            "resume needs the same data (a val/ folder added or removed?)"
                            % (config.data, data.report.val_from or "nowhere",
                               record.get("data", {}).get("val_from") or "none"))

    ctxs, data, net, _, _, weights = _prepare(config, cluster, same_data)
    last = run.checkpoints.load_meta("last")
    if last is None:
        log("no completed epoch in %s yet: starting it from the beginning" % path)
        start, history, states, ema_params = 0, [], None, None
    else:
        net.load_parameters(last["params"], ctx=ctxs)
        start, history, states = last["epoch"], last["history"], last["states"]
        ema_params = last.get("ema")
        log("resuming %s after epoch %d of %d" % (path, start, config.epochs))
    if start >= config.epochs:
        log("nothing to do: the run already finished %d epochs (pass --epochs to train longer)" % start)
        return RunResult(run.path, history, data.classes, config, net)
    return _train_epochs(config, run if cluster.is_root else None, net, data, ctxs, start, history,
                         log, states=states, cluster=cluster, ema_params=ema_params,
                         callbacks=callbacks, class_weights=weights)


def _prepare(config, cluster, check_data=None):
    """What :func:`fit` and :func:`resume` both set up, in this order (so a resumed run
    that had no completed epoch starts exactly as a new one): the seed, the devices, AMP,
    the checked data and the network with its stages' learning rates.

    ``check_data(data)`` runs before the network is built: bad data is refused
    before any weights are read. Returns ``(ctxs, data, net, source, lr_stages,
    class_weights)``; ``class_weights`` (None: unweighted) are the loss weights in
    the order of ``data.classes`` (:func:`gluon_finetune.training.imbalance.class_weights`).
    """
    seed_everything(config.seed)
    ctxs = devices.check_contexts(devices.parse_ctx(config.ctx))
    if config.amp:
        devices.init_amp(ctxs)
    data = load_data(config, cluster)
    if config.early_stop and data.val is None:
        raise UserError(selection.NEEDS_VAL)
    if config.early_stop and cluster.distributed:
        # Rank 0 alone measures validation accuracy; the other workers would wait for
        # it at the next gradient exchange forever.
        raise UserError("--early-stop is not available in distributed jobs (only rank 0 measures "
                        "validation accuracy); train for a fixed --epochs and use the best "
                        "checkpoint, which is chosen on validation accuracy all the same")
    if check_data is not None:
        check_data(data)
    if config.tensorboard:
        from .dashboards import check_available

        check_available()  # before a run folder is made or any epoch runs
    if config.mlflow:
        from .mlflow_tracking import check_available as mlflow_available

        mlflow_available(config.mlflow)
    weights = imbalance.class_weights(config.class_weights, data.classes, data.report.counts["train"])
    net, source = build_net(config, data.classes, ctxs)
    lr_stages = stages.set_stage_lr_mult(net, config.lr_stage_decay)
    return ctxs, data, net, source, lr_stages, weights


def load_data(config, cluster=None):
    """The checked data folder and its loaders, with the augmentations of ``config``."""
    if not config.data:
        raise UserError("no data folder given; pass --data DIR (a folder with train/<class>/ and "
                        "test/<class>/, or one <class>/ folder per class, or a CSV file of "
                        "paths and labels)")
    return data_mod.make_loaders(
        config.data, batch_size=config.batch_size, size=config.image_size,
        num_workers=config.num_workers,  # None: chosen for this machine
        train_augs=augspec.parse_spec(config.train_augs) if config.train_augs else None,
        test_augs=augspec.parse_spec(config.test_augs) if config.test_augs else None,
        seed=config.seed, split=config.split, strict=config.strict,
        # 'keep' like the book's loader; rollover would carry images from one
        # epoch into the next, which a resumed run could not repeat.
        last_batch="keep", quiet=config.quiet, shard=cluster.shard if cluster else None,
        # the run's seed: recorded in config.json, so a resumed run holds out the same images
        val_split=config.val_split, val_seed=config.seed, sampler=config.sampler,
        path_col=config.path_col, label_col=config.label_col)


def build_net(config, classes, ctxs):
    """The network of ``config`` for ``classes``: fine-tune (pretrained features) or scratch."""
    if config.mode == "scratch":
        net, info = model.scratch_net(len(classes), config.model, ctx=ctxs), {"kind": "scratch"}
    else:
        source, info = model.load_source(config.model, weights=config.weights,
                                         root=config.model_root,
                                         allow_download=config.allow_download, ctx=mx.cpu())
        net = model.finetune_net(source, len(classes), config.model,
                                 head_lr_mult=config.head_lr_mult, freeze=config.freeze_features,
                                 ctx=ctxs)
    return model.materialize(net, config.image_size, ctxs, name=config.model), info


def describe_source(config, source):
    if source["kind"] == "scratch":
        return "from scratch, Xavier initialisation"
    if source["kind"] == "symbol":
        return "fine-tuning the features of %s (cut before %s) with %s" % (
            source["path"], source["head_layer"], os.path.basename(source["params"]))
    if source["kind"] == "imagenet":
        return "fine-tuning ImageNet weights %s" % os.path.basename(source["path"])
    return "fine-tuning source weights %s" % source["path"]


def make_trainer(net, config, steps_per_epoch, kvstore=None):
    """SGD with the book's settings and the optional schedule and warm-up of ``config``.

    With ``freeze_epochs`` the head-only epochs train at the constant ``lr``, and
    the schedule (and its warm-up) runs over the epochs that train every layer.
    """
    held = config.freeze_epochs * steps_per_epoch
    total = config.epochs * steps_per_epoch - held
    warmup = int(round(config.warmup_epochs * steps_per_epoch))
    scheduler = None
    momentum = config.momentum
    if config.schedule == "onecycle":
        cycle = config.onecycle_momentum or [None, None]
        scheduler = schedules.OneCycle(total, config.lr, pct_start=config.onecycle_pct,
                                       div=config.onecycle_div, final_div=config.onecycle_final_div,
                                       max_momentum=cycle[0], base_momentum=cycle[1])
        # SGD keeps momentum buffers only if it starts with a momentum
        momentum = cycle[0] if cycle[0] is not None else momentum
    elif config.schedule == "cosine":
        scheduler = mx.lr_scheduler.CosineScheduler(max(total, warmup + 1), base_lr=config.lr,
                                                    final_lr=0.0, warmup_steps=warmup)
    elif config.schedule == "step":
        steps = sorted(max(e * steps_per_epoch, warmup + 1) for e in config.step_epochs)
        scheduler = mx.lr_scheduler.MultiFactorScheduler(steps, factor=config.step_factor,
                                                         base_lr=config.lr, warmup_steps=warmup)
    elif warmup:
        scheduler = mx.lr_scheduler.FactorScheduler(step=total + 1, factor=1.0, base_lr=config.lr,
                                                    warmup_steps=warmup)
    if scheduler is not None and held:
        scheduler = schedules.HeadFirst(held, config.lr, then=scheduler, momentum=momentum)
    params = {"learning_rate": config.lr, "wd": config.wd, "momentum": momentum}
    if scheduler is not None:
        params["lr_scheduler"] = scheduler
    trainer = gluon.Trainer(net.collect_params(), "sgd", params,
                            kvstore=kvstore if kvstore is not None else config.kvstore)
    if hasattr(scheduler, "bind"):
        scheduler.bind(trainer._optimizer)
    # The optimizer reads lr_mult/wd_mult from its param_dict, which pickling drops
    # when a distributed kvstore ships the optimizer to its servers: the head's 10x
    # would silently become 1x there. The index-keyed tables survive the trip.
    opt = trainer._optimizer
    opt.lr_mult = {i: p.lr_mult for i, p in opt.param_dict.items()}
    opt.wd_mult = {i: p.wd_mult for i, p in opt.param_dict.items()}
    return trainer


def _train_epochs(config, run, net, data, ctxs, start_epoch, history, log, states=None, cluster=None,
                  ema_params=None, callbacks=(), class_weights=None):
    """Epochs ``start_epoch + 1 .. config.epochs``; ``run`` is None on workers other than rank 0.

    ``ema_params``: the saved weight average a resumed ``--ema`` run continues from;
    ``class_weights``: the loss weight of each class (None: unweighted).
    """
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
    if config.amp and devices.amp_dtype(ctxs) == "float16":
        # float16's narrow range needs the loss scaled so small gradients survive;
        # bfloat16 has float32's range and trains without scaling.
        from mxnet.contrib import amp

        amp.init_trainer(trainer)
    if config.hybridize:
        # Static memory and shapes: one graph per batch shape, planned once.
        net.hybridize(static_alloc=True, static_shape=True)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss(
        sparse_label=config.label_smoothing == 0 and not config.mixes)  # else soft targets
    if class_weights:
        loss_fn = imbalance.WeightedLoss(loss_fn, class_weights, ctx=ctxs[0])
    hooks = callbacks_mod.standard(config, root=run is not None, ema_params=ema_params)
    loop = Loop(config, net, trainer, data, ctxs, loss_fn, cluster, run=run, log=log,
                start_epoch=start_epoch, history=history)
    loop_mod.run(loop, hooks + list(callbacks))
    # The last step's exchange may still be queued; the other workers wait for it.
    cluster.finish()
    return RunResult(run.path if run else None, loop.history, data.classes, config, net, cluster.rank)


def _val_text(data):
    if data.val is None:
        return ""
    where = data.report.val_from
    if where == "--val-split":
        where = "--val-split %g" % data.report.val_split
    return ", %d validation (%s)" % (len(data.val_set), where)


def describe_devices(ctxs, cluster, amp=False, omp=None):
    text = devices.describe(ctxs)
    if omp is not None and any(c.device_type == "cpu" for c in ctxs):
        text += ", " + threads.text(omp)
    if amp:
        text += " in %s mixed precision" % devices.amp_dtype(ctxs)
    if cluster.distributed:
        text += " x %d workers (%s)" % (cluster.workers, cluster.name)
    return text


def _silent(_line):
    pass
