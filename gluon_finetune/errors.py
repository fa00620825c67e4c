"""The one exception type for mistakes a user can fix, and how to show an error in one line.

Library code raises :class:`UserError` for bad input (a missing file, an unknown
option value, a folder in the wrong shape). The command line prints its message
and exits with status 2, without a traceback; Python callers can catch it.
"""


class UserError(Exception):
    """A problem with the user's input, with a message that says what to do."""

    exit_code = 2


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
