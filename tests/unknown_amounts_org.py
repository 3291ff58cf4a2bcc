"""A hand-built East team whose won deals partly lack an amount, for the scorecard, metric
totals and tipping tests (analytics and faces), as of Wednesday 2026-07-15 (July):

- Ana (AE): won "Paid" 5,000 (Jul 2), "Pilot" a real 0 (Jul 3), "Blank win" and "Blank win 2"
  with no amount (Jul 6, Jul 7); open "Open blank" with no amount (created Jul 8); won
  "June blank" with no amount on June 20 (before the month). Every July deal was created on
  its close day (the open one on Jul 8). Conversations: 3 on Tue Jun 30, 5 on Tue Jul 7.
- Ben (AE): won "Big" 20,000 (Jul 9), "Ben blank" with no amount (Jul 10), "Ben early blank"
  with no amount (Jul 1, a week Ben logged nothing). Conversations: 4 on Wed Jul 8.
- Cy (AE): nothing. Max: their manager.

Counted by hand for July up to the 15th (revenue: won deals, dated by close):
- Ana: revenue 5,000 (Paid + Pilot), 2 won deals left out; deals won 4.
- Ben: revenue 20,000, 2 left out (Ben blank, Ben early blank); deals won 3.
- Cy: revenue 0, none left out. The team: 25,000, 4 left out.
- Deals created (all statuses) by Ana in July: Paid, Pilot, two blank wins, Open blank:
  sum 5,000, 3 left out.
Tipping (four weeks, Mondays Jun 15 to Jul 6, outcome read the same week): conversations
are recorded from Tuesday Jun 30 only, 15 days into the history (`step_rules.recording_start`),
so the weeks read start on the first whole week recorded, Jul 6: Ana's (5 conversations, 0
with 2 deals left out) and Ben's (4, 20,000 with 1 left out). Ana's week of Jun 29 (3, 5,000)
is not read, nor are Ben's early blank (week of Jun 29) and Ana's June blank (week of Jun 15),
in weeks their reps did not work either: 3 left out.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, insert

from factories import at, calls_on, east_and_west, put_deal
from paceline.config import Settings, default_config_text
from paceline.store.models import Activity

AS_OF = dt.date(2026, 7, 15)

# A sum over deals of every status (pipeline created) and a ratio with a sum for numerator.
EXTRA_METRICS = """
[[metrics]]
name = "pipeline_created"
label = "Pipeline created"
source = "deals"
aggregate = "sum"
field = "amount"
date = "created_at"

[[metrics]]
name = "revenue_per_win"
label = "Revenue per win"
aggregate = "ratio"
numerator = "revenue"
denominator = "deals_won"
"""


AE_KEY_METRICS = 'key_metrics = ["meetings_held", "proposals", "deals_won", "revenue"]'


def config_with_revenue_per_win() -> str:
    """The default configuration with `EXTRA_METRICS` and revenue per win among the AEs' key
    metrics (after revenue), so the scorecards and reports show it: for the CLI's --config
    and, parsed, for the analyses and pages."""
    text = default_config_text()
    assert text.count(AE_KEY_METRICS) == 1
    wider = AE_KEY_METRICS.replace('"revenue"]', '"revenue", "revenue_per_win"]')
    return text.replace(AE_KEY_METRICS, wider) + EXTRA_METRICS


def build_unknown_amounts_org(engine: Engine, settings: Settings) -> dict[str, int]:
    reps = east_and_west(engine, settings)
    ana, ben = reps["Ana"], reps["Ben"]
    won = (
        (ana, "Paid", 5_000, at(7, 2)),
        (ana, "Pilot", 0, at(7, 3)),
        (ana, "Blank win", None, at(7, 6)),
        (ana, "Blank win 2", None, at(7, 7)),
        (ana, "June blank", None, at(6, 20)),
        (ben, "Big", 20_000, at(7, 9)),
        (ben, "Ben blank", None, at(7, 10)),
        (ben, "Ben early blank", None, at(7, 1)),
    )
    for rep, name, amount, closed in won:
        put_deal(engine, rep, name, amount, closed, status="won", stage="closed_won",
                 closed=closed)  # fmt: skip
    put_deal(engine, ana, "Open blank", None, at(7, 8), stage="proposal")
    with engine.begin() as conn:
        rows = [
            *calls_on(ana, dt.date(2026, 6, 30), 3, "conversation"),
            *calls_on(ana, dt.date(2026, 7, 7), 5, "conversation"),
            *calls_on(ben, dt.date(2026, 7, 8), 4, "conversation"),
        ]
        conn.execute(insert(Activity), rows)
    return {"Ana": ana, "Ben": ben, "Cy": reps["Cy"]}
