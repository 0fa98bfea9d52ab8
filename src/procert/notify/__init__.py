"""Notifications: render outbox rows as bilingual mails and deliver them over SMTP with retries."""

from procert.notify.deliver import (
    DeliveryReport,
    SmtpConfig,
    UndeliverableError,
    backoff,
    build_message,
    recipient,
    retry_notification,
    send_pending,
)
from procert.notify.render import RenderedMail, render

__all__ = [
    "DeliveryReport",
    "RenderedMail",
    "SmtpConfig",
    "UndeliverableError",
    "backoff",
    "build_message",
    "recipient",
    "render",
    "retry_notification",
    "send_pending",
]
