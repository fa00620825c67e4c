"""``gluon-finetune data``: get, check, show, generate and pack image folders.

Each action is its own module (``data_<action>.py``) with ``register(subparsers)``.
"""
import importlib

from . import formatter

ACTIONS = ["download", "check", "show", "synth", "pack"]


def register(sub):
    p = sub.add_parser(
        "data", formatter_class=formatter,
        help="get, check, show, generate or pack image folders",
        description="Get, check, show, generate or pack image folders.\n\n"
                    "A dataset is a folder with train/<class>/* and test/<class>/*\n"
                    "(or a single <class>/* folder, split for you by a seeded ratio),\n"
                    "a CSV file of paths and labels, or RecordIO files (data pack).")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    for name in ACTIONS:
        importlib.import_module(".data_" + name, __package__).register(actions)
    p.set_defaults(func=lambda args: p.print_help() or 2)
