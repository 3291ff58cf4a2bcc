"""The e-mail channel against a real SMTP server on loopback (aiosmtpd), read back.

The server speaks STARTTLS or implicit TLS with a certificate made for the test (trusted by
the channel through `ca_file`) and requires a login; what it receives is parsed as any mail
client would: headers, the plain-text and HTML parts, and the envelope's recipients.
The organisation (`alert_org`): Ana and Ben (East) and their manager Max have addresses.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from alert_org import ANA_BEHIND, BEN_IDLE, DEE_IDLE, build_org, report
from factories import LoopbackSMTP
from paceline import plugins
from paceline.channels.delivery import deliver_once_per_change
from paceline.cli import app
from paceline.config import Settings, default_config_text
from paceline.errors import UserInputError
from paceline.store.deliveries import delivery_log
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Activity

NOW = dt.datetime(2026, 12, 7, 7, 0)
LOGIN, PASSWORD = "paceline", "correct horse battery staple"


@dataclass
class Inbox:
    """What the server accepted: (envelope sender, envelope recipients, parsed message)."""

    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def by_recipient(self) -> dict[str, EmailMessage]:
        return {rcpt[0]: message for _sender, rcpt, message in self.received}


def _authenticator(
    _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        LOGIN.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test server's certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class Server:
    inbox: Inbox
    port: int


def _serve(certificate: tuple[Path, Path], mode: str) -> Iterator[Server]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    options: dict[str, Any] = {"authenticator": _authenticator, "auth_required": True}
    if mode == "ssl":  # aiosmtpd does not count implicit TLS as TLS for AUTH: it is, though
        options |= {"ssl_context": context, "auth_require_tls": False}
    else:
        options |= {"tls_context": context, "require_starttls": True}
    # ready_timeout: aiosmtpd's 5 s for the server to start fails on a busy machine.
    controller = LoopbackSMTP(inbox, ready_timeout=300, **options)
    controller.start()
    try:
        yield Server(inbox, controller.port)
    finally:
        controller.stop()


@pytest.fixture
def starttls(certificate: tuple[Path, Path]) -> Iterator[Server]:
    yield from _serve(certificate, "starttls")


@pytest.fixture
def implicit_tls(certificate: tuple[Path, Path]) -> Iterator[Server]:
    yield from _serve(certificate, "ssl")


def _settings(settings: Settings, port: int, ca: Path, **more: Any) -> Settings:
    table = {
        "host": "127.0.0.1",
        "port": port,
        "username": LOGIN,
        "ca_file": str(ca),
        "from_address": "Paceline <paceline@example.com>",
        "backoff_seconds": 0.5,
        **more,
    }
    return settings.model_copy(update={"plugins": {"email": table}})


@pytest.fixture
def org(engine: Engine, settings: Settings) -> Engine:
    build_org(engine, settings)
    return engine


def _no_wait(_seconds: float) -> None:
    """The backoff's sleep, skipped."""


def test_each_person_gets_their_alerts_over_starttls(
    org: Engine,
    settings: Settings,
    starttls: Server,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PACELINE_SMTP_PASSWORD", PASSWORD)
    configured = _settings(settings, starttls.port, certificate[0])
    channel = plugins.alert_channel("email")
    run = deliver_once_per_change(
        org, configured, channel, report([ANA_BEHIND, BEN_IDLE, DEE_IDLE]), NOW, _no_wait
    )
    assert (run.messages, run.alerts, run.failed) == (3, 4, [])
    assert sorted((s, r) for s, r, _m in starttls.inbox.received) == [
        ("paceline@example.com", ["ana@example.com"]),
        ("paceline@example.com", ["ben@example.com"]),
        ("paceline@example.com", ["max@example.com"]),
    ]  # one message per recipient: nobody sees another's address
    mails = starttls.inbox.by_recipient()
    ana = mails["ana@example.com"]
    assert ana["Subject"] == "Paceline: 1 new alert as of 2026-12-07"
    assert ana["From"] == "Paceline <paceline@example.com>"
    assert ana["To"] == "Ana <ana@example.com>"
    assert ana["Date"] == "Mon, 07 Dec 2026 07:00:00 +0000"
    assert ana.get_content_type() == "multipart/alternative"
    plain = ana.get_body(("plain",))
    html = ana.get_body(("html",))
    assert plain is not None and html is not None
    text = plain.get_content()
    assert "New since the last message, your alerts for 2026-12 as of 2026-12-07." in text
    assert (
        "- Ana (East): Conversations behind pace (14 of 130 expected, 90% behind),"
        " since 2026-11-30" in text
    )
    assert "Rules: no selling activities for 3 business days or more" in text
    page = html.get_content()
    assert '<td style="padding:4px 8px">Ana</td>' in page
    assert "Conversations behind pace (14 of 130 expected, 90% behind)" in page
    max_text = mails["max@example.com"].get_body(("plain",))
    assert max_text is not None
    body = max_text.get_content()
    assert "team East's alerts" in body
    assert "- Ana (East): Conversations behind pace" in body
    assert "- Ben (East): no selling activity for 5 business days, since 2026-11-30" in body
    assert "Dee" not in body  # West is not Max's team
    assert mails["max@example.com"]["Subject"] == "Paceline: 2 new alerts as of 2026-12-07"

    again = deliver_once_per_change(
        org, configured, channel, report([ANA_BEHIND, BEN_IDLE]), NOW, _no_wait
    )
    assert again.messages == 0 and len(starttls.inbox.received) == 3  # once per change


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_implicit_tls_and_only_managers(
    org: Engine,
    settings: Settings,
    implicit_tls: Server,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMTP_SECRET", PASSWORD)
    configured = _settings(
        settings,
        implicit_tls.port,
        certificate[0],
        security="ssl",
        password_env="SMTP_SECRET",
        to=["managers"],
        also_to=["RevOps <revops@example.com>"],
    )
    run = deliver_once_per_change(
        org,
        configured,
        plugins.alert_channel("email"),
        report([ANA_BEHIND, DEE_IDLE]),
        NOW,
        _no_wait,
    )
    assert run.failed == []
    mails = implicit_tls.inbox.by_recipient()
    assert sorted(mails) == ["max@example.com", "revops@example.com"]
    revops = mails["revops@example.com"].get_body(("plain",))
    assert revops is not None and "Dee (West)" in revops.get_content()  # every alert
    assert mails["revops@example.com"]["To"] == "RevOps <revops@example.com>"


def test_a_refused_login_is_logged_without_the_password(
    org: Engine,
    settings: Settings,
    starttls: Server,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PACELINE_SMTP_PASSWORD", "wrong-password-123")
    configured = _settings(settings, starttls.port, certificate[0], retries=1, to=["reps"])
    waits: list[float] = []
    run = deliver_once_per_change(
        org, configured, plugins.alert_channel("email"), report([ANA_BEHIND]), NOW, waits.append
    )
    assert starttls.inbox.received == [] and waits == [0.5]
    [record] = delivery_log(org)
    assert (record.status, record.attempts) == ("failed", 2)
    assert record.error is not None and "535" in record.error
    assert record.error.startswith(f"SMTP 127.0.0.1:{starttls.port}:")
    assert "wrong-password-123" not in record.error
    assert run.failed[0].recipient == "ana@example.com"


def test_an_untrusted_certificate_fails_the_delivery(
    org: Engine, settings: Settings, starttls: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without `ca_file`, the test server's self-signed certificate is not trusted."""
    monkeypatch.setenv("PACELINE_SMTP_PASSWORD", PASSWORD)
    table = {"host": "127.0.0.1", "port": starttls.port, "username": LOGIN, "retries": 0}
    table["from_address"] = "paceline@example.com"
    configured = settings.model_copy(update={"plugins": {"email": table}})
    run = deliver_once_per_change(
        org, configured, plugins.alert_channel("email"), report([BEN_IDLE]), NOW, _no_wait
    )
    assert starttls.inbox.received == []
    assert run.failed and "CERTIFICATE_VERIFY_FAILED" in run.failed[0].error


def test_settings_errors_name_the_key_and_the_variable(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    make = plugins.alert_channel("email").sender
    assert make is not None
    with pytest.raises(UserInputError, match=r"needs a \[plugins.email\] table"):
        make(settings)
    bad = settings.model_copy(
        update={"plugins": {"email": {"host": "mail", "from_address": "x", "prot": 25}}}
    )
    with pytest.raises(UserInputError) as error:
        make(bad)
    assert "[plugins.email].from_address: Value error, 'x' is not an e-mail address" in str(
        error.value
    )
    assert "[plugins.email].prot: Extra inputs are not permitted" in str(error.value)
    monkeypatch.delenv("PACELINE_SMTP_PASSWORD", raising=False)
    login = settings.model_copy(
        update={
            "plugins": {"email": {"host": "mail", "from_address": "a@example.com", "username": "u"}}
        }
    )
    with pytest.raises(UserInputError, match="set the environment variable PACELINE_SMTP_PASSWORD"):
        make(login)


def test_the_alerts_command_e_mails_what_the_analysis_found(
    tmp_path: Path,
    settings: Settings,
    starttls: Server,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """End to end: Ben has sold every business day of November and December; Ana never has,
    so as of Monday Dec 7 she is idle (no selling activity in the year looked back) and gets
    one e-mail, Max too (his team's); a second run sends nothing; the log shows both."""
    url = f"sqlite:///{tmp_path / 'org.db'}"
    engine = make_engine(url)
    upgrade(engine)
    build_org(engine, settings)
    _ben_sells_every_day(engine)
    engine.dispose()
    monkeypatch.setenv("PACELINE_SMTP_PASSWORD", PASSWORD)
    config = tmp_path / "paceline.toml"
    config.write_text(
        default_config_text()
        + "\n[plugins.email]\n"
        + f'host = "127.0.0.1"\nport = {starttls.port}\nusername = "{LOGIN}"\n'
        + f"ca_file = {json.dumps(str(certificate[0]))}\n"
        + 'from_address = "paceline@example.com"\n',
        "utf-8",
    )
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["--db", url, "--config", str(config), *args])

    sent = run("alerts", "--channel", "email", "--as-of", "2026-12-07")
    assert sent.exit_code == 0, sent.output
    assert "email: sent 2 message(s) with 2 alert(s)" in sent.output
    assert PASSWORD not in sent.output
    mails = starttls.inbox.by_recipient()
    assert sorted(mails) == ["ana@example.com", "max@example.com"]
    ana = mails["ana@example.com"].get_body(("plain",))
    assert ana is not None and "- Ana (East): no selling activity for" in ana.get_content()
    again = run("alerts", "--channel", "email", "--as-of", "2026-12-07")
    assert "sent 0 message(s) with 0 alert(s); 2 already sent and still standing" in again.output
    logged = json.loads(run("alerts", "log", "--channel", "email", "--json").output)
    assert sorted((r["recipient"], r["rep"], r["rule"], r["status"]) for r in logged) == [
        ("ana@example.com", "Ana", "no_selling", "sent"),
        ("max@example.com", "Ana", "no_selling", "sent"),
    ]


def _ben_sells_every_day(engine: Engine) -> None:
    from sqlalchemy import select

    from paceline.store.models import Rep

    with engine.begin() as conn:
        ids = {name: rep_id for name, rep_id in conn.execute(select(Rep.name, Rep.id))}
        day, rows = dt.date(2026, 11, 2), []
        while day <= dt.date(2026, 12, 7):
            for name in ("Ben", "Max"):
                rows.append(
                    {
                        "rep_id": ids[name],
                        "kind": "call",
                        "occurred_at": dt.datetime.combine(day, dt.time(15, 0)),
                        "local_date": day,
                        "outcome": "conversation",
                        "has_ask": True,
                        "engaged": False,
                        "source": "test",
                    }
                )
            day += dt.timedelta(days=1)
        conn.execute(insert(Activity), rows)
