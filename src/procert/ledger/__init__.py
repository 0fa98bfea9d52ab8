"""The ledger: scheduled runs, statuses derived from them, transitions, overrides, the outbox and the audit log."""

from .db import LedgerNotReady, make_engine, require_current, session_scope, upgrade
from .models import AuditEntry, Notification, Override, Run, RunResult, Transition
from .schedule import ScheduledDate, backfill, run_due, upcoming
from .service import (
    NotifyOptions,
    RunOutcome,
    RunRefused,
    WorkerStatus,
    audit,
    audit_entries,
    clear_override,
    latest_run,
    list_overrides,
    record_run,
    set_override,
    worker_history,
    worker_status,
)

__all__ = [
    "AuditEntry",
    "LedgerNotReady",
    "Notification",
    "NotifyOptions",
    "Override",
    "Run",
    "RunOutcome",
    "RunRefused",
    "RunResult",
    "ScheduledDate",
    "Transition",
    "WorkerStatus",
    "audit",
    "audit_entries",
    "backfill",
    "clear_override",
    "latest_run",
    "list_overrides",
    "make_engine",
    "record_run",
    "require_current",
    "run_due",
    "session_scope",
    "set_override",
    "upcoming",
    "upgrade",
    "worker_history",
    "worker_status",
]
