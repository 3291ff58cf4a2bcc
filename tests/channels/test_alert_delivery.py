"""Delivering alerts once per change, with retries, on SQLite and PostgreSQL.

The channel here is a recording sender (the real channels are tested against real SMTP and
HTTP receivers in test_channels_email and test_channels_webhooks): what matters is who is
sent which alerts, when an alert is news, and what the delivery log keeps. The organisation
is `alert_org`'s: Ana and Ben (East) with addresses, Max managing East, Dee without one.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from alert_org import ANA_BEHIND, AS_OF, BEN_IDLE, DEE_IDLE, build_org, report
from factories import made_app
from paceline.channels import AlertChannel, AlertMessage, DeliveryError, Recipient
from paceline.channels.delivery import deliver_once_per_change, send_with_retries
from paceline.cli import app
from paceline.config import Settings
from paceline.store import deliveries
from paceline.store.deliveries import delivery_log

NOW = dt.datetime(2026, 12, 7, 7, 0)


@dataclass
class Recording:
    """A sender that records what it is asked to send; `fail` lists the outcome of each
    attempt to come (an error text fails it, None lets it through; empty: all go through)."""

    audience: str = "people"
    retries: int = 2
    backoff_seconds: float = 2.0
    secrets: tuple[str, ...] = ()
    fail: list[str | None] = field(default_factory=list)
    sent: list[AlertMessage] = field(default_factory=list)
    tried: int = 0
    extra: list[Recipient] = field(default_factory=list)

    def recipients(self, people: list[Recipient]) -> list[Recipient]:
        return people + self.extra

    def send(self, message: AlertMessage) -> None:
        self.tried += 1
        outcome = self.fail.pop(0) if self.fail else None
        if outcome is not None:
            raise DeliveryError(outcome)
        self.sent.append(message)


def _channel(sender: Recording) -> AlertChannel:
    return AlertChannel("fake", "records", sender=lambda _settings: sender)  # type: ignore[arg-type,return-value]


def _received(sender: Recording) -> dict[str, list[tuple[str, str]]]:
    return {m.recipient.address: [(a.rep, a.rule) for a in m.alerts] for m in sender.sent}


@pytest.fixture
def org(engine: Engine, settings: Settings) -> Engine:
    build_org(engine, settings)
    return engine


def test_a_rep_gets_their_own_alerts_and_a_manager_their_teams(
    org: Engine, settings: Settings
) -> None:
    sender = Recording()
    run = deliver_once_per_change(
        org, settings, _channel(sender), report([ANA_BEHIND, BEN_IDLE, DEE_IDLE]), NOW
    )
    assert _received(sender) == {
        "ana@example.com": [("Ana", "behind_pace")],
        "ben@example.com": [("Ben", "no_selling")],
        "max@example.com": [("Ana", "behind_pace"), ("Ben", "no_selling")],
    }  # Dee has no address and West no manager: nobody hears of Dee; Max has no alerts
    assert (run.messages, run.alerts, run.failed) == (3, 4, [])
    by_address = {m.recipient.address: m.recipient for m in sender.sent}
    assert by_address["max@example.com"].role == "manager"
    assert by_address["max@example.com"].name == "Max"


def test_an_alert_that_persists_is_sent_once_and_again_when_it_returns(
    org: Engine, settings: Settings
) -> None:
    sender = Recording()
    channel = _channel(sender)
    deliver_once_per_change(org, settings, channel, report([ANA_BEHIND, BEN_IDLE]), NOW)
    assert len(sender.sent) == 3
    tuesday = AS_OF + dt.timedelta(days=1)
    later = NOW + dt.timedelta(days=1)

    same = deliver_once_per_change(
        org, settings, channel, report([ANA_BEHIND, BEN_IDLE], tuesday), later
    )
    assert len(sender.sent) == 3  # nothing new: nothing sent
    assert (same.messages, same.unchanged, same.cleared) == (0, 4, 0)  # ana 1, ben 1, max 2

    gone = deliver_once_per_change(org, settings, channel, report([BEN_IDLE], tuesday), later)
    assert len(sender.sent) == 3 and gone.cleared == 2  # Ana's, at ana@ and at max@

    back = deliver_once_per_change(
        org, settings, channel, report([ANA_BEHIND, BEN_IDLE], tuesday), later
    )
    assert _received(Recording(sent=sender.sent[3:])) == {
        "ana@example.com": [("Ana", "behind_pace")],
        "max@example.com": [("Ana", "behind_pace")],
    }
    assert back.messages == 2
    assert [m.standing for m in sender.sent[3:]] == [0, 1]  # Max: Ben's still stands

    january = deliver_once_per_change(
        org, settings, channel, report([BEN_IDLE], dt.date(2027, 1, 4), "2027-01"), later
    )
    assert january.alerts == 2  # a new period: Ben's idle alert is a new alert (ben@, max@)


def test_a_failing_channel_is_retried_with_doubling_waits(org: Engine, settings: Settings) -> None:
    sender = Recording(fail=["421 try later", "421 try later"], audience="destination")
    waits: list[float] = []
    channel = _channel(sender)
    sender.recipients = lambda people: [Recipient("ops-chat")]  # type: ignore[method-assign]
    run = deliver_once_per_change(org, settings, channel, report([ANA_BEHIND]), NOW, waits.append)
    assert (sender.tried, waits, run.messages, run.failed) == (3, [2.0, 4.0], 1, [])
    [record] = delivery_log(org)
    assert (record.recipient, record.status, record.attempts, record.error) == (
        "ops-chat",
        "sent",
        3,
        None,
    )
    assert record.sent_at == NOW and record.last_attempt_at == NOW


def test_a_delivery_that_always_fails_is_recorded_and_retried_next_run(
    org: Engine, settings: Settings
) -> None:
    sender = Recording(fail=["connection refused"] * 3, retries=2, backoff_seconds=0.5)
    sender.recipients = lambda people: [Recipient("ops-chat")]  # type: ignore[method-assign]
    waits: list[float] = []
    run = deliver_once_per_change(
        org, settings, _channel(sender), report([ANA_BEHIND]), NOW, waits.append
    )
    assert (sender.tried, waits, sender.sent) == (3, [0.5, 1.0], [])
    assert [(f.recipient, f.error) for f in run.failed] == [("ops-chat", "connection refused")]
    [failed] = delivery_log(org, failed=True)
    assert (failed.status, failed.attempts, failed.error, failed.sent_at) == (
        "failed",
        3,
        "connection refused",
        None,
    )

    later = NOW + dt.timedelta(hours=1)
    retried = deliver_once_per_change(
        org, settings, _channel(sender), report([ANA_BEHIND]), later, waits.append
    )
    assert retried.messages == 1 and [a.rep for a in sender.sent[0].alerts] == ["Ana"]
    [record] = delivery_log(org)
    assert (record.status, record.attempts, record.error, record.sent_at) == (
        "sent",
        4,
        None,
        later,
    )
    assert delivery_log(org, failed=True) == []


def test_a_failed_alert_that_clears_is_not_sent_late(org: Engine, settings: Settings) -> None:
    sender = Recording(fail=["down"] * 3)
    sender.recipients = lambda people: [Recipient("ops-chat")]  # type: ignore[method-assign]
    deliver_once_per_change(org, settings, _channel(sender), report([ANA_BEHIND]), NOW, _no_wait)
    deliver_once_per_change(org, settings, _channel(sender), report([]), NOW, _no_wait)
    assert sender.sent == []
    [record] = delivery_log(org)
    assert (record.status, record.active, record.cleared_at) == ("failed", False, NOW)


def test_secrets_never_reach_the_log(org: Engine, settings: Settings) -> None:
    secret = "https://hooks.example.com/T000/B000/XXXXSECRET"
    sender = Recording(fail=[f"cannot reach {secret}"] * 3, secrets=(secret,), retries=2)
    sender.recipients = lambda people: [Recipient("chat")]  # type: ignore[method-assign]
    run = deliver_once_per_change(
        org, settings, _channel(sender), report([ANA_BEHIND]), NOW, lambda _s: None
    )
    assert run.failed[0].error == "cannot reach ***"
    assert delivery_log(org)[0].error == "cannot reach ***"


def test_one_alert_is_claimed_once_by_two_runs(org: Engine) -> None:
    """Two runs at once: the unique index on active rows lets only one claim an alert."""
    key = ("Ana", "conversations", "behind_pace", "2026-12")
    first = deliveries.claim(org, "email", "ana@example.com", [key], AS_OF, NOW)
    second = deliveries.claim(org, "email", "ana@example.com", [key], AS_OF, NOW)
    assert list(first) == [key] and second == {}
    other = deliveries.claim(org, "slack", "ana@example.com", [key], AS_OF, NOW)
    assert list(other) == [key]  # another channel keeps its own state
    deliveries.clear(org, list(first.values()), NOW)
    again = deliveries.claim(org, "email", "ana@example.com", [key], AS_OF, NOW)
    assert list(again) == [key]  # cleared, it can be news again


def test_a_person_with_two_roles_gets_one_message(org: Engine, settings: Settings) -> None:
    """Max is a rep of East and its manager: his own alerts and his team's in one message."""
    max_idle = BEN_IDLE.__class__(**{**BEN_IDLE.__dict__, "rep": "Max"})
    sender = Recording()
    deliver_once_per_change(org, settings, _channel(sender), report([ANA_BEHIND, max_idle]), NOW)
    assert _received(sender)["max@example.com"] == [("Ana", "behind_pace"), ("Max", "no_selling")]
    assert sorted(_received(sender)) == ["ana@example.com", "max@example.com"]


def test_send_with_retries_does_not_retry_a_programming_error() -> None:
    class Broken(Recording):
        def send(self, message: AlertMessage) -> None:
            raise KeyError("bug")

    with pytest.raises(KeyError):
        send_with_retries(Broken(), _message(), lambda _s: None)  # type: ignore[arg-type]


def _message() -> AlertMessage:
    return AlertMessage(Recipient("x@example.com"), AS_OF, "2026-12", [ANA_BEHIND], NOW)


def test_the_log_command_lists_what_went_where(tmp_path: Path, settings: Settings) -> None:
    from paceline.store.engine import make_engine
    from paceline.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'org.db'}"
    engine = make_engine(url)
    upgrade(engine)
    build_org(engine, settings)
    ok = Recording()
    deliver_once_per_change(engine, settings, _channel(ok), report([ANA_BEHIND]), NOW)
    down = Recording(fail=["SMTP mail.example.com:587: 554 rejected"] * 6)  # 2 recipients
    down_channel = AlertChannel("down", "fails", sender=lambda _s: down)  # type: ignore[arg-type,return-value]
    deliver_once_per_change(engine, settings, down_channel, report([BEN_IDLE]), NOW, _no_wait)
    engine.dispose()

    runner = CliRunner()
    listed = runner.invoke(app, ["--db", url, "alerts", "log", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert sorted((r["channel"], r["recipient"], r["rep"], r["status"]) for r in rows) == [
        ("down", "ben@example.com", "Ben", "failed"),
        ("down", "max@example.com", "Ben", "failed"),
        ("fake", "ana@example.com", "Ana", "sent"),
        ("fake", "max@example.com", "Ana", "sent"),
    ]
    failed = runner.invoke(app, ["--db", url, "alerts", "log", "--failed"])
    assert failed.exit_code == 0, failed.output
    assert "554 rejected" in failed.output and "ana@example.com" not in failed.output
    only = json.loads(
        runner.invoke(app, ["--db", url, "alerts", "log", "--channel", "fake", "--json"]).output
    )
    assert {r["channel"] for r in only} == {"fake"} and len(only) == 2
    none = runner.invoke(app, ["--db", url, "alerts", "log", "--channel", "slack"])
    assert "No deliveries yet." in none.output
    # A channel that neither exists nor is in the log: named, with those that are, not
    # "No deliveries yet." (`fake` and `down` are only in the log: a plugin since removed).
    typo = runner.invoke(app, ["--db", url, "alerts", "log", "--channel", "slak"])
    assert typo.exit_code == 1
    said = " ".join(typo.output.replace("│", " ").split())  # the error box's lines joined
    assert (  # the option as typed, as every CLI option's error names it ("channel:" before)
        "Invalid value for --channel: 'slak' is not allowed; use one of console, down, email,"
        " fake, slack, teams, webhook" in said
    ), said


def _no_wait(_seconds: float) -> None:
    """The backoff's sleep, skipped."""


def test_the_deliveries_page_is_for_admins_and_shows_failures(
    org: Engine, settings: Settings
) -> None:
    import re

    from fastapi.testclient import TestClient

    from factories import PASSWORD, quick_user

    quick_user(org, "root", "admin")
    quick_user(org, "ana", "rep", "Ana")
    down = Recording(fail=["HTTP 503 from chat.example.com"] * 3)
    down.recipients = lambda people: [Recipient("chat.example.com")]  # type: ignore[method-assign]
    deliver_once_per_change(org, settings, _channel(down), report([BEN_IDLE]), NOW, _no_wait)
    deliver_once_per_change(org, settings, _channel(Recording()), report([ANA_BEHIND]), NOW)

    with TestClient(made_app(settings, org)) as client:

        def log_in(username: str) -> None:
            client.cookies.clear()
            form = client.get("/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form)
            assert csrf is not None
            reply = client.post(
                "/login",
                data={"username": username, "password": PASSWORD, "csrf": csrf.group(1)},
                follow_redirects=False,
            )
            assert reply.status_code == 303, reply.text

        log_in("ana")
        assert client.get("/deliveries").status_code == 403
        assert 'href="/deliveries"' not in client.get("/scorecard").text
        log_in("root")
        page = client.get("/deliveries")
        assert page.status_code == 200
        assert 'href="/deliveries"' in page.text
        rows = re.findall(r'<tr data-status="(\w+)">(.*?)</tr>', page.text, re.S)
        assert sorted(status for status, _row in rows) == ["failed", "sent", "sent"]
        [failed] = [row for status, row in rows if status == "failed"]
        assert "chat.example.com" in failed and "HTTP 503 from chat.example.com" in failed
        assert "Ben" in failed and "No selling activity" in failed
        assert "selling_activities" not in failed  # the idle rule names no metric
        only = client.get("/deliveries", params={"failed": "true"}).text
        assert len(re.findall(r"<tr data-status=", only)) == 1
        assert "ana@example.com" not in only
        recorded = client.get("/deliveries", params={"channel": "fake"})
        assert len(re.findall(r"<tr data-status=", recorded.text)) == 3
        typo = client.get("/deliveries", params={"channel": "fak"})  # it showed nothing, 200
        assert typo.status_code == 422
        assert "channel: &#39;fak&#39; is not allowed here; use one of console, email, fake," in (
            typo.text
        )


def test_a_run_for_one_team_leaves_the_other_teams_alerts_standing(
    org: Engine, settings: Settings
) -> None:
    """`paceline alerts --team West --channel ...` reads West only: East's delivered alerts
    are not "cleared" by their absence, so the next full run does not send them again."""
    sender = Recording()
    channel = _channel(sender)
    deliver_once_per_change(org, settings, channel, report([ANA_BEHIND, DEE_IDLE]), NOW)
    assert len(sender.sent) == 2  # ana@, max@ (Dee has no address)
    west = deliver_once_per_change(
        org, settings, channel, report([DEE_IDLE]), NOW, _no_wait, team="west"
    )
    assert west.cleared == 0
    full = deliver_once_per_change(org, settings, channel, report([ANA_BEHIND, DEE_IDLE]), NOW)
    assert full.messages == 0 and len(sender.sent) == 2
    east = deliver_once_per_change(org, settings, channel, report([]), NOW, _no_wait, team="East")
    assert east.cleared == 2  # East read, and Ana's alert is gone: at ana@ and at max@
