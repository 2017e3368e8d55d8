"""User-facing errors: one line, a hint, a distinct exit status, never a traceback."""

from __future__ import annotations

import re
from typing import NoReturn

# Messages quote user input; a newline or terminal escape in it must not break the one line.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


EXIT_FAILED = 1  # something was attempted and failed (a build, a check)
EXIT_USAGE = 2  # the user's input is wrong (manifest, arguments, missing tool)


class UserError(Exception):
    """An error caused by input the user can fix; printed as one line plus a hint."""

    exit_status = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None, *, location: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return one_line(text)


class ToolMissing(UserError):
    """A required external program is not installed."""


class StageFailed(UserError):
    """A stage ran and failed on real input (a build, a check); exit status 1."""

    exit_status = EXIT_FAILED


def die(message: str, hint: str | None = None, *, location: str | None = None) -> NoReturn:
    raise UserError(message, hint, location=location)
