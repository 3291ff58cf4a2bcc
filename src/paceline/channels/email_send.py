"""How the alert channel "email" sends (`paceline.channels.email` names the channel): its
`[plugins.email]` settings, composing a message and speaking SMTP. Loaded when a sender is
made, not with the plugins."""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

from pydantic import Field, field_validator

from paceline.channels import (
    AlertMessage,
    Audience,
    DeliveryError,
    Digest,
    Recipient,
    plugin_settings,
    secret_from_env,
    wording,
)
from paceline.channels.email import NAME
from paceline.channels.settings import DeliverySettings
from paceline.config import Settings

Audiences = Literal["reps", "managers"]
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


def _address(value: str) -> str:
    value = value.strip()
    _name, address = email.utils.parseaddr(value)
    if "@" not in address or " " in address:
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


class EmailSettings(DeliverySettings):
    """`[plugins.email]`: see docs/alert-channels.md."""

    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str = "PACELINE_SMTP_PASSWORD"
    ca_file: str | None = None  # a private CA's certificates, to trust the server's
    from_address: str
    to: list[Audiences] = Field(default_factory=lambda: list[Audiences](["reps", "managers"]))
    also_to: list[str] = Field(default_factory=list)
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    @field_validator("from_address")
    @classmethod
    def _from(cls, value: str) -> str:
        return _address(value)

    @field_validator("also_to")
    @classmethod
    def _others(cls, value: list[str]) -> list[str]:
        return [_address(v) for v in value]


@dataclass(frozen=True)
class EmailSender:
    config: EmailSettings
    password: str | None
    audience: Audience = "people"

    @property
    def retries(self) -> int:
        return self.config.retries

    @property
    def backoff_seconds(self) -> float:
        return self.config.backoff_seconds

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.password,) if self.password else ()

    def recipients(self, people: list[Recipient]) -> list[Recipient]:
        wanted = {"reps": "rep", "managers": "manager"}
        roles = {wanted[audience] for audience in self.config.to}
        chosen = [p for p in people if p.role in roles]
        for written in self.config.also_to:
            name, address = email.utils.parseaddr(written)
            chosen.append(Recipient(address, name or None, "everyone"))
        return chosen

    def send(self, message: AlertMessage) -> None:
        self._send_mail(compose(message, self.config.from_address), message.recipient.address)

    def send_digest(self, digest: Digest) -> None:
        """A scheduled digest: HTML with a plain-text part, and the PDF attached if any."""
        self._send_mail(compose_digest(digest, self.config.from_address), digest.recipient.address)

    def _send_mail(self, mail: EmailMessage, to: str) -> None:
        config = self.config
        port = config.port or DEFAULT_PORTS[config.security]
        try:
            with self._connect(port) as smtp:
                if config.username:
                    smtp.login(config.username, self.password or "")
                smtp.send_message(mail, config.from_address, [to])
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {config.host}:{port}: {_reason(exc)}") from None

    def _connect(self, port: int) -> smtplib.SMTP:
        config = self.config
        if config.security == "none":
            return smtplib.SMTP(config.host, port, timeout=config.timeout_seconds)
        context = ssl.create_default_context(cafile=config.ca_file)
        if config.security == "ssl":
            return smtplib.SMTP_SSL(
                config.host, port, timeout=config.timeout_seconds, context=context
            )
        smtp = smtplib.SMTP(config.host, port, timeout=config.timeout_seconds)
        try:
            smtp.starttls(context=context)
        except BaseException:
            smtp.close()
            raise
        return smtp


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        return f"{exc.smtp_code} {text}"
    return str(exc) or type(exc).__name__


def compose(message: AlertMessage, sender: str) -> EmailMessage:
    """The e-mail: a plain-text part and the same alerts as an HTML table."""
    mail = EmailMessage()
    mail["Subject"] = wording.subject(message)
    mail["From"] = sender
    recipient = message.recipient
    mail["To"] = email.utils.formataddr((recipient.name or "", recipient.address))
    mail["Date"] = email.utils.format_datetime(message.now.replace(tzinfo=dt.UTC))
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@paceline>"
    mail.set_content(_plain(message))
    mail.add_alternative(_html(message), subtype="html")
    return mail


def compose_digest(digest: Digest, sender: str) -> EmailMessage:
    """A digest e-mail: text and HTML alternatives, then the PDF report when there is one."""
    mail = EmailMessage()
    mail["Subject"] = digest.subject
    mail["From"] = sender
    mail["To"] = email.utils.formataddr((digest.recipient.name or "", digest.recipient.address))
    mail["Date"] = email.utils.format_datetime(digest.now.replace(tzinfo=dt.UTC))
    mail["Message-ID"] = f"<{digest.key}@paceline>"
    mail["X-Paceline-Digest"] = digest.kind
    mail.set_content(digest.text)
    mail.add_alternative(digest.html, subtype="html")
    if digest.attachment is not None:
        filename, data = digest.attachment
        mail.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    return mail


def _plain(message: AlertMessage) -> str:
    lines = [wording.intro(message), ""]
    lines += [f"- {wording.line(alert)}" for alert in message.alerts]
    if message.rules:
        lines += ["", "Rules: " + "; ".join(message.rules.values())]
    return "\n".join(lines) + "\n"


def _html(message: AlertMessage) -> str:
    rows = "".join(
        "<tr>"
        f'<td style="padding:4px 8px">{html.escape(alert.rep)}</td>'
        f'<td style="padding:4px 8px">{html.escape(alert.team or "")}</td>'
        f'<td style="padding:4px 8px">{html.escape(wording.what(alert))}</td>'
        "</tr>"
        for alert in message.alerts
    )
    rules = (
        '<p style="color:#555;font-size:90%">Rules: '
        f"{html.escape('; '.join(message.rules.values()))}</p>"
        if message.rules
        else ""
    )
    return (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f"<p>{html.escape(wording.intro(message))}</p>"
        '<table style="border-collapse:collapse"><thead><tr>'
        '<th align="left">Rep</th><th align="left">Team</th><th align="left">Alert</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>{rules}</body></html>\n"
    )


def make_sender(settings: Settings) -> EmailSender:
    config = plugin_settings(settings, NAME, EmailSettings)
    password = None
    if config.username:
        password = secret_from_env(config.password_env, f"[plugins.{NAME}].password_env")
    return EmailSender(config, password)
