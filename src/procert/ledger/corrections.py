"""Corrections: when the facts behind past decisions change (a review removed after a dispute, a cancellation
reclassified), :func:`recompute` re-evaluates every recorded run since a date on the corrected facts, in order,
each as a run superseding the one recorded (which is kept: the history shows both).

A decision the corrected facts raise is recorded from the original date (granted then, kept after). A decision
they would lower is never applied silently: the recorded status stands (reason ``held``) and a pending correction
waits in the admin queue, where an admin accepts it (the status is lowered now, by a lock until the next
scheduled run decides from the criteria) or dismisses it. Each worker affected receives one receipt (what
changed, which values), and the audit log records it all. Everything happens in the caller's one transaction:
a recomputation killed half-way leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from procert.errors import NotFoundError, ProcertError
from procert.facts import FactStore
from procert.facts.reads import WorkerFacts
from procert.i18n import Message, Progress, format_value, t
from procert.programs import Program
from procert.settings import Settings

from .audit import audit, utcnow
from .models import Correction, Run
from .outbox import CorrectionChange, CorrectionItem, CorrectionMail, OutboxItem, enqueue
from .overrides import set_override
from .record import FoundCorrection, NotifyOptions, record_run


class CorrectionRefused(ProcertError, ValueError):
    """A recomputation or a review that cannot be done as asked; the message says why."""


@dataclass
class RecomputeOutcome:
    #: (as of, the run recorded first, the run recomputed) for every run, oldest first.
    runs: list[tuple[date, int, int]]
    applied: int
    held: int
    notifications: int

    @property
    def message(self) -> Message:
        return Message(
            "recompute_done",
            {"runs": len(self.runs), "applied": self.applied, "held": self.held, "notifications": self.notifications},
        )


def status_words(program: Program, level: str | None, lang: str) -> str:
    """A status as a worker reads it: 未認定, 認定 or the level's name."""
    if level is None:
        return t("status_not_certified", lang)
    if program.levels:
        return program.level_label(level, lang)
    return t("status_certified_short", lang)


def _changes(program: Program, found: FoundCorrection, lang: str) -> list[CorrectionChange]:
    return [
        CorrectionChange(
            label=c.label.get(lang),
            before=format_value(found.values_before.get(c.id), lang, display=c.display),
            after=format_value(found.values_after.get(c.id), lang, display=c.display),
        )
        for c in program.criteria
        if found.values_before.get(c.id) != found.values_after.get(c.id)
    ]


def correction_item(program: Program, correction: Correction, lang: str, *, held: bool) -> CorrectionItem:
    """A correction as the worker reads it (their receipt, their dashboard): the decision before and after, in
    words, and the values that changed."""
    found = FoundCorrection(
        correction.worker_id,
        correction.kind,  # type: ignore[arg-type]
        correction.level_before,
        correction.level_after,
        correction.values_before,
        correction.values_after,
        correction.failed_after,
    )
    return CorrectionItem(
        as_of=correction.as_of,
        kind=found.kind,
        before=status_words(program, correction.level_before, lang),
        after=status_words(program, correction.level_after, lang),
        held=held,
        changes=_changes(program, found, lang),
    )


def _receipt(
    program: Program,
    worker_id: str,
    corrections: list[Correction],
    contact: WorkerFacts | None,
    *,
    stage: Literal["recomputed", "accepted", "dismissed"],
    occasion: str,
    public_url: str,
    now: datetime,
) -> OutboxItem:
    locale = contact.locale if contact else "ja"
    return OutboxItem(
        program_id=program.id,
        occasion=occasion,
        recipient=worker_id,
        payload=CorrectionMail(
            kind="correction",
            stage=stage,
            worker_id=worker_id,
            display_name=contact.display_name if contact else None,
            program_name=program.name.get(locale),
            items=[correction_item(program, c, locale, held=c.status == "pending") for c in corrections],
            dashboard_url=f"{public_url.rstrip('/')}/dashboard/{worker_id}",
        ),
        email=contact.email if contact else None,
        locale=locale,
        run_id=corrections[-1].run_id,
        not_before=now,
    )


def recompute(
    session: Session,
    *,
    store: FactStore,
    program: Program,
    since: date,
    actor: str,
    public_url: str = Settings.default("public_url"),
    progress: Progress | None = None,
) -> RecomputeOutcome:
    """Re-evaluate every current run of ``program`` as of ``since`` or later on the facts as they are now."""
    step = progress or (lambda _message: None)
    runs = [
        (r.id, r.as_of)
        for r in session.scalars(
            select(Run)
            .where(Run.program_id == program.id, Run.superseded_by.is_(None), Run.as_of >= since)
            .order_by(Run.as_of)
        )
    ]
    if not runs:
        raise CorrectionRefused(Message("refused_recompute_nothing", {"program": program.id, "since": since}))
    now = utcnow()
    done: list[tuple[date, int, int]] = []
    by_worker: dict[str, list[Correction]] = {}
    for original_id, as_of in runs:
        step(Message("step_recomputing_run", {"run": original_id, "as_of": as_of}))
        outcome = record_run(
            session,
            store=store,
            program=program,
            as_of=as_of,
            actor=actor,
            correcting=True,
            notify=NotifyOptions(enabled=False),
        )
        assert outcome.run_id is not None
        done.append((as_of, original_id, outcome.run_id))
        for found in outcome.corrections:
            correction = Correction(
                program_id=program.id,
                worker_id=found.worker_id,
                as_of=as_of,
                run_id=outcome.run_id,
                original_run_id=original_id,
                kind=found.kind,
                level_before=found.recorded,
                level_after=found.corrected,
                values_before=found.values_before,
                values_after=found.values_after,
                failed_after=found.failed_after,
                status="pending" if found.held else "applied",
                created_by=actor,
                created_at=now,
            )
            session.add(correction)
            by_worker.setdefault(found.worker_id, []).append(correction)
    session.flush()
    step(Message("step_queuing_receipts", {"count": len(by_worker)}))
    contacts = store.workers(list(by_worker))
    occasion = f"recompute-{done[0][2]}"
    queued = enqueue(
        session,
        [
            _receipt(
                program,
                w,
                items,
                contacts.get(w),
                stage="recomputed",
                occasion=occasion,
                public_url=public_url,
                now=now,
            )
            for w, items in sorted(by_worker.items())
        ],
        now=now,
    )
    applied = sum(1 for items in by_worker.values() for c in items if c.status == "applied")
    held = sum(1 for items in by_worker.values() for c in items if c.status == "pending")
    for items in by_worker.values():
        for c in items:
            audit(
                session,
                actor=actor,
                action=f"correction.{c.status}",
                program_id=program.id,
                subject=f"worker:{c.worker_id}",
                details={"correction_id": c.id, "as_of": c.as_of.isoformat(), "kind": c.kind, "run_id": c.run_id},
            )
    result = RecomputeOutcome(done, applied, held, queued)
    audit(
        session,
        actor=actor,
        action="runs.recomputed",
        program_id=program.id,
        subject=f"since:{since.isoformat()}",
        details={"runs": [[d.isoformat(), old, new] for d, old, new in done], "applied": applied, "held": held},
    )
    return result


def list_corrections(
    session: Session, *, program_id: str, worker_id: str | None = None, status: str | None = None
) -> list[Correction]:
    """Corrections of the program, oldest first (one worker's, or one status, when given)."""
    query = select(Correction).where(Correction.program_id == program_id).order_by(Correction.as_of, Correction.id)
    if worker_id is not None:
        query = query.where(Correction.worker_id == worker_id)
    if status is not None:
        query = query.where(Correction.status == status)
    return list(session.scalars(query).all())


def review_correction(
    session: Session,
    *,
    program: Program,
    correction_id: int,
    accept: bool,
    note: str,
    actor: str,
    today: date,
    contact: WorkerFacts | None,
    public_url: str = Settings.default("public_url"),
) -> Correction:
    """An admin's answer to a held correction (and every other one pending for the same worker). Accepted: the
    status becomes what the corrected facts give, by a lock until the next scheduled date (then the criteria
    decide, as always). Dismissed: the recorded status stands. The worker is told either way; audited."""
    correction = session.get(Correction, correction_id)
    if correction is None or correction.program_id != program.id:
        raise NotFoundError(Message("refused_no_correction", {"id": correction_id, "program": program.id}))
    if correction.status != "pending":
        raise CorrectionRefused(Message(f"refused_correction_{correction.status}", {"id": correction_id}))
    if not note.strip():
        raise CorrectionRefused(Message("refused_review_needs_note"))
    now = utcnow()
    pending = list_corrections(session, program_id=program.id, worker_id=correction.worker_id, status="pending")
    latest = pending[-1]
    for c in pending:
        c.status = "accepted" if accept else "dismissed"
        c.decided_by, c.decided_at, c.note = actor, now, note.strip()
    if accept:
        level = latest.level_after
        set_override(
            session,
            program_id=program.id,
            worker_id=latest.worker_id,
            certified=level is not None,
            level=level if program.levels else None,
            levels=[lv.id for lv in program.levels],
            reason=f"correction #{latest.id} accepted: {note.strip()}",
            actor=actor,
            expires_on=program.cadence.next_after(today),
        )
    stage: Literal["accepted", "dismissed"] = "accepted" if accept else "dismissed"
    enqueue(
        session,
        [
            _receipt(
                program,
                latest.worker_id,
                [latest],
                contact,
                stage=stage,
                occasion=f"correction-{latest.id}",
                public_url=public_url,
                now=now,
            )
        ],
        now=now,
    )
    audit(
        session,
        actor=actor,
        action=f"correction.{stage}",
        program_id=program.id,
        subject=f"worker:{latest.worker_id}",
        details={"corrections": [c.id for c in pending], "note": note.strip()},
    )
    return latest
