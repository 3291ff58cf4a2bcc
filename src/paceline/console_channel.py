"""The built-in alert channel "console": the alert table `paceline alerts` prints.

It prints to `paceline.terminal` rather than living in the CLI package, so the web
application can load the built-in plugins without importing the command line.

It is registered through the same hook as any plugin's channel (`register_alert_channels`);
the alerts command has no special case for it beyond making it the default.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from paceline.channels import AlertChannel
from paceline.hookspecs import hookimpl
from paceline.terminal import new_table, number_cell, out

if TYPE_CHECKING:  # named for the hints only: every command loads this plugin at start-up
    from paceline.analytics.alerts import Alert, AlertReport
    from paceline.config import Settings

NAME = "console"


def print_alerts(report: AlertReport, _settings: Settings | None = None) -> None:
    """Print the report as a table, with the rules it applied; "none" when nobody is."""
    title = f"Alerts as of {report.as_of} ({report.period_label})"
    stretch = report.stretch
    if stretch.trailing:
        title += (
            f"; behind pace and zero read the last {stretch.business_days} business days,"
            f" {stretch.start} to {stretch.end - dt.timedelta(days=1)}: too few yet this period"
        )
    if not report.alerts:
        out.print(f"{title}: none. Rules: " + "; ".join(report.rules.values()))
        return
    table = new_table(title=title, title_justify="left")
    for name in ("rep", "team", "alert", "metric"):
        table.add_column(name)
    for name in ("actual", "expected", "behind by", "since"):
        table.add_column(name, justify="right")
    for alert in report.alerts:
        table.add_row(
            alert.rep,
            alert.team or "",
            _alert_text(alert),
            alert.metric_label or "",
            number_cell(alert.actual),
            number_cell(alert.expected),
            "" if alert.shortfall is None else f"{alert.shortfall:.0%}",
            "" if alert.since is None else alert.since.isoformat(),
        )
    out.print(table)
    out.print("Rules: " + "; ".join(f"{k}: {v}" for k, v in report.rules.items()))


def _alert_text(alert: Alert) -> str:
    if alert.rule == "no_selling":
        return f"[bold red]no selling for {alert.business_days} business days[/]"
    over = f" (last {alert.trailing_days} business days)" if alert.trailing_days else ""
    if alert.rule == "zero_key_metric":
        return f"[bold red]at zero{over}[/]"
    return f"[red]behind pace{over}[/]"


CONSOLE_CHANNEL = AlertChannel(
    name=NAME,
    description="Print the alerts as a table on the terminal (the default).",
    deliver=print_alerts,
)


@hookimpl
def register_alert_channels() -> list[AlertChannel]:
    return [CONSOLE_CHANNEL]
