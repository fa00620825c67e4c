"""The fit loop: the book's ``train`` with checkpoints, resume, and devices.

:func:`fit` reads top to bottom as the steps of a run:

1. seed every random generator;
2. check the data folder and build the loaders (the book's augmentations);
3. build the network: pretrained features + new Xavier head, or all from scratch;
4. make the SGD trainer (the head's ``lr_mult`` of 10 gives it the book's 10x rate);
5. create the run folder and write ``config.json``;
6. train epoch by epoch: one line per epoch in the book's format, a checkpoint,
   ``history.jsonl`` and ``curves.png`` after each.

With ``cache_features`` (and ``freeze_features``) step 6 trains the head on the
backbone's pooled features, computed once per image with the test-time
preprocessing (:func:`gluon_finetune.features.cache_features`): the same head,
the same optimiser and shuffle order, without running the backbone each epoch.
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
import math
import os
import random
import time

import mxnet as mx
from mxnet import autograd, gluon

from . import capability, devices, model, recipes, schedules, selection, stages, threads
from . import data as data_mod
from .augment import mix as batchmix
from .augment import spec as augspec
from .config import TrainConfig
from .distributed import Cluster
from .divergence import DivergenceWatch
from .ema import WeightEMA
from .errors import UserError
from .evaluate import accuracy
from .features import cache_features, feature_block
from .progress import progress
from .rundir import RunDir, default_run_path, provenance
from .seeding import seed_everything
from .signals import raise_pending, signals_as_interrupt

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
    def best_key(self):
        """The history field that chose :attr:`best` (``val_acc``, ``ema_val_acc``, ``test_acc``, ...)."""
        return selection.key_of(self.history, ema=bool(self.config.ema))

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
    net, source = build_net(config, data.classes, ctxs)
    lr_stages = stages.set_stage_lr_mult(net, config.lr_stage_decay)
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
        run = RunDir.create(out, record)
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
    if lr_stages.get("grouped"):
        log("--lr-stage-decay %g: %s (%s)" % (config.lr_stage_decay, lr_stages["grouped"], ", ".join(
            "%s %.3g" % (k, v) for k, v in lr_stages.items() if k != "grouped")))
    if not config.amp and {c.device_type for c in ctxs} == {"cpu"} and capability.has_bf16():
        log("tip: this CPU computes bfloat16 natively: --amp trains faster on large images, "
            "with float32 weights (README: Fine-tuning, mixed precision)")
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
    ctxs = devices.check_contexts(devices.parse_ctx(config.ctx))
    if config.amp:
        devices.init_amp(ctxs)
    data = load_data(config, cluster)
    if data.classes != record["classes"]:
        raise UserError("the classes in %s are now %s, but the run was trained on %s; resume needs "
                        "the same data" % (config.data, data.classes, record["classes"]))
    if data.report.val_from != record.get("data", {}).get("val_from"):
        raise UserError("the validation images of %s are now from %s, but the run had %s; resume "
                        "needs the same data (a val/ folder added or removed?)"
                        % (config.data, data.report.val_from or "nowhere",
                           record.get("data", {}).get("val_from") or "none"))
    last = run.checkpoints.load_meta("last")
    seed_everything(config.seed)
    net, _ = build_net(config, data.classes, ctxs)
    stages.set_stage_lr_mult(net, config.lr_stage_decay)
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
                         log, states=states, cluster=cluster, ema_params=ema_params)


def load_data(config, cluster=None):
    """The checked data folder and its loaders, with the augmentations of ``config``."""
    if not config.data:
        raise UserError("no data folder given; pass --data DIR (a folder with train/<class>/ and "
                        "test/<class>/, or one <class>/ folder per class)")
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
        val_split=config.val_split, val_seed=config.seed)


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
                  ema_params=None):
    """Epochs ``start_epoch + 1 .. config.epochs``; ``run`` is None on workers other than rank 0.

    ``ema_params``: the saved weight average a resumed ``--ema`` run continues from.
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
    # The average is kept where the run folder is written (rank 0: every worker holds
    # the same weights after each synchronous step).
    ema = WeightEMA(net, config.ema, ctxs[0], config.image_size) if config.ema and run else None
    if ema is not None and start_epoch:
        if not ema_params:
            raise UserError("%s was trained with --ema but its last checkpoint has no averaged "
                            "weights; start a new run" % run.path)
        ema.load(ema_params)
    if config.hybridize:
        # Static memory and shapes: one graph per batch shape, planned once.
        net.hybridize(static_alloc=True, static_shape=True)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss(
        sparse_label=config.label_smoothing == 0 and not config.mixes)  # else soft targets
    # What one epoch trains and measures: the whole net on the loaders, or the
    # head alone on cached features (the same optimiser, sampler and metrics).
    head_only = config.epochs if config.freeze_features else config.freeze_epochs
    if config.freeze_epochs:
        if start_epoch < head_only:
            model.freeze_features(net)
        else:
            model.use_running_stats(net)  # as _unfreeze() left it
        if config.hybridize:
            net.hybridize(static_alloc=True, static_shape=True)
    cache = None
    if config.cache_features and start_epoch < head_only:
        cache = cache_features(net, data, config, ctxs, log)
    # The best checkpoint and early stopping follow validation accuracy (test without
    # validation images); replaying the history makes a resumed run's choice the same.
    chooser = selection.Selection(selection.metric_key(data.val is not None, ema is not None),
                                  config.early_stop, history)
    watch = DivergenceWatch(len(data.classes), len(data.train_set) // max(cluster.workers, 1),
                            config.batch_size, finetune=config.mode == "finetune",
                            enabled=config.divergence_stop,
                            start_loss=history[0]["loss"] if history else None)
    epochs = range(start_epoch + 1, config.epochs + 1)
    if chooser.should_stop():
        log("nothing to do: the run stopped early after epoch %d; its best checkpoint (epoch %d) "
            "is its result" % (chooser.last_epoch, chooser.best["epoch"]))
        epochs = []
    epoch = start_epoch
    # Ctrl-C and `kill` save the weights; a signal lost in a finalizer is raised again
    # between batches (signals.raise_pending).
    with signals_as_interrupt("SIGINT", "SIGTERM"):
        try:
            for epoch in epochs:
                # Seeding per epoch makes epoch e the same whether or not the run was resumed.
                seed_everything(config.seed + epoch)
                tic = time.time()
                if epoch == config.freeze_epochs + 1 and config.freeze_epochs:
                    _unfreeze(net, trainer, config, log)
                if cache is not None and epoch <= head_only:
                    trained = getattr(net, model.head_name(net))
                    train_batches, test_batches, val_batches = cache.train, cache.test, cache.val
                else:
                    trained, train_batches, test_batches, val_batches = net, data.train, data.test, data.val
                mix = batchmix.from_config(config, len(data.classes), epoch, cluster.rank)
                loss, train_acc = train_epoch(trained, train_batches, trainer, loss_fn, ctxs, config,
                                              "epoch %d/%d" % (epoch, config.epochs), cluster.workers,
                                              after_step=ema.update if ema else None, mix=mix,
                                              watch=watch)
                train_time = time.time() - tic
                if run is None:  # other workers: train on; rank 0 measures and writes
                    continue
                test_acc, test_counts = accuracy(trained, test_batches, ctxs, counts=True)
                rec = {"epoch": epoch, "loss": loss, "train_acc": train_acc, "test_acc": test_acc,
                       "time": time.time() - tic, "train_time": train_time,
                       "lr": _logged_lr(trainer, epoch * steps_per_epoch, cluster)}
                extra, val_counts = _extra_accuracies(trained, val_batches, test_batches, ctxs, ema)
                rec.update(extra)
                rec["time"] = time.time() - tic
                history = history + [rec]
                tags = ["last"] + (["best"] if chooser.update(rec) else [])
                run.checkpoints.save(tags, net, trainer,
                                     {"epoch": epoch, "history": history, "chosen_by": chooser.key},
                                     with_states=not cluster.distributed, ema=ema)
                run.checkpoints.drop("interrupted")
                run.write_history(history)
                _write_curves(run, history)
                line = epoch_line(rec)
                run.log(line)
                log(line)
                if val_counts is None:
                    watch.epoch(epoch, test_counts, test_acc, "test")
                else:
                    watch.epoch(epoch, val_counts, rec["val_acc"], "validation")
                if chooser.should_stop():
                    line = chooser.stop_message(run.checkpoints.folder)
                    run.log(line)
                    log(line)
                    break
        except KeyboardInterrupt:
            if run is not None:
                run.checkpoints.save(["interrupted"], net, trainer,
                                     {"epoch": epoch, "history": history, "partial": True},
                                     with_states=not cluster.distributed, ema=ema)
                log("interrupted during epoch %d: its weights are in %s; the last completed epoch "
                    "(%d) is kept; continue with: gluon-finetune train --resume %s"
                    % (epoch, run.checkpoints.folder, epoch - 1, run.path))
            raise
    # The last step's exchange may still be queued; the other workers wait for it.
    cluster.finish()
    return RunResult(run.path if run else None, history, data.classes, config, net, cluster.rank)


def _unfreeze(net, trainer, config, log):
    """The first epoch after ``--freeze-epochs``: every layer trains from here on."""
    model.unfreeze_features(net, running_stats=True)
    if config.hybridize:
        net.hybridize(static_alloc=True, static_shape=True)  # rebuild the graph with the gradients
    # The optimizer counts updates per parameter and schedules by the largest count:
    # the features start counting where the head is, so they get this step's rate too.
    opt = trainer._optimizer
    for index in range(len(trainer._params)):
        opt._index_update_count.setdefault(index, opt.num_update)
    log("epoch %d: the features are unfrozen; every layer trains from here on, BatchNorm on its "
        "stored statistics (--freeze-epochs %d)"
        % (config.freeze_epochs + 1, config.freeze_epochs))


def train_epoch(net, loader, trainer, loss_fn, ctxs, config, desc="", workers=1, after_step=None,
                mix=None, watch=None):
    """One pass over ``loader``; return (mean loss per sample, training accuracy).

    With ``mix`` (a :class:`gluon_finetune.augment.mix.BatchMix`) every batch is
    MixUp/CutMix-mixed with soft, label-smoothed targets (``loss_fn`` then takes
    dense labels), and accuracy counts a prediction right when it is the class
    with the larger share of the image's mixed label.

    With ``workers`` > 1 (a distributed job) each step's gradient is averaged
    over all workers' images, and the loss and accuracy are this worker's.
    With a trainer prepared by ``amp.init_trainer`` the loss is scaled for the
    backward pass (AMP's dynamic loss scaling). ``after_step`` is called after
    every optimizer step (the weight EMA's update). ``watch`` (a
    :class:`~gluon_finetune.divergence.DivergenceWatch`) sees the mean loss of
    every stretch between looks at the loss and stops a diverging run.

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
            mark = _stretch(watch, total, n, mark)
            bar.set_postfix(loss="%.4f" % (total / n))
    bar.close()
    total = loss_sum.asscalar()
    _check_finite(total, n)
    _stretch(watch, total, n, mark)
    return total / max(n, 1), correct.asscalar() / max(n, 1)


def _stretch(watch, total, n, mark):
    """Give ``watch`` the mean loss of the images since ``mark`` (loss sum, count); new mark."""
    if watch is not None and n > mark[1]:
        watch.stretch((total - mark[0]) / (n - mark[1]), n - mark[1])
    return total, n


def epoch_line(rec):
    """The book's per-epoch line; validation and EMA accuracies join it when the run has them."""
    line = EPOCH_LINE.format(**rec)
    extra = ["%s %.3f" % (k.replace("_acc", " acc").replace("_", " "), rec[k])
             for k in ("val_acc", "ema_val_acc", "ema_test_acc") if k in rec]
    if extra:
        line = line.replace(", time ", ", %s, time " % ", ".join(extra))
    return line


def _extra_accuracies(net, val_batches, test_batches, ctxs, ema):
    """``({val_acc, ...}, val_counts)``: with a weight EMA also ``ema_val_acc`` and
    ``ema_test_acc``; ``val_counts`` are the predictions per class (None: no validation set)."""
    rec, counts = {}, None
    if val_batches is not None:
        rec["val_acc"], counts = accuracy(net, val_batches, ctxs, counts=True)
    if ema is not None:
        with ema.applied():
            if val_batches is not None:
                rec["ema_val_acc"] = accuracy(net, val_batches, ctxs)
            rec["ema_test_acc"] = accuracy(net, test_batches, ctxs)
    return rec, counts


def _val_text(data):
    if data.val is None:
        return ""
    where = data.report.val_from
    if where == "--val-split":
        where = "--val-split %g" % data.report.val_split
    return ", %d validation (%s)" % (len(data.val_set), where)


def _logged_lr(trainer, updates, cluster):
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


def _zero_idle_grads(net, used):
    """Zero the gradients of every device after the first ``used``.

    See :func:`gluon_finetune.devices.split_batch`.
    """
    for param in net.collect_params().values():
        if param.grad_req != "null":
            for grad in param.list_grad()[used:]:
                grad[:] = 0


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
