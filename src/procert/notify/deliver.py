"""Deliver the outbox over SMTP: claim, send, record; retry with backoff; never send one twice.

Each notification is claimed with a conditional UPDATE that marks it ``sending`` and counts the attempt, committed
before anything is sent (so concurrent senders never pick the same row); then it is sent, outside any database
transaction, with its stable Message-ID and to its one address; then marked ``sent`` (or scheduled again, or
``failed``) in a transaction of its own.

The guarantee is **at most once**. A sender killed after the server accepted a mail but before recording it
leaves the row ``sending``; once its lease has expired the next sender marks it ``failed`` with the reason
("delivery was interrupted…"), visible in the outbox, instead of sending it again: the server may already have
it. `procert notify retry ID` queues it again on purpose. A row that cannot become a mail at all (an address
that is not one address, a line break in a name) fails by itself at once, without holding up the others.
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

from pydantic import ValidationError
from sqlalchemy import CursorResult, Engine, select, update
from sqlalchemy.orm import Session

from procert.errors import ProcertError
from procert.facts.contract import email_problem, idna_domain
from procert.i18n import t
from procert.ledger import Notification, audit, session_scope
from procert.ledger.audit import utcnow
from procert.notify.render import render
from procert.settings import Settings

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how mails go; built from the settings by :attr:`procert.core.Procert.smtp` (defaults: theirs)."""

    host: str = Settings.default("smtp_host")
    port: int = Settings.default("smtp_port")
    starttls: bool = Settings.default("smtp_starttls")
    ssl: bool = Settings.default("smtp_ssl")
    user: str | None = Settings.default("smtp_user")
    password: str | None = Settings.default("smtp_password")
    sender: str = Settings.default("smtp_from")
    timeout: float = Settings.default("smtp_timeout")


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    #: Set when the SMTP server could not be reached: nothing was sent (the CLI then exits non-zero).
    connect_error: str | None = None
    #: Rows found left ``sending`` by a sender that died, now failed (see the module).
    interrupted: int = 0


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt: 1, 2, 4 ... minutes, at most 6 hours."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), timedelta(hours=6))


class UndeliverableError(ProcertError, ValueError):
    """A notification that can never be sent as it is (bad address or header): failed at once, not retried."""


def recipient(address: str | None) -> str:
    """The one address to send to, its domain in IDNA form. Raises :class:`UndeliverableError`."""
    if not address:
        raise UndeliverableError("no e-mail address")
    problem = email_problem(address)
    if problem is not None:
        # In English, as the outbox's other delivery errors: an operator's log, not a text for the worker.
        raise UndeliverableError(f"e-mail address {address[:80]!r}: {t(problem, 'en')}")
    local, _, domain = address.rpartition("@")
    return f"{local}@{idna_domain(domain)}"


def build_message(notification: Notification, sender: str) -> tuple[EmailMessage, str]:
    """The mail and the one address it goes to. Raises :class:`UndeliverableError`."""
    to = recipient(notification.email)
    try:
        mail = render(notification.payload, notification.locale)
    except ValidationError as exc:
        raise UndeliverableError(f"the notification's payload cannot be read: {exc.errors()[0]['msg']}") from None
    name = str(notification.payload.get("display_name") or notification.payload.get("name") or "")
    try:
        message = EmailMessage()
        message["Subject"] = mail.subject
        message["From"] = sender
        message["To"] = formataddr((name, to))
        message["Message-ID"] = notification.message_id
        message["Content-Language"] = notification.locale
        unsubscribe = notification.payload.get("unsubscribe_url")
        if unsubscribe:  # RFC 2369 / 8058: mail clients offer their own unsubscribe button
            message["List-Unsubscribe"] = f"<{unsubscribe}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(mail.text)
        message.add_alternative(mail.html, subtype="html")
        message.as_bytes()  # every header must encode now, not halfway through the SMTP exchange
    except (ValueError, UnicodeError) as exc:  # a line break in a header, an unencodable value
        raise UndeliverableError(f"cannot build the mail: {exc}") from None
    return message, to


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
    report.interrupted = _fail_interrupted(engine, now=now, actor=actor)
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
    try:
        try:
            client = _connect(config)
        except (OSError, smtplib.SMTPException) as exc:
            report.connect_error = f"cannot reach SMTP server {config.host}:{config.port}: {exc}"
        for number, notification_id in enumerate(due, 1):
            outcome = _claim(engine, notification_id, now=now, config=config, report=report, actor=actor)
            if outcome is None:
                continue
            message, to = outcome
            error = report.connect_error
            if error is None:
                assert client is not None
                try:
                    client.send_message(message, to_addrs=[to])
                except smtplib.SMTPRecipientsRefused as exc:
                    error = f"refused by the server: {exc.recipients}"
                except (OSError, smtplib.SMTPException) as exc:
                    error = f"{type(exc).__name__}: {exc}"
            _record(engine, notification_id, error=error, now=now, report=report, actor=actor)
            if progress:
                progress(number)
    finally:
        if client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.quit()
    return report


def _claim(
    engine: Engine, notification_id: int, *, now: datetime, config: SmtpConfig, report: DeliveryReport, actor: str
) -> tuple[EmailMessage, str] | None:
    """Mark the row ``sending`` (committed before any byte goes out) and build its mail; None if another sender
    has it or it cannot be a mail (then it is failed here, by itself)."""
    with session_scope(engine, write=True) as session:
        claimed = session.execute(  # an UPDATE: a CursorResult, which counts the rows it changed
            update(Notification)
            .where(
                Notification.id == notification_id,
                Notification.status == "pending",
                Notification.next_attempt_at <= now,
            )
            .values(status="sending", next_attempt_at=now + LEASE, attempts=Notification.attempts + 1),
        )
        if not isinstance(claimed, CursorResult) or not claimed.rowcount:
            return None  # another sender has it
        notification = session.get(Notification, notification_id)
        assert notification is not None
        try:
            return build_message(notification, config.sender)
        except UndeliverableError as exc:
            _mark_failed(session, notification, str(exc), actor=actor)
            report.failed += 1
            report.errors.append(str(exc)[:300])
            return None


def _record(
    engine: Engine, notification_id: int, *, error: str | None, now: datetime, report: DeliveryReport, actor: str
) -> None:
    with session_scope(engine, write=True) as session:
        notification = session.get(Notification, notification_id)
        assert notification is not None
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
            return
        if notification.attempts >= MAX_ATTEMPTS:
            _mark_failed(session, notification, error, actor=actor)
            report.failed += 1
        else:
            notification.status = "pending"
            notification.last_error = error[:2000]
            notification.next_attempt_at = now + backoff(notification.attempts)
            report.retrying += 1
        if error not in report.errors:
            report.errors.append(error)


def _mark_failed(session: Session, notification: Notification, error: str, *, actor: str) -> None:
    notification.status, notification.last_error = "failed", error[:2000]
    audit(
        session,
        actor=actor,
        action="notification.failed",
        program_id=notification.program_id,
        subject=f"worker:{notification.worker_id}",
        details={"notification_id": notification.id, "error": notification.last_error},
    )


INTERRUPTED = (
    "delivery was interrupted after sending began: the server may have received it, so it is not sent again "
    "automatically (at most once); `procert notify retry {id}` sends it again"
)


def _fail_interrupted(engine: Engine, *, now: datetime, actor: str) -> int:
    """Rows left ``sending`` by a sender that died, whose lease has expired: failed with the reason."""
    with session_scope(engine, write=True) as session:
        stuck = list(
            session.scalars(
                select(Notification).where(Notification.status == "sending", Notification.next_attempt_at <= now)
            )
        )
        for notification in stuck:
            _mark_failed(session, notification, INTERRUPTED.format(id=notification.id), actor=actor)
    return len(stuck)


def retry_notification(engine: Engine, *, notification_id: int, actor: str) -> bool:
    """Queue a failed notification again, now (the operator's decision after an interrupted delivery)."""
    with session_scope(engine, write=True) as session:
        notification = session.get(Notification, notification_id)
        if notification is None or notification.status != "failed":
            return False
        notification.status, notification.next_attempt_at = "pending", utcnow()
        notification.attempts = 0
        audit(
            session,
            actor=actor,
            action="notification.retried",
            program_id=notification.program_id,
            subject=f"worker:{notification.worker_id}",
            details={"notification_id": notification.id},
        )
    return True
