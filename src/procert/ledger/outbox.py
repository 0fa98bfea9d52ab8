"""The outbox, written in one place: every notification (status mails from runs, job digests, newsletters) is
queued by :func:`enqueue` in its cause's transaction, with a typed payload per kind and one dedupe rule
(:func:`dedupe_key`), so a re-run, a second digest or a re-sent issue never queues anyone twice.

:mod:`procert.notify` reads the payloads back with :func:`parse_payload` and delivers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from procert.evaluation import CriterionExplanation

from .audit import utcnow
from .models import Notification

BATCH = 5_000
StatusKind = Literal["granted", "promoted", "kept", "demoted", "lost", "at_risk"]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", serialize_by_alias=True)


class StatusMail(_Payload):
    """A change of status (or a warning before the next evaluation), with the worker's explanation."""

    kind: StatusKind
    worker_id: str
    display_name: str | None
    program_id: str
    program_version: int
    program_name: str
    as_of: date
    next_evaluation: date
    reason: str  # criteria, grace, override, missing or forecast
    dashboard_url: str
    failed: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list, description="Criteria whose result flipped since the last run.")
    at_risk: list[str] = Field(default_factory=list)
    in_grace: bool = False
    criteria: list[CriterionExplanation]
    #: Programs with levels: the level now and before, as {"id", "ja", "en"} (None: no level).
    level: dict[str, str] | None = None
    previous_level: dict[str, str] | None = None


class AppealMail(_Payload):
    """The answer to a worker's appeal."""

    kind: Literal["appeal_answered"]
    worker_id: str
    display_name: str | None
    program_name: str
    appeal_id: int
    run_as_of: date
    criterion: str | None = Field(None, description="The criterion's label, when the appeal named one.")
    text: str
    answer: str
    dashboard_url: str


LeaveStage = Literal["declared", "cancelled", "cut_short"]


class LeaveMail(_Payload):
    """A leave an admin recorded, cancelled or cut short for the worker (the worker's own declarations are on
    their dashboard already): what it is, what it means for the evaluation, where to see it."""

    kind: Literal["leave_recorded"]
    stage: LeaveStage
    worker_id: str
    display_name: str | None
    program_name: str
    leave_id: int
    category: str = Field(description="The category's code (illness, childcare, holiday, other).")
    starts_on: date
    ends_on: date
    dashboard_url: str


class CorrectionChange(_Payload):
    """One criterion whose value the corrected facts changed, as the worker reads it."""

    label: str
    before: str
    after: str


class CorrectionItem(_Payload):
    """One recorded decision the corrected facts change."""

    as_of: date
    kind: Literal["granted", "raised", "removed", "lowered"]
    before: str = Field(description="The status recorded, in words (未認定, 認定, ゴールド…).")
    after: str = Field(description="The status the corrected facts give, in words.")
    held: bool = Field(description="A change down not applied: an admin reviews it first.")
    changes: list[CorrectionChange] = Field(default_factory=list)


class CorrectionMail(_Payload):
    """The receipt of a correction: which decisions changed (or are held for review), and which values."""

    kind: Literal["correction"]
    stage: Literal["recomputed", "accepted", "dismissed"] = "recomputed"
    worker_id: str
    display_name: str | None
    program_name: str
    items: list[CorrectionItem]
    dashboard_url: str


class DigestJob(_Payload):
    job_id: str
    title: str
    company_name: str | None
    budget_jpy: int | None
    url: str
    score: float
    reasons: list[dict[str, Any]]


class JobDigest(_Payload):
    """Premium jobs that fit a pro, once a day."""

    kind: Literal["job_digest"]
    worker_id: str
    display_name: str
    program_name: dict[str, str]
    date: date
    dashboard_url: str
    jobs: list[DigestJob]


class NewsletterMail(_Payload):
    """One issue of the newsletter for one subscriber, with their signed unsubscribe link."""

    kind: Literal["newsletter"]
    issue_id: int
    name: str | None
    unsubscribe_url: str
    archive_url: str
    program_name: dict[str, str]
    issue_date: date
    featured: list[dict[str, Any]]
    jobs: list[dict[str, Any]]
    directory_url: str


AnyPayload = StatusMail | JobDigest | NewsletterMail | AppealMail | CorrectionMail | LeaveMail
Payload = Annotated[AnyPayload, Field(discriminator="kind")]
_PAYLOAD: TypeAdapter[AnyPayload] = TypeAdapter(Payload)


def parse_payload(data: dict[str, Any]) -> AnyPayload:
    """A stored payload, typed (raises pydantic's ValidationError for a payload of no known kind)."""
    return _PAYLOAD.validate_python(data)


def dedupe_key(*, program_id: str, occasion: str, recipient: str, kind: str) -> str:
    """The one rule: one notification per program, occasion (a run's date, a digest's day, an issue), recipient
    and kind."""
    return f"{program_id}:{occasion}:{recipient}:{kind}"


def message_id(key: str) -> str:
    return f"<{key.replace(':', '.')}@procert>"


@dataclass(frozen=True)
class OutboxItem:
    """One notification to queue. ``email`` None: recorded as skipped (nothing to deliver to), with the reason."""

    program_id: str
    occasion: str
    recipient: str
    payload: AnyPayload
    email: str | None
    locale: str
    run_id: int | None = None
    not_before: datetime | None = None

    @property
    def key(self) -> str:
        return dedupe_key(
            program_id=self.program_id, occasion=self.occasion, recipient=self.recipient, kind=self.payload.kind
        )


def queued_keys(session: Session, *, program_id: str, occasion: str) -> set[str]:
    """The dedupe keys already queued for one program and occasion."""
    prefix = dedupe_key(program_id=program_id, occasion=occasion, recipient="", kind="").rsplit(":", 2)[0]
    return set(
        session.scalars(select(Notification.dedupe_key).where(Notification.dedupe_key.like(f"{prefix}:%"))).all()
    )


def enqueue(session: Session, items: Sequence[OutboxItem], *, now: datetime | None = None) -> int:
    """Queue the items not queued before (by their dedupe key), in the caller's transaction; returns how many."""
    now = now or utcnow()
    keys = {(i.program_id, i.occasion) for i in items}
    existing: set[str] = set()
    for program_id, occasion in keys:
        existing |= queued_keys(session, program_id=program_id, occasion=occasion)
    rows: list[dict[str, Any]] = []
    for item in items:
        key = item.key
        if key in existing:
            continue
        existing.add(key)
        not_before = item.not_before or now
        rows.append(
            {
                "dedupe_key": key,
                "program_id": item.program_id,
                "worker_id": item.recipient,
                "run_id": item.run_id,
                "kind": item.payload.kind,
                "email": item.email,
                "locale": item.locale,
                "payload": item.payload.model_dump(mode="json"),
                "status": "pending" if item.email else "skipped",
                "attempts": 0,
                "not_before": not_before,
                "next_attempt_at": max(not_before, now),
                "last_error": None if item.email else "no email address in the facts",
                "message_id": message_id(key),
                "created_at": now,
                "sent_at": None,
            }
        )
    for start in range(0, len(rows), BATCH):
        session.execute(insert(Notification), rows[start : start + BATCH])
    return len(rows)
