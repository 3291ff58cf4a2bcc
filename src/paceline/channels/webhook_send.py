"""How the alert channels "slack", "teams" and "webhook" send (`paceline.channels.webhooks`
names them): their settings, each one's JSON payload, signing and the HTTP POST. Loaded
when a sender is made, not with the plugins."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import Field
from standardwebhooks.webhooks import Webhook

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
from paceline.channels.settings import DeliverySettings
from paceline.config import Settings
from paceline.errors import UserInputError

if TYPE_CHECKING:  # hints only: loading the channels must not load the analyses (SciPy)
    from paceline.analytics.alerts import Alert

SLACK_MAX_BLOCKS = 50  # Slack refuses a message with more
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
Payload = Callable[[AlertMessage], dict[str, Any]]


class WebhookSettings(DeliverySettings):
    """`[plugins.slack]`, `[plugins.teams]`, `[plugins.webhook]`: see docs/alert-channels.md."""

    url_env: str
    label: str | None = None  # the destination's name in the delivery log (default: the host)
    teams: list[str] = Field(default_factory=list)  # only these teams' alerts (empty: all)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class SignedWebhookSettings(WebhookSettings):
    url_env: str = "PACELINE_WEBHOOK_URL"
    secret_env: str = "PACELINE_WEBHOOK_SECRET"


class SlackSettings(WebhookSettings):
    url_env: str = "PACELINE_SLACK_WEBHOOK_URL"


class TeamsSettings(WebhookSettings):
    url_env: str = "PACELINE_TEAMS_WEBHOOK_URL"


@dataclass(frozen=True)
class WebhookSender:
    """Posts one JSON document per message to one URL."""

    url: str
    label: str
    payload: Payload
    config: WebhookSettings
    signing_secret: str | None = None
    audience: Audience = "destination"

    @property
    def retries(self) -> int:
        return self.config.retries

    @property
    def backoff_seconds(self) -> float:
        return self.config.backoff_seconds

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.url, self.signing_secret) if s)

    def recipients(self, people: list[Recipient]) -> list[Recipient]:
        teams = frozenset(self.config.teams) if self.config.teams else None
        return [Recipient(self.label, self.label, "everyone", teams=teams)]

    def send(self, message: AlertMessage) -> None:
        body = json.dumps(self.payload(message), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.signing_secret is not None:
            headers |= signature_headers(self.signing_secret, message, body)
        post(self.url, self.label, body, headers, self.config.timeout_seconds)

    def send_digest(self, digest: Digest) -> None:
        """A scheduled digest as text (Slack, Teams) or signed JSON (the webhook)."""
        body = json.dumps(digest_payload(self.label, digest), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if self.signing_secret is not None:
            sent = digest.now.replace(tzinfo=dt.UTC)
            headers |= {
                "webhook-id": digest.key,
                "webhook-timestamp": str(int(sent.timestamp())),
                "webhook-signature": Webhook(self.signing_secret).sign(digest.key, sent, body),
            }
        post(self.url, self.label, body, headers, self.config.timeout_seconds)


def digest_payload(label: str, digest: Digest) -> dict[str, Any]:
    """Slack and Teams read `text`; the signed webhook gets the Standard Webhooks envelope."""
    return {
        "type": f"paceline.{digest.kind}",
        "timestamp": digest.now.replace(tzinfo=dt.UTC).isoformat(),
        "text": f"{digest.subject}\n\n{digest.text}",
        "data": {
            "destination": label,
            "to": digest.recipient.address,
            "about": digest.about,
            "subject": digest.subject,
            "text": digest.text,
        },
    }


def post(url: str, label: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    """POST the body; anything but a 2xx answer is a `DeliveryError` naming the status."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip()
        raise DeliveryError(f"{label}: HTTP {exc.code} {detail}".strip()) from None
    except urllib.error.URLError as exc:
        raise DeliveryError(f"{label}: {exc.reason}") from None
    except (TimeoutError, OSError) as exc:
        raise DeliveryError(f"{label}: {exc or type(exc).__name__}") from None


def message_id(message: AlertMessage) -> str:
    """The same for every retry of one message (the receiver's idempotency key)."""
    keys = "|".join(f"{a.rep}/{a.rule}/{a.metric}" for a in message.alerts)
    seed = f"{message.recipient.address}|{message.now.isoformat()}|{keys}"
    return "msg_" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]


def signature_headers(secret: str, message: AlertMessage, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, signed with `secret` (whsec_...)."""
    sent = message.now.replace(tzinfo=dt.UTC)
    msg_id = message_id(message)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, sent, body),
    }


# --- payloads ---------------------------------------------------------------------------------


def _mrkdwn(text: str) -> str:
    """Slack's three control characters escaped, so a rep named <!channel> pings nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: AlertMessage) -> dict[str, Any]:
    """Block Kit: a header, the intro, a section per alert, the rules as context."""
    title = wording.subject(message)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(wording.intro(message))}},
    ]
    room = SLACK_MAX_BLOCKS - len(blocks) - 2
    shown = message.alerts if len(message.alerts) <= room else message.alerts[: room - 1]
    for alert in shown:
        text = f"*{_mrkdwn(wording.who(alert))}*\n{_mrkdwn(wording.what(alert))}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if len(shown) < len(message.alerts):
        more = f"…and {len(message.alerts) - len(shown)} more alerts."
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": more}})
    if message.rules:
        rules = _mrkdwn("Rules: " + "; ".join(message.rules.values()))[:3000]
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": rules}]})
    return {"text": title, "blocks": blocks}


def teams_payload(message: AlertMessage) -> dict[str, Any]:
    """A Teams Workflows message: one Adaptive Card (1.4) with the alerts as a fact set."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": wording.subject(message),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        {"type": "TextBlock", "text": wording.intro(message), "wrap": True},
        {
            "type": "FactSet",
            "facts": [
                {"title": wording.who(alert), "value": wording.what(alert)}
                for alert in message.alerts
            ],
        },
    ]
    if message.rules:
        rules = "Rules: " + "; ".join(message.rules.values())
        body.append(
            {"type": "TextBlock", "text": rules, "wrap": True, "size": "Small", "isSubtle": True}
        )
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
    }


def _alert_json(alert: Alert) -> dict[str, Any]:
    return {
        "rep": alert.rep,
        "team": alert.team,
        "rule": alert.rule,
        "metric": alert.metric,
        "metric_label": alert.metric_label,
        "actual": alert.actual,
        "expected": alert.expected,
        "shortfall": alert.shortfall,
        "chance": alert.chance,
        "since": alert.since.isoformat() if alert.since else None,
        "business_days": alert.business_days,
        "trailing_days": alert.trailing_days,
        "text": wording.line(alert),
    }


def webhook_payload(message: AlertMessage) -> dict[str, Any]:
    """Standard Webhooks' recommended envelope: type, timestamp, data."""
    return {
        "type": "paceline.alerts.new",
        "timestamp": message.now.replace(tzinfo=dt.UTC).isoformat(),
        "data": {
            "destination": message.recipient.address,
            "as_of": message.as_of.isoformat(),
            "period": message.period_label,
            "alerts": [_alert_json(alert) for alert in message.alerts],
            "standing": message.standing,
            "rules": message.rules,
        },
    }


# --- the channels -----------------------------------------------------------------------------


def _sender(
    settings: Settings, name: str, model: type[WebhookSettings], payload: Payload
) -> WebhookSender:
    table = settings.plugins.get(name, {})
    config = plugin_settings(settings, name, model) if table else model.model_validate(table)
    url = secret_from_env(config.url_env, f"[plugins.{name}].url_env")
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise UserInputError(f"{config.url_env}: not an http(s) URL")
    label = config.label or urlsplit(url).hostname or name
    secret = None
    if isinstance(config, SignedWebhookSettings):
        secret = secret_from_env(config.secret_env, f"[plugins.{name}].secret_env")
        try:
            Webhook(secret)
        except Exception:
            raise UserInputError(
                f"{config.secret_env}: not a Standard Webhooks secret (whsec_ and base64)"
            ) from None
    return WebhookSender(url, label, payload, config, secret)


def slack_sender(settings: Settings) -> WebhookSender:
    return _sender(settings, "slack", SlackSettings, slack_payload)


def teams_sender(settings: Settings) -> WebhookSender:
    return _sender(settings, "teams", TeamsSettings, teams_payload)


def webhook_sender(settings: Settings) -> WebhookSender:
    return _sender(settings, "webhook", SignedWebhookSettings, webhook_payload)
