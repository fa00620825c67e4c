"""How a setting is declared, once: a dataclass field made by :func:`option`, and rules.

Each setting of :class:`~gluon_finetune.training.config.TrainConfig`, of the
inference commands (:mod:`gluon_finetune.inference.options`), of INT8
(:mod:`gluon_finetune.inference.int8.options`) and of ``serve``
(:mod:`gluon_finetune.serve.options`) is a dataclass field made by :func:`option`:
its name, type and default are the field's, and its metadata holds the rest, the
flag, the help text, the argparse form, how a command-line string becomes the
value and back, and its range check. A check that reads several fields is a
:class:`Rule` in the class's ``RULES``, beside the fields. Everything else is
derived from these declarations:

- each command adds one argparse option per field (:func:`gluon_finetune.cli.add_option`)
  and reads the parsed flags back into the dataclass (:func:`from_args`);
- ``--config FILE`` maps a file's fields onto ``train``'s options (:func:`cli_value`);
- :func:`check` runs each field's check and then the rules; a refusal is an
  :class:`~gluon_finetune.errors.OptionError`: a Python caller reads the field's
  name (``batch_size must be at least 1``), the command line its flag
  (:func:`flags`: ``--batch-size must be at least 1``).

This module is a leaf: it imports only :mod:`gluon_finetune.errors`, so ``--help``
and ``import gluon_finetune.augment`` stay light.
"""
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Tuple

from .errors import OptionError

__all__ = ["Option", "option", "at_least", "option_of", "options", "flags", "cli_value", "check_fields",
           "Rule", "check_rules", "check", "from_args", "default_of"]

#: The forms an option takes on the command line.
KINDS = (
    "value",     # --flag VALUE
    "switch",    # --flag / --no-flag (argparse.BooleanOptionalAction)
    "negated",   # --flag sets the field False (--no-hybridize, --no-access-log)
    "negated_switch",  # --flag / --no-flag, the field its opposite (--offline: allow_download)
    "store_true",  # --flag sets the field True (--amp, --int8)
)


@dataclass(frozen=True)
class Option:
    """The command-line side of one field. See :func:`option`."""

    flag: str
    help: str
    group: Optional[str] = None
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
    """A dataclass field with its option: ``option(128, flag="--batch-size", help=...)``.

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
        ``check[0](value)`` must hold; else ``check[1]`` is refused, with ``%(value)r``
        in it replaced by the value, after ``"{field} "`` unless it names the field itself.
    """
    meta = {"option": Option(**spec)}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def at_least(least, got=False):
    """The check of a count: at least ``least`` (``batch_size must be at least 1``, and with
    ``got``, ``, got 0``)."""
    return (lambda v: v >= least, "must be at least %d%s" % (least, ", got %(value)s" if got else ""))


@dataclass(frozen=True)
class Rule:
    """A check that reads several fields: ``holds(config)`` must be true.

    ``message`` is an :class:`~gluon_finetune.errors.OptionError` template: ``{field}``
    names a field (the flag on the command line), and ``%(field)s`` / ``%(field)r``
    is that field's value. ``labels`` gives other words for some fields in the
    library's message (``mode='scratch'`` for ``--scratch``).
    """

    holds: Callable[[Any], bool]
    message: str
    labels: Optional[dict] = None


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


def flags(*classes, extra=None):
    """``{field: flag}`` of the options of ``classes`` (and ``extra``), for
    :meth:`OptionError.render`."""
    out = {}
    for cls in classes:
        out.update((f.name, o.flag) for f, o in options(cls))
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


def from_args(cls, args, **fields):
    """An instance of ``cls`` from parsed command-line ``args``: each field from its flag.

    A field whose flag the parser does not have keeps its default; ``fields`` win.
    """
    values = {}
    for f, o in options(cls):
        if hasattr(args, o.dest):
            value = getattr(args, o.dest)
            values[f.name] = (not value) if o.kind in ("negated", "negated_switch") else value
    values.update(fields)
    return cls(**values)


def check_fields(config):
    """Refuse the first field of ``config`` whose option's check fails."""
    for f, o in options(type(config)):
        value = getattr(config, f.name)
        if o.check and not o.check[0](value):
            message = o.check[1]
            if "%(value)" in message:
                message = message % {"value": value}
            if "{%s}" % f.name not in message:
                message = "{%s} %s" % (f.name, message)
            raise OptionError(message)


def check_rules(config, rules):
    """Refuse with the first of ``rules`` that ``config`` breaks."""
    for rule in rules:
        if not rule.holds(config):
            message = rule.message
            if "%(" in message:
                message = message % {f.name: getattr(config, f.name)
                                     for f in dataclasses.fields(config)}
            raise OptionError(message, rule.labels)


def check(config):
    """Run every field's check of ``config``, then its class's ``RULES``; return ``config``."""
    check_fields(config)
    check_rules(config, getattr(type(config), "RULES", ()))
    return config
