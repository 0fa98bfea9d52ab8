"""A worker's status as the dashboard and the status API show it, without HTTP: the official status by the last
run (ledger reads only, cheap) and the live preview (the worker evaluated alone as of today)."""

from __future__ import annotations

import csv
import io
from typing import Any

from procert.errors import NotFoundError
from procert.evaluation import (
    CriterionExplanation,
    explain_rows,
    facts_behind,
    progress,
    threshold_text,
    worker_period,
)
from procert.i18n import format_value
from procert.ledger import Clock, RunEntry, WorkerView, list_corrections, session_scope, worker_runs, worker_view
from procert.metrics import Period
from procert.programs import Program
from procert.web.context import WebContext
from procert.web.rows import correction_out, leave_out
from procert.web.schemas import (
    ClockOut,
    EvaluatedRun,
    FactsOut,
    HistoryEntry,
    OverrideInForce,
    PreviewOut,
    RunRef,
    StatusOut,
    TrendOut,
    TrendPoint,
    VerdictOut,
)
from procert.web.trends import Trend, trend_of


def clock_out(clock: Clock) -> ClockOut:
    return ClockOut(
        as_of=clock.as_of.isoformat() if clock.as_of else None,
        passed=clock.passed,
        failing=clock.failing,
        level=clock.level,
    )


def verdict_of(context: WebContext, worker_id: str) -> tuple[WorkerView, list[Any]]:
    """The worker's view (three clocks) and history, from the status snapshot and the thread's facts cursor.
    Raises NotFoundError for a worker not in the facts."""
    status, history = context.statuses.read(worker_id)
    context.refresh_facts()
    today = context.today()
    # The live and forecast clocks depend only on the day, the facts and the ledger snapshot: a worker polling
    # their status is evaluated once per change, not per request.
    key = (worker_id, today, context.statuses.version, context.store.generation)
    cached = context.views.get(key)
    if cached is not None:
        return cached, history
    with session_scope(context.engine) as session:
        view = worker_view(
            session,
            store=context.store.thread_cursor(),
            program=context.program,
            worker_id=worker_id,
            today=today,
            status=status,
            rows=(clocks.live, clocks.forecast) if (clocks := context.clock_rows(worker_id)) else None,
            history=history,  # read with the status: the latest loss is found in it
        )
    context.views.put(key, view)
    return view, history


def trends_of(program: Program, view: WorkerView, runs: list[RunEntry], lang: str) -> list[Trend]:
    """Each criterion over the recorded runs, then today's live value."""
    division = view.live_row.get("division") or ""
    return [
        trend_of(c, division, [(r.as_of, r.values.get(c.id)) for r in runs], (view.today, view.live_row[c.id]), lang)
        for c in program.criteria
    ]


def official_status(context: WebContext, worker_id: str, lang: str, view: WorkerView | None = None) -> StatusOut:
    """The status by the last recorded run (an override in force on top), with the verdict of the three clocks.
    Raises NotFoundError for a worker not in the facts."""
    program = context.program
    if view is None:
        view, history = verdict_of(context, worker_id)
    else:
        _status, history = context.statuses.read(worker_id)
    with session_scope(context.engine) as session:
        runs = worker_runs(session, program_id=program.id, worker_id=worker_id)
        corrections = list_corrections(session, program_id=program.id, worker_id=worker_id)
    status = view.status
    recorded = status.values or {}
    passed = status.passed or {}
    labels = {c.id: c.label.get(lang) for c in program.criteria}
    division = status.division or ""
    lock = status.override
    return StatusOut(
        worker_id=worker_id,
        program=program.id,
        program_version=program.version,
        certified=status.certified,
        level=status.level,
        level_name=program.level(status.level).name.get(lang) if program.levels and status.level else None,
        since=status.since.isoformat() if status.since else None,
        last_run=RunRef(id=status.run_id, as_of=status.as_of.isoformat() if status.as_of else None),
        override=(
            OverrideInForce(
                certified=lock.certified,
                level=lock.level,
                reason=lock.reason,
                expires_on=lock.expires_on.isoformat() if lock.expires_on else None,
            )
            if lock
            else None
        ),
        in_grace=status.in_grace,
        verdict=VerdictOut(
            kind=view.kind,
            headline=view.headline(lang),
            official=clock_out(view.official),
            live=clock_out(view.live),
            forecast=clock_out(view.forecast),
        ),
        at_risk=view.forecast.failing if status.certified else [],
        forecast_as_of=view.next_evaluation.isoformat(),
        next_evaluation=view.next_evaluation.isoformat(),
        criteria=[
            CriterionExplanation(
                id=c.id,
                label=c.label.get(lang),
                value=recorded.get(c.id),
                value_text=format_value(recorded.get(c.id), lang, display=c.display),
                threshold_text=threshold_text(c, division, lang),
                passed=passed.get(c.id),
                advice=c.advice.get(lang),
                progress=progress(c, recorded.get(c.id), division) if status.division is not None else None,
            )
            for c in program.criteria
        ],
        trends=[
            TrendOut(
                criterion=trend.criterion.id,
                threshold=trend.threshold,
                better_is_lower=trend.better_is_lower,
                points=[TrendPoint(as_of=p.as_of.isoformat(), value=p.value, live=p.live) for p in trend.points],
            )
            for trend in trends_of(program, view, runs, lang)
        ],
        runs=[
            EvaluatedRun(
                run_id=r.run_id,
                as_of=r.as_of.isoformat(),
                certified=r.certified,
                evaluated=r.evaluated,
                level=r.level,
                passed={k: bool(v) for k, v in r.passed.items()},
                values=r.values,
                on_leave=bool(r.leave and r.leave.get("on_leave")),
                leave_lengthened=bool(r.leave and r.leave.get("lengthened")),
            )
            for r in runs
        ],
        leaves=[leave_out(leave, view.today, lang) for leave in view.leaves],
        corrections=[correction_out(program, c, lang) for c in corrections],
        history=[
            HistoryEntry(
                as_of=h.as_of.isoformat(),
                kind=h.kind,
                reason=h.reason,
                failed=h.failed,
                failed_labels=[labels.get(f, f) for f in h.failed],
                from_level=h.from_level,
                to_level=h.to_level,
            )
            for h in history
        ],
    )


def live_preview(context: WebContext, worker_id: str, lang: str, view: WorkerView | None = None) -> PreviewOut:
    """The worker evaluated alone as of today: each criterion's value, progress and what it would take (the
    live clock of ``view`` when given, so a page evaluates once)."""
    program = context.program
    if view is None:
        view, _history = verdict_of(context, worker_id)
    store = context.store.thread_cursor()  # keeps the evaluation's prepared statement between requests
    today = view.today
    row = view.live_row
    period = Period(today, program.timezone)
    live = explain_rows(store, program, period, [row], {worker_id: lang}, {worker_id: view.away})[worker_id]
    return PreviewOut(
        worker_id=worker_id,
        as_of=today.isoformat(),
        certified=bool(row["certified"]),
        criteria=live.criteria,
        standing=live.standing,
    )


def facts_of_today(context: WebContext, worker_id: str, lang: str) -> FactsOut:
    """The rows behind each criterion of the worker's evaluation as of today. Raises NotFoundError."""
    context.refresh_facts()
    store = context.store.thread_cursor()
    if not store.has_worker(worker_id):
        raise NotFoundError(f"no worker {worker_id!r}")
    view, _history = verdict_of(context, worker_id)
    today = view.today
    # The windows the live evaluation used: lengthened by the worker's leave, when it overlaps them.
    period = worker_period(context.program, Period(today, context.program.timezone), view.away)
    found = facts_behind(store, context.program, period, worker_id, lang)
    return FactsOut(worker_id=worker_id, as_of=today.isoformat(), criteria=found)


def facts_csv(facts: FactsOut) -> str:
    """The same rows as CSV (UTF-8 with a byte-order mark, so that Excel opens Japanese text correctly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["criterion", "label", "table", "key", "at", "counted", "reason", "reason_text", "detail"])
    for criterion in facts.criteria:
        for r in criterion.rows:
            detail = "; ".join(f"{k}={v}" for k, v in r.shown.items())
            writer.writerow(
                [criterion.id, criterion.label, r.table, r.key, r.at or "", r.counted, r.reason, r.reason_text, detail]
            )
    return "\ufeff" + buffer.getvalue()
