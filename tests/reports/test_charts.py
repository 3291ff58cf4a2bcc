"""The team report's pipeline flow chart (SVG, `reports.charts.flow_chart`) on hand-built
Easts (tests/factories.py) as of Wednesday 2026-11-18 over "14d" (W45, W46, W47).

The chart draws counts: created above the line, won (green) and lost below it. Its scale is
the largest week on each side: with the win, 2 deals created in W45 above and 1 deal out a
week below, so 50 px a deal (150 px of plot over 3). It drew a green bar of height 0 for
every week when the data records no win, with "won" in its legend, where the report's table
says "not recorded".
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import Engine

from factories import build_flow_with_wins, build_flow_without_wins
from paceline.analytics.flow import pipeline_flow
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings
from paceline.reports.charts import GOOD, flow_chart

AS_OF = dt.date(2026, 11, 18)


def _svg(engine: Engine, settings: Settings) -> str:
    window = diagnosis_window(settings, "14d", AS_OF)
    svg = flow_chart(pipeline_flow(engine, settings, window, team="East"))
    assert svg is not None
    return svg


def _green_heights(svg: str) -> list[str]:
    return re.findall(rf'<rect [^>]*height="([\d.]+)" fill="{GOOD}"/>', svg)


def test_wins_not_recorded_draw_no_won_bars(sqlite_engine: Engine, settings: Settings) -> None:
    build_flow_without_wins(sqlite_engine, settings)
    svg = _svg(sqlite_engine, settings)
    assert _green_heights(svg) == ["10.0"]  # the legend's swatch alone
    assert ">won: not recorded</text>" in svg and ">won</text>" not in svg


def test_wins_recorded_draw_their_count(sqlite_engine: Engine, settings: Settings) -> None:
    build_flow_with_wins(sqlite_engine, settings)
    svg = _svg(sqlite_engine, settings)
    # the swatch, then W45, W46 (1 win: 50 px), W47
    assert _green_heights(svg) == ["10.0", "0.0", "50.0", "0.0"]
    assert ">won</text>" in svg
