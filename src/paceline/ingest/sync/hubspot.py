"""The HubSpot connector: CRM v3 objects through HubSpot's REST API, by modification time.

- The owners (`GET /crm/v3/owners`) and the deal pipelines (`GET /crm/v3/pipelines/deals`)
  are fetched whole every time: they are short, and they name every deal's owner and stage.
- A first (or `--full`) sync lists each object whole (`GET /crm/v3/objects/{object}`, 100
  at a time, following `paging.next.after`), with the properties and associations the
  shipped mappings read.
- Later syncs ask the search API for the records whose `hs_lastmodifieddate` is at or after
  the object's cursor (`POST /crm/v3/objects/{object}/search`, oldest first). The search API
  returns no associations, so they are read for each page with the v4 batch read
  (`POST /crm/v4/associations/{object}/{to}/batch/read`) and put back in the list layout, so
  an updated call keeps its account, contact and deal. A search stops at 10,000 results;
  past that the search starts again from the last modification time it reached.
- The cursor is the latest `updatedAt` (= `hs_lastmodifieddate`) fetched, per object.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paceline.ingest.crm.shipped import FolderStep
from paceline.ingest.sync import Fetched, write_page_file
from paceline.ingest.sync.http import Client, Sleep, SyncHttpError

SEARCH_LIMIT = 10_000  # HubSpot's search API pages no further than this many results
MODIFIED = "hs_lastmodifieddate"


@dataclass(frozen=True)
class HubSpotObject:
    """One CRM object the sync pulls, and how it imports."""

    name: str  # the API's object type: "calls"
    entity: str
    properties: tuple[str, ...]
    associations: tuple[str, ...]


OBJECTS: tuple[HubSpotObject, ...] = (
    HubSpotObject("companies", "accounts", ("name",), ()),
    HubSpotObject(
        "deals",
        "deals",
        ("dealname", "amount", "dealstage", "pipeline", "closedate", "createdate",
         "hubspot_owner_id"),
        ("companies",),
    ),
    HubSpotObject(
        "calls",
        "activities",
        ("hs_timestamp", "hs_call_duration", "hs_call_disposition", "hs_call_status",
         "hs_call_title", "hubspot_owner_id"),
        ("companies", "contacts", "deals"),
    ),
    HubSpotObject(
        "meetings",
        "activities",
        ("hs_meeting_start_time", "hs_meeting_end_time", "hs_meeting_outcome",
         "hs_meeting_title", "hubspot_owner_id"),
        ("companies", "contacts", "deals"),
    ),
    HubSpotObject(
        "emails",
        "activities",
        ("hs_timestamp", "hs_email_direction", "hs_email_subject", "hubspot_owner_id"),
        ("companies", "contacts", "deals"),
    ),
    HubSpotObject(
        "tasks",
        "activities",
        ("hs_timestamp", "hs_task_status", "hs_task_type", "hs_task_subject",
         "hubspot_owner_id"),
        ("companies", "contacts", "deals"),
    ),
)  # fmt: skip


class HubSpotConnector:
    """`paceline sync hubspot`: a private app's token in `PACELINE_HUBSPOT_TOKEN`."""

    name = "hubspot"
    base_url = "https://api.hubapi.com"
    token_env = "PACELINE_HUBSPOT_TOKEN"

    def client(self, token: str, base_url: str, sleep: Sleep) -> Client:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return Client(base_url, headers, secrets=(token,), sleep=sleep)

    def fetch(
        self, client: Client, cursors: dict[str, str], folder: Path, page_size: int
    ) -> Fetched:
        fetched = Fetched()
        owners = list(_listed(client, "/crm/v3/owners", {"limit": page_size}))
        write_page_file(folder / "owners.json", "results", owners)
        pipelines = client.get("/crm/v3/pipelines/deals")
        if not isinstance(pipelines, dict) or not isinstance(pipelines.get("results"), list):
            raise SyncHttpError("GET /crm/v3/pipelines/deals: the answer has no results list")
        write_page_file(folder / "pipelines.json", "results", pipelines["results"])
        fetched.records += len(owners)
        if owners:
            fetched.steps.append(FolderStep("owners.json", "reps", "hubspot:owners"))
        for obj in OBJECTS:
            since = cursors.get(obj.name)
            if since is None:
                records = list(_list_object(client, obj, page_size))
            else:
                records = _search_object(client, obj, since, page_size)
            if not records:
                continue
            fetched.records += len(records)
            file = f"{obj.name}.json"
            write_page_file(folder / file, "results", records)
            mark = max((_modified(r) for r in records), key=_instant)
            if mark and (since is None or _instant(mark) > _instant(since)):
                fetched.cursors[obj.name] = mark
            deals = obj.name == "deals"
            fetched.steps.append(
                FolderStep(
                    file,
                    obj.entity,  # type: ignore[arg-type]
                    f"hubspot:{obj.name}",
                    "pipelines.json" if deals else None,
                    "owners.json" if obj.entity in ("deals", "activities") else None,
                )
            )
        return fetched


def _properties(obj: HubSpotObject) -> list[str]:
    return [*obj.properties, MODIFIED, "hs_object_id"]


def _listed(client: Client, path: str, params: dict[str, Any]) -> Any:
    """Every record of a list endpoint, following `paging.next.after`."""
    after: str | None = None
    while True:
        page = client.get(path, {**params, **({"after": after} if after else {})})
        results = page.get("results") if isinstance(page, dict) else None
        if not isinstance(results, list):
            raise SyncHttpError(f"GET {path}: the answer has no results list")
        yield from results
        after = _next_after(page)
        if after is None:
            return


def _next_after(page: dict[str, Any]) -> str | None:
    after = ((page.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None


def _list_object(client: Client, obj: HubSpotObject, page_size: int) -> Any:
    params: dict[str, Any] = {"limit": page_size, "properties": ",".join(_properties(obj))}
    if obj.associations:
        params["associations"] = ",".join(obj.associations)
    return _listed(client, f"/crm/v3/objects/{obj.name}", params)


def _search_object(
    client: Client, obj: HubSpotObject, since: str, page_size: int
) -> list[dict[str, Any]]:
    """The records modified at or after `since`, oldest first, with their associations."""
    path = f"/crm/v3/objects/{obj.name}/search"
    found: dict[str, dict[str, Any]] = {}
    lower = since
    after: str | None = None
    while True:
        body: dict[str, Any] = {
            "filterGroups": [
                {"filters": [{"propertyName": MODIFIED, "operator": "GTE", "value": _ms(lower)}]}
            ],
            "sorts": [{"propertyName": MODIFIED, "direction": "ASCENDING"}],
            "properties": _properties(obj),
            "limit": min(page_size, 200),
        }
        if after:
            body["after"] = after
        page = client.post(path, body)
        results = page.get("results") if isinstance(page, dict) else None
        if not isinstance(results, list):
            raise SyncHttpError(f"POST {path}: the answer has no results list")
        _associate(client, obj, results)
        for record in results:
            found[str(record.get("id"))] = record
        after = _next_after(page)
        if after is None:
            return list(found.values())
        if int(after) + min(page_size, 200) > SEARCH_LIMIT and results:
            newest = _modified(results[-1])  # start again from where the search got to
            if _instant(newest) <= _instant(lower):
                raise SyncHttpError(
                    f"POST {path}: more than {SEARCH_LIMIT:,} records changed at {newest}; "
                    "run `paceline sync hubspot --full`"
                )
            lower, after = newest, None


def _associate(client: Client, obj: HubSpotObject, records: list[dict[str, Any]]) -> None:
    """Give searched records the `associations` the list endpoint would have given."""
    ids = [{"id": str(r.get("id"))} for r in records if r.get("id") is not None]
    if not ids:
        return
    for to in obj.associations:
        path = f"/crm/v4/associations/{obj.name}/{to}/batch/read"
        answer = client.post(path, {"inputs": ids})
        linked: dict[str, list[dict[str, str]]] = {}
        for item in (answer or {}).get("results") or []:
            source = str((item.get("from") or {}).get("id", ""))
            targets = [
                {"id": str(t["toObjectId"]), "type": f"{obj.name}_to_{to}"}
                for t in item.get("to") or []
                if t.get("toObjectId") is not None
            ]
            linked[source] = targets
        for record in records:
            targets = linked.get(str(record.get("id")), [])
            if targets:
                record.setdefault("associations", {})[to] = {"results": targets}


def _modified(record: dict[str, Any]) -> str:
    properties = record.get("properties") or {}
    return str(record.get("updatedAt") or properties.get(MODIFIED) or "")


def _instant(text: str) -> dt.datetime:
    """An ISO 8601 time (HubSpot's `2026-03-09T20:29:45.981Z`) as aware UTC; unreadable: the
    earliest, so it never wins as a cursor."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _ms(text: str) -> str:
    """A cursor as the epoch milliseconds the search filter compares with."""
    return str(int(_instant(text).timestamp() * 1000))
