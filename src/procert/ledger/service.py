"""Ledger services: record runs, derive transitions, read statuses and history, manage overrides.

Every function takes the session first and everything else by keyword. A run is written in the caller's single
transaction (see :func:`procert.ledger.db.session_scope`): all of it becomes visible at commit, or none of it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, Literal

from sqlalchemy import Engine, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from procert.errors import ConflictError, ProcertError
from procert.evaluation import evaluate, explain_rows, keeps, near_miss
from procert.facts import FactStore
from procert.metrics import Period
from procert.programs import Program

from .db import session_scope
from .models import ApiKey, AuditEntry, Notification, Override, Run, RunResult, Transition

BATCH = 5_000


class RunRefused(ProcertError, RuntimeError):
    """A safety check stopped the run; nothing was recorded. The message says why and how to proceed."""


class RunRaced(RunRefused, ConflictError):
    """Another process recorded the same program and date at the same moment (its run stands)."""


@dataclass
class RunOutcome:
    status: Literal["recorded", "skipped"]
    message: str
    run_id: int | None = None
    transitions: Counter[str] = field(default_factory=Counter)
    notifications: int = 0


@dataclass(frozen=True)
class NotifyOptions:
    """How a run queues notifications: whether at all, the dashboard link, and when at-risk notices go out."""

    enabled: bool = True
    public_url: str = "http://127.0.0.1:8000"
    at_risk_days: int = 14


def utcnow() -> datetime:
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


def current_run(session: Session, *, program_id: str, as_of: date) -> Run | None:
    return session.scalar(
        select(Run).where(Run.program_id == program_id, Run.as_of == as_of, Run.superseded_by.is_(None))
    )


def latest_run(session: Session, *, program_id: str, before: date | None = None) -> Run | None:
    query = select(Run).where(Run.program_id == program_id, Run.superseded_by.is_(None))
    if before is not None:
        query = query.where(Run.as_of < before)
    return session.scalar(query.order_by(Run.as_of.desc()).limit(1))


def active_overrides(session: Session, *, program_id: str, on: date) -> dict[str, Override]:
    """Overrides in force on ``on`` (not revoked, not expired), the newest per worker."""
    rows = session.scalars(
        select(Override)
        .where(Override.program_id == program_id, Override.revoked_at.is_(None))
        .order_by(Override.created_at)
    ).all()
    return {o.worker_id: o for o in rows if o.expires_on is None or on < o.expires_on}


def _criteria_values(program: Program, row: dict[str, Any]) -> dict[str, Any]:
    return {c.id: row[c.id] for c in program.criteria}


def _failed(program: Program, row: dict[str, Any]) -> list[str]:
    failed = [c.id for c in program.criteria if not row[f"{c.id}_passed"]]
    if row["status"] not in program.eligible_statuses:
        failed.append("status")
    return failed


def record_run(
    session: Session,
    *,
    store: FactStore,
    program: Program,
    as_of: date,
    actor: str,
    force: bool = False,
    backfill: bool = False,
    max_worker_drop: float = 0.2,
    notify: NotifyOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Evaluate ``program`` as of ``as_of`` and record the run, its transitions and its notifications.

    Re-running a recorded date is a no-op unless ``force``, which records a new run superseding the old one
    (notifications already queued for that date are not queued again). Raises :class:`RunRefused` when a
    safety check fails; nothing is written then.
    """
    notify = notify or NotifyOptions()
    step = progress or (lambda _message: None)
    started_at = utcnow()
    existing = current_run(session, program_id=program.id, as_of=as_of)
    if existing is not None and not force:
        return RunOutcome(
            "skipped",
            f"{program.id} as of {as_of} is already recorded as run #{existing.id} "
            f"(program v{existing.program_version}); nothing to do (use --force to record it again)",
            existing.id,
        )
    latest = latest_run(session, program_id=program.id)
    if latest is not None and latest.as_of > as_of:
        raise RunRefused(
            f"a run of {program.id} as of {latest.as_of} is already recorded; runs move forward in time, so "
            f"{as_of} cannot be recorded after it"
        )
    counts = store.counts()
    if counts["workers"] == 0:
        raise RunRefused("the facts store holds no workers: refusing to run on an empty source (import first)")
    previous = latest_run(session, program_id=program.id, before=as_of)
    if previous is not None and previous.workers and not force:
        drop = 1 - counts["workers"] / previous.workers
        if drop > max_worker_drop:
            raise RunRefused(
                f"the number of workers fell from {previous.workers:,} (run #{previous.id}, {previous.as_of}) to "
                f"{counts['workers']:,}, a drop of {drop:.0%} (limit {max_worker_drop:.0%}); check the import, or "
                "use --force to proceed"
            )

    step(f"evaluating {program.label} as of {as_of}")
    evaluation = evaluate(store, program, as_of)
    next_date = program.cadence.next_after(as_of)
    step(f"forecasting {next_date}")
    forecast = evaluate(store, program, next_date, observed_until=as_of, table="procert_forecast")
    rows = evaluation.rows()
    forecast_rows = {r["worker_id"]: r for r in forecast.rows()}
    evaluation_seconds = evaluation.seconds

    # Claim the date first: the unique index on current runs makes a concurrent claim fail here.
    if existing is not None:
        # Superseded runs point at their successor; point at itself until the successor has an id.
        session.execute(update(Run).where(Run.id == existing.id).values(superseded_by=existing.id))
        session.flush()
    run = Run(
        program_id=program.id,
        program_version=program.version,
        as_of=as_of,
        facts_fingerprint=store.fingerprint(),
        started_at=started_at,
        finished_at=started_at,
        evaluation_seconds=evaluation_seconds,
        workers=len(rows),
        certified=0,
        counts={},
        forced=force,
        backfill=backfill,
        actor=actor,
    )
    session.add(run)
    try:
        session.flush()
    except IntegrityError as exc:
        raise RunRaced(f"another process recorded {program.id} as of {as_of} at the same time") from exc
    if existing is not None:
        session.execute(update(Run).where(Run.id == existing.id).values(superseded_by=run.id))

    step("deriving transitions")
    previous_state = _previous_state(session, program_id=program.id, before=as_of)
    locks = active_overrides(session, program_id=program.id, on=as_of)
    grace_cycles = program.grace.cycles if program.grace else 0
    results: list[dict[str, Any]] = []
    transitions: list[dict[str, Any]] = []
    tally: Counter[str] = Counter()
    seen: set[str] = set()
    for row in rows:
        worker_id = row["worker_id"]
        seen.add(worker_id)
        was_certified, since, grace_used = previous_state.get(worker_id, (False, None, 0))
        evaluated = bool(row["certified"])
        eligible = row["status"] in program.eligible_statuses
        keep = eligible and all(keeps(row, c) for c in program.criteria)
        near = eligible and all(near_miss(row, c, program) for c in program.criteria)
        lock = locks.get(worker_id)
        in_grace = False
        cycles = 0
        if lock is not None:
            certified, reason = lock.certified, "override"
        elif was_certified and keep:
            certified, reason = True, "criteria"
        elif was_certified and near and grace_used < grace_cycles:
            certified, reason, in_grace, cycles = True, "grace", True, grace_used + 1
        else:
            certified, reason = evaluated, "criteria"
        kind = None
        if certified and not was_certified:
            kind, since = "granted", as_of
        elif certified and was_certified:
            kind = "kept"
        elif was_certified:
            kind, since = "lost", None
        else:
            since = None
        predicted = forecast_rows.get(worker_id)
        at_risk_criteria = [c.id for c in program.criteria if not keeps(predicted, c)] if predicted is not None else []
        at_risk = certified and (in_grace or bool(at_risk_criteria))
        values = _criteria_values(program, row)
        passed = {c.id: bool(row[f"{c.id}_passed"]) for c in program.criteria}
        results.append(
            {
                "run_id": run.id,
                "worker_id": worker_id,
                "division": row["division"],
                "status": row["status"],
                "evaluated": evaluated,
                "certified": certified,
                "certified_since": since,
                "grace_cycles": cycles,
                "at_risk": at_risk,
                "values": values,
                "passed": passed,
                "forecast": {
                    "as_of": next_date.isoformat(),
                    "at_risk": at_risk_criteria,
                    "values": _criteria_values(program, predicted) if predicted else None,
                },
            }
        )
        if kind is not None:
            tally[kind] += 1
            transitions.append(
                {
                    "run_id": run.id,
                    "program_id": program.id,
                    "worker_id": worker_id,
                    "as_of": as_of,
                    "kind": kind,
                    "reason": reason,
                    "failed": _failed(program, row),
                    "values": values,
                    "_row": row,
                    "_at_risk": at_risk_criteria,
                    "_grace": in_grace,
                }
            )
    # Certified workers who disappeared from the facts lose the status.
    for worker_id, (was_certified, _since, _grace) in previous_state.items():
        if was_certified and worker_id not in seen:
            tally["lost"] += 1
            transitions.append(
                {
                    "run_id": run.id,
                    "program_id": program.id,
                    "worker_id": worker_id,
                    "as_of": as_of,
                    "kind": "lost",
                    "reason": "missing",
                    "failed": ["missing"],
                    "values": {},
                }
            )

    step(f"writing {len(results):,} results")
    for start in range(0, len(results), BATCH):
        session.execute(insert(RunResult), results[start : start + BATCH])
    clean = [{k: v for k, v in t.items() if not k.startswith("_")} for t in transitions]
    for start in range(0, len(clean), BATCH):
        session.execute(insert(Transition), clean[start : start + BATCH])
    # Every change of status is audited one by one (a renewal is not a change: the run's entry counts them).
    audited_at = utcnow()
    changes = [
        {
            "at": audited_at,
            "actor": actor,
            "action": f"status.{t['kind']}",
            "program_id": program.id,
            "subject": f"worker:{t['worker_id']}",
            "details": {"run_id": run.id, "as_of": as_of.isoformat(), "reason": t["reason"], "failed": t["failed"]},
        }
        for t in clean
        if t["kind"] != "kept"
    ]
    for start in range(0, len(changes), BATCH):
        session.execute(insert(AuditEntry), changes[start : start + BATCH])

    queued = 0
    if notify.enabled:
        step("queuing notifications")
        queued = _queue_notifications(
            session, store=store, program=program, run=run, transitions=transitions, next_date=next_date, options=notify
        )
    certified_count = sum(1 for r in results if r["certified"])
    run.certified = certified_count
    run.finished_at = utcnow()
    run.counts = {
        "transitions": dict(tally),
        "notifications": queued,
        "facts": counts,
        "at_risk": sum(1 for r in results if r["at_risk"]),
        "forecast_seconds": round(forecast.seconds, 3),
    }
    audit(
        session,
        actor=actor,
        action="run.recorded",
        program_id=program.id,
        subject=f"run:{run.id}",
        details={
            "as_of": as_of.isoformat(),
            "program_version": program.version,
            "forced": force,
            "superseded": existing.id if existing else None,
            "certified": certified_count,
            "transitions": dict(tally),
            "notifications": queued,
        },
    )
    message = (
        f"recorded run #{run.id}: {program.label} as of {as_of}, {len(rows):,} workers, "
        f"{certified_count:,} certified; granted {tally['granted']}, kept {tally['kept']}, "
        f"lost {tally['lost']}; {queued} notification(s) queued"
    )
    return RunOutcome("recorded", message, run.id, tally, queued)


def _previous_state(session: Session, *, program_id: str, before: date) -> dict[str, tuple[bool, date | None, int]]:
    """Each worker certified (or in grace) by the latest current run before ``before``: (certified, since,
    consecutive grace cycles used)."""
    previous = latest_run(session, program_id=program_id, before=before)
    if previous is None:
        return {}
    rows = session.execute(
        select(RunResult.worker_id, RunResult.certified, RunResult.certified_since, RunResult.grace_cycles).where(
            RunResult.run_id == previous.id, RunResult.certified.is_(True)
        )
    ).all()
    return {w: (True, since, grace) for w, _c, since, grace in rows}


def _queue_notifications(
    session: Session,
    *,
    store: FactStore,
    program: Program,
    run: Run,
    transitions: list[dict[str, Any]],
    next_date: date,
    options: NotifyOptions,
) -> int:
    """Write the outbox rows for this run in the run's transaction (none lost, none invented by a failure)."""
    wanted: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for t in transitions:
        if t.get("_row") is not None:
            wanted.append((t["kind"], t["_row"], t))
    if not wanted:
        return 0
    ids = [t["worker_id"] for _k, _r, t in wanted]
    workers = {
        w: (name, email, locale or "ja")
        for w, name, email, locale in store.query(
            "SELECT worker_id, display_name, email, locale FROM workers WHERE worker_id IN (SELECT unnest(?))", [ids]
        ).fetchall()
    }
    existing = set(
        session.scalars(
            select(Notification.dedupe_key).where(
                Notification.program_id == program.id, Notification.dedupe_key.like(f"{program.id}:{run.as_of}:%")
            )
        ).all()
    )
    # Which criteria flipped since the previous run, so a mail can say what changed.
    previous = latest_run(session, program_id=program.id, before=run.as_of)
    before: dict[str, dict[str, Any]] = {}
    if previous is not None:
        for start in range(0, len(ids), 1000):
            before.update(
                session.execute(
                    select(RunResult.worker_id, RunResult.passed).where(
                        RunResult.run_id == previous.id, RunResult.worker_id.in_(ids[start : start + 1000])
                    )
                ).all()
            )
    period = Period(run.as_of, program.timezone)
    explanations = explain_rows(
        store, program, period, [row for _k, row, _t in wanted], {w: info[2] for w, info in workers.items()}
    )
    now = utcnow()
    rows: list[dict[str, Any]] = []

    def add(kind: str, worker_id: str, transition: dict[str, Any], not_before: datetime) -> None:
        key = f"{program.id}:{run.as_of}:{worker_id}:{kind}"
        if key in existing:
            return
        name, email, locale = workers.get(worker_id, (worker_id, None, "ja"))
        explanation = explanations[worker_id]
        payload = {
            "worker_id": worker_id,
            "display_name": name,
            "program_id": program.id,
            "program_version": program.version,
            "program_name": program.name.get(locale),
            "as_of": run.as_of.isoformat(),
            "next_evaluation": next_date.isoformat(),
            "kind": kind,
            "reason": transition["reason"] if transition else "forecast",
            "dashboard_url": f"{options.public_url.rstrip('/')}/dashboard/{worker_id}",
            "failed": transition["failed"] if transition else [],
            "changed": [
                c.id
                for c in program.criteria
                if worker_id in before and before[worker_id].get(c.id) != bool(transition["_row"][f"{c.id}_passed"])
            ],
            "at_risk": (transition or {}).get("_at_risk") or [],
            "in_grace": bool((transition or {}).get("_grace")),
            "criteria": [
                {
                    "id": c.id,
                    "label": c.label,
                    "value": c.value_text,
                    "threshold": c.threshold_text,
                    "passed": c.passed,
                    "takes": c.takes,
                    "margin": c.margin,
                    "advice": c.advice,
                }
                for c in explanation.criteria
            ],
        }
        rows.append(
            {
                "dedupe_key": key,
                "program_id": program.id,
                "worker_id": worker_id,
                "run_id": run.id,
                "kind": kind,
                "email": email,
                "locale": locale,
                "payload": payload,
                "status": "pending" if email else "skipped",
                "attempts": 0,
                "not_before": not_before,
                "next_attempt_at": max(not_before, now),
                "last_error": None if email else "no email address in the facts",
                "message_id": f"<{key.replace(':', '.')}@procert>",
                "created_at": now,
                "sent_at": None,
            }
        )

    for kind, _row, transition in wanted:
        add(kind, transition["worker_id"], transition, now)
    # At risk: certified workers the forecast fails at the next date, told some days before it.
    send_at = period.utc(next_date - timedelta(days=options.at_risk_days))
    for kind, _row, transition in wanted:
        if kind != "lost" and (transition["_at_risk"] or transition["_grace"]):
            add("at_risk", transition["worker_id"], transition, max(send_at, now))
    for start in range(0, len(rows), BATCH):
        session.execute(insert(Notification), rows[start : start + BATCH])
    return len(rows)


# ---- reading --------------------------------------------------------------------------------------------------


@dataclass
class WorkerStatus:
    worker_id: str
    program_id: str
    certified: bool
    since: date | None
    run_id: int | None
    as_of: date | None
    at_risk: bool
    in_grace: bool
    override: Override | None
    values: dict[str, Any] | None
    passed: dict[str, Any] | None
    forecast: dict[str, Any] | None
    #: The worker's division in the last run (None when the run did not see them).
    division: str | None = None


def worker_status(
    session: Session,
    *,
    program_id: str,
    worker_id: str,
    on: date | None = None,
    run: Run | Literal["latest"] | None = "latest",
    overrides: dict[str, Override] | None = None,
) -> WorkerStatus:
    """The worker's status now: the latest current run's effective status, with an active override on top.

    ``run`` and ``overrides`` may be passed when the caller already read them (see :class:`StatusReader`)."""
    if run == "latest":
        run = latest_run(session, program_id=program_id)
    result = session.get(RunResult, (run.id, worker_id)) if run is not None else None
    if overrides is None:
        overrides = active_overrides(session, program_id=program_id, on=on or datetime.now(UTC).date())
    return _status(worker_id, program_id, run, result, overrides.get(worker_id))


def _status(
    worker_id: str, program_id: str, run: Run | None, result: RunResult | None, lock: Override | None
) -> WorkerStatus:
    certified = bool(result and result.certified)
    since = result.certified_since if result else None
    if lock is not None:
        if lock.certified and not certified:
            since = lock.created_at.date()
        certified = lock.certified
        since = since if certified else None
    return WorkerStatus(
        worker_id=worker_id,
        program_id=program_id,
        certified=certified,
        since=since,
        run_id=run.id if run else None,
        as_of=run.as_of if run else None,
        at_risk=bool(result and result.at_risk),
        in_grace=bool(result and result.grace_cycles),
        override=lock,
        values=result.values if result else None,
        passed=result.passed if result else None,
        forecast=result.forecast if result else None,
        division=result.division if result else None,
    )


class StatusReader:
    """Statuses for serving pages and badges at high request rates.

    The latest run, the overrides in force and the active API key digests are read once and re-read at most every
    ``refresh_seconds`` (at once after :meth:`invalidate`, which this process calls after its own changes), so one
    worker's status costs a single primary-key lookup and an API key check none. Changes made by another process
    show within ``refresh_seconds``.
    """

    def __init__(
        self, engine: Engine, *, program_id: str, today: Callable[[], date], refresh_seconds: float = 1.0
    ) -> None:
        self.engine = engine
        self.program_id = program_id
        self.today = today
        self.refresh_seconds = refresh_seconds
        self._checked = float("-inf")
        self._run: Run | None = None
        self._overrides: dict[str, Override] = {}
        self._key_digests: dict[str, tuple[int, str]] = {}
        self.version: tuple[Any, ...] = ()
        self._lock = threading.Lock()
        self._loaded = False

    def invalidate(self) -> None:
        self._checked = float("-inf")

    def is_fresh(self) -> bool:
        """Whether :meth:`refresh` would answer without reading the database."""
        return self._loaded and time.monotonic() - self._checked < self.refresh_seconds

    def refresh(self) -> tuple[Any, ...]:
        """Re-read the snapshot if it is older than ``refresh_seconds``; returns its version (changes whenever a
        run is recorded, an override changes or the day turns)."""
        now = time.monotonic()
        if now - self._checked < self.refresh_seconds:
            return self.version
        # One thread re-reads; the others answer from the snapshot they have (only the first read waits).
        if not self._lock.acquire(blocking=not self._loaded):
            return self.version
        try:
            self._reload(now)
        finally:
            self._lock.release()
        return self.version

    def _reload(self, now: float) -> None:
        with session_scope(self.engine) as session:
            today = self.today()
            run = latest_run(session, program_id=self.program_id)
            overrides = active_overrides(session, program_id=self.program_id, on=today)
            keys = session.execute(select(ApiKey.key_digest, ApiKey.id, ApiKey.name).where(ApiKey.revoked_at.is_(None)))
            self._run, self._overrides = run, overrides
            self._key_digests = {digest: (key_id, name) for digest, key_id, name in keys}
            self.version = (
                run.id if run else None,
                tuple(sorted((o.id, o.worker_id) for o in overrides.values())),
                today,
            )
            self._checked = now
            self._loaded = True

    def read(self, worker_id: str) -> tuple[WorkerStatus, list[Any]]:
        """The worker's status and history (rows with ``as_of``, ``kind``, ``reason``, ``failed``, oldest
        first): two indexed lookups on one connection, in Core (no ORM objects to build)."""
        self.refresh()
        run = self._run
        with self.engine.connect() as connection:
            result = None
            if run is not None:
                row = connection.execute(_RESULT_QUERY, {"run_id": run.id, "worker_id": worker_id}).first()
                result = SimpleNamespace(**row._mapping) if row is not None else None
            history = list(
                connection.execute(_HISTORY_QUERY, {"program_id": self.program_id, "worker_id": worker_id}).all()
            )
        status = _status(worker_id, self.program_id, run, result, self._overrides.get(worker_id))  # type: ignore[arg-type]
        return status, history

    def api_key(self, digest: str) -> tuple[int, str] | None:
        """The (id, name) of the active API key with this SHA-256 digest."""
        self.refresh()
        return self._key_digests.get(digest)


def worker_history(session: Session, *, program_id: str, worker_id: str) -> list[Transition]:
    """Every transition of the worker in current runs, oldest first."""
    return list(
        session.scalars(
            select(Transition)
            .join(Run, Run.id == Transition.run_id)
            .where(Transition.program_id == program_id, Transition.worker_id == worker_id, Run.superseded_by.is_(None))
            .order_by(Transition.as_of)
        ).all()
    )


@dataclass(frozen=True)
class Pro:
    """A currently certified worker: by the latest run, with overrides in force on top."""

    worker_id: str
    division: str
    since: date | None
    values: dict[str, Any]


def current_pros(session: Session, *, program_id: str, on: date) -> list[Pro]:
    """Every worker certified now (the public directory's source). Uses the (run_id, certified) index."""
    run = latest_run(session, program_id=program_id)
    pros: dict[str, Pro] = {}
    if run is not None:
        for worker_id, division, since, values in session.execute(
            select(RunResult.worker_id, RunResult.division, RunResult.certified_since, RunResult.values).where(
                RunResult.run_id == run.id, RunResult.certified.is_(True)
            )
        ):
            pros[worker_id] = Pro(worker_id, division, since, values)
    for lock in active_overrides(session, program_id=program_id, on=on).values():
        if not lock.certified:
            pros.pop(lock.worker_id, None)
        elif lock.worker_id not in pros:
            result = session.get(RunResult, (run.id, lock.worker_id)) if run is not None else None
            pros[lock.worker_id] = Pro(
                lock.worker_id,
                result.division if result else "",
                lock.created_at.date(),
                result.values if result else {},
            )
    return list(pros.values())


@dataclass
class Forecast:
    as_of: date
    observed_until: date
    #: Evaluation rows (as of ``as_of``, facts before ``observed_until``) of the certified workers who would fail.
    at_risk: list[dict[str, Any]]
    certified: int


def forecast_at_risk(
    session: Session, *, store: FactStore, program: Program, today: date, worker_id: str | None = None
) -> Forecast:
    """On demand: which certified workers would fail at the next scheduled date if nothing new happened.

    Certified means: by the latest recorded run, with overrides in force today on top. Raises LookupError
    when no run is recorded yet.
    """
    run = latest_run(session, program_id=program.id)
    if run is None:
        raise LookupError(f"no run of {program.id} is recorded yet: run `procert run` first")
    certified = set(
        session.scalars(
            select(RunResult.worker_id).where(RunResult.run_id == run.id, RunResult.certified.is_(True))
        ).all()
    )
    for lock in active_overrides(session, program_id=program.id, on=today).values():
        (certified.add if lock.certified else certified.discard)(lock.worker_id)
    next_date = program.cadence.next_after(today)
    evaluation = evaluate(store, program, next_date, observed_until=today, table="procert_forecast")
    rows = [
        r
        for r in evaluation.rows()
        if r["worker_id"] in certified and (worker_id is None or r["worker_id"] == worker_id)
    ]
    at_risk = [
        {**r, "at_risk": [c.id for c in program.criteria if not keeps(r, c)]}
        for r in rows
        if r["status"] not in program.eligible_statuses or not all(keeps(r, c) for c in program.criteria)
    ]
    return Forecast(next_date, today, at_risk, len(certified))


# ---- overrides ------------------------------------------------------------------------------------------------


def set_override(
    session: Session,
    *,
    program_id: str,
    worker_id: str,
    certified: bool,
    reason: str,
    actor: str,
    expires_on: date | None = None,
) -> Override:
    if not reason.strip():
        raise ValueError("an override needs a reason")
    now = utcnow()
    for old in active_overrides(session, program_id=program_id, on=now.date()).values():
        if old.worker_id == worker_id:
            old.revoked_at, old.revoked_by = now, actor
    lock = Override(
        program_id=program_id,
        worker_id=worker_id,
        certified=certified,
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
            "reason": lock.reason,
            "expires_on": expires_on.isoformat() if expires_on else None,
        },
    )
    return lock


def clear_override(session: Session, *, program_id: str, worker_id: str, actor: str) -> int:
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


def list_overrides(session: Session, *, program_id: str, include_inactive: bool = False) -> list[Override]:
    query = select(Override).where(Override.program_id == program_id).order_by(Override.created_at)
    if not include_inactive:
        query = query.where(Override.revoked_at.is_(None))
    return list(session.scalars(query).all())


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


# ---- reading the ledger (admin console and API) -------------------------------------------------------------


def list_runs(session: Session, *, program_id: str, limit: int = 50, offset: int = 0) -> tuple[int, list[Run]]:
    """Runs of a program, newest date first (superseded runs included, marked by ``superseded_by``)."""
    where = Run.program_id == program_id
    total = session.scalar(select(func.count()).select_from(Run).where(where)) or 0
    runs = session.scalars(
        select(Run).where(where).order_by(Run.as_of.desc(), Run.id.desc()).limit(limit).offset(offset)
    )
    return total, list(runs.all())


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
    by_status = dict(
        session.execute(
            select(Notification.status, func.count())
            .where(Notification.program_id == program_id)
            .group_by(Notification.status)
        ).all()
    )
    where = [Notification.program_id == program_id]
    if status is not None:
        where.append(Notification.status == status)
    total = session.scalar(select(func.count()).select_from(Notification).where(*where)) or 0
    rows = session.scalars(
        select(Notification).where(*where).order_by(Notification.id.desc()).limit(limit).offset(offset)
    )
    return by_status, total, list(rows.all())


_RESULT_QUERY = select(
    RunResult.certified,
    RunResult.certified_since,
    RunResult.division,
    RunResult.grace_cycles,
    RunResult.at_risk,
    RunResult.values,
    RunResult.passed,
    RunResult.forecast,
).where(RunResult.run_id == bindparam("run_id"), RunResult.worker_id == bindparam("worker_id"))

_HISTORY_QUERY = (
    select(Transition.as_of, Transition.kind, Transition.reason, Transition.failed)
    .join(Run, Run.id == Transition.run_id)
    .where(
        Transition.program_id == bindparam("program_id"),
        Transition.worker_id == bindparam("worker_id"),
        Run.superseded_by.is_(None),
    )
    .order_by(Transition.as_of)
)
