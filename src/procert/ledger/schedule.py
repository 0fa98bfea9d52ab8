"""The schedule: which dates a program is evaluated on, running what is due, and backfilling history.

Shared by the CLI (``procert schedule``, ``run-due``, ``backfill``) and anything else that schedules runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select

from procert.facts import FactStore
from procert.i18n import Message
from procert.programs import Program

from .db import session_scope
from .models import Run
from .record import NotifyOptions, RunOutcome, RunRaced, record_run


@dataclass
class ScheduledDate:
    as_of: date
    run_id: int | None
    due: bool


def upcoming(engine: Engine, *, program: Program, today: date, count: int = 4) -> list[ScheduledDate]:
    """The latest scheduled date on or before today and the next ``count - 1``, with their runs if recorded."""
    dates = [program.cadence.latest_on_or_before(today)]
    while len(dates) < count:
        dates.append(program.cadence.next_after(dates[-1]))
    with session_scope(engine) as session:
        runs = dict(
            session.execute(
                select(Run.as_of, Run.id).where(
                    Run.program_id == program.id, Run.superseded_by.is_(None), Run.as_of.in_(dates)
                )
            ).all()
        )
    return [ScheduledDate(d, runs.get(d), d <= today and d not in runs) for d in dates]


def run_due(
    engine: Engine,
    *,
    store: FactStore,
    program: Program,
    today: date,
    actor: str,
    max_worker_drop: float,
    notify: NotifyOptions,
) -> RunOutcome:
    """Record the latest scheduled date on or before ``today`` if it is not recorded yet.

    Safe to call every minute from several machines: the unique index on current runs lets exactly one of
    them record a date; the others report it as already done.
    """
    due = program.cadence.latest_on_or_before(today)
    try:
        with session_scope(engine, write=True) as session:
            return record_run(
                session,
                store=store,
                program=program,
                as_of=due,
                actor=actor,
                max_worker_drop=max_worker_drop,
                notify=notify,
            )
    except RunRaced:
        return RunOutcome("skipped", Message("run_recorded_elsewhere", {"program": program.id, "as_of": due}))


def backfill(
    engine: Engine,
    *,
    store: FactStore,
    program: Program,
    start: date,
    today: date,
    actor: str,
    max_worker_drop: float,
    notify: NotifyOptions,
    progress: Callable[[date, RunOutcome], None] | None = None,
) -> list[RunOutcome]:
    """Record every scheduled date from ``start`` to ``today`` in order, each in its own transaction.

    Only the latest date queues notifications: workers are not mailed about history.
    """
    dates = program.cadence.dates_between(start, today)
    outcomes = []
    for i, as_of in enumerate(dates):
        last = i == len(dates) - 1
        options = notify if last else NotifyOptions(enabled=False)
        with session_scope(engine, write=True) as session:
            outcome = record_run(
                session,
                store=store,
                program=program,
                as_of=as_of,
                actor=actor,
                backfill=not last,
                max_worker_drop=max_worker_drop,
                notify=options,
            )
        outcomes.append(outcome)
        if progress:
            progress(as_of, outcome)
    return outcomes
