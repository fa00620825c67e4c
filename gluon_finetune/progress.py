"""Progress bars that show on a terminal and stay silent in logs and pipes."""
import sys

from tqdm.auto import tqdm


def bar_enabled(quiet=False, stream=None):
    """True when a progress bar would help: not quiet and writing to a terminal."""
    stream = sys.stderr if stream is None else stream
    return not quiet and hasattr(stream, "isatty") and stream.isatty()


def progress(iterable=None, total=None, desc=None, unit="it", quiet=False, **kwargs):
    """Wrap ``iterable`` in a tqdm bar, disabled when not on a terminal or quiet."""
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False,
                disable=not bar_enabled(quiet), dynamic_ncols=True, **kwargs)
