"""Errors a user can fix by changing what they typed or uploaded.

Every face shows these as one clear message (the CLI as a red line and exit status 1, the API
as a 422), never as a traceback; anything else is a bug.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserInputError(ValueError):
    """Input that cannot be used; the message names the field or step and the reason."""


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
