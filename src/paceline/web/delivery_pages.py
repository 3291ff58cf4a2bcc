"""The admin page of alert deliveries: what each channel sent to whom, when, and what
failed and why (the web face of `paceline alerts log`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from paceline.callers import app_state
from paceline.store.deliveries import delivery_log
from paceline.web.common import User, refused, render

router = APIRouter(include_in_schema=False)
SHOWN = 500


@router.get("/deliveries")
def deliveries_page(
    request: Request, caller: User, channel: str = "", failed: bool = False
) -> Response:
    """Newest first; `channel` and `failed` narrow the list like the command's options."""
    if not caller.principal.can_administer:
        raise refused("see alert deliveries (that page is for admins)")
    engine = app_state(request).engine
    records = delivery_log(engine, channel or None, failed, SHOWN)
    channels = sorted({r.channel for r in delivery_log(engine, None, False, SHOWN)} | {channel})
    return render(
        request,
        "deliveries.html",
        caller,
        {
            "active": "deliveries",
            "records": records,
            "channels": [c for c in channels if c],
            "channel": channel,
            "failed": failed,
            "shown": SHOWN,
        },
    )
