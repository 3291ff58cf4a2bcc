"""A small organisation, a configuration with jobs, and the receivers (a real SMTP server on
loopback and a local HTTP receiver that checks Standard Webhooks signatures), shared by
`test_scheduler` and `faults/test_scheduler_faults` (copied in spirit from the channel
tests' helpers, not imported from them).

Calendar: the shipped one (America/New_York), with Wednesday 2026-12-09 made a holiday;
West runs on Europe/London (`[scheduler] team_timezones`), East on the calendar's zone.
East: Ana, Ben (user "ben", quiet hours 07:00-09:00), Cy (no address), manager Max (user
"max", e-mail). West: Dee (user "dee", no rep digest), Eve, manager Wes (user "wes", who
takes his digests through the signed webhook).
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import Engine

from factories import LoopbackSMTP
from paceline.access import OPERATOR
from paceline.config import Settings, default_config_text, parse_settings
from paceline.services import preferences, users
from paceline.services.reps import add_rep

KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
PASSWORD = "long enough password"
CHANNELS = ["email", "slack", "teams", "webhook"]


@dataclass
class Inbox:
    """Every message the SMTP server accepted, with the simulated hour it arrived in.
    `hold`: the number (1-based) of a message to keep waiting on, then refuse (451)."""

    received: list[tuple[str, str, EmailMessage]] = field(default_factory=list)
    hour: str = ""
    hold: int | None = None
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    seen: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.seen += 1
        if self.hold is not None and self.seen == self.hold:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        for rcpt in envelope.rcpt_tos:
            self.received.append((self.hour, rcpt, parsed))
        return "250 OK"

    def to(self, address: str) -> list[tuple[str, str, EmailMessage]]:
        return [r for r in self.received if r[1] == address]


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    # aiosmtpd gives a server 5 s to start and answer its first connection, "which might
    # happen if the system is too busy" (its words): a guard here, not a timing test.
    controller = LoopbackSMTP(inbox, ready_timeout=300)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        inbox.release.set()
        controller.stop()


@dataclass
class Call:
    hour: str
    headers: dict[str, str]
    body: bytes
    verified: bool

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    port: int = 0
    hour: str = ""
    calls: list[Call] = field(default_factory=list)
    fail_next: int = 0  # answer this many more calls with 500


def verified(headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks by hand: v1,base64(HMAC-SHA256(key, id.timestamp.body))."""
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split())


@contextmanager
def http_receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            headers = {k.lower(): v for k, v in self.headers.items()}
            body = self.rfile.read(length)
            ok = verified(headers, body)
            state.calls.append(Call(state.hour, headers, body, ok))
            failing = state.fail_next > 0
            state.fail_next -= 1 if failing else 0
            self.send_response(500 if failing else 200 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

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


def config_text(smtp_port: int, jobs: str | None = None) -> str:
    default = default_config_text()
    holidays = "holidays = []"
    assert holidays in default
    default = default.replace(holidays, 'holidays = ["2026-12-09"]')
    jobs = JOBS if jobs is None else jobs
    return (
        default
        + f"""
[plugins.email]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from_address = "paceline@example.com"
retries = 0

[plugins.webhook]
label = "ops-hook"
retries = 0

[scheduler]
lease_minutes = 15
team_timezones = {{ West = "Europe/London" }}
"""
        + jobs
    )


JOBS = """
[[jobs]]
name = "morning"
kind = "rep_digest"
at = "08:00"
days = "business"

[[jobs]]
name = "monday_team"
kind = "manager_digest"
at = "07:00"
days = "monday"
"""


def settings_for(smtp_port: int, jobs: str | None = None) -> Settings:
    return parse_settings(config_text(smtp_port, jobs))


def build_org(engine: Engine, settings: Settings, with_preferences: bool = True) -> None:
    for name, team, mail in [
        ("Ana", "East", "ana@example.com"),
        ("Ben", "East", "ben@example.com"),
        ("Cy", "East", None),
        ("Max", "East", "max@example.com"),
        ("Dee", "West", "dee@example.com"),
        ("Eve", "West", "eve@example.com"),
        ("Wes", "West", "wes@example.com"),
    ]:
        role = "manager" if name in ("Max", "Wes") else "sdr"
        add_rep(engine, settings, name, role, team=team, email=mail)
    users.add_user(engine, OPERATOR, "max", PASSWORD, "manager", "Max")
    users.add_user(engine, OPERATOR, "wes", PASSWORD, "manager", "Wes")
    users.add_user(engine, OPERATOR, "ben", PASSWORD, "rep", "Ben")
    users.add_user(engine, OPERATOR, "dee", PASSWORD, "rep", "Dee")
    if not with_preferences:
        return
    import datetime as dt

    now = dt.datetime(2026, 12, 6)
    set_ = preferences.set_preferences
    set_(engine, OPERATOR, "ben", {"quiet_start": "07:00", "quiet_end": "09:00"}, CHANNELS, now)
    set_(engine, OPERATOR, "dee", {"rep_digest": False}, CHANNELS, now)
    set_(engine, OPERATOR, "wes", {"channel": "webhook"}, CHANNELS, now)
