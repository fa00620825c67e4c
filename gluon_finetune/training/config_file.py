"""Training settings from a file: YAML or JSON, a run's own ``config.json`` included.

A file holds :class:`~gluon_finetune.training.config.TrainConfig` fields by name (``batch_size``
or ``batch-size``), any subset of them, as timm's and GluonCV's YAML configs do::

    data: data/hotdog
    model: mobilenet0.75
    epochs: 10
    schedule: cosine

Every key is checked before anything runs: an unknown key is refused with the nearest
valid one, a value of the wrong type with the type the key takes.
"""
import dataclasses
import difflib
import json
import os
import typing

from ..errors import UserError
from .config import TrainConfig

#: The fields a file may set, in TrainConfig's order.
FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


def file_of(path):
    """The file ``--config path`` reads: ``path``, or a run folder's ``config.json``."""
    if not os.path.isdir(path):
        return path
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise UserError("--config %s is a folder without config.json; give a YAML or JSON "
                        "file, or a run folder" % path)
    return os.path.join(path, "config.json")


def read(path):
    """The settings in the YAML or JSON file ``path`` (or a run folder's ``config.json``).

    Returns
    -------
    dict
        Field name to value, checked by :func:`check`.
    """
    path = file_of(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        raise UserError("cannot read --config %s: %s" % (path, err.strerror or err)) from None
    data = _parse(text, path)
    if isinstance(data, dict) and isinstance(data.get("config"), dict) and "made_by" in data:
        data = data["config"]  # a run's config.json: the settings are under "config"
    if not isinstance(data, dict):
        raise UserError("--config %s must hold a mapping of option names to values, e.g. "
                        "'epochs: 10'; it holds a %s" % (path, type(data).__name__))
    return check(data, "--config %s" % path)


def _parse(text, path):
    """JSON when the file is JSON (a run's config.json), YAML otherwise."""
    if path.lower().endswith(".json"):
        try:
            return json.loads(text)
        except ValueError as err:
            raise UserError("--config %s is not valid JSON: %s" % (path, err)) from None
    import yaml

    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise UserError("--config %s is not valid YAML: %s" % (path, " ".join(str(err).split()))) \
            from None


def check(data, source="the config"):
    """``data`` with keys normalised (``-`` to ``_``) and every key and value checked.

    Raises
    ------
    UserError
        Naming the key: an unknown one with the nearest valid key, a wrong type with
        the type expected.
    """
    checked = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in FIELDS:
            near = difflib.get_close_matches(name, FIELDS, n=1)
            raise UserError("%s: unknown key %r%s; the keys are the options of `gluon-finetune "
                            "train --help`, spelled as in config.json (batch_size, ...)"
                            % (source, key, " (did you mean %r?)" % near[0] if near else ""))
        ok, expected = _type_ok(value, FIELDS[name].type)
        if not ok:
            raise UserError("%s: %s must be %s, got %r" % (source, name, expected, value))
        checked[name] = float(value) if expected.startswith("a number") and value is not None \
            else value
    return checked


def _type_ok(value, annotation):
    """Whether ``value`` fits the field type ``annotation``, and that type in words."""
    optional = typing.get_origin(annotation) is typing.Union
    if optional:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    words = {bool: "true or false", int: "a whole number", float: "a number",
             str: "a string"}
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        expected = "a list of %ss" % ("whole number" if item is int else "number")
        ok = isinstance(value, list) and all(_scalar_ok(v, item) for v in value)
    else:
        expected = words[annotation]
        ok = _scalar_ok(value, annotation)
    if optional:
        expected += " or null (the default)"
    return ok or (optional and value is None), expected


def _scalar_ok(value, kind):
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)  # true is not 1, 1 is not true
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def to_yaml(config):
    """``config`` (a TrainConfig) as YAML, its fields in declaration order."""
    import yaml

    return yaml.safe_dump(config.to_dict(), sort_keys=False, default_flow_style=None)
