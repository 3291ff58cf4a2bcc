"""Record fingerprints stay put across versions: re-imports after an upgrade double nothing."""

from __future__ import annotations

import datetime as dt

from paceline.config import Settings
from paceline.ingest.entities import content_hash, finish_activity

CALL = {
    "rep": "Ana Ruiz",
    "kind": "call",
    "occurred_at": (dt.datetime(2026, 11, 20, 15, 0), dt.datetime(2026, 11, 20, 10, 0)),
    "duration_min": 5.0,
    "outcome": "meeting_set",
    "has_ask": True,
    "account": "Acme",
}


def test_fingerprint_is_pinned(settings: Settings) -> None:
    """A golden value: if this changes, stored hashes and content keys of every earlier
    import no longer match, so every re-import would report updates (or double id-less rows).
    Change it only with a migration that rewrites row_hash and content-keyed external ids."""
    record = finish_activity(dict(CALL), settings)
    assert record["row_hash"] == "584729677c4445d597d2e3e0816933f6"
    assert record["external_id"] == "h:584729677c4445d597d2e3e0816933f6"


def test_a_new_empty_field_changes_no_fingerprint(settings: Settings) -> None:
    record = finish_activity(dict(CALL), settings)
    fields = {k: v for k, v in record.items() if k not in ("row_hash", "external_id")}
    assert content_hash({**fields, "a_field_from_a_later_version": None}) == record["row_hash"]
    assert content_hash(dict(reversed(list(fields.items())))) == record["row_hash"]
    assert content_hash({**fields, "duration_min": 6.0}) != record["row_hash"]
