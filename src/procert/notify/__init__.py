"""Notifications: render outbox rows as bilingual mails and deliver them over SMTP with retries."""

from procert.notify.deliver import DeliveryReport, SmtpConfig, backoff, build_message, send_pending
from procert.notify.render import RenderedMail, render

__all__ = ["DeliveryReport", "RenderedMail", "SmtpConfig", "backoff", "build_message", "render", "send_pending"]
