"""The team report says how many wins its forecast's "won so far" leaves out for want of an
amount, in the pipeline flow's words (hand-counted world: `factories.build_unknown_amount_wins`).
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import Engine

from factories import build_unknown_amount_wins
from paceline.analytics.report import team_report
from paceline.config import Settings
from paceline.reports.render import report_html, report_text

LEFT_OUT = "(1 without an amount, not counted)"


def test_won_so_far_says_the_wins_left_out_in_the_flows_words(
    engine: Engine, settings: Settings
) -> None:
    """East as of Sunday 2026-07-05: Cy's quarter so far is 5,000 won (Paid, and Pilot's
    real 0) and "Unknown win" without an amount. The text said "(+1 won without an amount,
    not counted)", the HTML (and so the PDF) 5,000 alone."""
    build_unknown_amount_wins(engine, settings)
    report = team_report(engine, settings, "East", dt.date(2026, 7, 5))
    text = report_text(settings, report)
    assert f"won so far 5,000 {LEFT_OUT};" in text, text
    html = report_html(settings, report, charts_too=False)
    cell = re.search(r">Won so far</td><td[^>]*>(.*?)</td>", html, re.S)
    assert cell is not None and cell.group(1) == f"5,000 {LEFT_OUT}"
