"""The revenue equation's medians when some peers were not there all the window
(`factories.build_equation_part_window_peers`: East AEs, November to the 18th, 13 business
days; Lea left on the 11th after 8 of them, Dan started on the 16th, 3 of them). Their
prospects (distinct accounts) are no full window's, so they are left out of the medians of
prospects and of selling activities per prospect, and kept in the two ratios' medians. A
rep there part of the window is read over their own days, against the peers' volumes over
those days."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from factories import AS_OF, LEA_LAST_DAY, build_equation_part_window_peers, make_site
from paceline.analytics.equation import revenue_equation
from paceline.analytics.window import diagnosis_window
from paceline.cli import app as cli_app
from paceline.config import Settings
from paceline.store.engine import make_engine


def test_part_window_peers_are_out_of_the_prospects_median(
    engine: Engine, settings: Settings
) -> None:
    """Ana's group: Ana 20 prospects, Ben 12, Cy 10 there all along: the median is 12 (before:
    20, 12, 10, 4, 3 with Lea's and Dan's, 10). Activities per prospect: 2 for everyone.
    Wins per call, everyone's: 1/40, 1/24, 1/20, 1/8, 1/6, median 1/20; revenue per win
    1,000. Ana's 20 prospects are 20/12 of the reference."""
    build_equation_part_window_peers(engine, settings)
    window = diagnosis_window(settings, "month", AS_OF)
    report = revenue_equation(engine, settings, window, team="East")
    ana = {r.rep: r for r in report.reps}["Ana"]
    assert sorted(ana.peers) == ["Ben", "Cy", "Dan", "Lea"]
    factors = {f.name: f for f in ana.factors}
    assert (ana.prospects, ana.selling_activities, ana.wins) == (20, 40, 1)
    assert factors["prospects"].reference == 12
    assert factors["prospects"].relative == pytest.approx(20 / 12)
    assert factors["activities_per_prospect"].reference == 2
    assert factors["wins_per_activity"].reference == pytest.approx(1 / 20)
    assert factors["revenue_per_win"].reference == 1000


def test_a_leaver_is_set_against_the_peers_volumes_over_the_days_she_was_there(
    engine: Engine, settings: Settings
) -> None:
    """Lea was there Nov 2-11: the first 8 of the 13 business days, on which a rep there all
    along made call k (of accounts k // 2) on day k mod 13, so calls 0-7, 13-20, 26-33 and 39:
    Ana 25 calls to 14 accounts (0-3, 6-10, 13-16, 19), Ben 16 to 9 (0-3, 6-10), Cy 15 to 8
    (0-3, 6-9); Lea 8 to 4; Dan had not started. The prospects' median over those days is
    of 4, 8, 9, 14: 8.5 (it was the full window's 12, so Lea's 4 read as a third of it);
    activities per prospect, of 2, 15/8, 16/9, 25/14: (15/8 + 25/14) / 2 = 205/112. Wins per
    call and revenue per win are the whole window's medians, 1/20 and 1,000. Reference
    revenue 8.5 x 205/112 x 1/20 x 1,000 = 777.9...: Lea's 1,000 is above it (the gap was
    ln(1,000 / 1,200) < 0, "held back" by days she was not there)."""
    build_equation_part_window_peers(engine, settings)
    window = diagnosis_window(settings, "month", AS_OF)
    lea = revenue_equation(engine, settings, window, rep="Lea").reps[0]
    factors = {f.name: f for f in lea.factors}
    assert (lea.prospects, lea.selling_activities, lea.wins) == (4, 8, 1)
    assert (lea.worked_from, lea.worked_to) == (dt.date(2026, 11, 1), LEA_LAST_DAY)
    assert sorted(lea.peers) == ["Ana", "Ben", "Cy"]
    assert factors["prospects"].reference == 8.5
    assert factors["activities_per_prospect"].reference == pytest.approx(205 / 112)
    assert factors["wins_per_activity"].reference == pytest.approx(1 / 20)
    assert factors["revenue_per_win"].reference == 1000
    reference = 8.5 * 205 / 112 / 20 * 1000
    assert lea.reference_revenue == pytest.approx(reference)
    assert lea.gap == pytest.approx(math.log(1000 / reference))


def test_a_starter_is_set_against_the_peers_volumes_since_he_started(
    engine: Engine, settings: Settings
) -> None:
    """Dan started on Monday Nov 16: days 10-12 of 13, calls k with k mod 13 in 10-12: Ana
    calls 10-12, 23-25, 36-38 to accounts 5, 6, 11, 12, 18, 19 (6 prospects, 9 calls), Ben
    calls 10-12 and 23 to 5, 6, 11 (3, 4), Cy calls 10-12 to 5, 6 (2, 3); Lea had left. The
    prospects' median of 2, 3, 3, 6: 3, Dan's own 3 (it was the full window's 12); activities
    per prospect of 3/2, 4/3, 3/2, 2: 3/2."""
    build_equation_part_window_peers(engine, settings)
    window = diagnosis_window(settings, "month", AS_OF)
    dan = revenue_equation(engine, settings, window, rep="Dan").reps[0]
    factors = {f.name: f for f in dan.factors}
    assert (dan.worked_from, dan.worked_to) == (dt.date(2026, 11, 16), AS_OF)
    assert sorted(dan.peers) == ["Ana", "Ben", "Cy"]
    assert (factors["prospects"].value, factors["prospects"].reference) == (3, 3)
    assert factors["activities_per_prospect"].reference == 1.5
    assert factors["wins_per_activity"].reference == pytest.approx(1 / 20)


LEA_SAID = (
    "Lea was there from 2026-11-01 to 2026-11-11 only: the equation reads those days, the"
    " peers' prospects and selling activities per prospect over the same days"
)


def test_faces_say_a_leaver_is_read_over_her_days(tmp_path: Path, settings: Settings) -> None:
    """The terminal (the equation, one rep's and the team's, and the brief), the JSON, the
    API and the pages say which days Lea's equation reads."""
    url = f"sqlite:///{tmp_path / 'part.db'}"
    engine = make_engine(url)
    build_equation_part_window_peers(engine, settings)
    base = ["--db", url]
    period = ["--period", "month", "--as-of", AS_OF.isoformat()]
    runner = CliRunner()
    for args in (["equation", *period], ["equation", "--rep", "Lea", *period],
                 ["diagnose", "--rep", "Lea", *period]):  # fmt: skip
        shown = runner.invoke(cli_app, [*base, *args])
        assert shown.exit_code == 0, shown.output
        assert LEA_SAID in " ".join(shown.output.split())
    data = json.loads(runner.invoke(cli_app, [*base, "equation", *period, "--json"]).output)
    spans = {r["rep"]: (r["worked_from"], r["worked_to"]) for r in data["reps"]}
    assert spans["Lea"] == ("2026-11-01", "2026-11-11")
    assert spans["Dan"] == ("2026-11-16", "2026-11-18")
    assert spans["Ana"] == (None, None)
    site = make_site(engine, settings, {"root": ("admin", None)})
    with site.client:
        params = {"period": "month", "as_of": AS_OF.isoformat()}
        reply = site.api("root", "/equation", rep="Lea", **params)
        assert reply.status_code == 200
        assert reply.json()["reps"][0]["worked_to"] == "2026-11-11"
        for path, extra in (("/equation", {}), ("/equation", {"rep": "Lea"}),
                            ("/diagnose", {"rep": "Lea"})):  # fmt: skip
            page = site.page("root", path, **params, **extra)
            assert page.status_code == 200
            assert 'data-testid="equation-worked"' in page.text
            assert LEA_SAID.replace("'", "&#39;") in " ".join(page.text.split())
