"""The weekly reports as HTML (for e-mail and the browser), plain text, and PDF.

E-mail clients strip `<style>` blocks and never run scripts, so the HTML carries its styles
inline on each element, lays out with tables, and draws the pace bars as table cells; the
SVG charts (`charts`) are added for the PDF and the browser, where they render (many mail
clients show no inline SVG, so the e-mail part leaves them out and the PDF carries them).
The PDF is the same HTML printed by WeasyPrint: no JavaScript anywhere.

Sentences come from `paceline.describe`, as on the pages and in the CLI, so a finding reads
the same everywhere.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import Engine

from paceline.analytics.flow import CountValue, FlowReport, FlowWeek
from paceline.analytics.report import (
    MetricChange,
    RepReport,
    TeamReport,
    rep_report,
    report_day,
    team_report,
)
from paceline.analytics.stalled import StalledDeal
from paceline.calendar import BusinessCalendar, Period
from paceline.config import Settings
from paceline.describe import (
    NET_UNMEASURED_CELL,
    NET_UNMEASURED_TEXT,
    NO_CHANGE_TEXT,
    NOT_COMPARABLE_TEXT,
    UNRECORDED_CELL,
    change_amounts_text,
    departure_text,
    entered_late_text,
    evidence_text,
    finding_text,
    headcount_text,
    history_text,
    line_amounts_text,
    measured_text,
    metric_text,
    not_counted_text,
    unrecorded_cell,
)
from paceline.reports import charts

Report = RepReport | TeamReport
HERE = Path(__file__).resolve().parent

STATUS_TEXT = {
    "ahead": "Ahead",
    "on_pace": "On pace",
    "behind": "Behind",
    "unclear": "Too few to tell",
    "no_target": "No target",
    "not_recorded": "Not recorded",
}
STATUS_COLOUR = {
    "ahead": "#2f855a",
    "on_pace": "#3b6fb6",
    "behind": "#c53030",
    "unclear": "#b7791f",
    "no_target": "#7b8794",
    "not_recorded": "#7b8794",
}
REASON_TEXT = {"no_selling_activity": "no selling", "long_in_stage": "long in stage"}

# Inline styles (e-mail clients drop <style>): one place, named by what they style.
STYLE = {
    "body": "margin:0;padding:0;background:#ffffff;color:#1f2933;"
    "font-family:Helvetica,Arial,sans-serif;font-size:13px;line-height:1.4",
    "wrap": "max-width:720px;margin:0 auto;padding:16px",
    "h1": "font-size:20px;margin:0 0 4px 0",
    "sub": "color:#52606d;margin:0 0 12px 0",
    "h2": "font-size:15px;margin:18px 0 6px 0;border-bottom:1px solid #e4e7eb;padding-bottom:3px",
    "table": "border-collapse:collapse;width:100%;margin:4px 0 8px 0",
    "th": "text-align:left;font-weight:bold;padding:4px 6px;border-bottom:1px solid #cbd2d9;"
    "font-size:12px;color:#52606d",
    "thn": "text-align:right;font-weight:bold;padding:4px 6px;border-bottom:1px solid #cbd2d9;"
    "font-size:12px;color:#52606d",
    "td": "padding:4px 6px;border-bottom:1px solid #f0f2f4;vertical-align:top",
    "num": "padding:4px 6px;border-bottom:1px solid #f0f2f4;text-align:right;white-space:nowrap",
    "muted": "color:#7b8794",
    "note": "color:#52606d;font-size:11px;margin:2px 0 8px 0",
    "li": "margin:0 0 4px 0",
    "bar": "border-collapse:collapse;width:160px;height:10px",
}


class ReportMessage(NamedTuple):
    """A report ready to send: what a delivery channel needs, and nothing it must format."""

    subject: str
    html: str  # e-mail HTML: inline styles, tables, no scripts, no SVG
    text: str  # the plain-text part
    pdf: bytes  # the printable report, charts included


# --- formatting ------------------------------------------------------------------------------


def figure(value: float | None, unit: str) -> str:
    """A metric's figure in its unit; a dash when there is none."""
    return measured_text(value, unit)


def change_text(c: MetricChange) -> str:
    """The change since last week, signed, with its share: "+4 (+67%)", "+2.0 pts"; "not
    comparable" when either week's sum left deals out for want of an amount (each figure
    says how many beside it; an average over the deals with an amount is compared, each
    figure saying how many it rests on); "no change" when the figure did not move, said
    once (a signed zero with a signed zero share, "±0 (+0%)", read as a change)."""
    if not c.comparable:
        return NOT_COMPARABLE_TEXT
    change = c.change
    if change is None:
        return "-"
    if c.unit == "percent":
        moved = f"{change * 100:+.1f} pts"
        return NO_CHANGE_TEXT if moved in ("+0.0 pts", "-0.0 pts") else moved
    if metric_text(abs(change), c.unit) == metric_text(0.0, c.unit):
        return NO_CHANGE_TEXT  # nothing moved, or less than the figure's last digit
    sign = "+" if change > 0 else "\u2212"
    text = sign + metric_text(abs(change), c.unit)
    relative = c.relative
    share = f" ({relative:+.0%})".replace("-", "\u2212") if relative is not None else ""
    return text + share


def status_text(status: str) -> str:
    return STATUS_TEXT.get(status, status.replace("_", " "))


def stalled_why(deal: StalledDeal) -> str:
    """Why a deal counts as stalled, in a few words with its numbers."""
    parts = []
    if "no_selling_activity" in deal.reasons:
        parts.append(f"no selling for {deal.idle_business_days} business days")
    if "long_in_stage" in deal.reasons and deal.stage_percentile_days is not None:
        parts.append(
            f"{deal.days_in_stage:.0f} days in stage (usual: up to"
            f" {deal.stage_percentile_days:.0f})"
        )
    return "; ".join(parts)


def week_text(week: Period, as_of: dt.date) -> str:
    """ "week 2026-W47 (Mon 16 Nov to Sun 22 Nov 2026)", or "... to date" while it runs."""
    end = week.last_day
    span = f"{week.start:%a %d %b} to {end:%a %d %b %Y}"
    running = "" if as_of >= end else f", to {as_of:%a %d %b}"
    return f"week {week.label} ({span}{running})"


def compared_text(report: Report) -> str:
    last = report.compared_to - dt.timedelta(days=1)
    return f"last week {report.compared_from:%a %d %b} to {last:%a %d %b}"


def _money(value: float | None) -> str:
    return measured_text(value, "currency")


# --- HTML ------------------------------------------------------------------------------------


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(figure=figure, money=_money, status=status_text)
    env.globals.update(
        S=STYLE,
        COLOUR=STATUS_COLOUR,
        change_text=change_text,
        stalled_why=stalled_why,
        history_text=history_text,
        entered_late_text=entered_late_text,
        departure_text=departure_text,
        unrecorded_cell=unrecorded_cell,
        not_counted_text=not_counted_text,
        change_amounts_text=change_amounts_text,
        line_amounts_text=line_amounts_text,
        NET_UNMEASURED_CELL=NET_UNMEASURED_CELL,
        NET_UNMEASURED_TEXT=NET_UNMEASURED_TEXT,
        bar=_bar_widths,
    )
    return env


def _bar_widths(
    actual: float | None, expected: float | None, target: float | None
) -> dict[str, int] | None:
    """Widths in percent of a pace bar's done-so-far and still-expected parts (None: no bar)."""
    if actual is None or target is None:
        return None
    scale = max(target, actual, expected or 0.0)
    if scale <= 0:
        return None
    done = round(100 * actual / scale)
    expected_part = max(round(100 * (expected or 0.0) / scale) - done, 0)
    return {"done": done, "expected": expected_part, "rest": max(100 - done - expected_part, 0)}


ENV = _environment()


def report_html(
    settings: Settings, report: Report, *, charts_too: bool = True, pdf: bool = False
) -> str:
    """The report as one HTML document with inline styles. `charts_too`: add the SVG charts
    (the browser and the PDF; leave them out for e-mail). `pdf`: add the page set-up."""
    context: dict[str, Any] = {
        "r": report,
        "pdf": pdf,
        "week_text": week_text(report.week, report.as_of),
        "compared": compared_text(report),
        "title": report_subject(report),
        "say": lambda d, f: finding_text(settings, d, f),
        "evidence": lambda check: evidence_text(settings, check),
    }
    if isinstance(report, RepReport):
        context["wow_chart"] = _markup(
            charts.week_over_week(report.changes, lambda c, v: figure(v, c.unit))
            if charts_too
            else None
        )
        return ENV.get_template("rep.html").render(context)
    context["wow_chart"] = _markup(
        charts.week_over_week(report.changes, lambda c, v: figure(v, c.unit))
        if charts_too
        else None
    )
    context["flow_chart"] = _markup(charts.flow_chart(report.flow) if charts_too else None)
    fan = charts.fan_chart(report.forecast, _money) if charts_too and report.forecast else None
    context["fan_chart"] = _markup(fan)
    context["rep_cards"] = {c.rep_id: c for c in report.week_cards.reps}
    context["headcount"] = headcount_text(report.month_cards)
    return ENV.get_template("team.html").render(context)


def _markup(svg: str | None) -> Markup | None:
    """Our own SVG (every text in it escaped when drawn) into the page as it is."""
    return Markup(svg) if svg else None  # built by `charts`, every text escaped there


# --- plain text ------------------------------------------------------------------------------


def report_text(settings: Settings, report: Report) -> str:
    """The report as plain text: the e-mail's text part, and what the CLI prints."""
    lines = [report_subject(report), _first_upper(week_text(report.week, report.as_of)), ""]
    if isinstance(report, RepReport):
        lines += _rep_text(settings, report)
    else:
        lines += _team_text(settings, report)
    return "\n".join(lines).rstrip() + "\n"


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _rep_text(settings: Settings, r: RepReport) -> list[str]:
    out = [f"{r.rep} ({r.role}{', team ' + r.team if r.team else ''}){_left_text(r)}", ""]
    out.append("Where you stand")
    month = {line.metric: line for line in r.month_card.lines}
    for line in r.week_card.lines:
        m = month.get(line.metric)
        if not line.recorded:  # nobody records it: no figure to stand on
            out.append(f"  {line.label}: {UNRECORDED_CELL}")
            continue
        out.append(
            f"  {line.label}: week {figure(line.pace.actual, line.unit)}"
            f"{line_amounts_text(line)} of"
            f" {figure(line.pace.target, line.unit)} ({status_text(line.pace.status)});"
            + (
                f" month {figure(m.pace.actual, m.unit)}{line_amounts_text(m)}"
                f" of {figure(m.pace.target, m.unit)} ({status_text(m.pace.status)})"
                if m
                else ""
            )
        )
    out += ["", f"Since last week ({compared_text(r)})"]
    out += [_change_line(c) for c in r.changes] or ["  no key metrics to compare"]
    out += ["", f"What the diagnosis finds ({r.diagnosis.window.label})"]
    out += [f"  - {finding_text(settings, r.diagnosis, f)}" for f in r.diagnosis.findings] or [
        "  nothing stands out against the peers"
    ]
    out += ["", "Coaching"]
    for check in r.diagnosis.coaching.hints:
        out.append(f"  - {check.label}: {check.advice}")
        out.append(f"    ({evidence_text(settings, check)})")
    if not r.diagnosis.coaching.hints:
        out.append("  no rule of the coaching table fires")
    out += ["", "Stalled deals"]
    for d in r.stalled:
        out.append(
            f"  - {d.name} ({d.account or 'no account'}), {d.stage or 'stage not recorded'}, "
            f"{_money(d.amount)}: {stalled_why(d)}"
        )
    if not r.stalled:
        out.append("  none")
    out += ["", f"Next week ({r.next_week.label})"]
    if r.end_date is not None and r.end_date < r.next_week.start:
        return [*out, f"  nothing: {departure_text(r.end_date, r.as_of)}"]
    for t in r.next_targets:
        needed = (
            f"; to finish the month on target: {figure(t.month_needed, t.unit)}"
            if t.month_needed is not None
            else ""
        )
        out.append(f"  {t.label}: target {figure(t.target, t.unit)}{needed}")
    return out


def _left_text(r: RepReport) -> str:
    """ ", left 2026-11-11" after a rep whose last day is before the report's week ends
    (", leaves 2026-11-20" while it is still ahead)."""
    return f", {departure_text(r.end_date, r.as_of)}" if r.departs and r.end_date else ""


def _change_line(c: MetricChange) -> str:
    if c.unrecorded:
        return f"  {c.label}: not recorded"
    return (
        f"  {c.label}: {figure(c.current, c.unit)}{change_amounts_text(c)}"
        f" against {figure(c.previous, c.unit)}{change_amounts_text(c, previous=True)}"
        f" ({change_text(c)})"
    )


def _team_text(settings: Settings, r: TeamReport) -> list[str]:
    month = r.month_cards
    out = [f"Team {r.team}: {headcount_text(month)}", "", "The team at a glance (month to date)"]
    for card in month.reps:
        last = r.left.get(card.rep_id)
        gone = f", {departure_text(last, r.as_of)}" if last else ""
        out.append(f"  {card.rep} ({card.role}): {status_text(card.status)}{gone}")
    out += ["", f"Team totals since last week ({compared_text(r)})"]
    out += [_change_line(c) for c in r.changes] or ["  nothing to compare"]
    out += ["", "Who needs attention"]
    for a in r.attention:
        out.append(f"  {a.rep} ({status_text(a.status)})")
        out += [f"    - {finding_text(settings, a.diagnosis, f)}" for f in a.findings]
    if not r.attention:
        out.append("  nobody: nothing stands out")
    if r.quiet:
        out.append(f"  Nothing stands out for: {', '.join(r.quiet)}")
    out += ["", "Forecast"]
    f = r.forecast
    if f is None:
        out.append(f"  not available: {r.forecast_note}")
    else:
        out.append(
            f"  {f.period.label}: won so far"
            f" {unrecorded_cell(f.wins_recorded) or _money(f.won_so_far)}"
            + not_counted_text(f.won_without_amount)
            + "; likely"
            f" {_money(f.p50)} (P10 {_money(f.p10)}, P90 {_money(f.p90)})"
            + (f"; target {_money(f.target)}" if f.target is not None else "")
            + (
                f", {f.probability_of_target:.0%} chance of reaching it"
                if f.probability_of_target is not None
                else ""
            )
        )
        out.append(f"  {history_text(f)}")
    out += [
        "",
        "Pipeline flow (per week, count / value: created, won, lost, net, open at the week's end)",
    ]
    for w in r.flow.weeks:
        out.append(
            f"  {w.label}: created {_amounts_text(w.created)}, {_won_text(r.flow, w)},"
            f" lost {_amounts_text(w.lost_total)}, net {_net_text(w.net)},"
            f" open {_amounts_text(w.open_pipeline)}"
        )
    if r.flow.net is None:
        out.append(f"  {NET_UNMEASURED_TEXT}")
    if r.flow.entered_late.count:
        out.append(f"  {entered_late_text(r.flow)}")
    return out


# --- subject, PDF, the message ----------------------------------------------------------------


def report_subject(report: Report) -> str:
    if isinstance(report, RepReport):
        return f"Weekly one-on-one: {report.rep}, week {report.week.label}"
    return f"Team {report.team}: weekly report, week {report.week.label}"


def report_pdf(settings: Settings, report: Report) -> bytes:
    """The report printed by WeasyPrint (imported here: it takes a while to load)."""
    from weasyprint import HTML

    document = report_html(settings, report, charts_too=True, pdf=True)
    data = HTML(string=document).write_pdf()
    assert isinstance(data, bytes)
    return data


def report_message(settings: Settings, report: Report) -> ReportMessage:
    """Subject, e-mail HTML, text and PDF of a report, for a delivery channel to send."""
    return ReportMessage(
        subject=report_subject(report),
        html=report_html(settings, report, charts_too=False),
        text=report_text(settings, report),
        pdf=report_pdf(settings, report),
    )


def weekly_report(
    engine: Engine,
    settings: Settings,
    kind: str,
    name: str,
    week: dt.date | None = None,
    today: dt.date | None = None,
) -> Report:
    """The weekly report on a rep (`kind` "rep") or a team ("team") for the week containing
    `week` (default: last week), read to its end or to `today` (default: the clock's)."""
    day = report_day(settings, week, today or BusinessCalendar(settings.calendar).today())
    if kind == "rep":
        return rep_report(engine, settings, name, day)
    return team_report(engine, settings, name, day)


def weekly_message(
    engine: Engine,
    settings: Settings,
    kind: str,
    name: str,
    week: dt.date | None = None,
    today: dt.date | None = None,
) -> ReportMessage:
    """What a scheduler calls: the weekly report on a rep or team, ready to send."""
    return report_message(settings, weekly_report(engine, settings, kind, name, week, today))


def _won_text(flow: FlowReport, week: FlowWeek) -> str:
    """A week's wins, or "not recorded" when the data records no won deal (not "0 won")."""
    unrecorded = unrecorded_cell(flow.wins_recorded)
    if unrecorded is not None:
        return f"won {unrecorded}"
    return f"won {_amounts_text(week.won)}"


def _net_text(net: CountValue | None) -> str:
    """A week's net change as its flow cell, or "not measurable" when wins are not recorded."""
    return NET_UNMEASURED_CELL if net is None else _amounts_text(net, signed=True)


def _amounts_text(amount: CountValue, *, signed: bool = False) -> str:
    """A flow cell, count / value, with the deals the value leaves out for want of an amount
    as the page's table says it: "+0 / -8,000 (1 without an amount, not in the sum)"."""
    count = f"{amount.count:+d}" if signed else str(amount.count)
    return f"{count} / {_money(amount.value)}{not_counted_text(amount.without_amount)}"
