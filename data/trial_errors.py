"""The one error type of the trial file API."""
from __future__ import annotations

from station.errors import UserError


class TrialError(UserError):
    """The file is not a readable trial (or a trial operation is not allowed). One-line message.

    A UserError, so CLI commands that let it through print one line and exit non-zero.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class TrialWriteError(TrialError):
    """Writing a trial failed (full disk, I/O error). The writer is then `failed`; the file keeps
    what was flushed before the error (status 'recording'; `station recover` finishes it)."""
