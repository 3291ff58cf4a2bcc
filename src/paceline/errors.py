"""Errors a user can fix by changing what they typed or uploaded.

Every face shows these as one clear message (the CLI as a red line and exit status 1, the API
as a 422), never as a traceback; anything else is a bug.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserInputError(ValueError):
    """Input that cannot be used; the message names the field or step and the reason."""


class BadParameter(UserInputError):
    """A request parameter with a value outside its rule: names the field, the value given
    and what is allowed, so every face (the API, a page, a download) can say all three."""

    def __init__(self, field: str, value: str, allowed: str) -> None:
        super().__init__(f"{field}: {value!r} is not allowed; use {allowed}")
        self.field = field
        self.value = value
        self.allowed = allowed


class UnlearnableError(UserInputError):
    """The data cannot support the answer asked for (`reason` says why): a forecast whose
    history's wins have no known sales cycle. A backtest skips such a cut-off with it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.reason = reason


def did_you_mean(
    typed: str, known: Iterable[str], n: int = 3, quoted: bool = True, cutoff: float = 0.6
) -> str:
    """'; did you mean 'Ana Ruiz'?' for the closest known names, or '' when none is close.

    One wording for every "unknown name" error, whichever face or analysis raises it.
    """
    close = difflib.get_close_matches(typed, list(known), n=n, cutoff=cutoff)
    if not close:
        return ""
    shown = map(repr, close) if quoted else close
    return f"; did you mean {' or '.join(shown)}?"


class InputError(UserInputError):
    """Input a person typed that cannot be used; `field` says which."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(Exception):
    """A rep, team or record that does not exist (or, for a record by id, that the caller may
    not see: both answers are the same, so ids cannot be probed). `field` names the query or
    path parameter that named it, when one did. Faces: 404."""

    def __init__(self, what: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.what = what
        self.message = message
        self.field = field


class Forbidden(Exception):
    """Something that exists but is out of the caller's reach; `what` completes "not allowed:
    ..." (the API) and "You are not allowed to ..." (the pages). Faces: 403."""

    def __init__(self, what: str) -> None:
        super().__init__(f"not allowed: {what}")
        self.what = what


class Conflict(Exception):
    """A write that clashes with a record the caller may not see (an external id already
    used out of their reach): retrying cannot help, and saying whose it is would leak it.
    `field` names the value to change. Faces: 409."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
