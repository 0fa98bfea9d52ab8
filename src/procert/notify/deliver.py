"""Deliver the outbox over SMTP: claim, send, record; retry with backoff; never send one twice normally.

Each notification is claimed with a conditional UPDATE (so concurrent senders never pick the same row), sent
with its stable Message-ID, and marked sent in its own transaction right after the server accepted it.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr

from sqlalchemy import Engine, select, update

from procert.ledger import Notification, audit, session_scope
from procert.ledger.service import utcnow
from procert.notify.render import render

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    user: str | None = None
    password: str | None = None
    sender: str = "procert@localhost"
    timeout: float = 10.0


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt: 1, 2, 4 ... minutes, at most 6 hours."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), timedelta(hours=6))


def build_message(notification: Notification, sender: str) -> EmailMessage:
    mail = render(notification.payload, notification.locale)
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = sender
    name = notification.payload.get("display_name") or notification.payload.get("name") or ""
    message["To"] = formataddr((name, notification.email or ""))
    message["Message-ID"] = notification.message_id
    message["Content-Language"] = notification.locale
    unsubscribe = notification.payload.get("unsubscribe_url")
    if unsubscribe:  # RFC 2369 / 8058: mail clients offer their own unsubscribe button
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    if config.ssl:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        if config.starttls:
            client.starttls(context=ssl.create_default_context())
    if config.user:
        client.login(config.user, config.password or "")
    return client


def send_pending(
    engine: Engine,
    *,
    config: SmtpConfig,
    now: datetime | None = None,
    limit: int = 500,
    actor: str = "notify",
    progress: Callable[[int], None] | None = None,
) -> DeliveryReport:
    """Deliver due pending notifications (``next_attempt_at <= now``), oldest first."""
    now = now or utcnow()
    report = DeliveryReport()
    with session_scope(engine) as session:
        due = list(
            session.scalars(
                select(Notification.id)
                .where(Notification.status == "pending", Notification.next_attempt_at <= now)
                .order_by(Notification.id)
                .limit(limit)
            )
        )
    if not due:
        return report
    client: smtplib.SMTP | None = None
    connect_error: str | None = None
    try:
        try:
            client = _connect(config)
        except (OSError, smtplib.SMTPException) as exc:
            connect_error = f"cannot reach SMTP server {config.host}:{config.port}: {exc}"
        for number, notification_id in enumerate(due, 1):
            with session_scope(engine, write=True) as session:
                claimed = session.execute(
                    update(Notification)
                    .where(
                        Notification.id == notification_id,
                        Notification.status == "pending",
                        Notification.next_attempt_at <= now,
                    )
                    .values(next_attempt_at=now + LEASE)
                ).rowcount
            if not claimed:
                continue  # another sender has it
            with session_scope(engine, write=True) as session:
                notification = session.get(Notification, notification_id)
                assert notification is not None
                error = connect_error
                if error is None:
                    try:
                        assert client is not None
                        client.send_message(build_message(notification, config.sender))
                    except (OSError, smtplib.SMTPException) as exc:
                        error = f"{type(exc).__name__}: {exc}"
                notification.attempts += 1
                if error is None:
                    notification.status, notification.sent_at, notification.last_error = "sent", utcnow(), None
                    report.sent += 1
                    audit(
                        session,
                        actor=actor,
                        action="notification.sent",
                        program_id=notification.program_id,
                        subject=f"worker:{notification.worker_id}",
                        details={
                            "notification_id": notification.id,
                            "kind": notification.kind,
                            "message_id": notification.message_id,
                        },
                    )
                else:
                    notification.last_error = error[:2000]
                    if notification.attempts >= MAX_ATTEMPTS:
                        notification.status = "failed"
                        report.failed += 1
                        audit(
                            session,
                            actor=actor,
                            action="notification.failed",
                            program_id=notification.program_id,
                            subject=f"worker:{notification.worker_id}",
                            details={"notification_id": notification.id, "error": notification.last_error},
                        )
                    else:
                        notification.next_attempt_at = now + backoff(notification.attempts)
                        report.retrying += 1
                    if error not in report.errors:
                        report.errors.append(error)
            if progress:
                progress(number)
    finally:
        if client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.quit()
    return report
