"""The ledger's rows as the admin API and the console show them (one place formats each row)."""

from __future__ import annotations

from datetime import date, datetime

from procert.i18n import t
from procert.ledger import AuditEntry, Correction, Leave, Notification, Override, Run, Transition, correction_item
from procert.programs import Program
from procert.web.schemas import (
    AuditOut,
    CorrectionOut,
    LeaveOut,
    NotificationOut,
    OverrideOut,
    RunOut,
    TransitionOut,
)


def instant(value: datetime) -> str:
    """A stored UTC instant as ISO 8601 with ``Z``."""
    return value.isoformat() + "Z"


def run_out(run: Run) -> RunOut:
    counts = run.counts or {}
    return RunOut(
        id=run.id,
        program_id=run.program_id,
        program_version=run.program_version,
        as_of=run.as_of.isoformat(),
        started_at=instant(run.started_at),
        finished_at=instant(run.finished_at),
        duration_seconds=round((run.finished_at - run.started_at).total_seconds(), 3),
        evaluation_seconds=round(run.evaluation_seconds, 3),
        workers=run.workers,
        certified=run.certified,
        transitions=counts.get("transitions", {}),
        notifications=counts.get("notifications", 0),
        at_risk=counts.get("at_risk", 0),
        forced=run.forced,
        backfill=run.backfill,
        actor=run.actor,
        superseded_by=run.superseded_by,
        facts_fingerprint=run.facts_fingerprint,
    )


def transition_out(row: Transition) -> TransitionOut:
    return TransitionOut(
        id=row.id,
        run_id=row.run_id,
        worker_id=row.worker_id,
        as_of=row.as_of.isoformat(),
        kind=row.kind,
        reason=row.reason,
        failed=row.failed,
        values=row.values,
        from_level=row.from_level,
        to_level=row.to_level,
    )


def override_out(row: Override) -> OverrideOut:
    return OverrideOut(
        id=row.id,
        worker_id=row.worker_id,
        certified=row.certified,
        level=row.level,
        reason=row.reason,
        expires_on=row.expires_on.isoformat() if row.expires_on else None,
        created_by=row.created_by,
        created_at=instant(row.created_at),
        revoked_by=row.revoked_by,
        revoked_at=instant(row.revoked_at) if row.revoked_at else None,
    )


def notification_out(row: Notification) -> NotificationOut:
    return NotificationOut(
        id=row.id,
        worker_id=row.worker_id,
        run_id=row.run_id,
        kind=row.kind,
        email=row.email,
        locale=row.locale,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=instant(row.next_attempt_at),
        last_error=row.last_error,
        created_at=instant(row.created_at),
        sent_at=instant(row.sent_at) if row.sent_at else None,
    )


def audit_out(entry: AuditEntry) -> AuditOut:
    return AuditOut(
        id=entry.id,
        at=instant(entry.at),
        actor=entry.actor,
        action=entry.action,
        program_id=entry.program_id,
        subject=entry.subject,
        details=entry.details,
    )


def leave_out(leave: Leave, today: date, lang: str) -> LeaveOut:
    """A declared leave as the dashboard, the console and the API show it."""
    if leave.cancelled_at is not None:
        state = "cancelled"
    elif leave.starts_on > today:
        state = "ahead"
    elif leave.ends_on >= today:
        state = "now"
    else:
        state = "past"
    return LeaveOut(
        id=leave.id,
        starts_on=leave.starts_on.isoformat(),
        ends_on=leave.ends_on.isoformat(),
        days=(leave.ends_on - leave.starts_on).days + 1,
        category=leave.category,
        category_label=t("leave_category_" + leave.category, lang),
        state=state,
        state_label=t("leave_state_" + state, lang),
        declared_by=leave.declared_by,
        can_cancel=state == "ahead",
    )


def correction_out(program: Program, correction: Correction, lang: str) -> CorrectionOut:
    """A correction as the dashboard, the console and the API show it."""
    item = correction_item(program, correction, lang, held=correction.status == "pending")
    return CorrectionOut(
        **item.model_dump(),
        id=correction.id,
        status=correction.status,
        status_label=t("correction_status_" + correction.status, lang),
    )
