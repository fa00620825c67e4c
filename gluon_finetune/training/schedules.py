"""Learning-rate schedules beyond MXNet's own: one-cycle, and a head-only phase before any schedule.

- :class:`OneCycle` is Smith and Topin's one-cycle policy (2019) as PyTorch's
  ``OneCycleLR`` and fastai's ``fit_one_cycle`` compute it: the rate rises from
  ``peak / div`` to ``peak`` over the first ``pct_start`` of the updates and falls
  to ``peak / (div * final_div)`` by the last one, both halves cosine-shaped;
  momentum moves the opposite way (``max_momentum -> base_momentum -> max_momentum``).
- :class:`HeadFirst` holds a constant rate for the first updates (the epochs in
  which only the head trains, ``--freeze-epochs``) and then runs any schedule
  from its own step 1.

Both are functions of the optimizer's update count alone, so a resumed run
(whose optimizer state carries the count) continues them exactly. MXNet's SGD
reads its ``momentum`` attribute on every update, right after asking the
schedule for the rate: a schedule bound to the optimizer (:meth:`OneCycle.bind`)
sets the momentum of the same update there.
"""
import math

from mxnet.lr_scheduler import LRScheduler


def cos_anneal(start, end, pct):
    """From ``start`` (pct 0) to ``end`` (pct 1) along half a cosine."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


class OneCycle(LRScheduler):
    """The one-cycle rate (and momentum) of update ``num_update`` (1 = the first) of ``total``.

    Parameters
    ----------
    total : int
        Number of updates of the cycle.
    peak : float
        The highest rate (``--lr``).
    pct_start : float
        Fraction of the updates spent rising (PyTorch's default 0.3, fastai's 0.25).
    div : float
        The first rate is ``peak / div`` (25 in both libraries).
    final_div : float
        The last rate is ``peak / div / final_div`` (1e4 in PyTorch).
    max_momentum, base_momentum : float or None
        Momentum at the ends and at the peak of the rate; None leaves momentum alone.
    """

    def __init__(self, total, peak, pct_start=0.25, div=25.0, final_div=1e4,
                 max_momentum=0.95, base_momentum=0.85):
        super().__init__(base_lr=peak)
        self.total = max(int(total), 2)
        self.peak, self.div, self.final_div = peak, div, final_div
        # PyTorch's phase ends, in 0-based steps: the peak falls on step pct*total - 1.
        self.up_end = max(float(pct_start * self.total) - 1, 1.0)
        self.down_end = float(self.total - 1)
        self.max_momentum, self.base_momentum = max_momentum, base_momentum
        self.optimizer = None

    def bind(self, optimizer):
        """Set ``optimizer.momentum`` whenever the rate is asked for (see the module's note)."""
        self.optimizer = optimizer
        return self

    def _phase(self, num_update):
        step = min(max(num_update - 1, 0), self.total - 1)  # MXNet counts the first update as 1
        if step <= self.up_end:
            return True, step / self.up_end
        return False, (step - self.up_end) / max(self.down_end - self.up_end, 1.0)

    def rate(self, num_update):
        up, pct = self._phase(num_update)
        low = self.peak / self.div
        if up:
            return cos_anneal(low, self.peak, pct)
        return cos_anneal(self.peak, low / self.final_div, pct)

    def momentum(self, num_update):
        if self.max_momentum is None:
            return None
        up, pct = self._phase(num_update)
        if up:
            return cos_anneal(self.max_momentum, self.base_momentum, pct)
        return cos_anneal(self.base_momentum, self.max_momentum, pct)

    def __call__(self, num_update):
        if self.optimizer is not None and self.max_momentum is not None:
            self.optimizer.momentum = self.momentum(num_update)
        return self.rate(num_update)


class HeadFirst(LRScheduler):
    """``lr`` (and ``momentum``) for the first ``hold`` updates, then ``then`` from its step 1.

    ``then`` is another schedule (or None: ``lr`` throughout). Bound to an
    optimizer it sets the momentum of the held updates and passes the binding on.
    """

    def __init__(self, hold, lr, then=None, momentum=None):
        super().__init__(base_lr=lr)
        self.hold, self.lr, self.then, self.held_momentum = int(hold), lr, then, momentum
        self.optimizer = None

    def bind(self, optimizer):
        self.optimizer = optimizer
        if hasattr(self.then, "bind"):
            self.then.bind(optimizer)
        return self

    def __call__(self, num_update):
        if num_update <= self.hold:
            if self.optimizer is not None and self.held_momentum is not None:
                self.optimizer.momentum = self.held_momentum
            return self.lr
        if self.then is None:
            return self.lr
        return self.then(num_update - self.hold)
