"""One verdict for a worker, from three clocks never mixed: the *official* status (the latest run, with an
override on top), the *live* evaluation on today's facts, and the *forecast* for the next scheduled date computed
from today's facts. Every surface (dashboard, status API, CLI ``status`` / ``forecast``) takes this view, and the
headline is derived from the three by one rule, :func:`headline_kind` (a table test covers every combination).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy.orm import Session

from procert.evaluation import WorkerNotFound, evaluate_worker, threshold_text, worker_period
from procert.facts import FactStore
from procert.i18n import format_value, t
from procert.metrics import Away, Period, merge_away
from procert.programs import Program

from .decision import failing_criteria, forecast_failures
from .leave import list_leaves, on_leave
from .models import Leave
from .status import WorkerStatus, worker_history, worker_status

HeadlineKind = Literal[
    "locked_in",
    "locked_out",
    "pro_on_track",
    "pro_window_risk",
    "pro_at_risk",
    "pro_on_leave",
    "will_be_certified",
    "meets_today_not_next",
    "to_go",
]


def headline_kind(
    *, official: bool, live: bool, forecast: bool, lock: bool | None, leave: bool = False
) -> HeadlineKind:
    """The one rule. ``official``: certified by the latest run (overrides on top); ``live``: today's facts meet
    the criteria; ``forecast``: the next scheduled date would certify (a pro: keep every criterion of the level
    held) if nothing new happened; ``lock``: an override in force (True in, False out); ``leave``: the next
    scheduled date is a day of the worker's declared leave (a pro cannot lose the status then)."""
    if lock is True:
        return "locked_in"
    if lock is False:
        return "locked_out"
    if official:
        if forecast:
            return "pro_on_track"
        if leave:
            return "pro_on_leave"
        return "pro_window_risk" if live else "pro_at_risk"
    if forecast:
        return "will_be_certified"
    return "meets_today_not_next" if live else "to_go"


@dataclass(frozen=True)
class Clock:
    """One clock's answer: as of when, whether it certifies, at which level, and what fails."""

    as_of: date | None
    passed: bool
    failing: list[str] = field(default_factory=list)
    level: str | None = None


@dataclass(frozen=True)
class Loss:
    """The latest loss of the status, while the worker is not certified: when and over what."""

    as_of: date
    failed: list[str]
    values: dict[str, Any]


@dataclass
class WorkerView:
    worker_id: str
    program: Program
    today: date
    next_evaluation: date
    official: Clock
    live: Clock
    forecast: Clock
    status: WorkerStatus
    loss: Loss | None
    kind: HeadlineKind
    #: Evaluation rows behind the live and forecast clocks (for explanations).
    live_row: dict[str, Any]
    forecast_row: dict[str, Any]
    #: The worker's declared leave (not cancelled), earliest first, and whether it lengthens today's windows.
    leaves: list[Leave] = field(default_factory=list)
    lengthened: bool = False

    @property
    def away(self) -> tuple[Away, ...]:
        return merge_away((leave.starts_on, leave.ends_on) for leave in self.leaves)

    def current_leave(self) -> Leave | None:
        """The leave today falls in, else the next one to come."""
        for leave in self.leaves:
            if leave.ends_on >= self.today:
                return leave
        return None

    def labels(self, ids: list[str], lang: str) -> str:
        names = {c.id: c.label.get(lang) for c in self.program.criteria} | {"status": t("col_status", lang)}
        return t("mail_list_separator", lang).join(names.get(i, i) for i in ids)

    def headline(self, lang: str) -> str:
        """The verdict and the next step, in words."""
        status = self.status
        values = {
            "next": self.next_evaluation.isoformat(),
            "today": self.today.isoformat(),
            "since": status.since.isoformat() if status.since else "—",
            "live_failing": self.labels(self.live.failing, lang),
            "failing": self.labels(self.forecast.failing, lang),
            "count": len(self.live.failing),
            "level": self.program.level_label(self.official.level, lang),
            "reason": status.override.reason if status.override else "",
        }
        text = t("verdict_" + self.kind, lang, **values)
        if self.loss is not None and not status.certified:
            because = t("mail_list_separator", lang).join(
                self._because(c, self.loss.values.get(c), lang) for c in self.loss.failed
            )
            text = t("verdict_lost", lang, date=self.loss.as_of.isoformat(), because=because) + " " + text
        leave = self.current_leave()
        if leave is not None:
            key = "verdict_leave_now" if leave.starts_on <= self.today else "verdict_leave_ahead"
            text = t(key, lang, first=leave.starts_on.isoformat(), last=leave.ends_on.isoformat()) + " " + text
        return text

    def _because(self, criterion_id: str, value: Any, lang: str) -> str:
        if criterion_id not in {c.id for c in self.program.criteria}:
            return t("col_status", lang) if criterion_id == "status" else criterion_id
        criterion = self.program.criterion(criterion_id)
        division = self.live_row.get("division") or ""
        return t(
            "mail_because",
            lang,
            label=criterion.label.get(lang),
            value=format_value(value, lang, display=criterion.display),
            threshold=threshold_text(criterion, division, lang),
        )


def _level(program: Program, row: dict[str, Any]) -> str | None:
    return row.get("level") if program.levels else None


def worker_view(
    session: Session,
    *,
    store: FactStore,
    program: Program,
    worker_id: str,
    today: date,
    status: WorkerStatus | None = None,
    rows: tuple[dict[str, Any], dict[str, Any]] | None = None,
    history: Sequence[Any] | None = None,
) -> WorkerView:
    """The three clocks and the headline for ``worker_id`` on ``today``. Raises :class:`WorkerNotFound` for a
    worker not in the facts (everywhere: API, pages, CLI). ``status`` may be passed when already read; ``rows``,
    the worker's live and forecast evaluation rows, when evaluated already (a full evaluation of today and of the
    next date, with the same leave), else they are evaluated here; ``history``, the worker's transitions in current
    runs oldest first (rows with ``as_of``, ``kind``, ``failed``, ``values``), when read already."""
    leaves = list_leaves(session, program_id=program.id, worker_id=worker_id)
    away = merge_away((leave.starts_on, leave.ends_on) for leave in leaves)
    next_date = program.cadence.next_after(today)
    if rows is not None:
        live_row, forecast_row = rows
    else:
        found = evaluate_worker(store, program, today, worker_id, away=away)
        if found is None:
            raise WorkerNotFound(f"no worker {worker_id!r} in the facts")
        live_row = found
        predicted = evaluate_worker(store, program, next_date, worker_id, observed_until=today, away=away)
        assert predicted is not None  # the same worker, the same facts
        forecast_row = predicted
    if status is None:
        status = worker_status(session, program_id=program.id, worker_id=worker_id, on=today)
    official = Clock(status.as_of, status.certified, [], status.level)
    live = Clock(today, bool(live_row["certified"]), failing_criteria(program, live_row), _level(program, live_row))
    if status.certified:
        # A pro keeps the status on the keep thresholds of the level held: the same rule a run applies.
        failing = forecast_failures(program, forecast_row, status.level)
        forecast = Clock(next_date, not failing, failing, status.level if not failing else None)
    else:
        forecast = Clock(
            next_date,
            bool(forecast_row["certified"]),
            failing_criteria(program, forecast_row),
            _level(program, forecast_row),
        )
    lock = status.override.certified if status.override is not None else None
    # The run's rule (record_run): an eligible pro whose next date is a leave day keeps what they hold.
    protected = on_leave(away, next_date) and forecast_row["status"] in program.eligible_statuses
    kind = headline_kind(
        official=status.certified, live=live.passed, forecast=forecast.passed, lock=lock, leave=protected
    )
    return WorkerView(
        worker_id=worker_id,
        program=program,
        today=today,
        next_evaluation=next_date,
        official=official,
        live=live,
        forecast=forecast,
        status=status,
        loss=None
        if status.certified
        else loss_in(history)
        if history is not None
        else latest_loss(session, program_id=program.id, worker_id=worker_id),
        kind=kind,
        live_row=live_row,
        forecast_row=forecast_row,
        leaves=leaves,
        lengthened=bool(worker_period(program, Period(today, program.timezone), away).away),
    )


def latest_loss(session: Session, *, program_id: str, worker_id: str) -> Loss | None:
    """The worker's latest loss of the status in a current run, if any (from their history of transitions)."""
    return loss_in(worker_history(session, program_id=program_id, worker_id=worker_id))


def loss_in(history: Sequence[Any]) -> Loss | None:
    """The latest loss in a history of transitions (oldest first), if any."""
    losses = [t for t in history if t.kind == "lost"]
    return Loss(losses[-1].as_of, list(losses[-1].failed or []), dict(losses[-1].values or {})) if losses else None
