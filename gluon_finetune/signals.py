"""Stop signals as exceptions, so that a stopped process cleans up the way Ctrl-C does.

``train`` turns SIGTERM into an interrupt, so ``kill`` also saves the weights;
``launch`` turns SIGINT, SIGTERM and SIGHUP into one, so it stops the job it
started instead of orphaning it. Both use :class:`signals_as_interrupt`.

A signal's handler runs in whatever Python code is executing, and an exception
raised inside a finalizer (MXNet's ``NDArray.__del__`` runs often) is printed and
ignored: that Ctrl-C would be lost. So the signal is also remembered, and loops
call :func:`raise_pending` at safe points to raise it again. Python would also print
the swallowed raise as "Exception ignored in ... Traceback"; within the block a
``sys.unraisablehook`` keeps that quiet, since the interrupt is not lost.
"""
import signal
import sys

#: The stop signal that arrived inside the current block (None: none).
_pending = None


def raise_pending():
    """Raise :class:`Interrupted` if a stop signal arrived and its first raise was swallowed."""
    if _pending is not None:
        raise Interrupted(_pending)


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived; ``signum`` says which (caught like Ctrl-C's KeyboardInterrupt)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class signals_as_interrupt:
    """Within the ``with`` block, raise :class:`Interrupted` on the named signals.

    Parameters
    ----------
    names : str
        Signal names such as ``"SIGTERM"``; those the platform lacks are skipped.

    Outside the main thread, where Python cannot install handlers, signals are
    left alone. The previous handlers come back when the block ends.
    """

    def __init__(self, *names):
        self.names = names or ("SIGTERM",)
        self._old = {}
        self._old_hook = None

    def __enter__(self):
        global _pending
        _pending = None
        self._old = {}
        for name in self.names:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            try:
                self._old[signum] = signal.signal(signum, self._raise)
            except ValueError:  # not the main thread
                pass
        if self._old:
            self._old_hook = sys.unraisablehook
            sys.unraisablehook = self._unraisable
        return self

    def _unraisable(self, unraisable):
        # An interrupt raised inside a finalizer: raise_pending() raises it again.
        if isinstance(unraisable.exc_value, Interrupted):
            return
        self._old_hook(unraisable)

    @staticmethod
    def _raise(signum, frame):
        global _pending
        _pending = signum
        raise Interrupted(signum)

    def __exit__(self, *exc):
        global _pending
        _pending = None
        for signum, old in self._old.items():
            signal.signal(signum, old)
        if self._old_hook is not None:
            sys.unraisablehook, self._old_hook = self._old_hook, None
        return False
