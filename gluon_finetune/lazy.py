"""Names a package exports without importing their modules until first use (PEP 562)."""
import importlib
import sys

__all__ = ["lazy_getattr"]


def lazy_getattr(package, table):
    """A module ``__getattr__`` for ``package``: ``table`` maps each name to the
    (relative) module that defines it, imported the first time the name is asked
    for and then kept in the package, so the next use costs nothing."""

    def __getattr__(name):
        if name in table:
            value = getattr(importlib.import_module(table[name], package), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError("module %r has no attribute %r" % (package, name))

    return __getattr__
