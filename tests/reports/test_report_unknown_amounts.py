"""The team and one-on-one reports say how many deals a sum leaves out for want of an amount,
in the words of every face (hand-counted worlds: `factories.build_unknown_amount_wins`,
tests/unknown_amounts_org.py)."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import Engine

from factories import build_unknown_amount_wins
from paceline.analytics.report import rep_report, team_report
from paceline.config import Settings, parse_settings
from paceline.reports.render import report_html, report_text
from unknown_amounts_org import AS_OF, build_unknown_amounts_org, config_with_revenue_per_win

LEFT_OUT = "(1 without an amount, not in the sum)"


def test_won_so_far_says_the_wins_left_out_in_the_flows_words(
    engine: Engine, settings: Settings
) -> None:
    """East as of Sunday 2026-07-05: Cy's quarter so far is 5,000 won (Paid, and Pilot's
    real 0) and "Unknown win" without an amount. The text said "(+1 won without an amount,
    not in the sum)", the HTML (and so the PDF) 5,000 alone."""
    build_unknown_amount_wins(engine, settings)
    report = team_report(engine, settings, "East", dt.date(2026, 7, 5))
    text = report_text(settings, report)
    assert f"won so far 5,000 {LEFT_OUT};" in text, text
    html = report_html(settings, report, charts_too=False)
    cell = re.search(r">Won so far</td><td[^>]*>(.*?)</td>", html, re.S)
    assert cell is not None and cell.group(1) == f"5,000 {LEFT_OUT}"


def test_the_one_on_one_says_the_wins_left_out_in_its_html_as_in_its_text(
    engine: Engine, settings: Settings
) -> None:
    """Ana as of Wednesday 2026-07-15 (tests/unknown_amounts_org.py): July's revenue 5,000
    (Paid, and Pilot's real 0), "Blank win" and "Blank win 2" (Jul 6, 7) without an amount;
    this week (Jul 13-15) nothing won. The text said "5,000 (2 deals without an amount)",
    the HTML (and so the PDF) 5,000 alone."""
    build_unknown_amounts_org(engine, settings)
    report = rep_report(engine, settings, "Ana", AS_OF)
    text = report_text(settings, report)
    revenue = next(line for line in text.splitlines() if "Revenue won:" in line)
    assert "week 0 of" in revenue and "month 5,000 (2 without an amount, not in the sum) of" in (
        revenue
    ), revenue
    html = report_html(settings, report, charts_too=False)
    row = re.search(r"<td[^>]*>Revenue won</td>(.*?)</tr>", html, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert (cells[0], cells[3]) == ("0", "5,000 (2 without an amount, not in the sum)"), cells


SUNDAY = dt.date(2026, 7, 12)  # the week of Monday July 6, read whole


def _changes_row(html: str, label: str) -> list[str]:
    """The cells after `label` in the report's "since last week" table (the last table with
    a "Last week" heading)."""
    table = html[html.rindex(">Last week</th>") :]
    row = re.search(rf"<td[^>]*>{label}</td>(.*?)</tr>", table, re.S)
    assert row is not None, table
    return re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)


def test_the_one_on_one_says_a_week_of_wins_without_amounts_is_not_comparable(
    engine: Engine, settings: Settings
) -> None:
    """Ana's week of July 6 (tests/unknown_amounts_org.py): two wins, both without an amount,
    against the week before's 5,000 (Paid, and Pilot's real 0). Every face read a drop:
    "0 against 5,000 (-5,000 (-100%))", minus signs."""
    build_unknown_amounts_org(engine, settings)
    report = rep_report(engine, settings, "Ana", SUNDAY)
    text = report_text(settings, report)
    assert (
        "  Revenue won: 0 (2 without an amount, not in the sum) against 5,000 (not comparable)"
        in text.splitlines()
    ), text
    assert "  Deals won: 2 against 2 (no change)" in text.splitlines(), text  # a count: compared
    html = report_html(settings, report, charts_too=True)
    assert _changes_row(html, "Revenue won") == [
        "0 (2 without an amount, not in the sum)",
        "5,000",
        "not comparable",
    ]
    assert ">0 +2 without amount</text>" in html  # the week-over-week chart's value label


def test_the_team_report_says_both_weeks_left_deals_out_and_the_change_is_not_comparable(
    engine: Engine, settings: Settings
) -> None:
    """East's week of July 6: 20,000 (Ben's Big) with Ana's two blanks and Ben's blank left
    out, against 5,000 (Paid, Pilot) with Ben's early blank left out. The text and the
    HTML (and so the PDF) said "+15,000 (+300%)" in green."""
    build_unknown_amounts_org(engine, settings)
    report = team_report(engine, settings, "East", SUNDAY)
    text = report_text(settings, report)
    assert (
        "  Revenue won: 20,000 (3 without an amount, not in the sum) against 5,000"
        " (1 without an amount, not in the sum) (not comparable)" in text.splitlines()
    ), text
    html = report_html(settings, report, charts_too=False)
    assert _changes_row(html, "Revenue won") == [
        "20,000 (3 without an amount, not in the sum)",
        "5,000 (1 without an amount, not in the sum)",
        "not comparable",
    ]


def test_a_count_that_did_not_move_says_no_change_once_on_every_face(
    engine: Engine, settings: Settings
) -> None:
    """Ana's week of July 6 against the week before: 2 deals won each week (Blank win and
    Blank win 2 against Paid and Pilot, tests/unknown_amounts_org.py). The text and the HTML
    (and so the PDF, printed from it) said "±0 (+0%)": a signed zero and a signed zero share."""
    build_unknown_amounts_org(engine, settings)
    report = rep_report(engine, settings, "Ana", SUNDAY)
    text = report_text(settings, report)
    assert "  Deals won: 2 against 2 (no change)" in text.splitlines(), text
    html = report_html(settings, report, charts_too=False)
    assert _changes_row(html, "Deals won") == ["2", "2", "no change"]
    assert "±0" not in text and "±0" not in html


def _with_revenue_per_win() -> Settings:
    """The defaults with revenue per win among the AEs' key metrics."""
    return parse_settings(config_with_revenue_per_win())


def test_the_team_report_compares_revenue_per_win_over_the_wins_with_an_amount(
    engine: Engine,
) -> None:
    """East's week of July 6: revenue per win 20,000 (Big) over 1 of 4 wins, against 2,500
    (Paid 5,000 and Pilot's real 0) over 2 of 3. Every face said "not comparable", with a
    sum's words beside each average ("(3 without an amount, not in the sum)"); an average
    over the wins with an amount is an honest estimate when it says so: +17,500 (+700%),
    each week saying what it rests on. Revenue won, the total, stays not comparable."""
    settings = _with_revenue_per_win()
    build_unknown_amounts_org(engine, settings)
    report = team_report(engine, settings, "East", SUNDAY)
    text = report_text(settings, report)
    assert (
        "  Revenue per win: 20,000 (per win with an amount: 1 of 4) against 2,500"
        " (per win with an amount: 2 of 3) (+17,500 (+700%))" in text.splitlines()
    ), text
    assert (
        "  Revenue won: 20,000 (3 without an amount, not in the sum) against 5,000"
        " (1 without an amount, not in the sum) (not comparable)" in text.splitlines()
    ), text
    html = report_html(settings, report, charts_too=True)
    assert _changes_row(html, "Revenue per win") == [
        "20,000 (per win with an amount: 1 of 4)",
        "2,500 (per win with an amount: 2 of 3)",
        "+17,500 (+700%)",
    ]
    # the week-over-week chart's value labels, in the small words
    assert ">20,000 1 of 4 wins with amount</text>" in html
    assert ">was 2,500 2 of 3 wins with amount</text>" in html


def test_the_one_on_one_gives_no_change_to_a_week_without_a_win_with_an_amount(
    engine: Engine,
) -> None:
    """Ana's week of July 6: two wins, neither with an amount (0 of 2): no average, so no
    change, against 2,500 over both of the week before's (Paid and Pilot). It read "not
    comparable"; now a dash, the week saying it has no win with an amount."""
    settings = _with_revenue_per_win()
    build_unknown_amounts_org(engine, settings)
    report = rep_report(engine, settings, "Ana", SUNDAY)
    text = report_text(settings, report)
    assert (
        "  Revenue per win: - (per win with an amount: 0 of 2) against 2,500 (-)"
        in text.splitlines()
    ), text


def test_the_one_on_ones_cards_say_what_revenue_per_win_rests_on(engine: Engine) -> None:
    """Ana as of Wednesday 2026-07-15: July's revenue per win 2,500, over 2 of her 4 wins
    (Paid 5,000, Pilot's real 0; two blanks); this week (Jul 13-15) no win. The cards said
    "2,500 (2 without an amount, not in the sum)", a sum's words beside an average."""
    settings = _with_revenue_per_win()
    build_unknown_amounts_org(engine, settings)
    report = rep_report(engine, settings, "Ana", AS_OF)
    text = report_text(settings, report)
    line = next(x for x in text.splitlines() if x.startswith("  Revenue per win: week"))
    assert "; month 2,500 (per win with an amount: 2 of 4) of" in line, line
    html = report_html(settings, report, charts_too=False)
    row = re.search(r"<td[^>]*>Revenue per win</td>(.*?)</tr>", html, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert (cells[0], cells[3]) == ("-", "2,500 (per win with an amount: 2 of 4)"), cells
