"""CRM API JSON -> the import's rows: find the records, flatten them into text columns.

Every CRM answers a list request with the records inside an envelope (HubSpot `results`,
Pipedrive and Close `data`), nested objects inside the records (HubSpot `properties` and
`associations`, Pipedrive's `user_id` object) and its own conventions for times and
booleans. A CRM source (`hubspot.py`, `pipedrive.py`) loads the file here, adds the columns
only it can compute (a stage's label and status from the pipeline definition, an owner's name
from the owners file) and hands a `JsonTable` to the import, which maps and checks the text
columns like any CSV's. Nothing here knows a CRM's field names.

Flattening rules (the column names the shipped mappings use):
- the keys of a lifted object (HubSpot's `properties`) become top-level columns;
- a nested object becomes `key.sub` columns; when it has an `id` (or Pipedrive's `value`),
  `key` itself holds that id, so `user_id` is the user's id whether the API gave a number or
  the `{id, name, email}` object;
- a list of objects gives `key` = the first object's id, `key.ids` = every id joined by `;`
  and `key.sub` = the first object's fields (HubSpot's `{"results": [...]}` wrapper is a list);
- a list of plain values is joined by `;`; null is empty; booleans are `true`/`false`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from paceline.ingest.csvfile import ImportFileError
from paceline.ingest.sources import Row, RowTable

Flat = dict[str, str]
StageStatus = Literal["open", "won", "lost"]
ENVELOPE_KEYS = ("results", "data", "records", "items")
# 12 or 13 digits: epoch milliseconds between 2001-09 and 2286 (HubSpot's hs_timestamp and
# its v1 engagement timestamps); never a plain id, as only time-named columns are converted.
_EPOCH_MS = re.compile(r"^\d{12,13}$")


def load_json(path: Path) -> Any:
    """The parsed file (one JSON document, or JSON lines: one record per line)."""
    try:
        text = path.read_text("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path.name}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ImportFileError(f"{path.name}: cannot read: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as whole:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 2:
            raise ImportFileError(f"{path.name}: not valid JSON: {whole}") from None
        try:
            return [json.loads(line) for line in lines]
        except json.JSONDecodeError:
            raise ImportFileError(f"{path.name}: not valid JSON: {whole}") from None


def find_records(data: Any, name: str) -> list[dict[str, Any]]:
    """The records of a list response, whatever wraps them.

    Accepted: a bare list; `{"results"|"data"|"records"|"items": [...]}` (the APIs' own
    envelopes, one page); a list of such pages (several pages saved together); and a recorded
    test fixture `{"api": {"get": {endpoint: {"response": page}}}}` (Nango's), every GET
    response in it, in order."""
    if isinstance(data, dict) and isinstance(data.get("api"), dict):
        responses = data["api"].get("get") or {}
        pages = [r.get("response") for r in responses.values() if isinstance(r, dict)]
        return [record for page in pages for record in find_records(page, name)]
    if isinstance(data, dict):
        for key in ENVELOPE_KEYS:
            if isinstance(data.get(key), list):
                return _objects(data[key], name)
        raise ImportFileError(
            f"{name}: no list of records found (looked for a JSON list or an object with "
            f"{', '.join(ENVELOPE_KEYS)}; the file's keys: {', '.join(list(data)[:10])})"
        )
    if isinstance(data, list):
        if data and all(isinstance(p, dict) and _is_page(p) for p in data):
            return [record for page in data for record in find_records(page, name)]
        return _objects(data, name)
    raise ImportFileError(f"{name}: expected a JSON object or list, not {type(data).__name__}")


def _is_page(item: dict[str, Any]) -> bool:
    return any(isinstance(item.get(k), list) for k in ENVELOPE_KEYS) and "id" not in item


def _objects(items: list[Any], name: str) -> list[dict[str, Any]]:
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ImportFileError(f"{name}: record {number} is not an object: {item!r:.60}")
    return items


def text(value: Any) -> str:
    """One JSON scalar as the import reads text: null is empty, booleans true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")  # 1e-05 would not parse as a number
    return str(value)


def flatten(record: dict[str, Any], lift: Iterable[str] = ()) -> Flat:
    """One record as text columns (see the module docstring for the rules)."""
    flat: Flat = {}
    lifted = set(lift)
    for key, value in record.items():
        if key in lifted and isinstance(value, dict):
            for sub, inner in value.items():
                _put(flat, sub, inner)
        else:
            _put(flat, key, value)
    return flat


def _put(flat: Flat, key: str, value: Any) -> None:
    if isinstance(value, dict) and set(value) == {"results"} and isinstance(value["results"], list):
        value = value["results"]  # HubSpot's association wrapper
    if isinstance(value, dict):
        ident = value.get("id", value.get("value"))
        if ident is not None and not isinstance(ident, (dict, list)):
            flat[key] = text(ident)
        for sub, inner in value.items():
            _put(flat, f"{key}.{sub}", inner)
    elif isinstance(value, list):
        objects = [v for v in value if isinstance(v, dict)]
        if objects:
            ids = [text(o.get("id")) for o in objects if o.get("id") is not None]
            flat[key] = ids[0] if ids else ""
            flat[f"{key}.ids"] = ";".join(ids)
            for sub, inner in objects[0].items():
                if not isinstance(inner, (dict, list)):
                    flat[f"{key}.{sub}"] = text(inner)
        else:
            flat[key] = ";".join(text(v) for v in value)
    else:
        flat.setdefault(key, text(value))


def epoch_ms_to_iso(value: str) -> str:
    """'1712745000000' -> '2024-04-10T10:30:00Z'; any other text unchanged."""
    if not _EPOCH_MS.match(value):
        return value
    moment = dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class FlatRecord:
    """One flattened record and, when the CRM source found it untrustworthy, why."""

    values: Flat
    problem: str | None = None


class JsonTable(RowTable):
    """Flattened records as the import's rows: the header is every column any record has
    (in first-seen order, `always` first), a record lacking one has it empty. Rows are
    numbered by record, from 1, and messages say "line N" for record N."""

    def __init__(
        self, name: str, records: list[FlatRecord], always: Iterable[str] = (), hint: str = ""
    ) -> None:
        header: dict[str, None] = dict.fromkeys(always)
        for record in records:
            header.update(dict.fromkeys(record.values))
        super().__init__(name, list(header))
        self.records = records
        self.hint = hint  # the source's word on where its derived columns come from
        self._done = 0

    def rows(self) -> Iterator[Row]:
        for number, record in enumerate(self.records, 1):
            self._done = number
            yield number, [record.values.get(c, "") for c in self.header], record.problem

    def progress(self) -> tuple[int, int]:
        return (self._done, len(self.records))

    def header_hint(self, wanted: list[str]) -> str:
        return super().header_hint(wanted) + self.hint


# --- pipeline definitions -------------------------------------------------------------------


@dataclass(frozen=True)
class CrmStage:
    """One stage of a CRM's pipeline definition, as Paceline will call it.

    `name` is what the deal's stage becomes (the label normalised like every stage name:
    "Closed Won" -> closed_won), so a deal counts in the configured `[[stages]]` entry of that
    name. `status` is None when the CRM keeps won/lost on the deal, not the stage (Pipedrive)."""

    id: str
    label: str
    pipeline: str
    status: StageStatus | None
    probability: float | None  # 0..1

    @property
    def name(self) -> str:
        from paceline.ingest.entities import slug  # the tables' module: loaded when used

        return slug(self.label)


def stages_toml(stages: Iterable[CrmStage], configured: Iterable[str] = ()) -> str:
    """The `[[stages]]` entries a configuration needs for these CRM stages, as TOML to paste
    into paceline.toml; stages already configured (by name) are left out. Stages with the
    same name in several pipelines are one entry (the first one's probability)."""
    have = set(configured)
    blocks: list[str] = []
    for stage in stages:
        if stage.name in have:
            continue
        have.add(stage.name)
        lines = ["[[stages]]", f'name = "{stage.name}"', f"label = {json.dumps(stage.label)}"]
        if stage.status in ("won", "lost"):
            lines.append(f'status = "{stage.status}"')
        if stage.probability is not None:
            lines.append(f"probability = {stage.probability:g}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def by_id(stages: Iterable[CrmStage]) -> dict[str, CrmStage]:
    return {stage.id: stage for stage in stages}


# --- recognising a CRM's JSON (import detect, --from chosen by the file) ---------------------

SNIFF_LIMIT = 50_000_000  # bytes: a bigger file is not loaded just to be recognised


def sample_records(path: Path, count: int = 5) -> tuple[Any, list[dict[str, Any]]]:
    """(the parsed document, its first records) when `path` is a JSON list response that
    can be read; (None, []) otherwise. Never raises: recognising a file is a guess."""
    try:
        if path.stat().st_size > SNIFF_LIMIT:
            return None, []
        data = load_json(path)
        return data, find_records(data, path.name)[:count]
    except (ImportFileError, OSError):
        return None, []


def endpoints(data: Any) -> list[str]:
    """The GET paths of a recorded test fixture (`{"api": {"get": {path: ...}}}`), else []."""
    if isinstance(data, dict) and isinstance(data.get("api"), dict):
        return [str(path) for path in (data["api"].get("get") or {})]
    return []
