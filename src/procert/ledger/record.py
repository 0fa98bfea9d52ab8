"""Recording a run: evaluate the program as of a date, decide each worker's transition (:mod:`.decision`),
write results, transitions, audit entries and notifications (:mod:`.outbox`) in the caller's one transaction:
all of it becomes visible at commit, or none of it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from procert.errors import ConflictError, ProcertError
from procert.evaluation import evaluate, explain_rows, leave_periods
from procert.facts import FactStore
from procert.i18n import Message, Progress
from procert.metrics import Period
from procert.programs import Program
from procert.settings import Settings

from .audit import audit, utcnow
from .bulk import RESULT_COLUMNS, ResultStatus, write_results, write_run_results
from .decision import (
    CorrectionKind,
    Decision,
    Lock,
    Previous,
    correction_kind,
    decide,
    failing_criteria,
    forecast_failures,
    held_level,
    level_flags,
    reached_level,
)
from .leave import away_by_worker, on_leave
from .models import AuditEntry, Override, Run, RunResult, Transition
from .outbox import OutboxItem, StatusKind, StatusMail, enqueue
from .status import active_overrides, current_run, latest_run, overrides_at

BATCH = 5_000


class RunRefused(ProcertError, RuntimeError):
    """A safety check stopped the run; nothing was recorded. The message says why and how to proceed."""


class RunRaced(RunRefused, ConflictError):
    """Another process recorded the same program and date at the same moment (its run stands)."""


@dataclass(frozen=True)
class FoundCorrection:
    """A recorded decision the corrected facts change: the level recorded and the level they give (both as
    :func:`~procert.ledger.decision.held_level` gives them), with the criteria values before and after."""

    worker_id: str
    kind: CorrectionKind
    recorded: str | None
    corrected: str | None
    values_before: dict[str, Any]
    values_after: dict[str, Any]
    failed_after: list[str]

    @property
    def held(self) -> bool:
        """A correction down is never applied by a recomputation: an admin reviews it."""
        return self.kind in ("removed", "lowered")


@dataclass
class RunOutcome:
    status: Literal["recorded", "skipped"]
    message: Message
    run_id: int | None = None
    transitions: Counter[str] = field(default_factory=Counter)
    notifications: int = 0
    #: A recomputation (``correcting``): the recorded decisions the corrected facts change.
    corrections: list[FoundCorrection] = field(default_factory=list)


@dataclass(frozen=True)
class NotifyOptions:
    """How a run queues notifications: whether at all, the dashboard link, and when at-risk notices go out.
    Built from the settings by :meth:`procert.core.Procert.notify_options`."""

    enabled: bool = True
    public_url: str = Settings.default("public_url")
    at_risk_days: int = Settings.default("at_risk_days")


@dataclass
class _Change:
    """A worker's transition in this run, with what its notifications need."""

    worker_id: str
    decision: Decision
    row: dict[str, Any] | None  # the evaluation row (None: the worker is gone from the facts)
    failed: list[str]
    values: dict[str, Any]
    at_risk: list[str]


def _criteria_values(program: Program, row: dict[str, Any]) -> dict[str, Any]:
    return {c.id: row[c.id] for c in program.criteria}


def _check_safe(
    session: Session,
    *,
    store: FactStore,
    program: Program,
    as_of: date,
    force: bool,
    max_worker_drop: float,
    correcting: bool = False,
) -> dict[str, int]:
    """Refuse a run that moves back in time (unless it recomputes a recorded date), reads an empty store or sees
    the workers drop sharply."""
    latest = latest_run(session, program_id=program.id)
    if latest is not None and latest.as_of > as_of and not correcting:
        raise RunRefused(
            f"a run of {program.id} as of {latest.as_of} is already recorded; runs move forward in time, so "
            f"{as_of} cannot be recorded after it"
        )
    counts = store.counts()
    if counts["workers"] == 0:
        raise RunRefused(Message("refused_run_empty_store"))
    previous = latest_run(session, program_id=program.id, before=as_of)
    if previous is not None and previous.workers and not force:
        drop = 1 - counts["workers"] / previous.workers
        if drop > max_worker_drop:
            raise RunRefused(
                f"the number of workers fell from {previous.workers:,} (run #{previous.id}, {previous.as_of}) to "
                f"{counts['workers']:,}, a drop of {drop:.0%} (limit {max_worker_drop:.0%}); check the import, or "
                "use --force to proceed"
            )
    return counts


def record_run(
    session: Session,
    *,
    store: FactStore,
    program: Program,
    as_of: date,
    actor: str,
    force: bool = False,
    backfill: bool = False,
    max_worker_drop: float = Settings.default("max_worker_drop"),
    notify: NotifyOptions | None = None,
    progress: Progress | None = None,
    correcting: bool = False,
) -> RunOutcome:
    """Evaluate ``program`` as of ``as_of`` and record the run, its transitions and its notifications.

    Re-running a recorded date is a no-op unless ``force``, which records a new run superseding the old one
    (notifications already queued for that date are not queued again). Raises :class:`RunRefused` when a
    safety check fails; nothing is written then.

    ``correcting``: recompute the recorded run of ``as_of`` on corrected facts (see :mod:`.corrections`), with
    the locks in force when it was recorded. A decision the corrected facts raise is recorded; one they lower is
    not: the recorded status is kept (reason ``held``) and the change returned for an admin to review.
    """
    notify = notify or NotifyOptions()
    step = progress or (lambda _message: None)
    started_at = utcnow()
    existing = current_run(session, program_id=program.id, as_of=as_of)
    if existing is not None and not (force or correcting):
        return RunOutcome(
            "skipped",
            Message(
                "run_already_recorded",
                {"program": program.id, "as_of": as_of, "run": existing.id, "version": existing.program_version},
            ),
            existing.id,
        )
    if correcting and existing is None:
        raise RunRefused(Message("refused_run_nothing_to_recompute", {"program": program.id, "as_of": as_of}))
    counts = _check_safe(
        session,
        store=store,
        program=program,
        as_of=as_of,
        force=force or correcting,
        max_worker_drop=max_worker_drop,
        correcting=correcting,
    )
    # A recomputation reviews the recorded decisions: those that certified first (the others are read below).
    recorded = _recorded_results(session, existing.id, certified=True) if correcting and existing is not None else None

    next_date = program.cadence.next_after(as_of)
    # Leave declared up to the forecast's date: what lengthens this run's windows and the forecast's.
    away = away_by_worker(session, program_id=program.id, through=next_date)
    step(Message("step_evaluating", {"program": program.label, "as_of": as_of}))
    evaluation = evaluate(store, program, as_of, away=away)
    step(Message("step_forecasting", {"date": next_date}))
    forecast = evaluate(store, program, next_date, observed_until=as_of, table="procert_forecast", away=away)
    lengthened = leave_periods(program, evaluation.period, away)
    worker_count = evaluation.count()

    # Claim the date first: the unique index on current runs makes a concurrent claim fail here.
    if existing is not None:
        # Superseded runs point at their successor; point at itself until the successor has an id.
        session.execute(update(Run).where(Run.id == existing.id).values(superseded_by=existing.id))
        session.flush()
    run = Run(
        program_id=program.id,
        program_version=program.version,
        as_of=as_of,
        facts_fingerprint="",  # computed while the results are written (below)
        started_at=started_at,
        finished_at=started_at,
        evaluation_seconds=evaluation.seconds,
        workers=worker_count,
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
        raise RunRaced(Message("refused_run_raced", {"program": program.id, "as_of": as_of})) from exc
    if existing is not None:
        session.execute(update(Run).where(Run.id == existing.id).values(superseded_by=run.id))

    step(Message("step_deriving_transitions"))
    previous_state = _previous_state(session, program=program, before=as_of)
    locks = (
        overrides_at(session, program_id=program.id, on=as_of, at=existing.started_at)
        if correcting and existing is not None
        else active_overrides(session, program_id=program.id, on=as_of)
    )
    found: list[FoundCorrection] = []
    grace_cycles = program.grace.cycles if program.grace else 0
    levels = [level.id for level in program.tiers]
    # A worker who held nothing, has no lock, no leave and reaches no level is not certified: most workers, decided
    # once here and written by the store in one query. The others are decided one by one: those the evaluation
    # certifies, those who held the status, are locked or declared leave, and those a recomputation reviews.
    undecided = decide(
        as_of=as_of,
        previous=None,
        levels=levels,
        evaluated=None,
        kept=set(),
        near=set(),
        grace_cycles=grace_cycles,
        lock=None,
    )
    assert undecided.kind is None and not undecided.certified
    protected = set(previous_state) | set(locks) | set(away) | set(recorded or ())
    rows = evaluation.rows("coalesce(certified, false)", or_among=protected)
    picked = [row["worker_id"] for row in rows]
    forecast_rows = {r["worker_id"]: r for r in forecast.rows("FALSE", or_among=picked)}
    if recorded is not None and existing is not None:
        recorded.update(_recorded_results(session, existing.id, ids=[w for w in picked if w not in recorded]))
    decided: dict[str, ResultStatus] = {}
    copies: list[dict[str, Any]] = []
    changes: list[_Change] = []
    for row in rows:
        worker_id = row["worker_id"]
        previous = previous_state.get(worker_id)
        lock = lock_of(program, locks.get(worker_id))
        spans = away.get(worker_id, ())
        away_today = bool(spans) and on_leave(spans, as_of) and row["status"] in program.eligible_statuses
        # Hysteresis, grace and leave protect a level held; a worker who held none and has no lock is decided by
        # the level reached alone, without measuring the keep and grace margins.
        kept: set[str]
        near: set[str]
        if previous is None and lock is None:
            evaluated, kept, near = reached_level(program, row), set(), set()
        else:
            evaluated, kept, near = level_flags(program, row)
        decision = decide(
            as_of=as_of,
            previous=previous,
            levels=levels,
            evaluated=evaluated,
            kept=kept,
            near=near,
            grace_cycles=grace_cycles,
            lock=lock,
            on_leave=away_today,
        )
        if recorded is not None:
            decision = _review(program, as_of, recorded.get(worker_id), decision, row, found, previous)
        predicted = forecast_rows.get(worker_id)
        at_risk = forecast_failures(program, predicted, decision.level) if decision.certified else []
        leave = _leave_record(spans, as_of, away_today, lengthened.get(worker_id) is not None)
        decided[worker_id] = _status_of(program, decision, at_risk, leave)
        if decision.kind is not None:
            # A move down is explained by the criteria of the level left behind; otherwise by the level held.
            level = decision.previous_level if decision.kind in ("demoted", "lost") else decision.level
            values = _criteria_values(program, row)
            changes.append(_Change(worker_id, decision, row, failing_criteria(program, row, level), values, at_risk))
    # Certified workers who disappeared from the facts lose the status (a recomputation holds that for review and
    # keeps their recorded result).
    for worker_id in previous_state:
        if worker_id not in decided and recorded is not None and worker_id in recorded:
            before = recorded[worker_id]
            found.append(
                FoundCorrection(
                    worker_id, "removed", held_level(program, True, before.level), None, dict(before.values), {}, []
                )
            )
            copies.append({**_result_copy(before), "run_id": run.id})
        elif worker_id not in decided:
            gone = Decision(
                certified=False,
                reason="missing",
                kind="lost",
                since=None,
                previous_level=previous_state[worker_id].level,
            )
            changes.append(_Change(worker_id, gone, None, ["missing"], {}, []))
    tally: Counter[str] = Counter(c.decision.kind for c in changes if c.decision.kind)

    # The facts' fingerprint is computed while the ledger writes, which leaves the store's cores idle.
    with _fingerprinting(store) as fingerprint:
        step(Message("step_writing_results", {"count": worker_count + len(copies)}))
        unchanged = _status_of(program, undecided, [], None)
        write_run_results(
            session, evaluation=evaluation, forecast=forecast, run_id=run.id, decided=decided, undecided=unchanged
        )
        write_results(session, copies)
        transitions = [
            {
                "run_id": run.id,
                "program_id": program.id,
                "worker_id": c.worker_id,
                "as_of": as_of,
                "kind": c.decision.kind,
                "reason": c.decision.reason,
                "failed": c.failed,
                "values": c.values,
                "from_level": c.decision.previous_level if program.levels else None,
                "to_level": c.decision.level if program.levels else None,
            }
            for c in changes
        ]
        for start in range(0, len(transitions), BATCH):
            session.execute(insert(Transition), transitions[start : start + BATCH])
        # Every change of status is audited one by one (a renewal is not a change: the run's entry counts them).
        audited_at = utcnow()
        corrected_workers = {f.worker_id for f in found}
        entries = [
            {
                "at": audited_at,
                "actor": actor,
                "action": f"status.{t['kind']}",
                "program_id": program.id,
                "subject": f"worker:{t['worker_id']}",
                "details": {
                    "run_id": run.id,
                    "as_of": as_of.isoformat(),
                    "reason": t["reason"],
                    "failed": t["failed"],
                    **({"from_level": t["from_level"], "to_level": t["to_level"]} if program.levels else {}),
                },
            }
            for t in transitions
            # A recomputation audits the changes of the workers it corrects (the others were audited when recorded).
            if t["kind"] != "kept" and (recorded is None or t["worker_id"] in corrected_workers)
        ]
        for start in range(0, len(entries), BATCH):
            session.execute(insert(AuditEntry), entries[start : start + BATCH])

        queued = 0
        if notify.enabled:
            step(Message("step_queuing_notifications"))
            queued = _queue_notifications(
                session, store=store, program=program, run=run, changes=changes, next_date=next_date, options=notify
            )
        certified_count = sum(s.certified for s in decided.values()) + sum(bool(c["certified"]) for c in copies)
        run.certified = certified_count
        run.facts_fingerprint = fingerprint.result()
    run.finished_at = utcnow()
    run.counts = {
        "transitions": dict(tally),
        "notifications": queued,
        "facts": counts,
        "at_risk": sum(s.at_risk for s in decided.values()) + sum(bool(c["at_risk"]) for c in copies),
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
    message = Message(
        "run_recorded_levels" if program.levels else "run_recorded",
        {
            "run": run.id,
            "program": program.label,
            "as_of": as_of,
            "workers": worker_count,
            "certified": certified_count,
            "queued": queued,
            **{kind: tally[kind] for kind in ("granted", "kept", "lost", "promoted", "demoted")},
        },
    )
    return RunOutcome("recorded", message, run.id, tally, queued, found)


@contextmanager
def _fingerprinting(store: FactStore) -> Iterator[Future[str]]:
    """The facts' fingerprint (a hash of every stored fact: seconds at a million workers), computed on a cursor of
    its own in a thread while the caller goes on; waited for on the way out, whatever happens."""
    cursor = store.cursor()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="procert-fingerprint") as background:
            yield background.submit(cursor.fingerprint)
    finally:
        cursor.close()


def _recorded_results(
    session: Session, run_id: int, *, certified: bool = False, ids: Sequence[str] = ()
) -> dict[str, RunResult]:
    """A recorded run's results: the certified ones (``certified``), or those of the workers ``ids`` names."""
    if certified:
        query = select(RunResult).where(RunResult.run_id == run_id, RunResult.certified.is_(True))
        return {r.worker_id: r for r in session.scalars(query)}
    found: dict[str, RunResult] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        query = select(RunResult).where(RunResult.run_id == run_id, RunResult.worker_id.in_(chunk))
        found.update((r.worker_id, r) for r in session.scalars(query))
    return found


def _status_of(program: Program, decision: Decision, at_risk: list[str], leave: Any) -> ResultStatus:
    """A decision as the worker's result stores it; at risk: certified, and in grace or failing the forecast."""
    return ResultStatus(
        certified=decision.certified,
        certified_since=decision.since,
        level=decision.level if program.levels else None,
        grace_cycles=decision.grace_cycles,
        at_risk=decision.certified and (decision.in_grace or bool(at_risk)),
        forecast_at_risk=at_risk,
        leave=leave,
    )


#: A result's own fields (all but the run it belongs to), as the bulk writer lists them.
_RESULT_FIELDS = tuple(name for name in RESULT_COLUMNS if name != "run_id")


def _result_copy(result: RunResult) -> dict[str, Any]:
    return {name: getattr(result, name) for name in _RESULT_FIELDS}


def _review(
    program: Program,
    as_of: date,
    before: RunResult | None,
    decision: Decision,
    row: dict[str, Any],
    found: list[FoundCorrection],
    previous: Previous | None,
) -> Decision:
    """A recomputed decision against the recorded one: a change up stands, a change down is held (the recorded
    level is kept, reason ``held``); either is noted in ``found``."""
    recorded = held_level(program, before.certified, before.level) if before is not None else None
    kind = correction_kind(program, recorded, decision.level)
    if kind is None:
        return decision
    values = {c.id: row[c.id] for c in program.criteria}
    failed = failing_criteria(program, row, recorded if kind in ("removed", "lowered") else decision.level)
    change = FoundCorrection(
        row["worker_id"], kind, recorded, decision.level, dict(before.values) if before else {}, values, failed
    )
    found.append(change)
    if not change.held:
        return decision
    held = decide(
        as_of=as_of,
        previous=previous,
        levels=[level.id for level in program.tiers],
        evaluated=None,
        kept=set(),
        near=set(),
        grace_cycles=0,
        lock=Lock(recorded),
    )
    # The recorded status stands as it was recorded, since included.
    since = before.certified_since if before is not None and before.certified_since else held.since
    return replace(held, reason="held", since=since)


def _leave_record(spans: tuple[tuple[date, date], ...], as_of: date, away_today: bool, lengthened: bool) -> Any:
    """What a run result says of the worker's leave: whether the run's date was a leave day, whether leave
    lengthened the windows, and the spans begun by then (None: no leave counted in this run)."""
    if not (away_today or lengthened):
        return None
    return {
        "on_leave": away_today,
        "lengthened": lengthened,
        "spans": [[first.isoformat(), last.isoformat()] for first, last in spans if first <= as_of],
    }


def _previous_state(session: Session, *, program: Program, before: date) -> dict[str, Previous]:
    """Each worker certified (or in grace) by the latest current run before ``before``, with their level."""
    previous = latest_run(session, program_id=program.id, before=before)
    if previous is None:
        return {}
    rows = session.execute(
        select(RunResult.worker_id, RunResult.certified_since, RunResult.grace_cycles, RunResult.level).where(
            RunResult.run_id == previous.id, RunResult.certified.is_(True)
        )
    ).all()
    tiers = {level.id for level in program.tiers}
    # A level the program no longer has (its rules changed) counts as its lowest level.
    return {
        w: Previous(since, grace, level if level in tiers else program.tiers[0].id if program.levels else program.id)
        for w, since, grace, level in rows
    }


def lock_of(program: Program, override: Override | None) -> Lock | None:
    """An override as the decision takes it: the level it holds (its own, or the top level when it names none,
    and the one implicit level of a program without levels), or None to keep out."""
    if override is None:
        return None
    if not override.certified:
        return Lock(None)
    if not program.levels:
        return Lock(program.id)
    named = override.level if override.level in {level.id for level in program.tiers} else None
    return Lock(named or program.tiers[-1].id)


def _queue_notifications(
    session: Session,
    *,
    store: FactStore,
    program: Program,
    run: Run,
    changes: list[_Change],
    next_date: date,
    options: NotifyOptions,
) -> int:
    """The run's mails: one per change of a worker still in the facts, and an at-risk warning for those who keep
    the status but would fail the next evaluation (or are in grace), sent ``at_risk_days`` before it."""
    wanted = [c for c in changes if c.row is not None]
    if not wanted:
        return 0
    ids = [c.worker_id for c in wanted]
    contacts = store.workers(ids)
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
    langs = {w: facts.locale for w, facts in contacts.items()}
    away = away_by_worker(session, program_id=program.id, through=run.as_of)
    explanations = explain_rows(store, program, period, [c.row for c in wanted if c.row is not None], langs, away)
    now = utcnow()
    base = options.public_url.rstrip("/")

    def level_names(level_id: str | None) -> dict[str, str] | None:
        if not program.levels or level_id is None:
            return None
        level = program.level(level_id)
        return {"id": level.id, "ja": level.name.ja, "en": level.name.en}

    def item(change: _Change, kind: StatusKind, not_before: datetime) -> OutboxItem:
        facts = contacts.get(change.worker_id)
        locale = facts.locale if facts else "ja"
        row = change.row or {}
        payload = StatusMail(
            kind=kind,
            worker_id=change.worker_id,
            display_name=facts.display_name if facts else change.worker_id,
            program_id=program.id,
            program_version=program.version,
            program_name=program.name.get(locale),
            as_of=run.as_of,
            next_evaluation=next_date,
            reason=change.decision.reason,
            dashboard_url=f"{base}/dashboard/{change.worker_id}",
            failed=change.failed,
            changed=[
                c.id
                for c in program.criteria
                if change.worker_id in before and before[change.worker_id].get(c.id) != bool(row[f"{c.id}_passed"])
            ],
            at_risk=change.at_risk,
            in_grace=change.decision.in_grace,
            criteria=explanations[change.worker_id].criteria,
            level=level_names(change.decision.level),
            previous_level=level_names(change.decision.previous_level),
        )
        return OutboxItem(
            program_id=program.id,
            occasion=run.as_of.isoformat(),
            recipient=change.worker_id,
            payload=payload,
            email=facts.email if facts else None,
            locale=locale,
            run_id=run.id,
            not_before=not_before,
        )

    items = [item(c, c.decision.kind, now) for c in wanted if c.decision.kind is not None]
    # At risk: certified workers the forecast fails at the next date, told some days before it.
    send_at = max(period.utc(next_date - timedelta(days=options.at_risk_days)), now)
    items += [
        item(c, "at_risk", send_at) for c in wanted if c.decision.kind != "lost" and (c.at_risk or c.decision.in_grace)
    ]
    return enqueue(session, items, now=now)
