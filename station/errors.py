"""Errors that reach the user as one clear line (no traceback)."""


class UserError(Exception):
    """A problem the user can act on. The message says what is wrong and what to do."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
