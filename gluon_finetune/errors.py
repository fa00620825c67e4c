"""The one exception type for mistakes a user can fix, and how to show an error in one line.

Library code raises :class:`UserError` for bad input (a missing file, an unknown
option value, a folder in the wrong shape). The command line prints its message
and exits with status 2, without a traceback; Python callers can catch it.
:class:`OptionError` is one about a setting, named as the caller knows it: the
field (``batch_size``) for Python callers, the flag (``--batch-size``) on the
command line.
"""
import re

_FIELD = re.compile(r"\{([a-z][a-z0-9_]*)\}")


class UserError(Exception):
    """A problem with the user's input, with a message that says what to do."""

    exit_code = 2


class OptionError(UserError):
    """A bad setting. ``template`` names settings as ``{field}``; the message names fields.

    ``str(err)`` says ``batch_size must be at least 1``; the command line shows
    :meth:`render` with its flags instead: ``--batch-size must be at least 1``.
    ``labels`` gives other words for some fields in the library's message.
    """

    def __init__(self, template, labels=None):
        self.template = template
        self.labels = dict(labels or {})
        super().__init__(self.render(self.labels))

    def render(self, names):
        """The message with each ``{field}`` replaced by ``names.get(field, field)``."""
        return _FIELD.sub(lambda m: names.get(m.group(1), m.group(1)), self.template)


def first_line(err):
    """The one line of exception ``err`` worth showing a user.

    MXNet's errors start with a C++ "Traceback (most recent call last):" header
    and end with the reason (``MXNetError: Check failed: ...: Invalid NDArray
    file format``), so for those the last line is the one that says something;
    for any other error it is the first line. An error without text gives its
    type's name.
    """
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    if lines[0].startswith("Traceback"):
        return lines[-1].replace("MXNetError: ", "", 1)
    return lines[0]
