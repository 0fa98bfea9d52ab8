"""Reading statuses: a worker's status now, the current pros, and a snapshot reader for the web's hot paths.

A status is the latest current run's result with an override in force on top: :func:`effective_status` is that
rule, written once and used by every reader here and by the forecast.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any, Literal, Protocol

from sqlalchemy import Engine, bindparam, func, select
from sqlalchemy.orm import Session

from procert.settings import Settings

from .db import session_scope
from .models import ApiKey, Leave, Override, Run, RunResult, Transition


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


def overrides_at(session: Session, *, program_id: str, on: date, at: datetime) -> dict[str, Override]:
    """The overrides a run that started at ``at`` found in force for its date ``on``: created before it, not yet
    revoked then, not expired on ``on`` (what a recomputation of that run must apply again)."""
    rows = session.scalars(
        select(Override)
        .where(Override.program_id == program_id, Override.created_at <= at)
        .order_by(Override.created_at)
    ).all()
    return {
        o.worker_id: o
        for o in rows
        if (o.revoked_at is None or o.revoked_at > at) and (o.expires_on is None or on < o.expires_on)
    }


def effective_status(
    certified: bool, since: date | None, lock: Override | None, level: str | None = None
) -> tuple[bool, date | None, str | None]:
    """A run's (certified, since, level) with the override in force on top: a lock decides (its level too, when it
    names one), and a worker locked in who was not certified by the run is certified since the lock was set."""
    if lock is None:
        return certified, since, level
    if not lock.certified:
        return False, None, None
    if not certified:
        since = lock.created_at.date()
    return True, since, lock.level or level


class _Result(Protocol):
    certified: bool
    certified_since: date | None
    level: str | None
    division: str
    grace_cycles: int
    at_risk: bool
    values: dict[str, Any]
    passed: dict[str, Any]
    forecast: dict[str, Any] | None


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
    #: Programs with levels: the effective level (None: none).
    level: str | None = None


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
    worker_id: str, program_id: str, run: Run | None, result: _Result | None, lock: Override | None
) -> WorkerStatus:
    certified, since, level = effective_status(
        bool(result and result.certified),
        result.certified_since if result else None,
        lock,
        result.level if result else None,
    )
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
        level=level,
    )


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
    level: str | None = None


def certified_ids(session: Session, *, program_id: str, on: date) -> set[str]:
    """Who is certified now (latest run, overrides in force on ``on`` on top), as a set of ids."""
    return {p.worker_id for p in current_pros(session, program_id=program_id, on=on)}


def current_pros(session: Session, *, program_id: str, on: date) -> list[Pro]:
    """Every worker certified now (the public directory's source). Uses the (run_id, certified) index."""
    run = latest_run(session, program_id=program_id)
    pros: dict[str, Pro] = {}
    if run is not None:
        for worker_id, division, since, values, level in session.execute(
            select(
                RunResult.worker_id, RunResult.division, RunResult.certified_since, RunResult.values, RunResult.level
            ).where(RunResult.run_id == run.id, RunResult.certified.is_(True))
        ):
            pros[worker_id] = Pro(worker_id, division, since, values, level)
    for lock in active_overrides(session, program_id=program_id, on=on).values():
        held = pros.get(lock.worker_id)
        certified, since, level = effective_status(
            held is not None, held.since if held else None, lock, held.level if held else None
        )
        if not certified:
            pros.pop(lock.worker_id, None)
        elif held is None:
            result = session.get(RunResult, (run.id, lock.worker_id)) if run is not None else None
            pros[lock.worker_id] = Pro(
                lock.worker_id, result.division if result else "", since, result.values if result else {}, level
            )
        else:
            pros[lock.worker_id] = Pro(held.worker_id, held.division, since, held.values, level)
    return list(pros.values())


_RESULT_QUERY = select(
    RunResult.certified,
    RunResult.certified_since,
    RunResult.level,
    RunResult.division,
    RunResult.grace_cycles,
    RunResult.at_risk,
    RunResult.values,
    RunResult.passed,
    RunResult.forecast,
).where(RunResult.run_id == bindparam("run_id"), RunResult.worker_id == bindparam("worker_id"))

_HISTORY_QUERY = (
    select(
        Transition.as_of,
        Transition.kind,
        Transition.reason,
        Transition.failed,
        Transition.from_level,
        Transition.to_level,
        Transition.values,
    )
    .join(Run, Run.id == Transition.run_id)
    .where(
        Transition.program_id == bindparam("program_id"),
        Transition.worker_id == bindparam("worker_id"),
        Run.superseded_by.is_(None),
    )
    .order_by(Transition.as_of)
)


def _changes_query() -> Any:
    """What changes whenever anything the snapshot holds does: every change to those tables is an insert (a new
    id) or a one-way update (superseded, revoked; a leave's updated_at), so ids and counts of those updates
    tell. One statement of small scalar subqueries: the cheap look a server takes every second."""
    program: Any = bindparam("program_id")
    return select(
        select(func.max(Run.id)).where(Run.program_id == program).scalar_subquery(),
        select(func.count(Run.superseded_by)).where(Run.program_id == program).scalar_subquery(),
        select(func.max(Override.id)).where(Override.program_id == program).scalar_subquery(),
        select(func.count(Override.revoked_at)).where(Override.program_id == program).scalar_subquery(),
        select(func.max(ApiKey.id)).scalar_subquery(),
        select(func.count(ApiKey.revoked_at)).scalar_subquery(),
        select(func.count(Leave.id)).where(Leave.program_id == program).scalar_subquery(),
        select(func.max(Leave.updated_at)).where(Leave.program_id == program).scalar_subquery(),
    )


_CHANGES_QUERY = _changes_query()


class StatusReader:
    """Statuses for serving pages and badges at high request rates.

    The latest run, the overrides in force and the active API key digests are read once and re-read at most every
    ``refresh_seconds`` (at once after :meth:`invalidate`, which this process calls after its own changes), so one
    worker's status costs a single primary-key lookup and an API key check none. Changes made by another process
    show within ``refresh_seconds``.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        program_id: str,
        today: Callable[[], date],
        refresh_seconds: float = Settings.default("ledger_refresh_seconds"),
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
        self.leaves_version: tuple[Any, ...] = ()
        self._lock = threading.Lock()
        self._loaded = False
        self._changes: tuple[Any, ...] | None = None

    def invalidate(self) -> None:
        self._checked = float("-inf")

    def is_fresh(self) -> bool:
        """Whether :meth:`refresh` would answer without reading the database: the snapshot is recent, or another
        thread is re-reading it already (the others answer from the one they have meanwhile, so a re-read never
        sends every request to a worker thread at once)."""
        return self._loaded and (time.monotonic() - self._checked < self.refresh_seconds or self._lock.locked())

    def refresh(self, *, max_age: float | None = None) -> tuple[Any, ...]:
        """Re-read the snapshot if it is older than ``max_age`` (default ``refresh_seconds``; a watcher re-reads
        early, so requests never find it due); returns its version (changes whenever a run is recorded, an
        override changes or the day turns)."""
        now = time.monotonic()
        if now - self._checked < (self.refresh_seconds if max_age is None else max_age):
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
        today = self.today()
        with self.engine.connect() as connection:
            changes = (today, *connection.execute(_CHANGES_QUERY, {"program_id": self.program_id}).one())
        if self._loaded and changes == self._changes:
            self._checked = now  # nothing changed: no need to read the snapshot again
            return
        # Read after the look: a change committed in between is read now and seen as a change next time.
        self._read(now, today)
        self._changes = changes

    def _read(self, now: float, today: date) -> None:
        with session_scope(self.engine) as session:
            run = latest_run(session, program_id=self.program_id)
            overrides = active_overrides(session, program_id=self.program_id, on=today)
            keys = session.execute(select(ApiKey.key_digest, ApiKey.id, ApiKey.name).where(ApiKey.revoked_at.is_(None)))
            self._run, self._overrides = run, overrides
            self._key_digests = {digest: (key_id, name) for digest, key_id, name in keys}
            leaves = session.execute(
                select(func.count(Leave.id), func.max(Leave.updated_at)).where(Leave.program_id == self.program_id)
            ).one()
            #: The state of the program's declared leave (how many, the latest change): what evaluations with
            #: leave depend on in the ledger.
            self.leaves_version = tuple(leaves)
            self.version = (
                run.id if run else None,
                tuple(sorted((o.id, o.worker_id) for o in overrides.values())),
                today,
                self.leaves_version,
            )
            self._checked = now
            self._loaded = True

    @property
    def latest_as_of(self) -> date | None:
        """The as-of date of the latest run in the snapshot: the date the shown ratings are evaluated at."""
        self.refresh()
        return self._run.as_of if self._run is not None else None

    def read(self, worker_id: str) -> tuple[WorkerStatus, list[Any]]:
        """The worker's status and history (rows with ``as_of``, ``kind``, ``reason``, ``failed``, oldest
        first): two indexed lookups on one connection, in Core (no ORM objects to build)."""
        self.refresh()
        run = self._run
        with self.engine.connect() as connection:
            result: Any = None
            if run is not None:
                row = connection.execute(_RESULT_QUERY, {"run_id": run.id, "worker_id": worker_id}).first()
                result = SimpleNamespace(**row._mapping) if row is not None else None
            history = list(
                connection.execute(_HISTORY_QUERY, {"program_id": self.program_id, "worker_id": worker_id}).all()
            )
        status = _status(worker_id, self.program_id, run, result, self._overrides.get(worker_id))
        return status, history

    def api_key(self, digest: str) -> tuple[int, str] | None:
        """The (id, name) of the active API key with this SHA-256 digest."""
        self.refresh()
        return self._key_digests.get(digest)


@dataclass(frozen=True)
class RunEntry:
    """A run the worker was evaluated in: what it decided and each criterion's result."""

    run_id: int
    as_of: date
    evaluated: bool
    certified: bool
    level: str | None
    passed: dict[str, Any]
    values: dict[str, Any]
    #: The declared leave the run took into account (see RunResult.leave), None when none.
    leave: dict[str, Any] | None = None


def worker_runs(session: Session, *, program_id: str, worker_id: str) -> list[RunEntry]:
    """Every current run that evaluated the worker, oldest first (not only those that changed the status)."""
    rows = session.execute(
        select(
            Run.id,
            Run.as_of,
            RunResult.evaluated,
            RunResult.certified,
            RunResult.level,
            RunResult.passed,
            RunResult.values,
            RunResult.leave,
        )
        .join(RunResult, RunResult.run_id == Run.id)
        .where(Run.program_id == program_id, Run.superseded_by.is_(None), RunResult.worker_id == worker_id)
        .order_by(Run.as_of)
    ).all()
    return [RunEntry(*row) for row in rows]
