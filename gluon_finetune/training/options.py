"""How a setting of :class:`~gluon_finetune.training.config.TrainConfig` is declared, once.

Each field of ``TrainConfig`` is made by :func:`option`: its name, type and default
are the field's, and its metadata holds the rest, the flag, the help text, the
argparse form, how a command-line string becomes the value and back, and its
range check. Everything else is derived from that one declaration:

- ``gluon-finetune train`` (``compare``, ``lr-find``) adds one argparse option per
  field (:func:`gluon_finetune.cli.train.add_training_options`) and builds the
  config from the parsed flags (``config_from_args``);
- ``--config FILE`` maps a file's fields onto those options (:func:`cli_value`);
- :meth:`TrainConfig.resolved` runs each field's check, and its refusals are
  :class:`~gluon_finetune.errors.OptionError`: a Python caller reads the field's
  name (``batch_size must be at least 1``), the command line its flag
  (:func:`flags`: ``--batch-size must be at least 1``).
"""
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Tuple

from ..errors import OptionError

__all__ = ["Option", "option", "option_of", "options", "flags", "cli_value", "check_fields"]

#: The forms an option takes on the command line.
KINDS = (
    "value",     # --flag VALUE
    "switch",    # --flag / --no-flag (argparse.BooleanOptionalAction)
    "negated",   # --flag sets the field False (--no-hybridize, --no-divergence-stop)
    "negated_switch",  # --flag / --no-flag, the field its opposite (--offline: allow_download)
)


@dataclass(frozen=True)
class Option:
    """The command-line side of one field. See :func:`option`."""

    flag: str
    help: str
    group: str
    metavar: Optional[str] = None
    type: Optional[Callable] = None
    choices: Optional[Tuple] = None
    kind: str = "value"
    from_recipe: bool = False
    parse: Optional[Callable] = None
    show: Optional[Callable] = None
    nargs: Optional[str] = None
    const: Any = None
    check: Optional[Tuple[Callable, str]] = None

    @property
    def dest(self):
        """argparse's attribute for the flag: ``--batch-size`` -> ``batch_size``."""
        return self.flag.lstrip("-").replace("-", "_")


def option(default=dataclasses.MISSING, *, factory=dataclasses.MISSING, **spec):
    """A ``TrainConfig`` field with its option: ``option(128, flag="--batch-size", help=...)``.

    Parameters
    ----------
    default, factory
        The field's default (or default factory), as :func:`dataclasses.field` takes them.
    flag, help, group
        The flag, its help text (``{default}`` is replaced by the field's default,
        argparse's ``%(default)s`` by the option's) and the ``--help`` group it shows in.
    metavar, type, choices, nargs, const
        As ``argparse.add_argument`` takes them.
    kind : str
        One of :data:`KINDS`.
    from_recipe : bool
        The recipe fills the field when the flag is not given (its argparse default is
        None); ``--recipe`` names the recipe.
    parse, show : callable
        A command-line string to the field's value, and back (``--step-epochs 3,4``).
    check : (callable, str)
        ``check[0](value)`` must hold; else ``"{field} " + check[1]`` is refused.
    """
    meta = {"option": Option(**spec)}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def option_of(f):
    """The :class:`Option` of dataclass field ``f``, or None for a field without one."""
    return f.metadata.get("option")


def options(cls):
    """``[(field, Option), ...]`` of every field of ``cls`` that has an option."""
    return [(f, option_of(f)) for f in dataclasses.fields(cls) if option_of(f)]


def default_of(f):
    """The default value of dataclass field ``f``."""
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def flags(cls, extra=None):
    """``{field: flag}`` of ``cls``'s options (and ``extra``), for :meth:`OptionError.render`."""
    out = {f.name: o.flag for f, o in options(cls)}
    out.update(extra or {})
    return out


def cli_value(f, value):
    """``(argparse dest, value)`` of field ``f`` set to ``value`` in a config file."""
    o = option_of(f)
    if o.kind in ("negated", "negated_switch"):
        return o.dest, (not value) if value is not None else value
    if o.show and value is not None:
        return o.dest, o.show(value)
    return o.dest, value


def check_fields(config):
    """Refuse the first field of ``config`` whose option's check fails."""
    for f, o in options(type(config)):
        if o.check and not o.check[0](getattr(config, f.name)):
            raise OptionError("{%s} %s" % (f.name, o.check[1]))
