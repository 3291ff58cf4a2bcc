"""Slack, Teams and the signed webhook against a local HTTP receiver the tests start.

The receiver keeps every request (path, headers, body) and answers with the statuses it is
told to; for the signed webhook it checks the Standard Webhooks signature itself, by the
specification's recipe (HMAC-SHA256 of "id.timestamp.body" under the base64-decoded secret),
and refuses a request that does not verify, as a real receiver would.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from alert_org import ANA_BEHIND, BEN_IDLE, DEE_IDLE, alert, build_org, report
from paceline import plugins
from paceline.channels.delivery import deliver_once_per_change
from paceline.cli import app
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.store.deliveries import delivery_log

NOW = dt.datetime(2026, 12, 7, 7, 0)  # naive UTC, as the store keeps it
NOW_EPOCH = "1796626800"  # 2026-12-07T07:00:00Z in seconds since 1970 (date -d ... +%s)
KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
SLACK_PATH = "/services/T000/B000/XXXXXXXXXXXXXXXX"


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each request with the next of `statuses` (then `default`)."""

    port: int = 0
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    secret_key: bytes | None = None  # set: verify Standard Webhooks signatures
    requests: list[Received] = field(default_factory=list)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, received: Received) -> int:
        self.requests.append(received)
        if self.secret_key is not None and not verified(self.secret_key, received):
            return 401
        return self.statuses.pop(0) if self.statuses else self.default


def verified(key: bytes, received: Received) -> bool:
    """The Standard Webhooks check, by hand: v1,base64(HMAC-SHA256(key, id.ts.body))."""
    headers = {k.lower(): v for k, v in received.headers.items()}
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + received.body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split())


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            headers = {k.lower(): v for k, v in self.headers.items()}
            received = Received(self.path, headers, self.rfile.read(length))
            status = state.answer(received)
            body = b"ok" if status < 300 else b"invalid_token"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    # serve_forever looks for shutdown() every poll_interval: at its default, half a second,
    # each test's teardown waited for it.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def org(engine: Engine, settings: Settings) -> Engine:
    build_org(engine, settings)
    return engine


def _no_wait(_seconds: float) -> None:
    """The backoff's sleep, skipped."""


def _with(settings: Settings, name: str, **table: Any) -> Settings:
    return settings.model_copy(update={"plugins": {name: table}})


def test_slack_gets_block_kit(
    org: Engine, settings: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PACELINE_SLACK_WEBHOOK_URL", receiver.url(SLACK_PATH))
    sneaky = alert("<!channel> Zed", "West", "no_selling")
    run = deliver_once_per_change(
        org,
        settings,
        plugins.alert_channel("slack"),
        report([ANA_BEHIND, sneaky]),
        NOW,
        _no_wait,
    )
    assert (run.messages, run.alerts, run.failed) == (1, 2, [])
    [request] = receiver.requests
    assert request.path == SLACK_PATH
    assert request.headers["content-type"] == "application/json"
    payload = request.json()
    assert payload["text"] == "Paceline: 2 new alerts as of 2026-12-07"
    blocks = payload["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section", "section", "section", "context"]
    assert blocks[0]["text"] == {
        "type": "plain_text",
        "text": "Paceline: 2 new alerts as of 2026-12-07",
    }
    assert blocks[1]["text"]["type"] == "mrkdwn"
    assert blocks[1]["text"]["text"] == (
        "New since the last message, the alerts for 2026-12 as of 2026-12-07."
    )
    assert blocks[2]["text"] == {
        "type": "mrkdwn",
        "text": "*Ana (East)*\nConversations behind pace (14 of 130 expected, 90% behind),"
        " since 2026-11-30",
    }
    assert blocks[3]["text"]["text"].startswith("*&lt;!channel&gt; Zed (West)*\n")  # no ping
    assert blocks[4]["elements"] == [
        {"type": "mrkdwn", "text": "Rules: no selling activities for 3 business days or more"}
    ]
    [record, _other] = delivery_log(org)
    assert record.recipient == "127.0.0.1"  # the host: the path is Slack's secret
    assert all(SLACK_PATH not in r.recipient for r in delivery_log(org))


def test_teams_gets_an_adaptive_card_through_workflows(
    org: Engine, settings: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.default = 202  # what a Workflows webhook answers
    monkeypatch.setenv("TEAMS_URL", receiver.url("/workflows/abc/triggers/manual/invoke?sig=S"))
    configured = _with(settings, "teams", url_env="TEAMS_URL", label="sales-leads", teams=["West"])
    run = deliver_once_per_change(
        org,
        configured,
        plugins.alert_channel("teams"),
        report([ANA_BEHIND, DEE_IDLE]),
        NOW,
        _no_wait,
    )
    assert run.failed == [] and run.alerts == 1  # West's only: Dee
    payload = receiver.requests[0].json()
    assert payload["type"] == "message"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert "@type" not in payload and "sections" not in payload  # not a MessageCard
    assert [b["type"] for b in card["body"]] == ["TextBlock", "TextBlock", "FactSet", "TextBlock"]
    assert card["body"][2]["facts"] == [
        {
            "title": "Dee (West)",
            "value": "no selling activity for 5 business days, since 2026-11-30",
        }
    ]
    assert [r.recipient for r in delivery_log(org)] == ["sales-leads"]


def test_the_webhook_is_signed_by_standard_webhooks(
    org: Engine, settings: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.secret_key = KEY
    monkeypatch.setenv("PACELINE_WEBHOOK_URL", receiver.url())
    monkeypatch.setenv("PACELINE_WEBHOOK_SECRET", SECRET)
    run = deliver_once_per_change(
        org,
        settings,
        plugins.alert_channel("webhook"),
        report([ANA_BEHIND, BEN_IDLE]),
        NOW,
        _no_wait,
    )
    assert run.failed == [] and run.messages == 1
    [request] = receiver.requests
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["webhook-timestamp"] == NOW_EPOCH
    assert headers["webhook-id"].startswith("msg_")
    assert headers["webhook-signature"].startswith("v1,")
    assert verified(KEY, request)
    payload = request.json()
    assert payload["type"] == "paceline.alerts.new"
    assert payload["timestamp"] == "2026-12-07T07:00:00+00:00"
    data = payload["data"]
    assert (data["as_of"], data["period"], data["standing"]) == ("2026-12-07", "2026-12", 0)
    assert [(a["rep"], a["rule"], a["metric"]) for a in data["alerts"]] == [
        ("Ana", "behind_pace", "conversations"),
        ("Ben", "no_selling", "selling_activities"),
    ]
    assert data["alerts"][0]["actual"] == 14 and data["alerts"][0]["since"] == "2026-11-30"


def test_a_wrong_secret_is_refused_by_the_receiver_and_logged(
    org: Engine, settings: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.secret_key = KEY
    other = "whsec_" + base64.b64encode(b"another key of thirty-two bytes!").decode()
    monkeypatch.setenv("PACELINE_WEBHOOK_URL", receiver.url("/hook?token=TOPSECRET"))
    monkeypatch.setenv("PACELINE_WEBHOOK_SECRET", other)
    configured = _with(settings, "webhook", retries=0)
    run = deliver_once_per_change(
        org, configured, plugins.alert_channel("webhook"), report([BEN_IDLE]), NOW, _no_wait
    )
    assert run.failed[0].error == "127.0.0.1: HTTP 401 invalid_token"
    assert "TOPSECRET" not in (delivery_log(org)[0].error or "")


def test_a_receiver_failing_twice_gets_the_same_message_three_times(
    org: Engine, settings: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.secret_key = KEY
    receiver.statuses = [500, 503]
    monkeypatch.setenv("PACELINE_WEBHOOK_URL", receiver.url())
    monkeypatch.setenv("PACELINE_WEBHOOK_SECRET", SECRET)
    waits: list[float] = []
    configured = _with(settings, "webhook", retries=3, backoff_seconds=1.5)
    run = deliver_once_per_change(
        org, configured, plugins.alert_channel("webhook"), report([BEN_IDLE]), NOW, waits.append
    )
    assert (run.messages, run.failed, waits) == (1, [], [1.5, 3.0])
    assert len(receiver.requests) == 3
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert len(ids) == 1  # one message id for every try: the receiver can deduplicate
    [record] = delivery_log(org)
    assert (record.status, record.attempts) == ("sent", 3)


def test_a_receiver_that_is_down_is_tried_again_next_run(
    org: Engine, settings: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.default = 503
    monkeypatch.setenv("PACELINE_SLACK_WEBHOOK_URL", receiver.url(SLACK_PATH))
    channel = plugins.alert_channel("slack")
    waits: list[float] = []
    first = deliver_once_per_change(org, settings, channel, report([DEE_IDLE]), NOW, waits.append)
    assert len(receiver.requests) == 3 and waits == [2.0, 4.0]  # default: 2 retries from 2 s
    assert first.failed[0].error == "127.0.0.1: HTTP 503 invalid_token"
    [failed] = delivery_log(org, failed=True)
    assert (failed.attempts, failed.error) == (3, "127.0.0.1: HTTP 503 invalid_token")

    receiver.default = 200
    later = NOW + dt.timedelta(hours=1)
    second = deliver_once_per_change(
        org, settings, channel, report([DEE_IDLE]), later, waits.append
    )
    assert second.messages == 1 and len(receiver.requests) == 4
    assert delivery_log(org, failed=True) == []
    third = deliver_once_per_change(org, settings, channel, report([DEE_IDLE]), later, waits.append)
    assert third.messages == 0 and len(receiver.requests) == 4  # delivered: not again


def test_nothing_is_sent_without_the_url_and_the_error_names_the_variable(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PACELINE_WEBHOOK_URL", raising=False)
    make = plugins.alert_channel("webhook").sender
    assert make is not None
    with pytest.raises(UserInputError, match="set the environment variable PACELINE_WEBHOOK_URL"):
        make(settings)
    monkeypatch.setenv("PACELINE_WEBHOOK_URL", "ftp://example.com/x")
    with pytest.raises(UserInputError, match="PACELINE_WEBHOOK_URL: not an http"):
        make(settings)
    monkeypatch.setenv("PACELINE_WEBHOOK_URL", "https://example.com/x")
    monkeypatch.setenv("PACELINE_WEBHOOK_SECRET", "not base64 !")
    with pytest.raises(UserInputError, match="PACELINE_WEBHOOK_SECRET: not a Standard Webhooks"):
        make(settings)
    monkeypatch.delenv("PACELINE_SLACK_WEBHOOK_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    refused = CliRunner().invoke(app, ["--db", url, "alerts", "--channel", "slack"])
    assert refused.exit_code == 1
    assert "set the environment variable PACELINE_SLACK_WEBHOOK_URL" in refused.output


def test_a_long_slack_message_stays_within_fifty_blocks() -> None:
    """Slack refuses more than 50 blocks: 2 at the top, 45 alerts, a count of the other 5,
    the rules."""
    from paceline.channels import AlertMessage, Recipient
    from paceline.channels.webhook_send import slack_payload

    many = [alert(f"Rep {i:02d}", "East", "no_selling") for i in range(50)]
    message = AlertMessage(
        Recipient("chat"), dt.date(2026, 12, 7), "2026-12", many, NOW, rules={"x": "y"}
    )
    blocks = slack_payload(message)["blocks"]
    assert len(blocks) == 49
    assert blocks[46]["text"]["text"].startswith("*Rep 44 (East)*")
    assert blocks[47]["text"]["text"] == "…and 5 more alerts."
    assert blocks[48]["type"] == "context"
