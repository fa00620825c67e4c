"""Noticing a run that has gone wrong, and stopping it with advice (the NaN stop's sibling).

Two signs, both chosen from runs measured here (README: Real photos):

* **The training loss stays far above where it started.** The starting value
  is the mean loss of the run's first stretch of batches (its first
  :data:`~gluon_finetune.training.train.SYNC_EVERY` batches, or its first epoch when
  that is shorter), and at least ln(classes), the loss of a uniform guess
  that a new head starts near. The check fires when the loss stays above
  :data:`LOSS_FACTOR` x the starting value over consecutive stretches that
  add up to one epoch of images or :data:`SUSTAIN_BATCHES` batches, whichever
  is fewer. The starting value, not ln(classes) alone: features far from
  normalised (random weights, as in the tests) start a head at 3 x ln(2)
  and still learn.
* **A fine-tuned network collapses to one class**: after an epoch in which
  it did better, it predicts one class for every validation (or test) image,
  :data:`COLLAPSE_EPOCHS` epochs in a row, where those images hold more than
  one class. Pretrained features separate classes from the first epoch (a
  nearest-class-mean probe on them already does), so this means the head or
  the features were wrecked. Below :data:`COLLAPSE_MIN_IMAGES` evaluation
  images it is not checked: there a weak model's best guess can be one class
  (the tests' tiny sets and their one-epoch source models). Training from
  scratch is not checked this way: a random network predicting one class for
  an epoch or two and then recovering is normal (the demo's scratch runs do).

``--no-divergence-stop`` turns both off.
"""
import math

from ..errors import UserError

#: The loss counts as diverged above this multiple of its starting value.
LOSS_FACTOR = 3.0
#: ... for this many batches in a row (or one epoch, when an epoch is shorter).
SUSTAIN_BATCHES = 24
#: Epochs in a row of one-class predictions before a fine-tuning run is stopped.
COLLAPSE_EPOCHS = 2
#: Fewer evaluation images than this and the one-class check stays off.
COLLAPSE_MIN_IMAGES = 40

ADVICE = ("Its last completed epoch is kept. Find a rate that suits this network and data with "
          "`gluon-finetune lr-find`, or lower --lr (e.g. 0.001) or --head-lr-mult (e.g. 1), or use "
          "--recipe fast; --no-divergence-stop turns this check off.")


class Diverged(UserError):
    """Training went wrong in a way that does not heal (see the module docstring)."""

    exit_code = 3


class DivergenceWatch:
    """Follows one run's loss stretches and epoch predictions; raises :class:`Diverged`.

    Parameters
    ----------
    classes : int
        Number of classes (the starting value is at least ln(classes)).
    epoch_images : int
        Training images per epoch (this worker's).
    batch_size : int
    finetune : bool
        Whether the features are pretrained (the one-class check applies).
    enabled : bool
        False: every method does nothing.
    start_loss : float, optional
        The starting value of a resumed run (its first epoch's loss); default:
        measured on the first stretch.
    """

    def __init__(self, classes, epoch_images, batch_size, finetune=True, enabled=True,
                 start_loss=None):
        self.enabled = enabled and classes >= 2
        self.floor = math.log(max(classes, 2))
        self.start = None
        self.limit = None
        if start_loss is not None:
            self._set_start(start_loss)
        self.sustain = max(1, min(int(epoch_images), SUSTAIN_BATCHES * int(batch_size)))
        self.finetune = finetune
        self.high_images = 0
        self.collapsed_epochs = 0
        self.best_acc = None  # the best accuracy of an epoch that predicted several classes

    def _set_start(self, loss):
        self.start = max(self.floor, loss)
        self.limit = LOSS_FACTOR * self.start

    def stretch(self, mean_loss, images):
        """Record ``images`` trained at ``mean_loss``; raise once the loss stayed too high."""
        if not self.enabled or images <= 0 or not math.isfinite(mean_loss):
            return  # (a NaN is the NaN stop's)
        if self.start is None:
            self._set_start(mean_loss)
            return
        if mean_loss <= self.limit:
            self.high_images = 0
            return
        self.high_images += images
        if self.high_images >= self.sustain:
            raise Diverged(
                "training diverged: the training loss stayed above %g x its starting value "
                "(%.3g) for %d images in a row, lately %.3g. The learning rate is too high for "
                "this network's features. %s"
                % (LOSS_FACTOR, self.start, self.high_images, mean_loss, ADVICE))

    def epoch(self, epoch, counts, acc, on="test"):
        """Check the epoch's predicted-class ``counts`` (accuracy ``acc``) on the ``on`` images.

        All predictions in one class while some are wrong (the images hold
        another class too), after an epoch that did better, counts as
        collapsed; raise after enough epochs of it.
        """
        total = sum(counts or ())
        if not (self.enabled and self.finetune) or len(counts or ()) < 2 \
                or total < COLLAPSE_MIN_IMAGES:
            return
        if max(counts) == total and acc < 1:
            was_better = self.best_acc is not None and self.best_acc > acc
            self.collapsed_epochs = self.collapsed_epochs + 1 if was_better else 0
        else:
            self.collapsed_epochs = 0
            self.best_acc = acc if self.best_acc is None else max(self.best_acc, acc)
        if self.collapsed_epochs >= COLLAPSE_EPOCHS:
            raise Diverged(
                "training diverged: after epoch %d the network predicts one class for all %d %s "
                "images, %d epochs in a row. %s" % (epoch, total, on, self.collapsed_epochs, ADVICE))
