"""The one exception type whose message is meant for the person at the keyboard."""


class UserError(Exception):
    """Bad input or setup: `str(err)` says what is wrong and how to fix it, in a paragraph, no traceback."""
