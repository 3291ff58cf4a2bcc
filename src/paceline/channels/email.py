"""The built-in alert channel "email": one message per person over SMTP, HTML with a
plain-text part.

A rep receives their own alerts, a manager their team's (an active manager user linked to a
rep record with an e-mail address), and each address in `also_to` every alert. Configured
in `[plugins.email]`; the SMTP password comes only from the environment variable
`password_env` names (default `PACELINE_SMTP_PASSWORD`) and is never printed or stored.

This module is the plugin: it names the channel. How it sends (its Pydantic settings,
smtplib) is `paceline.channels.email_send`, loaded when a sender is made: every command
that lists the plugins (`paceline --help`) loads this module, and must not pay for those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paceline.channels import AlertChannel
from paceline.hookspecs import hookimpl

if TYPE_CHECKING:
    from paceline.channels.email_send import EmailSender
    from paceline.config import Settings

NAME = "email"


def make_sender(settings: Settings) -> EmailSender:
    from paceline.channels import email_send

    return email_send.make_sender(settings)


EMAIL_CHANNEL = AlertChannel(
    name=NAME,
    description="E-mail each rep their alerts and each manager their team's, over SMTP.",
    sender=make_sender,
)


@hookimpl
def register_alert_channels() -> list[AlertChannel]:
    return [EMAIL_CHANNEL]
