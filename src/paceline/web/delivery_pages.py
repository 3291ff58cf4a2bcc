"""The admin page of alert deliveries: what each channel sent to whom, when, and what
failed and why (the web face of `paceline alerts log`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from paceline import params, plugins
from paceline.callers import app_state
from paceline.store.deliveries import delivery_channels, delivery_log
from paceline.web.common import User, checked_params, refused, render

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
    channels = sorted(set(plugins.alert_channels()) | set(delivery_channels(engine)))
    with checked_params():
        chosen = params.delivery_channel(channel, channels)
    records = delivery_log(engine, chosen, failed, SHOWN)
    return render(
        request,
        "deliveries.html",
        caller,
        {
            "active": "deliveries",
            "records": records,
            "channels": channels,
            "channel": chosen or "",
            "failed": failed,
            "shown": SHOWN,
        },
    )
