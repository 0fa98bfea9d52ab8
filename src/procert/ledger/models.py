"""The ledger's tables: runs and their per-worker results, transitions, overrides, the outbox, the audit log.

The status of a worker is never stored apart from the runs: it is the effective status recorded by the latest
current run of the program (full recomputation is the truth), with any active override on top.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# BIGINT ids on PostgreSQL, INTEGER (the rowid alias, so autoincrement works) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Run(Base):
    """One evaluation of a program as of a date, recorded whole or not at all."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    program_id: Mapped[str] = mapped_column(String(60))
    program_version: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    facts_fingerprint: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime] = mapped_column(DateTime)
    evaluation_seconds: Mapped[float] = mapped_column(Float)
    workers: Mapped[int] = mapped_column(Integer)
    certified: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    backfill: Mapped[bool] = mapped_column(Boolean, default=False)
    actor: Mapped[str] = mapped_column(String(120))
    superseded_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("runs.id"), nullable=True)

    __table_args__ = (
        # Exactly one current run per program and date: a database constraint, so two schedulers racing
        # each other cannot both record one.
        Index(
            "uq_runs_current",
            "program_id",
            "as_of",
            unique=True,
            sqlite_where=text("superseded_by IS NULL"),
            postgresql_where=text("superseded_by IS NULL"),
        ),
    )


class RunResult(Base):
    """A worker's measured values and pass flags in a run, and the effective status the run gave them."""

    __tablename__ = "run_results"
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    worker_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    division: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20))
    evaluated: Mapped[bool] = mapped_column(Boolean)  # passed every criterion with an eligible status
    certified: Mapped[bool] = mapped_column(Boolean)  # effective: after overrides and grace
    certified_since: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: Programs with levels: the effective level (None: none; always None for programs without levels).
    level: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: Consecutive evaluations kept by the grace rule (0: not in grace).
    grace_cycles: Mapped[int] = mapped_column(Integer, default=0)
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    passed: Mapped[dict[str, Any]] = mapped_column(JSON)
    forecast: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: Declared leave the run took into account: ``{"on_leave": bool, "spans": [[first, last], ...]}`` (the spans
    #: that lengthened the windows), None when the worker had none.
    leave: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (
        Index("ix_run_results_worker", "worker_id", "run_id"),
        # The directory of current pros reads the certified rows of the latest run.
        Index("ix_run_results_certified", "run_id", "certified"),
    )


class Transition(Base):
    """A change (or confirmation) of a worker's status found by a run: granted, kept or lost."""

    __tablename__ = "transitions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("runs.id", ondelete="CASCADE"))
    program_id: Mapped[str] = mapped_column(String(60))
    worker_id: Mapped[str] = mapped_column(String(120))
    as_of: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))  # granted | promoted | kept | demoted | lost
    reason: Mapped[str] = mapped_column(String(40))  # criteria | grace | override | leave | held | missing
    failed: Mapped[list[str]] = mapped_column(JSON, default=list)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Programs with levels: the level before and after (None: none).
    from_level: Mapped[str | None] = mapped_column(String(40), nullable=True)
    to_level: Mapped[str | None] = mapped_column(String(40), nullable=True)

    __table_args__ = (Index("ix_transitions_worker", "program_id", "worker_id", "as_of"),)


class Override(Base):
    """An admin's lock of a worker's status; automation never changes a locked status."""

    __tablename__ = "overrides"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    program_id: Mapped[str] = mapped_column(String(60))
    worker_id: Mapped[str] = mapped_column(String(120))
    certified: Mapped[bool] = mapped_column(Boolean)
    #: Programs with levels: the level a lock holds the worker at (None with ``certified`` false).
    level: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (Index("ix_overrides_worker", "program_id", "worker_id"),)


class Notification(Base):
    """The transactional outbox: written with the transition that causes it, delivered later."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    #: One notification per program, worker, date and kind: a forced re-run never sends one twice.
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    program_id: Mapped[str] = mapped_column(String(60))
    worker_id: Mapped[str] = mapped_column(String(120))
    run_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("runs.id"), nullable=True
    )  # None: digests, newsletters
    kind: Mapped[str] = mapped_column(String(20))  # granted | kept | lost | at_risk
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    locale: Mapped[str] = mapped_column(String(5))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | sending | sent | failed | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(DateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)


class AuditEntry(Base):
    """Append-only: who did what, when. Nothing in procert updates or deletes these rows."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    program_id: Mapped[str | None] = mapped_column(String(60), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ApiKey(Base):
    """An admin API key (for the operator's backend). Only a SHA-256 digest of the key is stored."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120))
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class AdminUser(Base):
    """An operator who signs in to the admin console. Only an Argon2id hash of the password is stored."""

    __tablename__ = "admin_users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Wrong passwords in a row, and the lock they caused (cleared by time, a right password after it, or an admin).
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class WebSession(Base):
    """A signed-in browser, server side: the cookie carries a random token whose SHA-256 digest is the key here,
    so a session ends for good when it is revoked (sign-out, sign out everywhere, a password change)."""

    __tablename__ = "web_sessions"
    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # worker | admin
    subject: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (
        Index("ix_web_sessions_subject", "kind", "subject"),
        Index("ix_web_sessions_expires", "expires_at"),
    )


class UsedLoginLink(Base):
    """A login link's one-time id, recorded when it is used: the primary key makes a second use fail."""

    __tablename__ = "used_login_links"
    link_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    worker_id: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_used_login_links_used", "used_at"),)


class Appeal(Base):
    """A worker's appeal of a run's decision (optionally of one criterion), and the admin's answer."""

    __tablename__ = "appeals"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    program_id: Mapped[str] = mapped_column(String(60))
    worker_id: Mapped[str] = mapped_column(String(120))
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("runs.id", ondelete="CASCADE"))
    criterion: Mapped[str | None] = mapped_column(String(40), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(DateTime)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | answered
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (
        Index("ix_appeals_queue", "program_id", "status", "filed_at"),
        Index("ix_appeals_worker", "program_id", "worker_id"),
    )


class Leave(Base):
    """A worker's declared leave: days away (both ends included, the program's local dates) during which the
    status cannot be lost and by which every window is lengthened. Cancelled rather than deleted."""

    __tablename__ = "leaves"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    program_id: Mapped[str] = mapped_column(String(60))
    worker_id: Mapped[str] = mapped_column(String(120))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(20))  # illness | childcare | holiday | other
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    declared_by: Mapped[str] = mapped_column(String(120))
    declared_at: Mapped[datetime] = mapped_column(DateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: Last declared, cut or cancelled: what tells the status snapshot of the web server to re-read.
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_leaves_worker", "program_id", "worker_id", "starts_on"),)


class Correction(Base):
    """A recorded decision that a recomputation on corrected facts changed (``applied``: granted or raised from
    the original date) or would lower (``pending``: held for an admin, then ``accepted`` or ``dismissed``)."""

    __tablename__ = "corrections"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    program_id: Mapped[str] = mapped_column(String(60))
    worker_id: Mapped[str] = mapped_column(String(120))
    as_of: Mapped[date] = mapped_column(Date)
    #: The recomputed run (superseding ``original_run_id``, which keeps what was recorded first).
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("runs.id", ondelete="CASCADE"))
    original_run_id: Mapped[int] = mapped_column(BigId, ForeignKey("runs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # granted | raised | removed | lowered
    #: The level recorded and the level the corrected facts give (a program without levels: its id), None: none.
    level_before: Mapped[str | None] = mapped_column(String(60), nullable=True)
    level_after: Mapped[str | None] = mapped_column(String(60), nullable=True)
    values_before: Mapped[dict[str, Any]] = mapped_column(JSON)
    values_after: Mapped[dict[str, Any]] = mapped_column(JSON)
    failed_after: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20))  # applied | pending | accepted | dismissed
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        Index("ix_corrections_worker", "program_id", "worker_id", "as_of"),
        Index("ix_corrections_queue", "program_id", "status"),
    )
