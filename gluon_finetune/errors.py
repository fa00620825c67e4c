"""The one exception type for mistakes a user can fix.

Library code raises :class:`UserError` for bad input (a missing file, an unknown
option value, a folder in the wrong shape). The command line prints its message
and exits with status 2, without a traceback; Python callers can catch it.
"""


class UserError(Exception):
    """A problem with the user's input, with a message that says what to do."""

    exit_code = 2
