"""``gluon-finetune data``: get, check, show and generate image folders.

Each action is its own module (``data_<action>.py``) with ``register(subparsers)``.
"""
import importlib

from . import formatter

ACTIONS = ["download", "check", "show", "synth"]


def register(sub):
    p = sub.add_parser(
        "data", formatter_class=formatter,
        help="get, check, show or generate image folders",
        description="Get, check, show or generate image folders.\n\n"
                    "A dataset is a folder with train/<class>/* and test/<class>/*\n"
                    "(or a single <class>/* folder, split for you by a seeded ratio).")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    for name in ACTIONS:
        importlib.import_module(".data_" + name, __package__).register(actions)
    p.set_defaults(func=lambda args: p.print_help() or 2)
