"""The epoch loop: forward, backward and step, with hooks around them.

:func:`run` trains epoch after epoch and calls its callbacks (:class:`Callback`)
at fixed points; everything else a run does is one of them
(:mod:`gluon_finetune.training.callbacks`): the weight EMA, head-first epochs, cached
features, batch mixes, evaluation, best-checkpoint selection, checkpoints,
history and curves, the epoch line, the divergence stop and early stopping.
A new feature is a new callback, not a new branch here. ``fit(config,
callbacks=[...])`` adds a user's own after the built-in ones, in the order given.

The hooks, in the order they are called::

    on_run_start(loop)            once, before the first epoch
    on_epoch_start(loop)          after the epoch's seed is set
    on_batch_end(loop)            after every optimizer step
    on_loss(loop, mean, images)   whenever the loss is read back (every SYNC_EVERY batches)
    on_epoch_end(loop)            after the training pass: loop.record has its loss
    on_interrupt(loop)            Ctrl-C or SIGTERM during an epoch (then the loop re-raises)
    on_run_end(loop)              after the last epoch, when the run was not interrupted

A hook that sets ``loop.stop = True`` ends the run after the current epoch
(before the first, from ``on_run_start``).
"""
import collections
import sys
import time

from ..progress import ProgressLines, bar_enabled
from ..seeding import seed_everything
from ..signals import signals_as_interrupt
from .epoch import train_epoch

__all__ = ["Callback", "Loop", "Batches", "run"]

HOOKS = ("on_run_start", "on_epoch_start", "on_batch_end", "on_loss", "on_epoch_end",
         "on_interrupt", "on_run_end")

#: What one epoch trains on and measures: loaders, or cached features (``val`` may be None).
Batches = collections.namedtuple("Batches", "train test val")


class Callback:
    """A hook of the epoch loop: override the methods you need; the others do nothing.

    Every method gets the :class:`Loop` (the run's state). An example, in a
    notebook::

        class Losses(Callback):
            def __init__(self):
                self.losses = []

            def on_epoch_end(self, loop):
                self.losses.append(loop.record["loss"])

        losses = Losses()
        fit(TrainConfig(data="data/hotdog"), callbacks=[losses])
    """

    def on_run_start(self, loop):
        pass

    def on_epoch_start(self, loop):
        pass

    def on_batch_end(self, loop):
        pass

    def on_loss(self, loop, mean_loss, images):
        pass

    def on_epoch_end(self, loop):
        pass

    def on_interrupt(self, loop):
        pass

    def on_run_end(self, loop):
        pass


class Loop:
    """The state of a run, as the hooks see and change it.

    Set up by :func:`gluon_finetune.training.train.fit` (or ``resume``): ``config``,
    ``net``, ``trainer``, ``data`` (:class:`gluon_finetune.data.loader.FolderData`),
    ``ctxs``, ``loss_fn``, ``cluster``, ``run`` (the
    :class:`~gluon_finetune.runs.rundir.RunDir`; None on workers other than rank 0,
    which train but do not measure or write), ``log``, ``start_epoch`` and
    ``history`` (the epochs already trained, for a resumed run).

    Per epoch the loop sets ``epoch`` and ``tic`` (its start time) and resets
    ``trained`` (the block this epoch trains: the network, or a hook's choice),
    ``batches`` (:class:`Batches`), ``mix`` (a batch mix or None), ``record``
    (the epoch's history record: ``epoch``, ``loss`` and ``train_acc`` after
    the training pass; hooks add the rest), ``train_time`` and ``counts``
    (:class:`~gluon_finetune.training.callbacks.Evaluate`'s predictions per class).
    ``ema`` is the weight average when the run keeps one.
    """

    def __init__(self, config, net, trainer, data, ctxs, loss_fn, cluster, run=None, log=print,
                 start_epoch=0, history=()):
        self.config, self.net, self.trainer, self.data = config, net, trainer, data
        self.ctxs, self.loss_fn, self.cluster, self.run, self.log = ctxs, loss_fn, cluster, run, log
        self.start_epoch, self.history = start_epoch, list(history)
        self.steps_per_epoch = len(data.train)
        self.epoch, self.stop, self.ema = start_epoch, False, None
        self.tic, self.train_time, self.record, self.counts = None, None, None, None
        self.trained, self.batches, self.mix = net, None, None

    def say(self, line):
        """Log ``line`` and add it to the run folder's ``log.txt``."""
        if self.run is not None:
            self.run.log(line)
        self.log(line)

    def progress_line(self, line):
        """A line of :class:`~gluon_finetune.progress.ProgressLines`: into ``log.txt``, so
        ``tail -f`` shows the run advancing, and on stderr where no bar shows (not quiet)."""
        if self.run is not None:
            self.run.log(line)
        if not self.config.quiet and not bar_enabled():
            print(line, file=sys.stderr, flush=True)

    def progress_lines(self, desc):
        """The progress lines of one training pass (None on workers that write nothing)."""
        if self.run is None and self.config.quiet:
            return None
        return ProgressLines(len(self.batches.train), desc, self.progress_line,
                             every=self.config.log_interval)


class _Hooks:
    """The callbacks' methods per hook, only those a callback overrides (the step stays lean)."""

    def __init__(self, callbacks):
        self.by_hook = {name: [getattr(cb, name) for cb in callbacks
                               if getattr(type(cb), name, None) is not getattr(Callback, name)]
                        for name in HOOKS}

    def __call__(self, name, loop, *args):
        call = self.of(name, loop)
        if call is not None:
            call(*args)

    def of(self, name, loop):
        """The hook as a function of its other arguments (None when no callback has it)."""
        hooks = self.by_hook[name]
        if not hooks:
            return None

        def call(*args):
            for hook in hooks:
                hook(loop, *args)
        return call


def run(loop, callbacks=()):
    """Train ``loop``'s epochs ``start_epoch + 1 .. config.epochs``, calling ``callbacks``."""
    hooks = _Hooks(list(callbacks))
    config = loop.config
    hooks("on_run_start", loop)
    epochs = [] if loop.stop else range(loop.start_epoch + 1, config.epochs + 1)
    # Ctrl-C and `kill` become KeyboardInterrupt between batches (signals.raise_pending),
    # so the on_interrupt hooks can save the weights.
    with signals_as_interrupt("SIGINT", "SIGTERM"):
        try:
            for epoch in epochs:
                # Seeding per epoch makes epoch e the same whether or not the run was resumed.
                seed_everything(config.seed + epoch)
                loop.epoch, loop.tic, loop.record, loop.counts = epoch, time.time(), None, None
                loop.trained, loop.mix = loop.net, None
                loop.batches = Batches(loop.data.train, loop.data.test, loop.data.val)
                hooks("on_epoch_start", loop)
                desc = "epoch %d/%d" % (epoch, config.epochs)
                loss, train_acc = train_epoch(
                    loop.trained, loop.batches.train, loop.trainer, loop.loss_fn, loop.ctxs, config,
                    desc, loop.cluster.workers, after_step=hooks.of("on_batch_end", loop),
                    mix=loop.mix, on_loss=hooks.of("on_loss", loop), lines=loop.progress_lines(desc))
                loop.train_time = time.time() - loop.tic
                loop.record = {"epoch": epoch, "loss": loss, "train_acc": train_acc}
                hooks("on_epoch_end", loop)
                if loop.stop:
                    break
        except KeyboardInterrupt:
            hooks("on_interrupt", loop)
            raise
    hooks("on_run_end", loop)
    return loop
