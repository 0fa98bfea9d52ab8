"""Overrides: locks an admin sets on a worker's status (with a reason, optionally until a date), which
automation never overrides; every change audited."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from procert.errors import ProcertError
from procert.i18n import Message

from .audit import audit, utcnow
from .models import Override
from .status import active_overrides


class OverrideRefused(ProcertError, ValueError):
    """An override that cannot be set as asked (no reason, a level missing or not the program's)."""


def set_override(
    session: Session,
    *,
    program_id: str,
    worker_id: str,
    certified: bool,
    reason: str,
    actor: str,
    expires_on: date | None = None,
    level: str | None = None,
    levels: list[str] | None = None,
) -> Override:
    """Lock the worker's status (replacing any lock in force). In a program with levels (``levels``, lowest first)
    a lock that certifies names the ``level`` it holds the worker at."""
    if not reason.strip():
        raise OverrideRefused(Message("refused_override_reason"))
    if levels and certified and level not in levels:
        raise OverrideRefused(Message("refused_override_level", {"levels": ", ".join(levels)}))
    if level is not None and (not certified or not levels):
        raise OverrideRefused(Message("refused_override_level_only_certifying"))
    now = utcnow()
    for old in active_overrides(session, program_id=program_id, on=now.date()).values():
        if old.worker_id == worker_id:
            old.revoked_at, old.revoked_by = now, actor
    lock = Override(
        program_id=program_id,
        worker_id=worker_id,
        certified=certified,
        level=level,
        reason=reason.strip(),
        expires_on=expires_on,
        created_by=actor,
        created_at=now,
    )
    session.add(lock)
    session.flush()
    audit(
        session,
        actor=actor,
        action="override.set",
        program_id=program_id,
        subject=f"worker:{worker_id}",
        details={
            "override_id": lock.id,
            "certified": certified,
            "level": level,
            "reason": lock.reason,
            "expires_on": expires_on.isoformat() if expires_on else None,
        },
    )
    return lock


def clear_override(session: Session, *, program_id: str, worker_id: str, actor: str) -> int:
    """Lift the worker's locks; returns how many were in force."""
    now = utcnow()
    cleared = 0
    for lock in session.scalars(
        select(Override).where(
            Override.program_id == program_id, Override.worker_id == worker_id, Override.revoked_at.is_(None)
        )
    ):
        lock.revoked_at, lock.revoked_by = now, actor
        cleared += 1
    if cleared:
        audit(
            session,
            actor=actor,
            action="override.cleared",
            program_id=program_id,
            subject=f"worker:{worker_id}",
            details={"cleared": cleared},
        )
    return cleared


def list_overrides(
    session: Session, *, program_id: str, include_inactive: bool = False, worker_id: str | None = None
) -> list[Override]:
    query = select(Override).where(Override.program_id == program_id).order_by(Override.created_at)
    if not include_inactive:
        query = query.where(Override.revoked_at.is_(None))
    if worker_id is not None:
        query = query.where(Override.worker_id == worker_id)
    return list(session.scalars(query).all())
