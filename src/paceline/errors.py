"""Errors a user can fix by changing what they typed or uploaded.

Every face shows these as one clear message (the CLI as a red line and exit status 1, the API
as a 422), never as a traceback; anything else is a bug.
"""

from __future__ import annotations


class UserInputError(ValueError):
    """Input that cannot be used; the message names the field or step and the reason."""
