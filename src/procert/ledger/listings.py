"""Listings for the operator (console and admin API): runs, transitions and the outbox, one page at a time."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Notification, Run, Transition


def list_runs(session: Session, *, program_id: str, limit: int = 50, offset: int = 0) -> tuple[int, list[Run]]:
    """Runs of a program, newest date first (superseded runs included, marked by ``superseded_by``)."""
    where = Run.program_id == program_id
    total = session.scalar(select(func.count()).select_from(Run).where(where)) or 0
    runs = session.scalars(
        select(Run).where(where).order_by(Run.as_of.desc(), Run.id.desc()).limit(limit).offset(offset)
    )
    return total, list(runs.all())


def get_run(session: Session, *, program_id: str, run_id: int) -> Run | None:
    """The run with this id when it belongs to the program."""
    run = session.get(Run, run_id)
    return run if run is not None and run.program_id == program_id else None


def list_transitions(
    session: Session,
    *,
    program_id: str,
    run_id: int | None = None,
    worker_id: str | None = None,
    kinds: Sequence[str] = ("granted", "lost"),
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[Transition]]:
    """Transitions (by default the changes: granted and lost), newest first, optionally of one run or worker."""
    where = [Transition.program_id == program_id, Transition.kind.in_(list(kinds))]
    if run_id is not None:
        where.append(Transition.run_id == run_id)
    if worker_id is not None:
        where.append(Transition.worker_id == worker_id)
    total = session.scalar(select(func.count()).select_from(Transition).where(*where)) or 0
    rows = session.scalars(
        select(Transition)
        .where(*where)
        .order_by(Transition.as_of.desc(), Transition.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return total, list(rows.all())


def list_notifications(
    session: Session, *, program_id: str, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[dict[str, int], int, list[Notification]]:
    """The outbox: counts by status, and one page of notifications (newest first), optionally of one status."""
    by_status: dict[str, int] = {
        str(s): int(n)
        for s, n in session.execute(
            select(Notification.status, func.count())
            .where(Notification.program_id == program_id)
            .group_by(Notification.status)
        ).all()
    }
    where = [Notification.program_id == program_id]
    if status is not None:
        where.append(Notification.status == status)
    total = session.scalar(select(func.count()).select_from(Notification).where(*where)) or 0
    rows = session.scalars(
        select(Notification).where(*where).order_by(Notification.id.desc()).limit(limit).offset(offset)
    )
    return by_status, total, list(rows.all())
