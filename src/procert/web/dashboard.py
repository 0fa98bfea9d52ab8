"""A worker's status as the dashboard and the status API show it, without HTTP: the official status by the last
run (ledger reads only, cheap) and the live preview (the worker evaluated alone as of today)."""

from __future__ import annotations

from procert.errors import NotFoundError
from procert.evaluation import CriterionExplanation, evaluate_worker, explain_rows, progress, threshold_text
from procert.i18n import format_value
from procert.metrics import Period
from procert.web.context import WebContext
from procert.web.schemas import HistoryEntry, OverrideInForce, PreviewOut, RunRef, StatusOut


def official_status(context: WebContext, worker_id: str, lang: str) -> StatusOut:
    """The status by the last recorded run, with an override in force on top. Raises NotFoundError."""
    program = context.program
    status, history = context.statuses.read(worker_id)
    if status.division is None and not context.store.has_worker(worker_id):
        raise NotFoundError(f"no worker {worker_id!r}")
    recorded = status.values or {}
    passed = status.passed or {}
    forecast = status.forecast or {}
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
        at_risk=forecast.get("at_risk", []) if status.certified else [],
        forecast_as_of=forecast.get("as_of"),
        next_evaluation=program.cadence.next_after(context.today()).isoformat(),
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


def live_preview(context: WebContext, worker_id: str, lang: str) -> PreviewOut:
    """The worker evaluated alone as of today: each criterion's value, progress and what it would take."""
    program = context.program
    store = context.store.thread_cursor()  # keeps the evaluation's prepared statement between requests
    today = context.today()
    row = evaluate_worker(store, program, today, worker_id)
    if row is None:
        raise NotFoundError(f"no worker {worker_id!r}")
    live = explain_rows(store, program, Period(today, program.timezone), [row], {worker_id: lang})[worker_id]
    return PreviewOut(
        worker_id=worker_id,
        as_of=today.isoformat(),
        certified=bool(row["certified"]),
        criteria=live.criteria,
        standing=live.standing,
    )
