"""`paceline notify --due`, `paceline scheduler`, `paceline jobs list` and
`paceline user prefs`: the configured jobs (`[[jobs]]`) run from cron or as a loop.

Both runners call `paceline.scheduling.run_due`, which claims each run in the database before
it sends anything, so cron and a scheduler (or two schedulers) on one database never send a
message twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import signal
import time
from types import FrameType
from typing import TYPE_CHECKING

import typer

from paceline import clock
from paceline.cli import (
    JSON_OPTION,
    _ctx,
    app,
    complete_interrupted_load_at_start,
    err,
    handles_errors,
    out,
)
from paceline.cli.web_commands import user_app
from paceline.errors import UserInputError
from paceline.terminal import new_table

if TYPE_CHECKING:  # the scheduler (analyses, reports) loads when a command runs
    from paceline.scheduling import Outcome

jobs_app = typer.Typer(no_args_is_help=True, help="The scheduled jobs of paceline.toml.")
app.add_typer(jobs_app, name="jobs")

NOW_OPTION = typer.Option(
    None,
    "--now",
    help="Act as if it were this instant (ISO date and time; no offset: UTC), "
    "e.g. to replay a missed hour. Default: the clock.",
)


def _instant(value: str | None) -> dt.datetime:
    """The instant as naive UTC, as the store keeps it."""
    if value is None:
        return clock.utcnow()
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise UserInputError(f"--now: {value!r} is not an ISO date and time") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _print(outcomes: list[Outcome]) -> None:
    if not outcomes:
        out.print("nothing due")
    for o in outcomes:
        scope = f" ({o.scope})" if o.scope else ""
        out.print(
            f"{o.job}{scope} {o.slot:%Y-%m-%d %H:%M} UTC: {o.status}; sent {o.sent}"
            + (f", {o.deferred} deferred" if o.deferred else "")
            + (f"; {o.detail}" if o.detail else "")
        )
        for failure in o.failed:
            err.print(f"[red]{o.job}: not delivered to {failure}")


@app.command("notify")
@handles_errors
def notify_command(
    ctx: typer.Context,
    due: bool = typer.Option(False, "--due", help="Run every job due since its last run."),
    now: str | None = NOW_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run the jobs that are due (for cron or a systemd timer); each at most once per slot."""
    from paceline.scheduling import run_due
    from paceline.serialize import dumps

    if not due:
        raise UserInputError("say --due: notify runs the jobs that are due")
    c = _ctx(ctx)
    outcomes = run_due(c.engine(), c.settings, _instant(now))
    if as_json:
        out.print_json(dumps(outcomes))
    else:
        _print(outcomes)
    if any(o.failed for o in outcomes):
        raise typer.Exit(1)


@app.command("scheduler")
@handles_errors
def scheduler_command(
    ctx: typer.Context,
    poll: int | None = typer.Option(
        None, "--poll", min=1, help="Seconds between looks (default: [scheduler] poll_seconds)."
    ),
    once: bool = typer.Option(False, "--once", help="Look once and stop (like notify --due)."),
) -> None:
    """Run the configured jobs as they fall due, until stopped (SIGTERM or Ctrl-C)."""
    from paceline.scheduling import run_due

    c = _ctx(ctx)
    engine, settings = c.engine(), c.settings
    complete_interrupted_load_at_start(engine, "scheduler")
    wait = poll or settings.scheduler.poll_seconds
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    out.print(f"scheduler: {len(settings.jobs)} job(s), looking every {wait}s")
    while True:
        try:
            _print([o for o in run_due(engine, settings, clock.utcnow()) if o.status != "idle"])
        except KeyboardInterrupt:
            return
        if once or stopping:
            return
        for _ in range(wait):
            if stopping:
                return
            time.sleep(1)


@jobs_app.command("list")
@handles_errors
def jobs_list(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Each configured job with its last run (when, outcome) and its next time."""
    from paceline.scheduling import job_statuses
    from paceline.serialize import dumps

    c = _ctx(ctx)
    statuses = job_statuses(c.engine(), c.settings, clock.utcnow())
    if as_json:
        out.print_json(dumps(statuses))
        return
    if not statuses:
        out.print("No jobs configured (add [[jobs]] to paceline.toml).")
        return
    table = new_table(title="Jobs (times in UTC)", title_justify="left")
    for name in ("job", "kind", "when", "channel", "last run", "outcome", "next run"):
        table.add_column(name)
    for s in statuses:
        last = s.last
        table.add_row(
            s.name + ("" if s.enabled else " (disabled)"),
            s.kind,
            f"{s.at} {s.days}",
            s.channel,
            f"{last.scheduled_for:%Y-%m-%d %H:%M} {last.status}" if last else "never",
            (last.outcome or "") if last else "",
            f"{s.next_run:%Y-%m-%d %H:%M}" if s.next_run else "",
        )
    out.print(table)


def _quiet(value: str | None) -> dict[str, object]:
    if value is None:
        return {}
    if value.strip() in ("", "none", "off"):
        return {"quiet_start": None, "quiet_end": None}
    start, sep, end = value.partition("-")
    if not sep:
        raise UserInputError(f"--quiet: {value!r} is not START-END, e.g. 22:00-07:00")
    return {"quiet_start": start.strip(), "quiet_end": end.strip()}


@user_app.command("prefs")
@handles_errors
def user_prefs(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Whose preferences."),
    rep_digest: bool | None = typer.Option(
        None, "--rep-digest/--no-rep-digest", help="The daily rep digest."
    ),
    manager_digest: bool | None = typer.Option(
        None, "--manager-digest/--no-manager-digest", help="The Monday manager digest."
    ),
    alerts: bool | None = typer.Option(None, "--alerts/--no-alerts", help="Alert messages."),
    channel: str | None = typer.Option(
        None, "--channel", help="Digests through this channel ('' : the job's)."
    ),
    quiet: str | None = typer.Option(
        None, "--quiet", help="Quiet hours START-END in the team's zone, e.g. 22:00-07:00; off."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show or change what a user is sent (admins; a user changes their own on /preferences)."""
    from paceline.access import OPERATOR
    from paceline.scheduling import personal_channels
    from paceline.serialize import dumps
    from paceline.services import preferences

    c = _ctx(ctx)
    changes: dict[str, object] = {
        k: v
        for k, v in {
            "rep_digest": rep_digest,
            "manager_digest": manager_digest,
            "alerts": alerts,
            "channel": channel,
        }.items()
        if v is not None
    } | _quiet(quiet)
    engine = c.engine()
    if changes:
        pref = preferences.set_preferences(
            engine, OPERATOR, username, changes, personal_channels(), clock.utcnow()
        )
    else:
        pref = preferences.preferences(engine, OPERATOR, username)
    if as_json:
        out.print_json(dumps(dataclasses.asdict(pref)))
        return
    quiet_text = f"{pref.quiet_start}-{pref.quiet_end}" if pref.quiet_start else "none"
    channel_text = pref.channel or "the job's"
    out.print(
        f"{username}: rep digest {'on' if pref.rep_digest else 'off'}, manager digest "
        f"{'on' if pref.manager_digest else 'off'}, alerts {'on' if pref.alerts else 'off'}, "
        f"channel {channel_text}, quiet hours {quiet_text}"
    )
