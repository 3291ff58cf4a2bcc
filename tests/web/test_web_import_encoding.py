"""The web Import page takes an encoding: a cp1252 file (Excel on Windows) had its accented
rows refused with "import it again in that encoding", which the page could not do."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from factories import csrf_of, import_page_client, migrated_sqlite_copy, upload_activities
from paceline.config import Settings
from paceline.store.models import Account, Activity

CP1252 = (
    "rep,kind,occurred_at,account\n"
    "Ana Ruiz,call,2026-11-16T10:00,Café Müller\n"
    "Ana Ruiz,email,2026-11-17T11:00,Acme\n"
).encode("cp1252")


def test_a_cp1252_file_imports_whole_once_its_encoding_is_given(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, settings: Settings
) -> None:
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path)
    client, page = import_page_client(engine, settings)
    assert 'name="encoding"' in page
    csrf = csrf_of(page)

    def upload(encoding: str) -> str:
        return upload_activities(client, csrf, CP1252, encoding=encoding)

    def accounts() -> list[str]:
        with engine.connect() as conn:
            return sorted(conn.execute(select(Account.name)).scalars())

    refused = upload("")  # read as UTF-8: the "é" row is refused, naming the fix
    assert "Encoding field" in refused
    assert accounts() == ["Acme"]
    unknown = upload("klingon")
    assert "unknown encoding &#39;klingon&#39;" in unknown
    upload("cp1252")
    assert accounts() == ["Acme", "Café Müller"]
    with engine.connect() as conn:
        assert len(conn.execute(select(Activity.id)).all()) == 2  # the Acme call once, re-read
