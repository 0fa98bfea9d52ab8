"""The forecast on demand: which certified workers would fail at the next scheduled date if nothing new
happened (the run records the same forecast for its own date, by the same rule)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from procert.evaluation import evaluate
from procert.facts import FactStore
from procert.programs import Program

from .decision import forecast_failures
from .status import current_pros, latest_run


@dataclass
class Forecast:
    as_of: date
    observed_until: date
    #: Evaluation rows (as of ``as_of``, facts before ``observed_until``) of the certified workers who would fail,
    #: each with ``at_risk``: what they would fail (criteria ids, ``status`` for an ineligible account).
    at_risk: list[dict[str, Any]]
    certified: int


def forecast_at_risk(
    session: Session, *, store: FactStore, program: Program, today: date, worker_id: str | None = None
) -> Forecast:
    """Certified means: by the latest recorded run, with overrides in force today on top. Raises LookupError
    when no run is recorded yet."""
    if latest_run(session, program_id=program.id) is None:
        raise LookupError(f"no run of {program.id} is recorded yet: run `procert run` first")
    certified = {p.worker_id: p.level for p in current_pros(session, program_id=program.id, on=today)}
    next_date = program.cadence.next_after(today)
    evaluation = evaluate(store, program, next_date, observed_until=today, table="procert_forecast")
    at_risk = []
    for row in evaluation.rows():
        if row["worker_id"] not in certified or (worker_id is not None and row["worker_id"] != worker_id):
            continue
        failing = forecast_failures(program, row, certified[row["worker_id"]])
        if failing:
            at_risk.append({**row, "at_risk": failing})
    return Forecast(next_date, today, at_risk, len(certified))
