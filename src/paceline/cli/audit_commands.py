"""`paceline audit`: the audit log of changes, for the operator."""

from __future__ import annotations

import datetime as dt
import json

import typer

from paceline.cli import JSON_OPTION, _ctx, app, handles_errors, out
from paceline.errors import InputError
from paceline.terminal import escape, new_table


def _since(text: str | None) -> dt.datetime | None:
    """A date (from its midnight) or an ISO time; both UTC, as the log stores them."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError("--since", f"not a date or time (YYYY-MM-DD[THH:MM]): {text!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


@app.command("audit")
@handles_errors
def audit_log(
    ctx: typer.Context,
    since: str | None = typer.Option(None, help="Only changes at or after (UTC date or time)."),
    user: str | None = typer.Option(
        None, help='Only changes by this user ("operator": the command line; "import N").'
    ),
    entity: str | None = typer.Option(
        None, help="Only changes to: activity, deal, target, user, rep, token or import."
    ),
    limit: int = typer.Option(100, min=1, max=500, help="At most this many entries."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Who changed what and when, from which face, with the fields before and after."""
    from paceline.access import OPERATOR
    from paceline.serialize import dumps
    from paceline.services import audit

    page = audit.read(
        _ctx(ctx).engine(), OPERATOR, since=_since(since), user=user, entity=entity, limit=limit
    )
    if as_json:
        out.print_json(dumps(page))
        return
    table = new_table(title=f"Audit log ({len(page.items)} of {page.total})")
    for name in ("when (UTC)", "who", "face", "what", "action", "before", "after"):
        table.add_column(name)
    for e in page.items:
        table.add_row(
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            escape(e.actor),
            e.face,
            f"{e.entity} {e.entity_id or ''}".strip(),
            e.action,
            escape(json.dumps(e.before)) if e.before is not None else "",
            escape(json.dumps(e.after)) if e.after is not None else "",
        )
    out.print(table)
