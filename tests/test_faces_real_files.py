"""One analysis, one result, every face: the real Zoho CRM export (`../shared/data/
zoho_crm_export`) imported end to end through the CLI, as docs/import.md and the Zoho mappings'
README tell a user to (`paceline init`, the seven `paceline import` commands, then a
`name,team` file putting five reps in East and six in West, and three March targets set with
`paceline target set`), then read as of Wednesday 17 March 2021 (business day 13 of 23 of the
month; never the wall clock) by the CLI (`--json`, and the printed tables of the scorecard and
the leaderboard), the JSON API (`/api/v1/...`), the web pages (the TV board and the weekly
reports' HTML too) and the pages' CSV downloads.

Every figure is checked twice: the faces against each other, and against the same figure
counted here from the CSV files with the csv module (the `_truth_*` functions below, which share
nothing with the importer): calls and meetings per rep in the month to date (times in UTC,
counted on their day in New York; a call is one whose "Call Purpose" is not Administrative or
Support), deals won and their amounts (stage "Closed Won", the "Closing Date" as written),
deals open on the as-of day, selling days. A face that rounds, filters or dates differently
fails here: a page's figure must be the true one to the precision it prints (checked: money
truncated instead of rounded, or a pace printed as a fraction with a % sign, fail four tests).
Counted on UTC days instead, March's calls would be 1,190, not 1,240.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from factories import (
    REPO,
    ZOHO_EXPORT,
    ZOHO_IMPORTS,
    FacesOrg,
    csv_rows,
    make_site,
    money,
    page_tables,
    page_text,
    read_export,
    run_cli_ok,
    shows,
    table_with,
)
from paceline.cli import load_commands
from paceline.config import load_settings
from paceline.store.engine import make_engine

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not ZOHO_EXPORT.is_dir(), reason=f"the Zoho CRM export is not at {ZOHO_EXPORT}"
    ),
]

AS_OF = dt.date(2021, 3, 17)  # a Wednesday: business day 13 of March 2021's 23
MARCH = dt.date(2021, 3, 1)
ELAPSED, TOTAL = 13, 23
NEW_YORK = ZoneInfo("America/New_York")
EAST = ("Jasmine Frank", "Lazar Mathew", "Pete Zachariah", "Rozario Diego", "Santa Cruz Clara")
WEST = ("Augustine Paul", "David Love", "Harold Pawlan", "Roger Terrence", "Thomas Mondrake")
WEST += ("Tina Thomas",)
REP = "Harold Pawlan"
# March 2021 targets: (rep, metric, value)
TARGETS = (
    (REP, "meetings_held", 150.0),
    (REP, "deals_won", 12.0),
    (REP, "revenue", 1_500_000.0),
)
ZOHO_DATES = ("%Y-%m-%d %H:%M:%S", "%d %b, %Y %H:%M:%S", "%Y-%m-%d")


# --- the truths, from the CSV files ----------------------------------------------------------


def _moment(text: str) -> dt.datetime:
    for layout in ZOHO_DATES:
        with contextlib.suppress(ValueError):
            return dt.datetime.strptime(text.strip(), layout)
    raise ValueError(text)


def _new_york_day(text: str) -> dt.date:
    """A Zoho time (UTC, no offset) on its day in New York, the calendar's zone."""
    return _moment(text).replace(tzinfo=dt.UTC).astimezone(NEW_YORK).date()


def _written_day(text: str) -> dt.date:
    """A Zoho date column (created, closing, due): the date as written; its time is no time."""
    return _moment(text).date()


def _in(day: dt.date, first: dt.date, last: dt.date) -> bool:
    return first <= day <= last


def _weekdays(first: dt.date, last: dt.date) -> int:
    return sum(
        1 for n in range((last - first).days + 1) if (first + dt.timedelta(days=n)).weekday() < 5
    )


def _truth_calls(first: dt.date, last: dt.date) -> Counter[str]:
    return Counter(
        row["Call Owner"]
        for row in read_export("Calls")
        if row["Call Purpose"] not in ("Administrative", "Support")
        and _in(_new_york_day(row["Call Start Time"]), first, last)
    )


def _truth_meetings(first: dt.date, last: dt.date) -> Counter[str]:
    return Counter(
        row["Event Owner"]
        for row in read_export("Events")
        if _in(_new_york_day(row["Start DateTime"]), first, last)
    )


def _truth_won(first: dt.date, last: dt.date) -> tuple[Counter[str], dict[str, Decimal]]:
    counts: Counter[str] = Counter()
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    for row in read_export("Potentials"):
        if row["Stage"] == "Closed Won" and _in(_written_day(row["Closing Date"]), first, last):
            counts[row["Potential Owner"]] += 1
            amounts[row["Potential Owner"]] += money(row["Amount"])
    return counts, amounts


def _truth_open(day: dt.date) -> tuple[Counter[str], dict[str, Decimal]]:
    """Deals open at the end of `day`: created by then, and still open or closed after it."""
    counts: Counter[str] = Counter()
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    for row in read_export("Potentials"):
        closed = row["Stage"] in ("Closed Won", "Closed Lost")
        if _written_day(row["Created Time"]) > day:
            continue
        if closed and _written_day(row["Closing Date"]) <= day:
            continue
        counts[row["Potential Owner"]] += 1
        amounts[row["Potential Owner"]] += money(row["Amount"])
    return counts, amounts


def _truth_last_selling_day(last: dt.date) -> dict[str, dt.date]:
    """Each rep's last day with a selling activity up to `last`: a call whose purpose carries an
    Ask (Prospecting, Demo, Negotiation: the mapping's `has_ask`) or a meeting held (an event)."""
    days: dict[str, dt.date] = {}
    for row in read_export("Calls"):
        if row["Call Purpose"] in ("Prospecting", "Demo", "Negotiation"):
            day = _new_york_day(row["Call Start Time"])
            if day <= last:
                days[row["Call Owner"]] = max(days.get(row["Call Owner"], day), day)
    for row in read_export("Events"):
        day = _new_york_day(row["Start DateTime"])
        if day <= last:
            days[row["Event Owner"]] = max(days.get(row["Event Owner"], day), day)
    return days


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FacesOrg]:
    load_commands()
    folder = tmp_path_factory.mktemp("zoho-faces")
    mappings = REPO / "examples" / "mappings" / "zoho"
    with contextlib.chdir(folder):
        run_cli_ok("init")
        for stem, entity, mapping in ZOHO_IMPORTS:
            run_cli_ok(
                "import",
                entity,
                str(ZOHO_EXPORT / f"{stem}.csv"),
                "--mapping",
                str(mappings / f"{mapping}.toml"),
            )
        teams = "name,team\n" + "".join(f"{r},East\n" for r in EAST)
        teams += "".join(f"{r},West\n" for r in WEST)
        (folder / "teams.csv").write_text(teams)
        run_cli_ok("import", "reps", "teams.csv")
        for rep, metric, value in TARGETS:
            run_cli_ok(
                "target",
                "set",
                str(value),
                "--rep",
                rep,
                "--metric",
                metric,
                "--date",
                "2021-03-01",
            )
    settings = load_settings(folder / "paceline.toml")
    engine = make_engine(f"sqlite:///{folder / 'paceline.db'}")
    site = make_site(engine, settings, {"root": ("admin", None)})
    built = FacesOrg(folder, engine, settings, site, {})
    built.rep_ids = {r["name"]: r["id"] for r in built.api("/reps")}
    yield built
    engine.dispose()


# --- scorecards --------------------------------------------------------------------------------


def test_a_reps_scorecard_is_one_result_on_every_face(org: FacesOrg) -> None:
    day = AS_OF.isoformat()
    meetings = _truth_meetings(MARCH, AS_OF)[REP]
    won, revenue = (t[REP] for t in _truth_won(MARCH, AS_OF))
    assert (meetings, won, revenue) == (71, 6, Decimal("489100"))  # counted from the files
    truth = {"meetings_held": meetings, "deals_won": won, "revenue": revenue}
    target = {metric: value for _, metric, value in TARGETS}

    shown = org.cli("scorecard", "--rep", REP, "--as-of", day)
    assert org.api("/scorecard", rep=REP, as_of=day) == shown
    assert (shown["business_days_elapsed"], shown["business_days_total"]) == (ELAPSED, TOTAL)
    lines = {line["metric"]: line["pace"] for line in shown["lines"]}
    for metric, actual in truth.items():
        expected = target[metric] * ELAPSED / TOTAL
        assert lines[metric]["actual"] == float(actual), metric
        assert lines[metric]["expected_to_date"] == pytest.approx(expected), metric
        assert lines[metric]["pace"] == pytest.approx(float(actual) / expected), metric

    printed = {row[0]: row for row in org.text("scorecard", "--rep", REP, "--as-of", day)}
    labels = {"meetings_held": "Meetings held", "deals_won": "Deals won", "revenue": "Revenue won"}
    for metric, actual in truth.items():
        row = printed[labels[metric]]
        expected = target[metric] * ELAPSED / TOTAL
        shows(row[1], actual, f"printed {metric} actual")
        shows(row[2], target[metric], f"printed {metric} target")
        shows(row[3], expected, f"printed {metric} expected")
        shows(row[4], float(actual) / expected, f"printed {metric} pace")

    page = table_with(org.page(f"/reps/{org.rep_ids[REP]}", as_of=day), "Expected by today")
    for metric, actual in truth.items():
        row = page[labels[metric]]
        expected = target[metric] * ELAPSED / TOTAL
        shows(row[2], actual, f"{metric} actual")
        shows(row[3], expected, f"{metric} expected")
        shows(row[4], target[metric], f"{metric} target")
        shows(row[5], float(actual) / expected, f"{metric} pace")

    download = org.page(f"/reps/{org.rep_ids[REP]}/scorecard.csv", as_of=day)
    exported = {row["metric"]: row for row in csv_rows(download)}
    for metric, actual in truth.items():
        assert float(exported[metric]["actual"]) == float(actual), metric
        expected = target[metric] * ELAPSED / TOTAL
        assert float(exported[metric]["expected_to_date"]) == pytest.approx(expected)
    # Nobody in the export has a proposal: the page says "not recorded", so does the download
    # (it said 0.0, a count, where every other face shows none)
    assert page["Proposals sent"][2] == "not recorded"
    proposals = exported["proposals"]
    assert (proposals["actual"], proposals["unrecorded"]) == ("", "Proposals sent")


def test_a_teams_scorecard_is_one_result_on_every_face(org: FacesOrg) -> None:
    day = AS_OF.isoformat()
    meetings = _truth_meetings(MARCH, AS_OF)
    won, revenue = _truth_won(MARCH, AS_OF)
    truth = {
        "meetings_held": {r: meetings[r] for r in EAST},
        "deals_won": {r: won[r] for r in EAST},
        "revenue": {r: revenue[r] for r in EAST},
    }
    shown = org.cli("scorecard", "--team", "East", "--as-of", day)
    assert org.api("/scorecard/team", team="East", as_of=day) == shown
    cards = {
        card["rep"]: {x["metric"]: x["pace"]["actual"] for x in card["lines"]}
        for card in shown["reps"]
    }
    assert sorted(cards) == sorted(EAST)
    total = {x["metric"]: x["pace"]["actual"] for x in shown["total"]}
    for metric, per_rep in truth.items():
        assert {r: cards[r][metric] for r in EAST} == {r: float(v) for r, v in per_rep.items()}
        assert total[metric] == float(sum(per_rep.values())), metric

    page = table_with(org.page("/team", team="East", as_of=day), "Deals won")
    header = next(
        t[0] for t in page_tables(org.page("/team", team="East", as_of=day)) if "Deals won" in t[0]
    )
    columns = {"meetings_held": "Meetings held", "deals_won": "Deals won", "revenue": "Revenue won"}
    for metric, per_rep in truth.items():
        at = header.index(columns[metric])
        for rep, actual in per_rep.items():
            shows(page[rep][at].split(" / ")[0], actual, f"{rep} {metric}")
        shows(page["Team total"][at].split(" / ")[0], sum(per_rep.values()), f"total {metric}")

    exported = csv_rows(org.page("/team/export.csv", team="East", as_of=day))
    for metric, per_rep in truth.items():
        got = {row["rep"]: float(row["actual"]) for row in exported if row["metric"] == metric}
        want = {r: float(v) for r, v in per_rep.items()}
        assert got == {**want, "Team total": float(sum(per_rep.values()))}, metric
    unrecorded = [row for row in exported if row["metric"] == "proposals"]
    assert len(unrecorded) == len(EAST) + 1
    assert {(row["actual"], row["unrecorded"]) for row in unrecorded} == {("", "Proposals sent")}


def test_the_leaderboard_is_one_result_on_every_face(org: FacesOrg) -> None:
    day = AS_OF.isoformat()
    calls = _truth_calls(MARCH, AS_OF)
    assert sum(calls.values()) == 280  # counted from the files
    shown = org.cli("leaderboard", "calls", "--period", "month", "--as-of", day)
    assert org.api("/leaderboard", metric="calls", period="month", as_of=day) == shown
    assert {r["rep"]: r["value"] for r in shown["rows"]} == {
        r: float(calls[r]) for r in (*EAST, *WEST)
    }
    page = org.page("/leaderboard", metric="calls", period="month", as_of=day)
    rows = table_with(page, "Calls")
    for row in rows.values():
        if len(row) > 3 and row[1] in calls:
            shows(row[3], calls[row[1]], row[1])
    assert "Total 280" in page_text(page)
    printed = org.text("leaderboard", "calls", "--period", "month", "--as-of", day)
    assert {row[1]: int(row[3]) for row in printed} == {r: calls[r] for r in (*EAST, *WEST)}
    tv = page_text(org.page("/leaderboard/tv", metric="calls", period="month", as_of=day))
    for rep, count in calls.items():  # the TV board's first page: everyone with a call
        assert f"{rep} {count}" in tv
    exported = csv_rows(
        org.page("/leaderboard/export.csv", metric="calls", period="month", as_of=day)
    )
    assert {row["rep"]: float(row["value"]) for row in exported} == {
        r: float(calls[r]) for r in (*EAST, *WEST)
    }


# --- alerts ------------------------------------------------------------------------------------


def test_alerts_are_one_result_on_every_face(org: FacesOrg) -> None:
    day = AS_OF.isoformat()
    shown = org.cli("alerts", "--as-of", day)
    assert org.api("/alerts", as_of=day) == shown
    quiet = {a["rep"]: a["since"] for a in shown["alerts"] if a["rule"] == "no_selling"}
    last = _truth_last_selling_day(AS_OF)
    # three business days or more without selling (weekdays: the default calendar's last
    # holiday before the as-of day is Martin Luther King Jr. Day, 18 January 2021, as it works
    # Washington's Birthday; a rep idle since then is far past three either way), counted from
    # the day after the last one through the as-of day
    truth = {
        rep: (day_ + dt.timedelta(days=1)).isoformat()
        for rep, day_ in last.items()
        if _weekdays(day_ + dt.timedelta(days=1), AS_OF) >= 3
    }
    assert quiet == truth
    assert quiet["Pete Zachariah"] == "2021-03-12"  # his last selling call: March 11th

    east = {a["rep"]: a for a in shown["alerts"] if a["team"] == "East"}
    team_page = page_text(org.page("/team", team="East", as_of=day))
    for rep, alert in east.items():
        if alert["rule"] == "no_selling":
            said = f"{rep} : No selling activity for {alert['business_days']} business days"
            assert f"{said} (since {alert['since']})" in team_page
    assert team_page.count("No selling activity for") == len(east)


# --- diagnosis ---------------------------------------------------------------------------------


def test_the_funnel_is_one_result_on_every_face(org: FacesOrg) -> None:
    day = AS_OF.isoformat()
    calls, meetings = _truth_calls(MARCH, AS_OF), _truth_meetings(MARCH, AS_OF)
    won, _ = _truth_won(MARCH, AS_OF)
    shown = org.cli("funnel", "--period", "month", "--as-of", day)
    assert org.api("/funnel", period="month", as_of=day) == shown
    counts = {s["metric"]: s["count"] for s in shown["steps"]}
    truth = {
        "calls": sum(calls.values()),
        "meetings_held": sum(meetings.values()),
        "deals_won": sum(won.values()),
    }
    assert {m: counts[m] for m in truth} == truth
    rows = table_with(org.page("/funnel", period="month", as_of=day), "Conversion")
    labels = {"calls": "Calls", "meetings_held": "Meetings held", "deals_won": "Deals won"}
    for metric, count in truth.items():
        shows(rows[labels[metric]][1], count, metric)


def test_pipeline_flow_is_one_result_on_every_face(org: FacesOrg) -> None:
    day = AS_OF.isoformat()
    shown = org.cli("flow", "--period", "month", "--as-of", day)
    assert org.api("/flow", period="month", as_of=day) == shown
    rows = table_with(org.page("/flow", period="month", as_of=day), "Won")
    weeks = [(MARCH, dt.date(2021, 3, 7)), (dt.date(2021, 3, 8), dt.date(2021, 3, 14))]
    weeks.append((dt.date(2021, 3, 15), AS_OF))
    assert [w["label"] for w in shown["weeks"]] == ["2021-W09", "2021-W10", "2021-W11"]
    for week, (first, last) in zip(shown["weeks"], weeks, strict=True):
        counts, amounts = _truth_won(first, last)
        assert week["won"]["count"] == sum(counts.values()), week["label"]
        assert week["won"]["value"] == float(sum(amounts.values())), week["label"]
        open_counts, open_amounts = _truth_open(last)
        assert week["open_pipeline"]["count"] == sum(open_counts.values()), week["label"]
        assert week["open_pipeline"]["value"] == float(sum(open_amounts.values()))
        row = next(r for label, r in rows.items() if label.startswith(week["label"]))
        count, value = row[3].split()
        shows(count, sum(counts.values()), f"{week['label']} won")
        shows(value, sum(amounts.values()), f"{week['label']} won value")
        count, value = row[6].split()
        shows(count, sum(open_counts.values()), f"{week['label']} open")
        shows(value, sum(open_amounts.values()), f"{week['label']} open value")


def test_a_teams_flow_is_its_reps_deals_on_every_face(org: FacesOrg) -> None:
    """East's pipeline flow of March to date: the deals its five reps won, on every face."""
    day = AS_OF.isoformat()
    shown = org.cli("flow", "--team", "East", "--period", "month", "--as-of", day)
    assert org.api("/flow", team="East", period="month", as_of=day) == shown
    counts, amounts = _truth_won(MARCH, AS_OF)
    won = (sum(counts[r] for r in EAST), sum(amounts[r] for r in EAST))
    assert (shown["won"]["count"], shown["won"]["value"]) == (won[0], float(won[1]))
    opened, values = _truth_open(AS_OF)
    last = shown["weeks"][-1]["open_pipeline"]
    assert (last["count"], last["value"]) == (
        sum(opened[r] for r in EAST),
        float(sum(values[r] for r in EAST)),
    )
    page = page_text(org.page("/flow", team="East", period="month", as_of=day))
    assert f"{won[0]} won" in page


def test_stalled_deals_are_one_result_on_every_face(org: FacesOrg) -> None:
    day = AS_OF.isoformat()
    counts, amounts = _truth_open(AS_OF)
    shown = org.cli("stalled", "--as-of", day)
    assert org.api("/stalled", as_of=day) == shown
    by_rep = {r["rep"]: r for r in shown["by_rep"]}
    assert {rep: r["open_deals"] for rep, r in by_rep.items()} == dict(counts)
    assert {rep: r["open_value"] for rep, r in by_rep.items()} == {
        rep: float(v) for rep, v in amounts.items()
    }
    # Zoho keeps no stage history: each deal has been in its stage since it was created, as
    # many days as from that date (as written) to the end of the as-of day: whole days, though
    # daylight saving time began on March 14th (they read 374.96 for a deal of March 8th 2020)
    created = {
        (row["Potential Owner"], row["Potential Name"], _written_day(row["Created Time"]))
        for row in read_export("Potentials")
    }
    for deal in shown["deals"]:
        made = dt.date.fromisoformat(deal["created_on"])
        assert (deal["rep"], deal["name"], made) in created
        assert deal["days_in_stage"] == (AS_OF - made).days + 1, deal["name"]
    rows = table_with(org.page("/stalled", as_of=day), "Open deals")
    for rep, r in by_rep.items():
        shows(rows[rep][2], r["count"], f"{rep} stalled")
        shows(rows[rep][4], counts[rep], f"{rep} open")
        shows(rows[rep][5], amounts[rep], f"{rep} open value")


def test_the_forecast_is_one_result_on_every_face(org: FacesOrg) -> None:
    day = AS_OF.isoformat()
    _, amounts = _truth_won(MARCH, AS_OF)
    won = sum(amounts.values())
    # the configured runs and seed: the page takes neither
    shown = org.cli("forecast", "--period", "month", "--as-of", day)
    assert org.api("/forecast", period="month", as_of=day) == shown
    assert shown["won_so_far"] == float(won)
    page = org.page("/forecast", period="month", as_of=day)
    shows(table_with(page, "Revenue")["Won so far"][1], won, "won so far")
    bands = next(t for t in page_tables(page) if t and t[0][:3] == ["P10", "P50", "P90"])[1]
    for at, key in enumerate(("p10", "p50", "p90", "mean")):
        shows(bands[at], shown[key], key)
    exported = {
        row["figure"]: row["value"]
        for row in csv_rows(org.page("/forecast/export.csv", period="month", as_of=day))
    }
    assert float(exported["won_so_far"]) == float(won)
    assert [float(exported[k]) for k in ("p10", "p50", "p90")] == [
        shown[k] for k in ("p10", "p50", "p90")
    ]


def test_a_reps_diagnosis_is_one_result_on_every_face(org: FacesOrg) -> None:
    """The revenue equation's wins and revenue are the deals the files show won from the day
    it is measured from (the rep's first selling activity in the window) to the as-of day;
    every finding is the same figure in the JSON, the download and the page's words."""
    day = AS_OF.isoformat()
    shown = org.cli("diagnose", "--rep", REP, "--as-of", day)
    assert org.api("/diagnosis", rep=REP, as_of=day) == shown
    equation = shown["equation"]
    counts, amounts = _truth_won(dt.date.fromisoformat(equation["measured_from"]), AS_OF)
    assert (equation["wins"], equation["revenue"]) == (counts[REP], float(amounts[REP]))
    findings = shown["findings"]
    assert findings  # the accounts the calls do not name, and the stalled deals
    exported = csv_rows(org.page("/diagnose/export.csv", rep=REP, as_of=day))
    kept = [row for row in exported if row["kind"] in {f["kind"] for f in findings}]
    assert [(row["kind"], float(row["value"]), int(row["count"])) for row in kept] == [
        (f["kind"], f["value"], f["count"]) for f in findings
    ]
    page = page_text(org.page("/diagnose", rep=REP, as_of=day))
    for row in kept:
        assert row["finding"] in page
    assert f"won in {counts[REP]} deals" in page


# --- the weekly report -------------------------------------------------------------------------


def test_the_weekly_report_is_one_result_on_every_face(org: FacesOrg) -> None:
    """Harold Pawlan's one-on-one of the week of Monday 15 March 2021, read to its Sunday:
    its cards and diagnosis are those of that day, its week-on-week changes the files'
    counts, and the proposals nobody records are "not recorded" in every table (the changes
    said "0, 0, ±0" beside the cards' "not recorded")."""
    sunday = dt.date(2021, 3, 21).isoformat()
    shown = org.cli("report", "rep", REP, "--week", "2021-03-15")
    assert org.api("/reports/rep", rep=REP, week="2021-03-15") == shown
    assert shown["as_of"] == sunday
    assert shown["month_card"] == org.cli("scorecard", "--rep", REP, "--as-of", sunday)
    week = org.cli("scorecard", "--rep", REP, "--period", "week", "--as-of", sunday)
    assert shown["week_card"] == week
    assert shown["diagnosis"] == org.cli("diagnose", "--rep", REP, "--as-of", sunday)

    this = (dt.date(2021, 3, 15), dt.date(2021, 3, 21))
    last = (dt.date(2021, 3, 8), dt.date(2021, 3, 14))
    truth = {
        "meetings_held": [_truth_meetings(*days)[REP] for days in (this, last)],
        "deals_won": [_truth_won(*days)[0][REP] for days in (this, last)],
        "revenue": [_truth_won(*days)[1][REP] for days in (this, last)],
    }
    assert truth == {
        "meetings_held": [33, 10],
        "deals_won": [0, 4],
        "revenue": [Decimal(0), Decimal("462500")],
    }  # counted from the files
    changes = {c["metric"]: c for c in shown["changes"]}
    for metric, (now, before) in truth.items():
        assert (changes[metric]["current"], changes[metric]["previous"]) == (now, before)
    proposals = changes["proposals"]
    assert (proposals["current"], proposals["previous"], proposals["change"]) == (None, None, None)
    assert proposals["unrecorded"] == "Proposals sent"  # was 0.0 and 0.0, a change of 0

    page = org.page(f"/reps/{org.rep_ids[REP]}/report.html", week="2021-03-15")
    rows = table_with(page, "This week")
    labels = {"meetings_held": "Meetings held", "deals_won": "Deals won", "revenue": "Revenue won"}
    for metric, (now, before) in truth.items():
        shows(rows[labels[metric]][1], now, f"{metric} this week")
        shows(rows[labels[metric]][2], before, f"{metric} last week")
    assert rows["Proposals sent"][1:] == ["not recorded", "not recorded", "-"]
    stand = table_with(page, "Week pace")
    shows(stand["Meetings held"][1], truth["meetings_held"][0], "the week's meetings held")
    month = _truth_meetings(MARCH, dt.date(2021, 3, 21))[REP]
    shows(stand["Meetings held"][4], month, "the month's meetings held")
    assert stand["Proposals sent"][1] == "not recorded"


def test_the_team_report_is_one_result_on_every_face(org: FacesOrg) -> None:
    """East's weekly report of the same week: its cards, forecast and flow are the analyses
    of its Sunday, and its changes the team's counts from the files."""
    sunday = dt.date(2021, 3, 21).isoformat()
    shown = org.cli("report", "team", "East", "--week", "2021-03-15")
    assert org.api("/reports/team", team="East", week="2021-03-15") == shown
    team = ("--team", "East", "--as-of", sunday)
    assert shown["month_cards"] == org.cli("scorecard", *team)
    assert shown["week_cards"] == org.cli("scorecard", "--period", "week", *team)
    assert shown["forecast"] == org.cli("forecast", "--period", "quarter", *team)
    assert shown["flow"] == org.cli("flow", "--period", "56d", *team)

    this = (dt.date(2021, 3, 15), dt.date(2021, 3, 21))
    last = (dt.date(2021, 3, 8), dt.date(2021, 3, 14))
    truth = {
        "meetings_held": [sum(_truth_meetings(*d)[r] for r in EAST) for d in (this, last)],
        "deals_won": [sum(_truth_won(*d)[0][r] for r in EAST) for d in (this, last)],
        "revenue": [sum(_truth_won(*d)[1][r] for r in EAST) for d in (this, last)],
    }
    changes = {c["metric"]: c for c in shown["changes"]}
    for metric, (now, before) in truth.items():
        assert (changes[metric]["current"], changes[metric]["previous"]) == (now, before)
    assert changes["proposals"]["unrecorded"] == "Proposals sent"

    east = next(t["id"] for t in org.api("/teams") if t["name"] == "East")
    rows = table_with(org.page(f"/teams/{east}/report.html", week="2021-03-15"), "This week")
    labels = {"meetings_held": "Meetings held", "deals_won": "Deals won", "revenue": "Revenue won"}
    for metric, (now, before) in truth.items():
        shows(rows[labels[metric]][1], now, f"{metric} this week")
        shows(rows[labels[metric]][2], before, f"{metric} last week")
    assert rows["Proposals sent"][1:] == ["not recorded", "not recorded", "-"]
