"""Static charts for the reports, drawn here as plain SVG text.

A PDF cannot run plotly.js, and a headless browser to render it (kaleido) is a heavy thing to
require for three charts; a few rectangles and lines written by hand are enough, render the
same in WeasyPrint and in a browser, and are tested like any other text. Every chart has a
`<title>` and text labels, so the PDF's text (and a screen reader) carries its numbers too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape

from paceline.analytics.flow import FlowReport, FlowWeek
from paceline.analytics.forecast import Forecast
from paceline.analytics.report import MetricChange
from paceline.describe import change_amounts_short, unrecorded_cell

INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e7eb"
THIS_WEEK = "#3b6fb6"
LAST_WEEK = "#b8c4d6"
GOOD = "#2f855a"
BAD = "#c53030"
BAND = "#d5e2f3"
GOLD = "#b7791f"
FONT = "font-family:Helvetica,Arial,sans-serif"

Format = Callable[[float | None], str]


def _text(
    x: float, y: float, text: str, size: int = 11, anchor: str = "start", fill: str = INK
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"'
        f' fill="{fill}" style="{FONT}">{escape(text)}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, fill: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.0):.1f}" height="{h:.1f}" fill="{fill}"/>'
    )


def _svg(width: int, height: int, title: str, parts: Sequence[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img"><title>{escape(title)}</title>'
        + "".join(parts)
        + "</svg>"
    )


def week_over_week(
    changes: Sequence[MetricChange], fmt: Callable[[MetricChange, float | None], str]
) -> str | None:
    """Per metric, this week (dark) over last week (light), each row on its own scale; a
    week's sum that left deals out for want of an amount says so after its value ("5,000
    +1 without amount"), and a change that is not comparable is drawn in neither colour."""
    rows = [c for c in changes if c.current is not None or c.previous is not None]
    if not rows:
        return None
    label_w, bar_w, value_w, row_h = 190, 300, 190, 34
    width, height = label_w + bar_w + value_w, 24 + row_h * len(rows)
    parts = [
        _rect(label_w, 4, 10, 10, THIS_WEEK),
        _text(label_w + 14, 13, "this week", 10, fill=MUTED),
        _rect(label_w + 80, 4, 10, 10, LAST_WEEK),
        _text(label_w + 94, 13, "last week, same days", 10, fill=MUTED),
    ]
    for i, c in enumerate(rows):
        y = 22 + i * row_h
        scale = max(c.current or 0.0, c.previous or 0.0) or 1.0
        parts.append(_text(0, y + 15, c.label, 11))
        parts.append(_rect(label_w, y + 3, bar_w * (c.current or 0.0) / scale, 12, THIS_WEEK))
        parts.append(_rect(label_w, y + 16, bar_w * (c.previous or 0.0) / scale, 8, LAST_WEEK))
        colour = MUTED if c.better is None else (GOOD if c.better else BAD)
        now = _noted(fmt(c, c.current), change_amounts_short(c))
        was = _noted(f"was {fmt(c, c.previous)}", change_amounts_short(c, previous=True))
        parts.append(_text(label_w + bar_w + 8, y + 14, now, 11))
        parts.append(_text(label_w + bar_w + 8, y + 26, was, 9, fill=colour))
    return _svg(width, height, "This week against last week, per key metric", parts)


def _noted(value: str, note: str) -> str:
    """A value label followed by what its figure left out (`describe.change_amounts_short`:
    "+1 without amount", "3 of 4 wins with amount"), in the compact words."""
    return f"{value} {note}" if note else value


def flow_chart(flow: FlowReport) -> str | None:
    """Per week: deals created above the line, won and lost below it (counts). When the data
    records no won deal (`FlowReport.wins_recorded`) no won bar is drawn, not even one of
    height 0, and the legend says "won: not recorded", as the report's table does."""
    weeks = flow.weeks
    if not weeks:
        return None
    recorded = flow.wins_recorded

    def won(w: FlowWeek) -> int:
        return w.won.count if recorded else 0

    top = max(max(w.created.count for w in weeks), 1)
    bottom = max(max(won(w) + w.lost_total.count for w in weeks), 1)
    width, plot_h, left = 640, 150, 40
    step = (width - left) / len(weeks)
    zero = 34 + plot_h * top / (top + bottom)
    unit = plot_h / (top + bottom)
    won_label = "won" if recorded else f"won: {unrecorded_cell(False)}"
    lost_at = left + 120 if recorded else left + 190
    parts = [
        _rect(left, 2, 10, 10, THIS_WEEK),
        _text(left + 14, 11, "created", 10, fill=MUTED),
        _rect(left + 70, 2, 10, 10, GOOD),
        _text(left + 84, 11, won_label, 10, fill=MUTED),
        _rect(lost_at, 2, 10, 10, LAST_WEEK),
        _text(lost_at + 14, 11, "lost", 10, fill=MUTED),
        f'<line x1="{left}" y1="{zero:.1f}" x2="{width}" y2="{zero:.1f}" stroke="{INK}"/>',
    ]
    for i, w in enumerate(weeks):
        x = left + i * step + step * 0.2
        bar = step * 0.6
        parts.append(
            _rect(x, zero - w.created.count * unit, bar, w.created.count * unit, THIS_WEEK)
        )
        if recorded:
            parts.append(_rect(x, zero, bar, w.won.count * unit, GOOD))
        lost = w.lost_total.count * unit
        parts.append(_rect(x, zero + won(w) * unit, bar, lost, LAST_WEEK))
        parts.append(_text(x + bar / 2, 34 + plot_h + 14, w.label[-3:], 9, "middle", MUTED))
        if w.created.count:
            parts.append(
                _text(
                    x + bar / 2,
                    zero - w.created.count * unit - 3,
                    str(w.created.count),
                    9,
                    "middle",
                )
            )
    parts.append(_text(0, zero - 4, "in", 10, fill=MUTED))
    parts.append(_text(0, zero + 12, "out", 10, fill=MUTED))
    return _svg(width, 34 + plot_h + 20, "Deals created, won and lost per week", parts)


def fan_chart(f: Forecast, money: Format) -> str | None:
    """Revenue won so far, then the P10-P90 band and the P50 to the period's end; the target."""
    if not f.fan:
        return None
    start, end = f.period.start, f.period.last_day
    span = max((end - start).days, 1)
    values = [p.p90 for p in f.fan] + [d.amount for d in f.won_by_day]
    if f.target is not None:
        values.append(f.target)
    high = max(max(values), 1.0) * 1.08
    width, height, left, top, plot_w, plot_h = 640, 200, 70, 10, 560, 160

    def x(day_offset: int) -> float:
        return left + plot_w * day_offset / span

    def y(value: float) -> float:
        return top + plot_h * (1 - value / high)

    band = [(x((p.day - start).days), y(p.p90)) for p in f.fan]
    band += [(x((p.day - start).days), y(p.p10)) for p in reversed(f.fan)]
    parts = [
        _polyline([(left, top + plot_h), (left + plot_w, top + plot_h)], GRID),
        _text(left - 6, top + 8, money(high / 1.08), 9, "end", MUTED),
        _text(left - 6, top + plot_h, "0", 9, "end", MUTED),
        '<polygon points="' + " ".join(f"{a:.1f},{b:.1f}" for a, b in band) + f'" fill="{BAND}"/>',
        _polyline([(x((p.day - start).days), y(p.p50)) for p in f.fan], THIS_WEEK, dash=True),
    ]
    if f.won_by_day:
        won = [(x((d.day - start).days), y(d.amount)) for d in f.won_by_day]
        parts.append(_polyline(won, INK))
    if f.target is not None and not f.untargeted_reps:
        parts.append(_polyline([(x(0), y(f.target)), (x(span), y(f.target))], GOLD))
        parts.append(_text(left + 4, y(f.target) - 4, f"target {money(f.target)}", 9, fill=GOLD))
    parts.append(_text(left, height - 6, start.isoformat(), 9, fill=MUTED))
    parts.append(_text(left + plot_w, height - 6, end.isoformat(), 9, "end", MUTED))
    parts.append(
        _text(
            x((f.fan[-1].day - start).days) - 4,
            y(f.fan[-1].p50) - 4,
            f"P50 {money(f.p50)}",
            9,
            "end",
            THIS_WEEK,
        )
    )
    return _svg(width, height, "Revenue won in the period: so far, and the forecast's band", parts)


def _polyline(points: Sequence[tuple[float, float]], colour: str, dash: bool = False) -> str:
    style = ' stroke-dasharray="5,4"' if dash else ""
    coords = " ".join(f"{a:.1f},{b:.1f}" for a, b in points)
    return f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"{style}/>'
