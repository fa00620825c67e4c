"""The built-in hooks of the epoch loop: each feature of a run, one callback each.

:func:`standard` lists them in the order they run (:mod:`gluon_finetune.training.loop`
calls each hook of every callback in list order):

- :class:`WeightAverage` keeps the weight EMA (``--ema``) after every step;
- :class:`HeadFirst` freezes the features for ``--freeze-epochs`` and unfreezes them;
- :class:`CachedFeatures` trains the head on features computed once (``--cache-features``);
- :class:`BatchMixes` draws each epoch's MixUp / CutMix (``--mixup``, ``--cutmix``);
- :class:`Evaluate` measures the epoch (test, validation, EMA accuracies, time, lr)
  and adds its record to the history;
- :class:`BestCheckpoint` says whether the epoch is the best so far;
- :class:`Checkpoints` saves ``last`` (and ``best``), and ``interrupted`` on Ctrl-C;
- :class:`History` writes ``history.jsonl``, ``history.csv`` and ``curves.png``;
- :class:`gluon_finetune.training.dashboards.TensorBoard` logs it all for TensorBoard (``--tensorboard DIR``);
- :class:`gluon_finetune.training.mlflow_tracking.MLflow` logs it to an MLflow store (``--mlflow [URI]``);
- :class:`EpochLine` prints the book's line for the epoch;
- :class:`DivergenceStop` stops a diverging run (``--no-divergence-stop``);
- :class:`EarlyStop` ends the run when the best epoch is ``--early-stop`` epochs behind.

Workers other than rank 0 of a distributed job train without measuring or
writing: they get only the hooks that change training.
"""
import time

from .. import metrics
from ..augment import mix as batchmix
from ..errors import UserError
from ..networks import model
from ..runs import selection
from .config import SELECT_METRICS
from .divergence import DivergenceWatch
from .ema import WeightEMA
from .epoch import logged_lr
from .features import cache_features
from .loop import Batches, Callback
from .scoring import accuracy

__all__ = ["standard", "WeightAverage", "HeadFirst", "CachedFeatures", "BatchMixes", "Evaluate",
           "BestCheckpoint", "Checkpoints", "History", "EpochLine", "DivergenceStop", "EarlyStop",
           "epoch_line", "EPOCH_LINE"]

EPOCH_LINE = ("epoch {epoch}, loss {loss:.4f}, train acc {train_acc:.3f}, "
              "test acc {test_acc:.3f}, time {time:.1f} sec")


def standard(config, root=True, ema_params=None):
    """The built-in callbacks a run of ``config`` needs, in order.

    ``root``: this process writes the run folder (rank 0, or the only process);
    ``ema_params``: the saved weight average a resumed ``--ema`` run continues from.
    """
    hooks = []
    if config.ema and root:
        hooks.append(WeightAverage(ema_params))
    if config.freeze_epochs:
        hooks.append(HeadFirst())
    if config.cache_features:
        hooks.append(CachedFeatures())
    if config.mixes:
        hooks.append(BatchMixes())
    divergence = DivergenceStop()
    if root:
        best = BestCheckpoint()
        hooks += [Evaluate(), best, Checkpoints(best), History()]
        if config.tensorboard:
            from .dashboards import TensorBoard

            hooks.append(TensorBoard(config.tensorboard))  # with the files: before the line is shown
        if config.mlflow:
            from .mlflow_tracking import MLflow

            hooks.append(MLflow(config.mlflow, log_weights=config.mlflow_weights))
        hooks += [EpochLine(), divergence, EarlyStop(best)]
    else:
        hooks.append(divergence)
    return hooks


class WeightAverage(Callback):
    """The weight EMA (timm's ModelEmaV2), updated after every optimizer step.

    The average is kept where the run folder is written (rank 0: every worker
    holds the same weights after each synchronous step); ``loop.ema`` is it.
    """

    def __init__(self, saved=None):
        self.saved = saved  # a resumed run's averaged weights

    def on_run_start(self, loop):
        config = loop.config
        loop.ema = WeightEMA(loop.net, config.ema, loop.ctxs[0], config.image_size)
        if loop.start_epoch:
            if not self.saved:
                raise UserError("%s was trained with --ema but its last checkpoint has no averaged "
                                "weights; start a new run" % loop.run.path)
            loop.ema.load(self.saved)

    def on_batch_end(self, loop):
        loop.ema.update()


class HeadFirst(Callback):
    """``--freeze-epochs N``: the head alone for N epochs, then every layer."""

    def on_run_start(self, loop):
        net, config = loop.net, loop.config
        if loop.start_epoch < config.freeze_epochs:
            model.freeze_features(net)
        else:
            model.use_running_stats(net)  # as the unfreezing left it
        if config.hybridize:
            net.hybridize(static_alloc=True, static_shape=True)

    def on_epoch_start(self, loop):
        config = loop.config
        if loop.epoch != config.freeze_epochs + 1:
            return
        net, trainer = loop.net, loop.trainer
        model.unfreeze_features(net, running_stats=True)
        if config.hybridize:
            net.hybridize(static_alloc=True, static_shape=True)  # rebuild the graph with the gradients
        # The optimizer counts updates per parameter and schedules by the largest count:
        # the features start counting where the head is, so they get this step's rate too.
        opt = trainer._optimizer
        for index in range(len(trainer._params)):
            opt._index_update_count.setdefault(index, opt.num_update)
        loop.log("epoch %d: the features are unfrozen; every layer trains from here on, BatchNorm "
                 "on its stored statistics (--freeze-epochs %d)"
                 % (config.freeze_epochs + 1, config.freeze_epochs))


class CachedFeatures(Callback):
    """``--cache-features``: while the features are frozen, the head trains on their
    pooled output, computed once per image (:func:`gluon_finetune.training.features.cache_features`):
    the same head, optimiser, shuffle order and metrics, without the backbone each epoch."""

    def __init__(self):
        self.cache = None

    def _head_only(self, config):
        return config.epochs if config.freeze_features else config.freeze_epochs

    def on_run_start(self, loop):
        if loop.start_epoch < self._head_only(loop.config):
            self.cache = cache_features(loop.net, loop.data, loop.config, loop.ctxs, loop.log)

    def on_epoch_start(self, loop):
        if self.cache is not None and loop.epoch <= self._head_only(loop.config):
            loop.trained = getattr(loop.net, model.head_name(loop.net))
            loop.batches = Batches(self.cache.train, self.cache.test, self.cache.val)


class BatchMixes(Callback):
    """MixUp / CutMix: each epoch's mix, seeded by the run's seed, the epoch and the worker."""

    def on_epoch_start(self, loop):
        loop.mix = batchmix.from_config(loop.config, len(loop.data.classes), loop.epoch,
                                        loop.cluster.rank)


class Evaluate(Callback):
    """Measure the epoch and add its record to ``loop.history``.

    The record gets ``test_acc``, ``time`` (the whole epoch, evaluation included),
    ``train_time``, ``lr``, and with the images or the average to measure them
    ``val_acc``, ``ema_val_acc`` and ``ema_test_acc``; with ``--select-metric
    balanced_acc`` or ``macro_f1`` also that score of each (``test_balanced_acc``,
    ...). ``loop.counts`` is ``(predictions per class, score, "validation" or
    "test")`` of the images that choose the best epoch.
    """

    def on_epoch_end(self, loop):
        rec, trained, batches = loop.record, loop.trained, loop.batches
        metric = loop.config.select_metric
        test_acc, test_counts, test_extra = measure(trained, batches.test, loop.ctxs, metric)
        rec.update(test_acc=test_acc, time=time.time() - loop.tic, train_time=loop.train_time,
                   lr=logged_lr(loop.trainer, loop.epoch * loop.steps_per_epoch, loop.cluster))
        rec.update({"test_" + k: v for k, v in test_extra.items()})
        extra, val_counts = extra_accuracies(trained, batches.val, batches.test, loop.ctxs, loop.ema,
                                             metric)
        rec.update(extra)
        rec["time"] = time.time() - loop.tic
        loop.history = loop.history + [rec]
        loop.counts = ((test_counts, test_acc, "test") if val_counts is None
                       else (val_counts, rec["val_acc"], "validation"))


def measure(net, batches, ctxs, metric="acc"):
    """``(accuracy, predictions per class, {name: score})`` of ``net`` on ``batches``.

    The dict holds the ``metric`` other than ``"acc"`` (accuracy is the first value),
    and ``top5_acc`` when the network has more than five classes, as GluonCV and
    torchvision report for every classifier (with five or fewer it would be 1).
    """
    if metric == "acc":
        acc, counts, top = accuracy(net, batches, ctxs, counts=True, top_k=metrics.TOP_K)
        extra = {}
    else:
        acc, cm, top = accuracy(net, batches, ctxs, confusion=True, top_k=metrics.TOP_K)
        counts, extra = cm.sum(axis=0).tolist(), {metric: score_of(cm, metric)}
    if top is not None:
        extra["top%d_acc" % metrics.TOP_K] = top
    return acc, counts, extra


def score_of(cm, metric):
    """``balanced_acc`` (the mean recall of the classes present) or ``macro_f1`` of a confusion matrix."""
    if metric == "balanced_acc":
        return metrics.balanced_accuracy(cm)
    return float(metrics.per_class_metrics(cm)["f1"].mean())


def extra_accuracies(net, val_batches, test_batches, ctxs, ema, metric="acc"):
    """``({val_acc, ...}, val_counts)``: with a weight EMA also ``ema_val_acc`` and
    ``ema_test_acc``, and with a ``metric`` other than accuracy that score of each;
    ``val_counts`` are the predictions per class (None: no validation set)."""
    rec, counts = {}, None
    if val_batches is not None:
        rec["val_acc"], counts, extra = measure(net, val_batches, ctxs, metric)
        rec.update({"val_" + k: v for k, v in extra.items()})
    if ema is not None:
        with ema.applied():
            for name, batches in (("val", val_batches), ("test", test_batches)):
                if batches is not None:
                    acc, _, extra = measure(net, batches, ctxs, metric)
                    rec["ema_%s_acc" % name] = acc
                    rec.update({"ema_%s_%s" % (name, k): v for k, v in extra.items()})
    return rec, counts


class BestCheckpoint(Callback):
    """Which epoch is the best: by validation accuracy, or test accuracy without
    validation images, the EMA's with ``--ema`` (:class:`gluon_finetune.runs.selection.Selection`).

    The history of a resumed run is replayed, so its choice is the uninterrupted
    run's. ``is_best`` says whether the epoch just measured is the best so far.
    """

    def __init__(self):
        self.chooser, self.is_best = None, False

    def on_run_start(self, loop):
        key = selection.metric_key(loop.data.val is not None, loop.ema is not None,
                                   loop.config.select_metric)
        self.chooser = selection.Selection(key, loop.config.early_stop, loop.history)

    def on_epoch_end(self, loop):
        self.is_best = self.chooser.update(loop.record)


class Checkpoints(Callback):
    """``checkpoints/``: ``last`` after every epoch, ``best`` when it is, and
    ``interrupted`` (the weights of an epoch cut short) on Ctrl-C or SIGTERM."""

    def __init__(self, best):
        self.best = best

    def _save(self, loop, tags, meta):
        loop.run.checkpoints.save(tags, loop.net, loop.trainer, meta,
                                  with_states=not loop.cluster.distributed, ema=loop.ema)

    def on_epoch_end(self, loop):
        tags = ["last"] + (["best"] if self.best.is_best else [])
        self._save(loop, tags, {"epoch": loop.epoch, "history": loop.history,
                                "chosen_by": self.best.chooser.key})
        loop.run.checkpoints.drop("interrupted")

    def on_interrupt(self, loop):
        self._save(loop, ["interrupted"], {"epoch": loop.epoch, "history": loop.history,
                                           "partial": True})
        loop.log("interrupted during epoch %d: its weights are in %s; the last completed epoch "
                 "(%d) is kept; continue with: gluon-finetune train --resume %s"
                 % (loop.epoch, loop.run.checkpoints.folder, loop.epoch - 1, loop.run.path))


class History(Callback):
    """``history.jsonl`` (one record per epoch), ``history.csv`` and ``curves.png``, after every epoch."""

    def on_epoch_end(self, loop):
        loop.run.write_history(loop.history)
        from ..plots import training_curves  # matplotlib: only once there is something to draw

        training_curves({"": loop.history}, loop.run.curves_path)


class EpochLine(Callback):
    """The book's line for each epoch, on the console and in ``log.txt``."""

    def on_epoch_end(self, loop):
        loop.say(epoch_line(loop.record))


def epoch_line(rec):
    """The book's per-epoch line; validation and EMA accuracies join it when the run has them,
    and the ``--select-metric`` scores (``test balanced acc 0.750``) after them."""
    line = EPOCH_LINE.format(**rec)
    keys = [k for k in ("val_acc", "ema_val_acc", "ema_test_acc") if k in rec]
    keys += ["%s_%s" % (where, m) for m in SCORE_METRICS for where in SCORED
             if "%s_%s" % (where, m) in rec]
    extra = ["%s %.3f" % (k.replace("_acc", " acc").replace("_", " "), rec[k]) for k in keys]
    if extra:
        line = line.replace(", time ", ", %s, time " % ", ".join(extra))
    return line


#: The --select-metric scores a record may hold, and the images they measured, in line order.
SCORE_METRICS = tuple(m for m in SELECT_METRICS if m != "acc")
SCORED = ("test", "val", "ema_val", "ema_test")


class DivergenceStop(Callback):
    """Stop a run whose loss stays far above its start, or whose predictions
    collapse to one class (:class:`gluon_finetune.training.divergence.DivergenceWatch`)."""

    def __init__(self):
        self.watch = None

    def on_run_start(self, loop):
        config, data = loop.config, loop.data
        self.watch = DivergenceWatch(
            len(data.classes), len(data.train_set) // max(loop.cluster.workers, 1),
            config.batch_size, finetune=config.mode == "finetune", enabled=config.divergence_stop,
            start_loss=loop.history[0]["loss"] if loop.history else None)

    def on_loss(self, loop, mean_loss, images):
        self.watch.stretch(mean_loss, images)

    def on_epoch_end(self, loop):
        if loop.counts is not None:  # None: a worker that does not measure
            self.watch.epoch(loop.epoch, *loop.counts)


class EarlyStop(Callback):
    """``--early-stop N``: end the run N epochs after its best (the best checkpoint
    is its result); a resumed run that had stopped stays stopped."""

    def __init__(self, best):
        self.best = best

    def on_run_start(self, loop):
        chooser = self.best.chooser
        if chooser.should_stop():
            loop.log("nothing to do: the run stopped early after epoch %d; its best checkpoint "
                     "(epoch %d) is its result" % (chooser.last_epoch, chooser.best["epoch"]))
            loop.stop = True

    def on_epoch_end(self, loop):
        chooser = self.best.chooser
        if chooser.should_stop():
            loop.say(chooser.stop_message(loop.run.checkpoints.folder))
            loop.stop = True
