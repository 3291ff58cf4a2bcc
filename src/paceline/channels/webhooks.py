"""The built-in alert channels "slack", "teams" and "webhook": one message per run to one
destination, holding the alerts that are new there.

- slack: a Slack incoming webhook, as Block Kit blocks (with a `text` fallback for
  notifications);
- teams: a Microsoft Teams Workflows webhook ("When a Teams webhook request is received"),
  as an Adaptive Card attachment; the Office 365 connectors' MessageCard format is retired;
- webhook: any HTTP endpoint, the alerts as JSON signed by the Standard Webhooks
  specification (`webhook-id`, `webhook-timestamp`, `webhook-signature` headers), so the
  receiver can check that Paceline sent it and when.

Slack's and Teams' URLs carry their credential, so they are read only from the environment
(`url_env`); so is the webhook's signing secret (`secret_env`). None of them is printed or
stored: error texts are blanked of them before the delivery log keeps them.

This module is the plugin: it names the channels. How they send (their Pydantic settings,
payloads, signing, urllib) is `paceline.channels.webhook_send`, loaded when a sender is
made: every command that lists the plugins (`paceline --help`) loads this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paceline.channels import AlertChannel
from paceline.hookspecs import hookimpl

if TYPE_CHECKING:
    from paceline.channels.webhook_send import WebhookSender
    from paceline.config import Settings


def slack_sender(settings: Settings) -> WebhookSender:
    from paceline.channels import webhook_send

    return webhook_send.slack_sender(settings)


def teams_sender(settings: Settings) -> WebhookSender:
    from paceline.channels import webhook_send

    return webhook_send.teams_sender(settings)


def webhook_sender(settings: Settings) -> WebhookSender:
    from paceline.channels import webhook_send

    return webhook_send.webhook_sender(settings)


CHANNELS = [
    AlertChannel("slack", "Post new alerts to a Slack incoming webhook.", sender=slack_sender),
    AlertChannel(
        "teams", "Post new alerts to a Microsoft Teams Workflows webhook.", sender=teams_sender
    ),
    AlertChannel(
        "webhook", "POST new alerts as JSON signed by Standard Webhooks.", sender=webhook_sender
    ),
]


@hookimpl
def register_alert_channels() -> list[AlertChannel]:
    return CHANNELS
