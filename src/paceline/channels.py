"""Alert channels: where an alert report goes once the analysis has made it.

The analysis (`paceline.analytics.alerts`) decides who is behind; a channel only delivers
that report, so every channel tells the same story. Channels come from plugins
(`register_alert_channels`); the console output of `paceline alerts` is the built-in one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # named for the hints only: loading the plugins must not load the analyses
    from paceline.analytics.alerts import AlertReport
    from paceline.config import Settings

Deliver = Callable[["AlertReport", "Settings"], None]


@dataclass(frozen=True)
class AlertChannel:
    """A named way to deliver alerts: `deliver(report, settings)` sends the whole report
    (which may hold no alerts: a channel decides whether "nothing to report" is news)."""

    name: str
    description: str
    deliver: Deliver
