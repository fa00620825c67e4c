"""TensorBoard for a run: a callback of the epoch loop (``--tensorboard DIR``).

Written with tensorboardX (maintained, and it needs no TensorFlow; mxboard's last
release was in 2018), an optional extra: ``pip install "gluon-finetune[tensorboard]"``.
Each run writes into ``DIR/<run folder's name>``, so the fine-tuned and the
from-scratch runs of ``compare`` (``finetune``, ``scratch``) show side by side:

- per step: ``train/loss`` (the mean loss since the last read-back, every 8 batches)
  and ``train/lr``;
- per epoch: every number of the epoch's record (``epoch/test_acc``, ``epoch/val_acc``,
  ``epoch/ema_test_acc``, ``epoch/loss``, ...) and the curves as an image;
- once: a grid of training images at the start; at the end the test confusion matrix
  of the last epoch's network and the hyperparameters with the run's best and final
  scores (TensorBoard's hparams plugin).

A resumed run continues the same curves: its steps count on from the last completed
epoch, and ``purge_step`` tells TensorBoard to drop what an interrupted epoch had
logged after it, so no step appears twice.
"""
import os

import numpy as np

from ..errors import UserError
from .epoch import logged_lr
from .loop import Callback

__all__ = ["TensorBoard", "figure_array"]

INSTALL = ('--tensorboard needs tensorboardX, which is not installed; pip install '
           '"gluon-finetune[tensorboard]" (or pip install tensorboardX)')


def check_available():
    """Refuse ``--tensorboard`` early (before a run folder exists) when tensorboardX is missing."""
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        raise UserError(INSTALL) from None


def figure_array(fig):
    """A matplotlib figure as an (H, W, 3) ``uint8`` array (for ``add_image``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _hparams(config):
    """The run's settings TensorBoard can tabulate: numbers, strings and booleans."""
    out = {}
    for key, value in config.to_dict().items():
        if isinstance(value, (bool, int, float, str)) and key not in ("quiet",):
            out[key] = value
        elif isinstance(value, list) and value:
            out[key] = ",".join(str(v) for v in value)
    return out


class TensorBoard(Callback):
    """Log a run to TensorBoard under ``folder`` (see the module docstring)."""

    def __init__(self, folder):
        self.folder = folder
        self.writer, self.step = None, 0

    def on_run_start(self, loop):
        from tensorboardX import SummaryWriter

        self.step = loop.start_epoch * loop.steps_per_epoch
        where = os.path.join(self.folder, os.path.basename(loop.run.path))
        # A resumed run: whatever an interrupted epoch logged after the last completed one goes.
        self.writer = SummaryWriter(where, purge_step=self.step + 1 if loop.start_epoch else None)
        if not loop.start_epoch:
            self._samples(loop)

    def _samples(self, loop):
        from .. import plots
        from ..imageio import read_image

        items = loop.data.train_set.items[:8]
        images = [read_image(path) for path, _ in items]
        fig = plots.show_images(images, 1, len(images), scale=1.4,
                                titles=[loop.data.classes[label] for _, label in items])
        self.writer.add_image("data/training_images", figure_array(fig), 0, dataformats="HWC")

    def on_batch_end(self, loop):
        self.step += 1

    def on_loss(self, loop, mean_loss, images):
        self.writer.add_scalar("train/loss", mean_loss, self.step)
        self.writer.add_scalar("train/lr", logged_lr(loop.trainer, self.step, loop.cluster),
                               self.step)

    def on_epoch_end(self, loop):
        for key, value in loop.record.items():
            if key != "epoch" and isinstance(value, (int, float)):
                self.writer.add_scalar("epoch/" + key, value, loop.epoch)
        if os.path.isfile(loop.run.curves_path):  # History drew it just before
            from ..imageio import read_image

            self.writer.add_image("run/curves", read_image(loop.run.curves_path), loop.epoch,
                                  dataformats="HWC")
        self.writer.flush()

    def on_run_end(self, loop):
        from .. import plots
        from ..runs import selection
        from .scoring import accuracy

        _, cm = accuracy(loop.net, loop.data.test, loop.ctxs, confusion=True)
        fig = plots.confusion_matrix(cm, loop.data.classes,
                                     title="test images, the network after epoch %d" % loop.epoch)
        self.writer.add_image("run/confusion_matrix", figure_array(fig), loop.epoch,
                              dataformats="HWC")
        if loop.history:
            key = selection.key_of(loop.history, ema=bool(loop.config.ema),
                                   metric=loop.config.select_metric)
            best = max(loop.history, key=lambda rec: rec[key])
            final = loop.history[-1]
            metrics = {"hparam/best_" + key: best[key], "hparam/final_test_acc": final["test_acc"],
                       "hparam/best_epoch": best["epoch"]}
            self.writer.add_hparams(_hparams(loop.config), metrics, name="hparams")
        self.writer.close()

    def on_interrupt(self, loop):
        if self.writer is not None:
            self.writer.close()
