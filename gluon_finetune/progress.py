"""Progress on a terminal, in a notebook, and in log files.

A terminal and a Jupyter notebook get a tqdm bar (tqdm's notebook front end in a
notebook, whose stderr is not a terminal). Anywhere else (``nohup``, CI logs, a pipe)
a bar would only print carriage returns, so long passes print a line now and then
instead (:class:`ProgressLines`): batch, loss, images per second and the time left.
"""
import sys
import time

#: Seconds between progress lines when no batch interval is set (--log-interval).
LINE_SECONDS = 10.0


def in_notebook():
    """Whether this process is a Jupyter (IPython) kernel, where tqdm draws a widget."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def bar_enabled(quiet=False, stream=None):
    """True when a progress bar would help: not quiet, on a terminal or in a notebook."""
    stream = sys.stderr if stream is None else stream
    return not quiet and ((hasattr(stream, "isatty") and stream.isatty()) or in_notebook())


def progress(iterable=None, total=None, desc=None, unit="it", quiet=False, **kwargs):
    """Wrap ``iterable`` in a tqdm bar, disabled when quiet or where no bar shows."""
    from tqdm.auto import tqdm  # on first use: `gluon-finetune --help` needs no tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False,
                disable=not bar_enabled(quiet), dynamic_ncols=True, **kwargs)


class ProgressLines:
    """A progress line every ``every`` batches, or every :data:`LINE_SECONDS` without it.

    ``write(line)`` gets lines such as ``epoch 2/5: batch 40/120, loss 0.4512,
    183.2 img/s, 0:00:26 left``. The caller reads the loss from the device only
    when :meth:`due` says a line is due, so a pass is not slowed between lines.
    """

    def __init__(self, total, desc, write, every=None, seconds=LINE_SECONDS, clock=time.monotonic):
        self.total, self.desc, self.write = total, desc, write
        self.every, self.seconds, self.clock = every, seconds, clock
        self.start = self.last = clock()

    def due(self, batch):
        """Whether a line is due after ``batch`` (1-based) batches; never after the last."""
        if batch >= self.total:
            return False  # the epoch's own line follows
        if self.every:
            return batch % self.every == 0
        return self.clock() - self.last >= self.seconds

    def line(self, batch, images, loss):
        """Write the line for ``batch`` batches and ``images`` images at mean ``loss``."""
        now = self.clock()
        self.last = now
        elapsed = max(now - self.start, 1e-9)
        left = elapsed / batch * (self.total - batch)
        self.write("%s: batch %d/%d, loss %.4f, %.1f img/s, %s left"
                   % (self.desc, batch, self.total, loss, images / elapsed, _clock_text(left)))


def _clock_text(seconds):
    seconds = int(round(seconds))
    return "%d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)
