"""The web Import page takes a delimiter: its error used to say "pass --delimiter", an option
the page did not have."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from factories import csrf_of, import_page_client, migrated_sqlite_copy, upload_activities
from paceline.config import Settings
from paceline.store.models import Activity

SEMICOLONS = b"rep;kind;occurred_at\nAna Ruiz;call;2026-11-16T10:00\nAna Ruiz;email;2026-11-17\n"


def test_a_semicolon_file_imports_once_its_delimiter_is_chosen(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, settings: Settings
) -> None:
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path)
    client, page = import_page_client(engine, settings)
    assert 'name="delimiter"' in page
    csrf = csrf_of(page)

    def upload(delimiter: str) -> str:
        return upload_activities(client, csrf, SEMICOLONS, delimiter=delimiter)

    refused = upload("")
    assert "seems to be delimited by &#39;;&#39;" in refused
    assert "Delimiter field" in refused and "pass --delimiter" not in refused
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Activity)).scalar() == 0
    upload(";")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Activity)).scalar() == 2
    assert "delimiter: one of" in upload("x")
