"""The facts behind a number: for one worker and one metric, every row of the facts it reads, whether it counted
and why not (outside the window, after the as-of date, hourly, a mass scout, not delivered…), and what each
counted row contributes. :meth:`Lineage.value` recomputes the metric from the counted rows alone; a test checks it
equals the evaluation's value for every metric, so the list and the SQL can never tell two stories.

A metric that ranks a worker against others (``earnings_best_rank``, ``earnings_share_rank``) lists the worker's
own rows; their rank among the others is the evaluation's (and the explanation's ranking details).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from procert.facts import RATING_ITEMS, FactStore
from procert.metrics.catalog import (
    CompletionRateParams,
    DeliveredCountParams,
    EarningsBestRank,
    EarningsBestRankParams,
    EarningsShareRankParams,
    EarningsTotalParams,
    ProfileCompleteParams,
    RecentLoginParams,
    ResponseRateParams,
    ReviewMeanParams,
    ReviewShareParams,
    ScoutCountParams,
    UniqueClientsParams,
)
from procert.metrics.period import Period, month_label

Reason = str  # a code with a label in the catalogues: lineage_<reason>
#: Every reason a row may give (each has a label in both languages; the i18n test checks them).
REASONS = frozenset(
    {
        "counted",
        "refund",
        "before_window",
        "after_as_of",
        "no_date",
        "kind_hourly",
        "kind_fixed",
        "not_closed",
        "delivered",
        "cancelled",
        "not_delivered",
        "satisfied",
        "below_score",
        "ranked",
        "not_positive",
        "kind_direct",
        "kind_mass",
        "deadline_not_passed",
        "replied_in_time",
        "never_replied",
        "replied_late",
        "signed_in_in_time",
        "never_signed_in",
        "signed_in_too_long_ago",
        "verified",
        "not_verified",
        "filled_in",
        "blank",
    }
)


@dataclass(frozen=True)
class LineageRow:
    table: str
    key: str
    at: datetime | None  # the fact's time (naive UTC), None for snapshot columns
    counted: bool
    reason: Reason  # why it counted ("counted", "refund" …) or not ("before_window", "hourly" …)
    #: What a counted row adds: num / den for a ratio, value for a count or a sum, client for distinct clients.
    adds: dict[str, Any] = field(default_factory=dict)
    shown: dict[str, Any] = field(default_factory=dict)  # the row's columns worth showing


@dataclass
class Lineage:
    metric: str
    rows: list[LineageRow]
    combine: Callable[[list[LineageRow]], Any]

    @property
    def counted(self) -> list[LineageRow]:
        return [r for r in self.rows if r.counted]

    def value(self) -> Any:
        """The metric recomputed from the counted rows alone (a ratio as a float, as the evaluation gives)."""
        return self.combine(self.counted)


def _ratio(rows: list[LineageRow]) -> float | None:
    num = sum(r.adds["num"] for r in rows)
    den = sum(r.adds["den"] for r in rows)
    return float(Fraction(num, den)) if den else None


def _count(rows: list[LineageRow]) -> int:
    return sum(r.adds.get("value", 1) for r in rows)


def _window(period: Period, months: int | None) -> tuple[datetime | None, datetime]:
    return (period.start(months) if months is not None else None), period.observed_end


def _place(at: datetime | None, start: datetime | None, end: datetime) -> Reason | None:
    """Why a fact's time is outside [start, end), or None when inside."""
    if at is None:
        return "no_date"
    if at >= end:
        return "after_as_of"
    if start is not None and at < start:
        return "before_window"
    return None


def _fetch(store: FactStore, sql: str, worker_id: str) -> list[dict[str, Any]]:
    cursor = store.query(sql, [worker_id])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _contracts(store: FactStore, worker_id: str) -> list[dict[str, Any]]:
    return _fetch(
        store,
        "SELECT contract_id, client_id, kind, status, closed_at FROM contracts WHERE worker_id = ? ORDER BY closed_at",
        worker_id,
    )


def _contract_rows(
    store: FactStore,
    worker_id: str,
    *,
    kinds: list[str],
    statuses: tuple[str, ...],
    months: int | None,
    period: Period,
    adds: Callable[[dict[str, Any]], dict[str, Any]],
) -> list[LineageRow]:
    """The worker's contracts: counted when of ``kinds``, of ``statuses`` and closed in the window."""
    start, end = _window(period, months)
    rows = []
    for c in _contracts(store, worker_id):
        reason = (
            "kind_" + c["kind"]
            if c["kind"] not in kinds
            else ("not_closed" if c["status"] == "active" else "not_delivered")
            if c["status"] not in statuses
            else _place(c["closed_at"], start, end)
        )
        rows.append(
            LineageRow(
                "contracts",
                c["contract_id"],
                c["closed_at"],
                reason is None,
                reason or c["status"],
                adds(c) if reason is None else {},
                {"kind": c["kind"], "status": c["status"], "client_id": c["client_id"]},
            )
        )
    return rows


def _completion(store: FactStore, params: BaseModel, period: Period, worker_id: str) -> Lineage:
    assert isinstance(params, CompletionRateParams)
    rows = _contract_rows(
        store,
        worker_id,
        kinds=params.contract_kinds,
        statuses=("delivered", "cancelled"),
        months=params.window_months,
        period=period,
        adds=lambda c: {"num": 1 if c["status"] == "delivered" else 0, "den": 1},
    )
    return Lineage("completion_rate", rows, _ratio)


def _delivered(distinct: bool) -> Callable[[FactStore, BaseModel, Period, str], Lineage]:
    def lineage(store: FactStore, params: BaseModel, period: Period, worker_id: str) -> Lineage:
        assert isinstance(params, DeliveredCountParams | UniqueClientsParams)
        rows = _contract_rows(
            store,
            worker_id,
            kinds=params.contract_kinds,
            statuses=("delivered",),
            months=params.window_months,
            period=period,
            adds=lambda c: {"client": c["client_id"], "value": 1},
        )

        def combine(counted: list[LineageRow]) -> int:
            return len({r.adds["client"] for r in counted}) if distinct else len(counted)

        return Lineage("unique_clients" if distinct else "delivered_count", rows, combine)

    return lineage


def _reviews(store: FactStore, worker_id: str) -> list[dict[str, Any]]:
    return _fetch(
        store,
        f"SELECT review_id, created_at, {', '.join(RATING_ITEMS)} FROM reviews WHERE worker_id = ? ORDER BY created_at",
        worker_id,
    )


def _review_mean(store: FactStore, params: BaseModel, period: Period, worker_id: str) -> Lineage:
    assert isinstance(params, ReviewMeanParams)
    start, end = _window(period, params.window_months)
    rows = []
    for r in _reviews(store, worker_id):
        reason = _place(r["created_at"], start, end)
        total = sum(r[i] for i in params.items)
        adds = {"num": total, "den": len(params.items)} if reason is None else {}
        rows.append(
            LineageRow(
                "reviews",
                r["review_id"],
                r["created_at"],
                reason is None,
                reason or "counted",
                adds,
                {i: r[i] for i in params.items},
            )
        )
    return Lineage("review_mean", rows, _ratio)


def _review_share(store: FactStore, params: BaseModel, period: Period, worker_id: str) -> Lineage:
    assert isinstance(params, ReviewShareParams)
    start, end = _window(period, params.window_months)
    bound = Fraction(params.min_score)
    rows = []
    for r in _reviews(store, worker_id):
        reason = _place(r["created_at"], start, end)
        satisfied = Fraction(sum(r[i] for i in params.items), len(params.items)) >= bound
        adds = {"num": 1 if satisfied else 0, "den": 1} if reason is None else {}
        why = reason or ("satisfied" if satisfied else "below_score")
        rows.append(
            LineageRow(
                "reviews", r["review_id"], r["created_at"], reason is None, why, adds, {i: r[i] for i in params.items}
            )
        )
    return Lineage("review_share", rows, _ratio)


def _payments(store: FactStore, worker_id: str) -> list[dict[str, Any]]:
    return _fetch(
        store, "SELECT payment_id, paid_at, amount_jpy FROM payments WHERE worker_id = ? ORDER BY paid_at", worker_id
    )


def _earnings_rows(store: FactStore, months: int | None, period: Period, worker_id: str) -> list[LineageRow]:
    start, end = _window(period, months)
    rows = []
    for p in _payments(store, worker_id):
        reason = _place(p["paid_at"], start, end)
        why = reason or ("refund" if p["amount_jpy"] < 0 else "counted")
        adds = {"value": p["amount_jpy"]} if reason is None else {}
        rows.append(
            LineageRow(
                "payments", p["payment_id"], p["paid_at"], reason is None, why, adds, {"amount_jpy": p["amount_jpy"]}
            )
        )
    return rows


def _earnings_total(store: FactStore, params: BaseModel, period: Period, worker_id: str) -> Lineage:
    assert isinstance(params, EarningsTotalParams)
    return Lineage("earnings_total", _earnings_rows(store, params.window_months, period, worker_id), _count)


def _earnings_share(store: FactStore, params: BaseModel, period: Period, worker_id: str) -> Lineage:
    assert isinstance(params, EarningsShareRankParams)
    # The worker's own total over the window; the rank among the division is the evaluation's.
    return Lineage("earnings_share_rank", _earnings_rows(store, params.window_months, period, worker_id), _count)


def _best_rank(store: FactStore, params: BaseModel, period: Period, worker_id: str) -> Lineage:
    assert isinstance(params, EarningsBestRankParams)
    first, last = EarningsBestRank().month_range(params, period)
    rows = []
    for m in _fetch(
        store,
        "SELECT paid_month, total_jpy, month_rank FROM monthly_earnings WHERE worker_id = ? ORDER BY paid_month",
        worker_id,
    ):
        reason = (
            "before_window"
            if m["paid_month"] < first
            else "after_as_of"
            if m["paid_month"] > last
            else "not_positive"
            if m["total_jpy"] <= 0
            else None
        )
        label = month_label(m["paid_month"])
        rows.append(
            LineageRow(
                "monthly_earnings",
                label,
                None,
                reason is None,
                reason or "ranked",
                {"rank": m["month_rank"]} if reason is None else {},
                {"month": label, "total_jpy": m["total_jpy"], "rank": m["month_rank"]},
            )
        )

    def combine(counted: list[LineageRow]) -> int | None:
        return min((r.adds["rank"] for r in counted), default=None)

    return Lineage("earnings_best_rank", rows, combine)


def _scouts(store: FactStore, params: BaseModel, period: Period, worker_id: str) -> Lineage:
    assert isinstance(params, ScoutCountParams)
    start, end = _window(period, params.window_months)
    rows = []
    for s in _fetch(
        store, "SELECT scout_id, sent_at, kind FROM scouts WHERE worker_id = ? ORDER BY sent_at", worker_id
    ):
        reason = ("kind_" + s["kind"]) if s["kind"] not in params.kinds else _place(s["sent_at"], start, end)
        rows.append(
            LineageRow(
                "scouts",
                s["scout_id"],
                s["sent_at"],
                reason is None,
                reason or "counted",
                {"value": 1} if reason is None else {},
                {"kind": s["kind"]},
            )
        )
    return Lineage("scout_count", rows, _count)


def _responses(store: FactStore, params: BaseModel, period: Period, worker_id: str) -> Lineage:
    assert isinstance(params, ResponseRateParams)
    start = period.start(params.window_months)
    latest = period.end - timedelta(hours=params.within_hours)
    allowed = timedelta(hours=params.within_hours)
    cutoff = None if period.observed_end == period.end else period.observed_end
    rows = []
    for q in _fetch(
        store,
        "SELECT inquiry_id, received_at, replied_at FROM inquiries WHERE worker_id = ? ORDER BY received_at",
        worker_id,
    ):
        received, replied = q["received_at"], q["replied_at"]
        reason: Reason | None = None
        if received < start:
            reason = "before_window"
        elif received > latest or (cutoff is not None and received >= cutoff):
            reason = "deadline_not_passed"
        in_time = replied is not None and replied - received <= allowed and (cutoff is None or replied < cutoff)
        why = reason or ("replied_in_time" if in_time else "never_replied" if replied is None else "replied_late")
        adds = {"num": 1 if in_time else 0, "den": 1} if reason is None else {}
        rows.append(
            LineageRow(
                "inquiries",
                q["inquiry_id"],
                received,
                reason is None,
                why,
                adds,
                {"replied_at": replied.isoformat() if replied else None},
            )
        )
    return Lineage("response_rate", rows, _ratio)


def _snapshot(column: str, metric: str) -> Callable[[FactStore, BaseModel, Period, str], Lineage]:
    def lineage(store: FactStore, params: BaseModel, period: Period, worker_id: str) -> Lineage:
        found = _fetch(store, f"SELECT {column} FROM workers WHERE worker_id = ?", worker_id)
        value = found[0][column] if found else None
        if metric == "recent_login":
            assert isinstance(params, RecentLoginParams)
            since = period.utc(period.days_back(params.days))
            ok = value is not None and value >= since
            why = "signed_in_in_time" if ok else ("never_signed_in" if value is None else "signed_in_too_long_ago")
        else:
            ok = bool(value)
            why = "verified" if ok else "not_verified"
        row = LineageRow(
            "workers",
            column,
            value if isinstance(value, datetime) else None,
            True,
            why,
            {"value": ok},
            {column: value.isoformat() if isinstance(value, datetime) else value},
        )
        return Lineage(metric, [row], lambda rows: bool(rows and rows[0].adds["value"]))

    return lineage


def _profile(store: FactStore, params: BaseModel, period: Period, worker_id: str) -> Lineage:
    assert isinstance(params, ProfileCompleteParams)
    found = _fetch(store, "SELECT has_profile_text, has_self_pr_text FROM workers WHERE worker_id = ?", worker_id)
    flags = (
        {"profile_text": found[0]["has_profile_text"], "self_pr_text": found[0]["has_self_pr_text"]} if found else {}
    )
    rows = [
        LineageRow("workers", f, None, True, "filled_in" if flags.get(f) else "blank", {"value": bool(flags.get(f))})
        for f in params.fields
    ]
    return Lineage("profile_complete", rows, lambda counted: all(r.adds["value"] for r in counted))


LINEAGES: dict[str, Callable[[FactStore, BaseModel, Period, str], Lineage]] = {
    "completion_rate": _completion,
    "review_mean": _review_mean,
    "earnings_best_rank": _best_rank,
    "scout_count": _scouts,
    "profile_complete": _profile,
    "delivered_count": _delivered(distinct=False),
    "unique_clients": _delivered(distinct=True),
    "earnings_total": _earnings_total,
    "earnings_share_rank": _earnings_share,
    "review_share": _review_share,
    "response_rate": _responses,
    "recent_login": _snapshot("last_login_at", "recent_login"),
    "identity_verified": _snapshot("identity_verified", "identity_verified"),
}


def lineage(store: FactStore, metric: str, params: BaseModel, period: Period, worker_id: str) -> Lineage:
    """The facts behind ``metric`` for ``worker_id`` as of ``period``."""
    return LINEAGES[metric](store, params, period, worker_id)
