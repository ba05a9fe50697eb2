"""Errors a user can act on: the CLI prints them as one line, never as a traceback."""


class UserError(Exception):
    """A bad input or a missing prerequisite; the message says what to do."""
