"""The audit log: every change of state, who made it and when (written in the change's own transaction)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditEntry


def utcnow() -> datetime:
    """Now in UTC, naive: how the ledger stores instants."""
    return datetime.now(UTC).replace(tzinfo=None)


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    program_id: str | None = None,
    subject: str | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    session.add(
        AuditEntry(
            at=at or utcnow(), actor=actor, action=action, program_id=program_id, subject=subject, details=details or {}
        )
    )


def audit_entries(
    session: Session,
    *,
    program_id: str | None = None,
    subject: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[AuditEntry]:
    """The audit log, newest first; optionally of one program or one subject (e.g. ``worker:w1``)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    if program_id is not None:
        query = query.where(AuditEntry.program_id == program_id)
    if subject is not None:
        query = query.where(AuditEntry.subject == subject)
    return list(session.scalars(query).all())
