"""User-facing errors.

Every problem a user can fix (bad input, a wrong path, a checkpoint for another model) is raised as
an :class:`NSTDetError` whose message says what is wrong and where. The command-line tools catch
this one class and exit non-zero with the message alone, not a traceback.
"""


class NSTDetError(Exception):
    """A problem with the user's input, data, configuration or files."""


class InvalidInputError(NSTDetError, ValueError):
    """An argument has the wrong shape, type, value or contents."""
