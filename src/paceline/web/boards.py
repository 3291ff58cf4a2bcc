"""What the leaderboard page and the TV board show, shaped for reading (no arithmetic here
beyond the bar widths): the boards of one `Leaderboard`, the viewer's row marked, the TV's
pages of top-N bars and the wins to celebrate.

The TV board is HTML, not a chart: every name is a text label beside its bar, the value at
the bar's end (a sum's deals left out for want of an amount in small type under it), all
horizontal, at a size set by the screen's height, so nothing is skipped or
turned sideways whatever the team size. Bigger boards are cut into pages of `tv_top` that the
page's refresh walks through, one page per refresh.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from paceline.analytics.leaderboard import ALL_ROLES, Leaderboard, LeaderboardRow, Win
from paceline.config import Settings
from paceline.describe import amounts_short, metric_text, standing_text

BY_TITLES = {"count": "", "target": " · % of own target", "improved": " · most improved"}
BAR_ROOM = 78.0  # the widest bar's share of its track, leaving room for the value after it


@dataclass(frozen=True)
class Bar:
    rank: int
    rep: str
    text: str  # the score as read: "12", "46%", "+200%"
    width: float  # % of the track
    you: bool
    win: bool
    # Under the score, what an average over the deals with an amount rests on ("3 of 4 wins
    # with amount"; empty: nothing left out): a partial figure in big type reads as whole.
    # (A sum that left deals out is not ranked, so has no bar.)
    note: str = ""


@dataclass(frozen=True)
class TvPage:
    group: str
    title: str
    bars: list[Bar]
    number: int  # 1-based
    count: int
    unranked: int  # reps of this board not ranked (no target, nothing before...)
    # Of those, the reps whose score rests on a sum that left deals out for want of an
    # amount (`standing="amounts_unknown"`), named at the foot: a rep who won most but
    # whose wins lack amounts is not just a number among the unranked.
    partial: tuple[str, ...] = ()

    @property
    def partial_text(self) -> str:
        """ "Cy, Eve: deals without an amount, not ranked" at the foot (empty: nobody)."""
        if not self.partial:
            return ""
        return f"{', '.join(self.partial)}: {standing_text('amounts_unknown')}"


def group_title(settings: Settings, group: str) -> str:
    if group == ALL_ROLES:
        return "Every role"
    role = next((r for r in settings.roles if r.name == group), None)
    return (role.label or role.name) if role else group


def score_text(board: Leaderboard, row: LeaderboardRow) -> str:
    """The number the rank is on, as a person reads it."""
    if board.by == "target":
        return "" if row.of_target is None else f"{row.of_target:.0%}"
    if board.by == "improved":
        return "" if row.change is None else f"{row.change:+.0%}"
    return metric_text(row.value, board.unit)


def tv_pages(
    settings: Settings, board: Leaderboard, top: int, you: int | None, wins: list[Win]
) -> list[TvPage]:
    """Each board (role) cut into pages of `top` ranked reps, in rank order."""
    winners = {w.rep_id for w in wins}
    pages: list[tuple[str, list[Bar], int, tuple[str, ...]]] = []
    for group in board.groups:
        rows = board.group_rows(group)
        ranked = [r for r in rows if r.rank is not None and r.score is not None]
        widest = max((max(r.score or 0.0, 0.0) for r in ranked), default=0.0)
        bars = [
            Bar(
                rank=r.rank or 0,
                rep=r.rep,
                text=score_text(board, r),
                width=round(BAR_ROOM * max(r.score or 0.0, 0.0) / widest, 1) if widest else 0.0,
                you=r.rep_id == you,
                win=r.rep_id in winners,
                note=amounts_short(r.amounts_unknown, board.average_of, r.denominator),
            )
            for r in ranked
        ]
        chunks = [bars[i : i + top] for i in range(0, len(bars), top)] or [[]]
        partial = tuple(r.rep for r in rows if r.standing == "amounts_unknown")
        pages += [(group, chunk, len(rows) - len(ranked), partial) for chunk in chunks]
    return [
        TvPage(group, group_title(settings, group), bars, n, len(pages), unranked, partial)
        for n, (group, bars, unranked, partial) in enumerate(pages, start=1)
    ]


@dataclass(frozen=True)
class ShownWin:
    rep: str
    label: str
    time: str


def shown_wins(wins: list[Win], zone: dt.tzinfo, limit: int = 4) -> list[ShownWin]:
    """The newest wins, with the local time they landed."""
    return [
        ShownWin(w.rep, w.label, w.at.replace(tzinfo=dt.UTC).astimezone(zone).strftime("%H:%M"))
        for w in wins[:limit]
    ]
