"""`paceline alerts`: who is behind, through a channel; `paceline alerts log`: what went where.

A channel with a `deliver` function (the console) gets the whole report every run; one with a
`sender` (e-mail, Slack, Teams, the webhook) is delivered once per change by
`paceline.channels.delivery`, which keeps the delivery log that `alerts log` prints.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import typer

from paceline import clock
from paceline.cli import JSON_OPTION, _ctx, app, err, handles_errors, out
from paceline.terminal import new_table

if TYPE_CHECKING:  # the analyses and the store load when a command runs
    from paceline.config import Settings
    from paceline.store.deliveries import DeliveryRecord

alerts_app = typer.Typer(
    help="Who is behind, idle or at zero on a key metric: what, by how much, since when."
)
app.add_typer(alerts_app, name="alerts")

AS_OF_OPTION = typer.Option(
    None, "--as-of", formats=["%Y-%m-%d"], help="Evaluate as of this day (default: today)."
)


@alerts_app.callback(invoke_without_command=True)
@handles_errors
def alerts_command(
    ctx: typer.Context,
    team: str | None = typer.Option(None, "--team", help="Only this team."),
    as_of: dt.datetime | None = AS_OF_OPTION,
    channel: str = typer.Option(
        "console",
        "--channel",
        help="Where the alerts go: console (printed here), email, slack, teams, webhook "
        "or a plugin's channel.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Who is behind, idle or at zero on a key metric: what, by how much, since when."""
    from paceline import plugins
    from paceline.analytics.alerts import alerts
    from paceline.channels.delivery import deliver_once_per_change
    from paceline.serialize import dumps

    if ctx.invoked_subcommand is not None:
        return
    c = _ctx(ctx)
    chosen = plugins.alert_channel(channel)  # an unknown channel fails before any work
    if chosen.sender is not None:
        chosen.sender(c.settings)  # and one that cannot work (its settings, secrets) too
    report = alerts(c.engine(), c.settings, as_of.date() if as_of else None, team)
    if chosen.sender is not None:
        run = deliver_once_per_change(
            c.engine(), c.settings, chosen, report, clock.utcnow(), team=team
        )
        if as_json:
            out.print_json(dumps({"report": report, "delivery": run}))
        else:
            out.print(
                f"{chosen.name}: sent {run.messages} message(s) with {run.alerts} alert(s);"
                f" {run.unchanged} already sent and still standing, {run.cleared} cleared"
            )
        for failure in run.failed:
            err.print(f"[red]{chosen.name}: not delivered to {failure.recipient}: {failure.error}")
        if run.failed:
            raise typer.Exit(1)
        return
    printed_here = chosen.name == "console"
    if chosen.deliver is not None and not (printed_here and as_json):
        chosen.deliver(report, c.settings)  # on the console, --json replaces the table
    if as_json:
        out.print_json(dumps(report))
    elif not printed_here:
        out.print(
            f"sent {len(report.alerts)} alert(s) for {len(report.reps)} rep(s) "
            f"through {chosen.name}"
        )


@alerts_app.command("log")
@handles_errors
def log_command(
    ctx: typer.Context,
    channel: str | None = typer.Option(None, "--channel", help="Only this channel."),
    failed: bool = typer.Option(
        False, "--failed", help="Only deliveries whose last attempt failed."
    ),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many, newest first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """What each channel sent to whom and when, and what failed and why (newest first)."""
    from paceline import params, plugins
    from paceline.serialize import dumps
    from paceline.store.deliveries import delivery_channels, delivery_log

    c = _ctx(ctx)
    engine = c.engine()
    if channel is not None:  # the page's rule: a channel that exists, or one the log records
        known = set(plugins.alert_channels()) | set(delivery_channels(engine))
        try:
            channel = params.delivery_channel(channel, known)
        except params.BadParameter as exc:  # named as the option is typed, as other options are
            raise typer.BadParameter(
                f"{exc.value!r} is not allowed; use {exc.allowed}", param_hint="--channel"
            ) from None
    records = delivery_log(engine, channel, failed, limit)
    if as_json:
        out.print_json(dumps(records))
        return
    if not records:
        out.print("No deliveries" + (" failed." if failed else " yet."))
        return
    table = new_table(title="Alert deliveries (times in UTC)", title_justify="left")
    for name in ("found", "channel", "to", "rep", "alert", "period", "status", "tries", "error"):
        table.add_column(name)
    for record in records:
        table.add_row(*_row(c.settings, record))
    out.print(table)


def _row(settings: Settings, record: DeliveryRecord) -> list[str]:
    from paceline.describe import alert_rule_text

    alert = alert_rule_text(settings, record.rule, record.metric)
    status = record.status
    if record.status == "sent" and record.sent_at:
        status = f"sent {record.sent_at:%Y-%m-%d %H:%M}"
    elif record.status == "failed":
        status = "[red]failed[/]"
    if record.cleared_at:
        status += f", cleared {record.cleared_at:%Y-%m-%d}"
    return [
        f"{record.found_at:%Y-%m-%d %H:%M}",
        record.channel,
        record.recipient,
        record.rep,
        alert,
        record.period,
        status,
        str(record.attempts),
        record.error or "",
    ]
