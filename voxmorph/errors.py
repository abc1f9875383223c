"""The one exception type a user can cause.

Everything a user can get wrong (a bad file, an unknown voice, an unwritable path) raises
:class:`UserError` with a one-line message; the CLI prints it and exits non-zero, without a
traceback. Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input, reported as one line."""


class AudioError(UserError):
    """An input file that cannot be used as speech audio."""


class VoiceError(UserError):
    """An unknown, invalid or damaged voice."""
