"""The Pipedrive connector: users, stages, deals and activities through Pipedrive's API v1.

- Users (`GET /v1/users`) and stages (`GET /v1/stages`) are fetched whole every time: they
  name every owner and stage.
- A first (or `--full`) sync lists deals (`GET /v1/deals`) and activities
  (`GET /v1/activities?user_id=0`, every user's) whole, 100 at a time, following
  `additional_data.pagination.next_start`.
- Later syncs ask `GET /v1/recents` for the deals and activities changed since the
  object's cursor (`since_timestamp`, one second earlier: Pipedrive counts in seconds, and
  a record changed in the same second as the cursor must not be missed; the records seen
  again import as unchanged), paged the same way.
- The cursor is the latest `update_time` fetched (UTC, `2026-05-15 10:06:38`), per object.
- The token goes in the `x-api-token` header, never in the URL.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from paceline.ingest.crm.shipped import FolderStep
from paceline.ingest.sync import Fetched, write_page_file
from paceline.ingest.sync.http import Client, Sleep, SyncHttpError

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# object -> (list endpoint and its fixed parameters, the item type /v1/recents names)
OBJECTS: dict[str, tuple[str, dict[str, Any], str]] = {
    "deals": ("/v1/deals", {"sort": "update_time ASC"}, "deal"),
    "activities": ("/v1/activities", {"user_id": 0}, "activity"),
}


class PipedriveConnector:
    """`paceline sync pipedrive`: a personal API token in `PACELINE_PIPEDRIVE_TOKEN`."""

    name = "pipedrive"
    base_url = "https://api.pipedrive.com"
    token_env = "PACELINE_PIPEDRIVE_TOKEN"

    def client(self, token: str, base_url: str, sleep: Sleep) -> Client:
        headers = {"x-api-token": token, "Accept": "application/json"}
        return Client(base_url, headers, secrets=(token,), sleep=sleep)

    def fetch(
        self, client: Client, cursors: dict[str, str], folder: Path, page_size: int
    ) -> Fetched:
        fetched = Fetched()
        users = _data(client.get("/v1/users"), "/v1/users")
        write_page_file(folder / "users.json", "data", users)
        stages = list(_paged(client, "/v1/stages", {}, page_size))
        write_page_file(folder / "stages.json", "data", stages)
        fetched.records += len(users)
        if users:
            fetched.steps.append(FolderStep("users.json", "reps", "pipedrive:users"))
        for name, (path, params, item) in OBJECTS.items():
            since = cursors.get(name)
            if since is None:
                records = list(_paged(client, path, params, page_size))
            else:
                records = _recents(client, item, since, page_size)
            if not records:
                continue
            fetched.records += len(records)
            write_page_file(folder / f"{name}.json", "data", records)
            mark = max(str(r.get("update_time") or "") for r in records)
            if mark and (since is None or mark > since):
                fetched.cursors[name] = mark
            fetched.steps.append(
                FolderStep(
                    f"{name}.json",
                    "deals" if name == "deals" else "activities",
                    f"pipedrive:{name}",
                    "stages.json" if name == "deals" else None,
                    "users.json",
                )
            )
        return fetched


def _data(page: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(page, dict) or page.get("success") is False:
        raise SyncHttpError(f"GET {path}: the answer says it did not succeed")
    data = page.get("data")
    if data is None:
        return []  # Pipedrive answers an empty list with data: null
    if not isinstance(data, list):
        raise SyncHttpError(f"GET {path}: the answer's data is not a list")
    return data


def _paged(client: Client, path: str, params: dict[str, Any], page_size: int) -> Any:
    """Every record of a v1 list, following `additional_data.pagination`."""
    start = 0
    while True:
        page = client.get(path, {**params, "start": start, "limit": page_size})
        yield from _data(page, path)
        pagination = (page.get("additional_data") or {}).get("pagination") or {}
        if not pagination.get("more_items_in_collection"):
            return
        following = pagination.get("next_start")
        if not isinstance(following, int) or following <= start:
            raise SyncHttpError(f"GET {path}: more items announced without a next_start")
        start = following


def _recents(client: Client, item: str, since: str, page_size: int) -> list[dict[str, Any]]:
    """The `item` records changed since `since` (one second earlier), each once, latest
    version last."""
    try:
        earlier = dt.datetime.strptime(since, TIME_FORMAT) - dt.timedelta(seconds=1)
    except ValueError:
        raise SyncHttpError(f"the {item} cursor {since!r} is not a Pipedrive time") from None
    params = {"since_timestamp": earlier.strftime(TIME_FORMAT), "items": item}
    found: dict[str, dict[str, Any]] = {}
    for entry in _paged(client, "/v1/recents", params, page_size):
        record = entry.get("data") if isinstance(entry, dict) else None
        if entry.get("item") == item and isinstance(record, dict):
            found[str(record.get("id"))] = record
    return list(found.values())
