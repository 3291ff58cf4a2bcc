"""Short-lived server-side state of the pages: undo stashes and import error files.

Both live in this process only (and the error files in a temporary directory): an undo
offered by one server process must be taken on the same one. That fits `paceline serve`
(one process); behind several workers an undo may answer "expired", never do harm.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paceline.web.import_jobs import ImportJobs

UNDO_SECONDS = 15 * 60
IMPORT_FILE_SECONDS = 24 * 3600
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass
class UndoStash:
    """Deleted records kept for a while, each under a random token, for their user only."""

    seconds: float = UNDO_SECONDS
    _items: dict[str, tuple[int, float, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, user_id: int, record: dict[str, Any]) -> str:
        token = secrets.token_urlsafe(18)
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            self._items[token] = (user_id, now + self.seconds, record)
        return token

    def take(self, user_id: int, token: str) -> dict[str, Any] | None:
        """The stashed record (removed from the stash), or None if unknown or expired."""
        with self._lock:
            self._expire(time.monotonic())
            item = self._items.get(token)
            if item is None or item[0] != user_id:
                return None
            del self._items[token]
            return item[2]

    def _expire(self, now: float) -> None:
        for token in [t for t, (_, until, _) in self._items.items() if until < now]:
            del self._items[token]


@dataclass
class ImportFiles:
    """Uploaded files while they import, and the errors files afterwards, for download."""

    seconds: float = IMPORT_FILE_SECONDS
    _root: Path | None = None
    _downloads: dict[str, tuple[Path, str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def root(self) -> Path:
        with self._lock:
            if self._root is None or not self._root.exists():
                self._root = Path(tempfile.mkdtemp(prefix="paceline-web-imports-"))
            return self._root

    def workspace(self) -> Path:
        """A fresh directory for one import."""
        self._expire()
        folder = self.root / secrets.token_hex(8)
        folder.mkdir()
        return folder

    def offer(self, path: Path, download_name: str) -> str:
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._downloads[token] = (path, download_name, time.monotonic() + self.seconds)
        return token

    def get(self, token: str) -> tuple[Path, str] | None:
        if not TOKEN_PATTERN.fullmatch(token):
            return None
        with self._lock:
            item = self._downloads.get(token)
        if item is None or item[2] < time.monotonic() or not item[0].exists():
            return None
        return item[0], item[1]

    def _expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            old = [t for t, (_, _, until) in self._downloads.items() if until < now]
            paths = [self._downloads.pop(t)[0] for t in old]
        for path in paths:
            shutil.rmtree(path.parent, ignore_errors=True)


@dataclass
class WebState:
    undo: UndoStash = field(default_factory=UndoStash)
    imports: ImportFiles = field(default_factory=ImportFiles)
    jobs: ImportJobs = field(default_factory=ImportJobs)
