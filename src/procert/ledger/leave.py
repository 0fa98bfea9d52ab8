"""Declared leave: a worker (from the dashboard) or an admin declares days away; the program's ``[leave]`` rules
decide what is allowed. While away a worker cannot lose the status (:func:`procert.ledger.decision.decide`), and
every window is lengthened by the leave days it overlaps (:func:`procert.metrics.period.lengthened_start`).

The exact semantics (docs/programs.md, "Declared leave"): a leave is the local dates ``starts_on`` to ``ends_on``,
both included. A run as of D protects a worker whose leave includes D (so a leave starting on D or ending on D
protects that run). A window ending at D is lengthened by the leave days before D it overlaps (a leave starting
on D lengthens nothing). Every declaration, cut and cancellation is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from procert.errors import NotFoundError, ProcertError
from procert.facts import WorkerFacts
from procert.i18n import Message
from procert.metrics import Away, merge_away
from procert.programs import Program
from procert.settings import Settings

from .audit import audit, utcnow
from .models import Leave
from .outbox import LeaveMail, LeaveStage, OutboxItem, enqueue

#: The worker's facts (address, language, name) by id: the store's ``worker``.
ContactOf = Callable[[str], WorkerFacts | None]

MAX_NOTE_CHARS = 1000


class LeaveRefused(ProcertError, ValueError):
    """A declaration or cancellation the program's rules do not allow; the message says why."""


def days_in_year(spans: Iterable[Away], year: int) -> int:
    """Leave days (both ends included) that fall in the calendar ``year``."""
    first_day, last_day = date(year, 1, 1), date(year, 12, 31)
    total = 0
    for first, last in spans:
        start, end = max(first, first_day), min(last, last_day)
        if end >= start:
            total += (end - start).days + 1
    return total


def on_leave(spans: Sequence[Away], day: date) -> bool:
    """Whether ``day`` is one of the leave days."""
    return any(first <= day <= last for first, last in spans)


def span(leave: Leave) -> Away:
    return (leave.starts_on, leave.ends_on)


def list_leaves(
    session: Session, *, program_id: str, worker_id: str | None = None, include_cancelled: bool = False
) -> list[Leave]:
    """The program's leaves (one worker's, when given), earliest first."""
    query = select(Leave).where(Leave.program_id == program_id).order_by(Leave.starts_on, Leave.id)
    if worker_id is not None:
        query = query.where(Leave.worker_id == worker_id)
    if not include_cancelled:
        query = query.where(Leave.cancelled_at.is_(None))
    return list(session.scalars(query).all())


def away_by_worker(session: Session, *, program_id: str, through: date) -> dict[str, tuple[Away, ...]]:
    """Every worker's leave days that begin on or before ``through`` (merged spans), as evaluations take them."""
    rows = session.execute(
        select(Leave.worker_id, Leave.starts_on, Leave.ends_on).where(
            Leave.program_id == program_id, Leave.cancelled_at.is_(None), Leave.starts_on <= through
        )
    ).all()
    spans: dict[str, list[Away]] = {}
    for worker_id, first, last in rows:
        spans.setdefault(worker_id, []).append((first, last))
    return {w: merge_away(s) for w, s in spans.items()}


def declare_leave(
    session: Session,
    *,
    program: Program,
    worker_id: str,
    starts_on: date,
    ends_on: date,
    category: str,
    actor: str,
    by_worker: bool,
    today: date,
    note: str | None = None,
    now: datetime | None = None,
    contact_of: ContactOf | None = None,
    public_url: str = Settings.default("public_url"),
) -> Leave:
    """Record a leave after checking it against the program's rules: leave must be on, the category one it takes,
    the dates in order, a worker's declaration at least ``notice_days`` ahead (an admin's at any time), no overlap
    with another leave, and at most ``max_days_per_year`` leave days in any calendar year, all leaves counted.
    A leave an admin declares is mailed to the worker (``contact_of`` gives their address and language) in the
    same transaction; the worker's own is not (they just made it)."""
    policy = program.leave
    if policy is None or not policy.enabled:
        raise LeaveRefused(Message("refused_leave_not_taken", {"program": program.label}))
    if category not in policy.categories:
        raise LeaveRefused(
            Message(
                "refused_leave_category",
                {"category": category, "program": program.id, "categories": ", ".join(policy.categories)},
            )
        )
    if ends_on < starts_on:
        raise LeaveRefused(Message("refused_leave_ends_before", {"ends": ends_on, "starts": starts_on}))
    if by_worker:
        earliest = today + timedelta(days=policy.notice_days)
        if starts_on < earliest:
            raise LeaveRefused(Message("refused_leave_notice", {"days": policy.notice_days, "earliest": earliest}))
    cleaned_note = (note or "").strip() or None
    if cleaned_note is not None and len(cleaned_note) > MAX_NOTE_CHARS:
        raise LeaveRefused(
            Message("refused_leave_note_too_long", {"length": f"{len(cleaned_note):,}", "limit": f"{MAX_NOTE_CHARS:,}"})
        )
    existing = list_leaves(session, program_id=program.id, worker_id=worker_id)
    for other in existing:
        if other.starts_on <= ends_on and starts_on <= other.ends_on:
            raise LeaveRefused(
                Message("refused_leave_overlaps", {"id": other.id, "starts": other.starts_on, "ends": other.ends_on})
            )
    spans = [span(x) for x in existing]
    for year in range(starts_on.year, ends_on.year + 1):
        taken = days_in_year(spans, year)
        wanted = days_in_year([(starts_on, ends_on)], year)
        if taken + wanted > policy.max_days_per_year:
            raise LeaveRefused(
                Message(
                    "refused_leave_too_many_days",
                    {
                        "year": year,
                        "total": taken + wanted,
                        "taken": taken,
                        "wanted": wanted,
                        "program": program.id,
                        "limit": policy.max_days_per_year,
                    },
                )
            )
    leave = Leave(
        program_id=program.id,
        worker_id=worker_id,
        starts_on=starts_on,
        ends_on=ends_on,
        category=category,
        note=cleaned_note,
        declared_by=actor,
        declared_at=now or utcnow(),
        updated_at=now or utcnow(),
    )
    session.add(leave)
    session.flush()
    audit(
        session,
        actor=actor,
        action="leave.declared",
        program_id=program.id,
        subject=f"worker:{worker_id}",
        details={
            "leave_id": leave.id,
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(),
            "days": (ends_on - starts_on).days + 1,
            "category": category,
        },
    )
    if not by_worker:
        _tell_worker(session, program, leave, "declared", contact_of=contact_of, public_url=public_url, now=now)
    return leave


def _tell_worker(
    session: Session,
    program: Program,
    leave: Leave,
    stage: LeaveStage,
    *,
    contact_of: ContactOf | None,
    public_url: str,
    now: datetime | None,
) -> None:
    """Queue the worker's mail about a change an admin made to their leave (one per leave and stage; without
    an address in the facts it is recorded as skipped)."""
    contact = contact_of(leave.worker_id) if contact_of is not None else None
    locale = contact.locale if contact else "ja"
    enqueue(
        session,
        [
            OutboxItem(
                program_id=program.id,
                occasion=f"leave-{leave.id}-{stage}",
                recipient=leave.worker_id,
                payload=LeaveMail(
                    kind="leave_recorded",
                    stage=stage,
                    worker_id=leave.worker_id,
                    display_name=contact.display_name if contact else None,
                    program_name=program.name.get(locale),
                    leave_id=leave.id,
                    category=leave.category,
                    starts_on=leave.starts_on,
                    ends_on=leave.ends_on,
                    dashboard_url=f"{public_url.rstrip('/')}/dashboard/{leave.worker_id}",
                ),
                email=contact.email if contact else None,
                locale=locale,
            )
        ],
        now=now,
    )


def cancel_leave(
    session: Session,
    *,
    program: Program,
    leave_id: int,
    actor: str,
    today: date,
    worker_id: str | None = None,
    now: datetime | None = None,
    contact_of: ContactOf | None = None,
    public_url: str = Settings.default("public_url"),
) -> Leave:
    """Withdraw a leave. Before it begins, the worker (``worker_id``: theirs only) or an admin cancels it; once
    begun, only an admin can, and it is cut short to end yesterday (runs already recorded keep what they used).
    What an admin does is mailed to the worker, as :func:`declare_leave` does."""
    leave = session.get(Leave, leave_id)
    if leave is None or leave.program_id != program.id or (worker_id is not None and leave.worker_id != worker_id):
        raise NotFoundError(f"no leave #{leave_id} in {program.id}" + (f" for {worker_id}" if worker_id else ""))
    if leave.cancelled_at is not None:
        raise LeaveRefused(Message("refused_leave_cancelled_already", {"id": leave_id}))
    yesterday = today - timedelta(days=1)
    leave.updated_at = now or utcnow()
    if leave.starts_on > today or (leave.starts_on == today and worker_id is None):
        leave.cancelled_at, leave.cancelled_by = leave.updated_at, actor
        action, details = "leave.cancelled", {}
    elif worker_id is not None:
        raise LeaveRefused(Message("refused_leave_began", {"id": leave_id, "starts": leave.starts_on}))
    elif leave.ends_on <= yesterday:
        raise LeaveRefused(Message("refused_leave_ended", {"id": leave_id, "ends": leave.ends_on}))
    else:
        details = {"ends_on_was": leave.ends_on.isoformat(), "ends_on": yesterday.isoformat()}
        leave.ends_on = yesterday
        action = "leave.cut_short"
    session.flush()
    audit(
        session,
        actor=actor,
        action=action,
        program_id=program.id,
        subject=f"worker:{leave.worker_id}",
        details={"leave_id": leave.id, **details},
    )
    if worker_id is None:
        stage: LeaveStage = "cancelled" if action == "leave.cancelled" else "cut_short"
        _tell_worker(session, program, leave, stage, contact_of=contact_of, public_url=public_url, now=now)
    return leave
