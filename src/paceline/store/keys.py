"""The one normalisation of names for matching, and the stored key columns built from it.

`name_key` lives here, below the models, because the models fill their `name_key` columns
with it on every insert (a column default): whatever writes an account or a contact (an
import, the API, the demo, SQL written through SQLAlchemy by a test) stores its key, and an
update that changes a name passes through `with_name_key`. Look-ups then compare keys on an
index, where `lower(name)` could use none, and folded only ASCII on SQLite ('Élodie' was not
'élodie').
"""

from __future__ import annotations

import unicodedata
from typing import Any

# The longest name the keyed tables store; NFKC may lengthen a name (a ligature becomes two
# letters), so the key column is wider than the name.
KEY_LENGTH = 400


def name_key(name: str) -> str:
    """Names match case- and space-insensitively: 'ana  ruiz' is 'Ana Ruiz'; and as they look,
    not as they were typed: 'José' with a combining accent (NFD, as macOS files write it) or
    in full-width letters is 'José' (NFKC), so one person never becomes two reps."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def name_key_default(context: Any) -> str:
    """Column default: the key of the row's `name` (an insert always gives a name)."""
    return name_key(str(context.get_current_parameters()["name"]))


def with_name_key(values: dict[str, Any]) -> dict[str, Any]:
    """An update's values with the key of a new name (updates get no column default)."""
    if values.get("name") is None:
        return values
    return {**values, "name_key": name_key(str(values["name"]))}
