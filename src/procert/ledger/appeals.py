"""Appeals: a worker contests a recorded decision (a run, optionally one criterion) in their own words; an admin
answers with a reason; the worker is told by mail (the outbox) and on the dashboard. Every step is audited.

An answer explains; it does not change a status. When the facts were wrong, they are corrected and the runs
recomputed (:mod:`.corrections`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from procert.errors import NotFoundError, ProcertError
from procert.facts.reads import WorkerFacts
from procert.i18n import Message
from procert.programs import Program
from procert.settings import Settings

from .audit import audit, utcnow
from .models import Appeal, Run, RunResult
from .outbox import AppealMail, OutboxItem, enqueue

MAX_APPEAL_CHARS = 4000


class AppealRefused(ProcertError, ValueError):
    """An appeal or an answer that cannot be taken as given; the message says why."""


def _words(text: str, what: Literal["appeal", "answer"]) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise AppealRefused(Message(f"refused_{what}_empty"))
    if len(cleaned) > MAX_APPEAL_CHARS:
        raise AppealRefused(
            Message(f"refused_{what}_too_long", {"length": f"{len(cleaned):,}", "limit": f"{MAX_APPEAL_CHARS:,}"})
        )
    return cleaned


def file_appeal(
    session: Session,
    *,
    program: Program,
    worker_id: str,
    run_id: int,
    text: str,
    criterion: str | None = None,
    now: datetime | None = None,
    target_hours: int = Settings.default("appeal_target_hours"),
) -> Appeal:
    """The worker's appeal of run ``run_id`` (a current run of ``program`` that evaluated them)."""
    now = now or utcnow()
    run = session.get(Run, run_id)
    if run is None or run.program_id != program.id or run.superseded_by is not None:
        raise AppealRefused(Message("refused_appeal_no_run", {"run": run_id, "program": program.id}))
    if session.get(RunResult, (run_id, worker_id)) is None:
        raise AppealRefused(Message("refused_appeal_not_evaluated", {"run": run_id, "worker": worker_id}))
    if criterion is not None and criterion not in {c.id for c in program.criteria}:
        raise AppealRefused(Message("refused_appeal_no_criterion", {"program": program.id, "criterion": criterion}))
    duplicate = session.scalar(
        select(Appeal.id).where(
            Appeal.program_id == program.id,
            Appeal.worker_id == worker_id,
            Appeal.run_id == run_id,
            Appeal.status == "open",
            Appeal.criterion.is_(None) if criterion is None else Appeal.criterion == criterion,
        )
    )
    if duplicate is not None:
        raise AppealRefused(Message("refused_appeal_still_open", {"id": duplicate}))
    appeal = Appeal(
        program_id=program.id,
        worker_id=worker_id,
        run_id=run_id,
        criterion=criterion,
        text=_words(text, "appeal"),
        filed_at=now,
        due_at=now + timedelta(hours=target_hours),
        status="open",
    )
    session.add(appeal)
    session.flush()
    audit(
        session,
        actor=f"worker:{worker_id}",
        action="appeal.filed",
        program_id=program.id,
        subject=f"worker:{worker_id}",
        details={"appeal_id": appeal.id, "run_id": run_id, "criterion": criterion},
    )
    return appeal


def answer_appeal(
    session: Session,
    *,
    program: Program,
    appeal_id: int,
    answer: str,
    actor: str,
    contact: WorkerFacts | None,
    public_url: str = Settings.default("public_url"),
    now: datetime | None = None,
) -> Appeal:
    """Answer an open appeal with a reason; the worker's mail is queued in the same transaction."""
    now = now or utcnow()
    appeal = session.get(Appeal, appeal_id)
    if appeal is None or appeal.program_id != program.id:
        raise NotFoundError(f"no appeal #{appeal_id} in {program.id}")
    if appeal.status != "open":
        raise AppealRefused(Message("refused_appeal_answered", {"id": appeal_id}))
    appeal.answer = _words(answer, "answer")
    appeal.status, appeal.answered_by, appeal.answered_at = "answered", actor, now
    run = session.get(Run, appeal.run_id)
    locale = contact.locale if contact else "ja"
    criterion = program.criterion(appeal.criterion).label.get(locale) if appeal.criterion else None
    enqueue(
        session,
        [
            OutboxItem(
                program_id=program.id,
                occasion=f"appeal-{appeal.id}",
                recipient=appeal.worker_id,
                payload=AppealMail(
                    kind="appeal_answered",
                    worker_id=appeal.worker_id,
                    display_name=contact.display_name if contact else None,
                    program_name=program.name.get(locale),
                    appeal_id=appeal.id,
                    run_as_of=run.as_of if run else now.date(),
                    criterion=criterion,
                    text=appeal.text,
                    answer=appeal.answer,
                    dashboard_url=f"{public_url.rstrip('/')}/dashboard/{appeal.worker_id}",
                ),
                email=contact.email if contact else None,
                locale=locale,
                run_id=appeal.run_id,
                not_before=now,
            )
        ],
        now=now,
    )
    audit(
        session,
        actor=actor,
        action="appeal.answered",
        program_id=program.id,
        subject=f"worker:{appeal.worker_id}",
        details={"appeal_id": appeal.id, "run_id": appeal.run_id},
    )
    return appeal


def list_appeals(
    session: Session, *, program_id: str, status: str | None = None, worker_id: str | None = None
) -> list[Appeal]:
    """Appeals of the program, oldest first (the queue's order)."""
    query = select(Appeal).where(Appeal.program_id == program_id).order_by(Appeal.filed_at, Appeal.id)
    if status is not None:
        query = query.where(Appeal.status == status)
    if worker_id is not None:
        query = query.where(Appeal.worker_id == worker_id)
    return list(session.scalars(query).all())
