"""The metric catalogue: each metric measures one thing per worker as of a date, written once as portable SQL.

A metric's SQL selects ``worker_id`` and either ``num``/``den`` (a ratio, kept as two integers so that
comparisons stay exact) or ``value`` (an integer or a boolean), one row per worker that has data. It uses
only ANSI constructs that DuckDB, PostgreSQL and Spark SQL share, and compares stored UTC instants and
month keys against literals computed by :class:`~procert.metrics.period.Period`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from procert.facts import RATING_ITEMS
from procert.facts.contract import CONTRACT_KINDS, CONTRACT_STATUSES, SCOUT_KINDS
from procert.metrics.period import Period, month_label, sql_timestamp

ValueType = Literal["ratio", "integer", "boolean"]


#: How a metric's SQL names a facts table in FROM: the whole table (:func:`all_rows`) or only one worker's rows
#: (:func:`worker_rows`). A metric is written once, against this, for both the full and the single-worker form.
RowSource = Callable[[str], str]


@dataclass(frozen=True)
class Parts:
    """A metric that is one aggregate per worker over the rows of one facts table meeting ``where`` (or, not
    ``grouped``, one expression per row of ``workers``): its output columns (``num``/``den`` or ``value``) and
    their SQL. The full evaluation reads metrics with the same table and condition in one scan (two review
    means are one pass over the reviews, the profile is a column of the workers the query starts from)."""

    table: str
    where: str
    columns: tuple[tuple[str, str], ...]
    grouped: bool = True

    def sql(self, rows: RowSource) -> str:
        selected = ", ".join(f"{expression} AS {name}" for name, expression in self.columns)
        group = " GROUP BY worker_id" if self.grouped else ""
        return f"SELECT worker_id, {selected} FROM {rows(self.table)} WHERE {self.where}{group}"


def all_rows(table: str) -> str:
    return table


def worker_rows(worker: str, *, index_fence: bool = False) -> RowSource:
    """FROM items holding only the rows of the worker given by the SQL expression ``worker`` (a query parameter).

    With ``index_fence`` the worker's rows are fetched in a subquery the optimizer may not merge (``OFFSET 0``):
    DuckDB answers an equality on an ART-indexed column with an index lookup only when it is the scan's sole
    filter, and the metric's other conditions (kinds, windows) would otherwise join it and force a scan.
    """
    fence = " OFFSET 0" if index_fence else ""
    return lambda table: f"(SELECT * FROM {table} WHERE worker_id = {worker}{fence}) {table}"


def _sql_list(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


class _Params(BaseModel):
    # Built when a program first uses a metric, not when the catalogue loads: a command's start-up.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


@dataclass(frozen=True)
class Window:
    """What a metric looked at, for explanations: a time range [start, end), a run of months, or all time."""

    kind: Literal["range", "months", "lifetime", "current", "received"]
    start: date | None = None
    end: date | None = None
    first_month: str | None = None
    last_month: str | None = None
    #: "received": inquiries received from 00:00 of ``start`` up to ``hours`` before 00:00 of ``end`` (included).
    hours: int | None = None


P = TypeVar("P", bound=BaseModel)


class Metric(ABC, Generic[P]):
    """Base class, generic in its parameters' model ``P``. Subclasses set ``name``, ``value_type``, ``Params``
    (the model ``P``) and write :meth:`sql`."""

    name: ClassVar[str]
    value_type: ClassVar[ValueType]
    Params: type[P]
    #: Value for a worker the metric's SQL returns no row for (e.g. 0 scouts); None means undefined.
    missing_value: ClassVar[int | None] = None
    description: ClassVar[str] = ""
    #: Optional facts of the data contract the metric reads (``table`` or ``table.column``): a program using it
    #: refuses to evaluate a store no import has supplied them to.
    requires: ClassVar[frozenset[str]] = frozenset()
    #: How a threshold reads in words: a plain value ("4.8 以上"), a count ("5 件以上"), a rank ("200 位以内") or a
    #: share of a ranking ("上位 20% 以内").
    threshold_style: ClassVar[Literal["plain", "count", "rank", "share"]] = "plain"

    @abstractmethod
    def sql(self, params: P, period: Period, rows: RowSource = all_rows) -> str:
        """SELECT worker_id and num/den or value, one row per worker with data, reading each facts table as
        ``rows(table)`` names it."""

    def parts(self, params: P, period: Period) -> Parts | None:
        """The metric as :class:`Parts` when it is one, for the full evaluation to fuse; None otherwise."""
        return None

    def worker_sql(self, params: P, period: Period, worker: str, *, index_fence: bool = False) -> str:
        """The same query for the one worker given by the SQL expression ``worker`` (a query parameter): every
        facts table it reads is narrowed to that worker's rows first (indexed by worker in both engines)."""
        return self.sql(params, period, worker_rows(worker, index_fence=index_fence))

    @abstractmethod
    def window(self, params: P, period: Period) -> Window:
        """The span of facts the metric reads as of ``period``."""


def _range_window(period: Period, months: int | None) -> Window:
    if months is None:
        return Window("lifetime", end=period.as_of)
    return Window("range", start=period.start_day(months), end=period.as_of)


class CompletionRateParams(_Params):
    window_months: int = Field(12, ge=1, le=120)
    contract_kinds: list[str] = Field(default_factory=lambda: ["fixed"], min_length=1)

    @field_validator("contract_kinds")
    @classmethod
    def _known(cls, kinds: list[str]) -> list[str]:
        return _known_kinds(kinds)


class CompletionRate(Metric[CompletionRateParams]):
    name = "completion_rate"
    value_type = "ratio"
    description = (
        "Among contracts of the given kinds closed (delivered or cancelled) in the window: "
        "delivered / (delivered + cancelled)."
    )

    Params = CompletionRateParams

    def sql(self, params: CompletionRateParams, period: Period, rows: RowSource = all_rows) -> str:
        assert set(CONTRACT_STATUSES) >= {"delivered", "cancelled"}
        return f"""
            SELECT worker_id,
                   SUM(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END) AS num,
                   COUNT(*) AS den
            FROM {rows("contracts")}
            WHERE kind IN ({_sql_list(params.contract_kinds)})
              AND status IN ('delivered', 'cancelled')
              AND closed_at >= {sql_timestamp(period.start(params.window_months))}
              AND closed_at < {sql_timestamp(period.observed_end)}
            GROUP BY worker_id"""

    def window(self, params: CompletionRateParams, period: Period) -> Window:
        return _range_window(period, params.window_months)


class ReviewMeanParams(_Params):
    items: list[str] = Field(default_factory=lambda: list(RATING_ITEMS), min_length=1)
    #: None: every review before D (a lifetime average).
    window_months: int | None = Field(None, ge=1, le=120)

    @field_validator("items")
    @classmethod
    def _known(cls, items: list[str]) -> list[str]:
        unknown = sorted(set(items) - set(RATING_ITEMS))
        if unknown:
            raise ValueError(f"unknown review item(s) {unknown}; known: {list(RATING_ITEMS)}")
        if len(set(items)) != len(items):
            raise ValueError("review items must not repeat")
        return items


class ReviewMean(Metric[ReviewMeanParams]):
    name = "review_mean"
    value_type = "ratio"
    description = (
        "Mean over reviews of each review's score, a review's score being the mean of the chosen items; "
        "equal to sum(items) / (len(items) * reviews)."
    )

    Params = ReviewMeanParams

    def parts(self, params: ReviewMeanParams, period: Period) -> Parts:
        return Parts(
            "reviews",
            _reviewed_within(params.window_months, period),
            (
                ("num", f"SUM(CAST({_item_total(params.items)} AS BIGINT))"),
                ("den", f"{len(params.items)} * COUNT(*)"),
            ),
        )

    def sql(self, params: ReviewMeanParams, period: Period, rows: RowSource = all_rows) -> str:
        return self.parts(params, period).sql(rows)

    def window(self, params: ReviewMeanParams, period: Period) -> Window:
        return _range_window(period, params.window_months)


class EarningsBestRankParams(_Params):
    months: int = Field(12, ge=1, le=60)


class EarningsBestRank(Metric[EarningsBestRankParams]):
    name = "earnings_best_rank"
    value_type = "integer"
    description = (
        "For each of the N calendar months before the month containing D, workers of a division with a "
        "positive monthly total are ranked by it (ties share the best rank); the worker's best rank."
    )

    threshold_style = "rank"
    Params = EarningsBestRankParams

    def month_range(self, params: EarningsBestRankParams, period: Period) -> tuple[int, int]:
        return period.start_month(params.months), period.last_observed_month

    def sql(self, params: EarningsBestRankParams, period: Period, rows: RowSource = all_rows) -> str:
        first, last = self.month_range(params, period)
        # Reads the monthly totals and ranks derived at import (see procert.facts.store): no join, no ranking.
        return f"""
            SELECT worker_id, MIN(month_rank) AS value
            FROM {rows("monthly_earnings")}
            WHERE paid_month BETWEEN {first} AND {last} AND total_jpy > 0
            GROUP BY worker_id"""

    def rank_details_sql(self, params: EarningsBestRankParams, period: Period, cutoff_for: Callable[[str], str]) -> str:
        """Per worker in the list parameter ``$1`` and per month of the window in which their division had
        payments: the worker's total and rank, how many were ranked, and the least another worker's total a
        worker must reach that month to rank within the cut-off (the cut-off-th highest total among the *other*
        workers; ties share the rank). ``cutoff_for(division_column)`` gives the cut-off rank as SQL."""
        first, last = self.month_range(params, period)
        cutoff = cutoff_for("division")
        # The ranks derived at import (monthly_earnings.month_rank, the one place a month is ranked). The n-th
        # highest total is the least total ranked n or better, when at least n are ranked: a total ranked n or
        # better has fewer than n greater ones, and the n-th one's rank is n at most.
        return f"""
            WITH targets AS (SELECT worker_id, division FROM workers WHERE worker_id IN (SELECT unnest($1))),
            months AS (
                SELECT worker_id, division, paid_month, total_jpy, month_rank FROM monthly_earnings
                WHERE paid_month BETWEEN {first} AND {last} AND division IN (SELECT division FROM targets)
            ), cut AS (
                SELECT division, paid_month, ranked, CASE WHEN ranked >= n THEN nth END AS nth,
                       CASE WHEN ranked >= n + 1 THEN nth_next END AS nth_next
                FROM (
                    SELECT division, paid_month, {cutoff} AS n, count(*) FILTER (WHERE total_jpy > 0) AS ranked,
                           min(total_jpy) FILTER (WHERE month_rank <= {cutoff}) AS nth,
                           min(total_jpy) FILTER (WHERE month_rank <= {cutoff} + 1) AS nth_next
                    FROM months GROUP BY division, paid_month
                ) counted
            )
            SELECT t.worker_id, c.paid_month, m.total_jpy AS own, m.month_rank AS own_rank, c.ranked,
                   -- Without the worker: if they are within the first N, the N-th other is the (N+1)-th overall.
                   CASE WHEN m.month_rank IS NOT NULL AND m.total_jpy >= c.nth THEN c.nth_next ELSE c.nth END
                       AS cutoff_total
            FROM targets t JOIN cut c ON c.division = t.division
            LEFT JOIN months m ON m.worker_id = t.worker_id AND m.paid_month = c.paid_month
            ORDER BY t.worker_id, c.paid_month"""

    def window(self, params: EarningsBestRankParams, period: Period) -> Window:
        first, last = self.month_range(params, period)
        return Window("months", first_month=month_label(first), last_month=month_label(last))


class ScoutCountParams(_Params):
    window_months: int = Field(12, ge=1, le=120)
    kinds: list[str] = Field(default_factory=lambda: ["direct"], min_length=1)

    @field_validator("kinds")
    @classmethod
    def _known(cls, kinds: list[str]) -> list[str]:
        unknown = sorted(set(kinds) - set(SCOUT_KINDS))
        if unknown:
            raise ValueError(f"unknown scout kind(s) {unknown}; known: {list(SCOUT_KINDS)}")
        return kinds


class ScoutCount(Metric[ScoutCountParams]):
    name = "scout_count"
    value_type = "integer"
    missing_value = 0
    description = "Number of scouts of the given kinds with sent_at in the window."

    threshold_style = "count"
    Params = ScoutCountParams

    def sql(self, params: ScoutCountParams, period: Period, rows: RowSource = all_rows) -> str:
        return f"""
            SELECT worker_id, COUNT(*) AS value
            FROM {rows("scouts")}
            WHERE kind IN ({_sql_list(params.kinds)})
              AND sent_at >= {sql_timestamp(period.start(params.window_months))}
              AND sent_at < {sql_timestamp(period.observed_end)}
            GROUP BY worker_id"""

    def window(self, params: ScoutCountParams, period: Period) -> Window:
        return _range_window(period, params.window_months)


PROFILE_FIELDS = {"profile_text": "has_profile_text", "self_pr_text": "has_self_pr_text"}


class ProfileCompleteParams(_Params):
    fields: list[str] = Field(default_factory=lambda: list(PROFILE_FIELDS), min_length=1)

    @field_validator("fields")
    @classmethod
    def _known(cls, fields: list[str]) -> list[str]:
        unknown = sorted(set(fields) - set(PROFILE_FIELDS))
        if unknown:
            raise ValueError(f"unknown profile field(s) {unknown}; known: {list(PROFILE_FIELDS)}")
        return fields


class ProfileComplete(Metric[ProfileCompleteParams]):
    name = "profile_complete"
    value_type = "boolean"
    description = "Every listed profile field is non-blank (blank: empty or only white space, incl. U+3000)."

    Params = ProfileCompleteParams

    def parts(self, params: ProfileCompleteParams, period: Period) -> Parts:
        condition = " AND ".join(PROFILE_FIELDS[f] for f in params.fields)
        return Parts("workers", "TRUE", (("value", f"({condition})"),), grouped=False)

    def sql(self, params: ProfileCompleteParams, period: Period, rows: RowSource = all_rows) -> str:
        return self.parts(params, period).sql(rows)

    def window(self, params: ProfileCompleteParams, period: Period) -> Window:
        return Window("current")


def _known_kinds(kinds: list[str]) -> list[str]:
    unknown = sorted(set(kinds) - set(CONTRACT_KINDS))
    if unknown:
        raise ValueError(f"unknown contract kind(s) {unknown}; known: {list(CONTRACT_KINDS)}")
    if len(set(kinds)) != len(kinds):
        raise ValueError("contract kinds must not repeat")
    return kinds


def _closed_within(params: DeliveredCountParams, period: Period) -> str:
    since = (
        f"AND closed_at >= {sql_timestamp(period.start(params.window_months))}"
        if params.window_months is not None
        else ""
    )
    return f"""kind IN ({_sql_list(params.contract_kinds)}) AND status = 'delivered'
              AND closed_at < {sql_timestamp(period.observed_end)} {since}"""


class DeliveredCountParams(_Params):
    #: None: every contract delivered before D (lifetime).
    window_months: int | None = Field(None, ge=1, le=120)
    contract_kinds: list[str] = Field(default_factory=lambda: list(CONTRACT_KINDS), min_length=1)

    _kinds = field_validator("contract_kinds")(_known_kinds)


class DeliveredCount(Metric[DeliveredCountParams]):
    name = "delivered_count"
    value_type = "integer"
    missing_value = 0
    description = "Contracts of the given kinds with status delivered and closed_at in the window."

    threshold_style = "count"
    Params = DeliveredCountParams

    def sql(self, params: DeliveredCountParams, period: Period, rows: RowSource = all_rows) -> str:
        return f"""
            SELECT worker_id, COUNT(*) AS value
            FROM {rows("contracts")}
            WHERE {_closed_within(params, period)}
            GROUP BY worker_id"""

    def window(self, params: DeliveredCountParams, period: Period) -> Window:
        return _range_window(period, params.window_months)


class UniqueClientsParams(DeliveredCountParams):
    pass


class UniqueClients(Metric[UniqueClientsParams]):
    name = "unique_clients"
    value_type = "integer"
    missing_value = 0
    description = "Distinct clients among the delivered contracts of the given kinds closed in the window."

    threshold_style = "count"
    Params = UniqueClientsParams

    def sql(self, params: UniqueClientsParams, period: Period, rows: RowSource = all_rows) -> str:
        return f"""
            SELECT worker_id, COUNT(DISTINCT client_id) AS value
            FROM {rows("contracts")}
            WHERE {_closed_within(params, period)}
            GROUP BY worker_id"""

    def window(self, params: UniqueClientsParams, period: Period) -> Window:
        return _range_window(period, params.window_months)


class EarningsTotalParams(_Params):
    #: None: every payment before D (lifetime).
    window_months: int | None = Field(12, ge=1, le=120)


def _paid_within(months: int | None, period: Period) -> str:
    since = f"AND paid_at >= {sql_timestamp(period.start(months))}" if months is not None else ""
    return f"paid_at < {sql_timestamp(period.observed_end)} {since}"


def _whole_months(period: Period) -> bool:
    """Whether the window's edges are local month starts (D on the 1st, and a cut-off, if any, on a 1st): its
    payments are then exactly those of whole calendar months, which the monthly totals derived at import hold."""
    return (
        not period.away
        and period.as_of.day == 1
        and (period.observed_until is None or period.observed_until >= period.as_of or period.observed_until.day == 1)
    )


def window_totals_sql(
    months: int | None, period: Period, rows: RowSource = all_rows, *, division_is: str | None = None
) -> str:
    """Each worker's payments summed over the window (refunds subtract), with their division: ``worker_id``,
    ``division``, ``total``; only the division given by the SQL expression ``division_is``, when given.

    Read from the monthly totals when the window is whole months (a few times fewer rows than the payments, and
    no join), else from the payments; both give the same sums (the property tests evaluate both)."""

    def only(column: str) -> str:
        return "" if division_is is None else f"AND {column} = {division_is}"

    if _whole_months(period):
        first = "" if months is None else f"AND paid_month >= {period.month - months}"
        return f"""
            SELECT worker_id, division, CAST(SUM(total_jpy) AS BIGINT) AS total
            FROM {rows("monthly_earnings")}
            WHERE paid_month <= {period.last_observed_month} {first} {only("division")}
            GROUP BY worker_id, division"""
    paid = _paid_within(months, period).replace("paid_at", "p.paid_at")
    return f"""
            SELECT p.worker_id, w.division, CAST(SUM(p.amount_jpy) AS BIGINT) AS total
            FROM (SELECT * FROM {rows("payments")}) p JOIN workers w ON w.worker_id = p.worker_id
            WHERE {paid} {only("w.division")}
            GROUP BY p.worker_id, w.division"""


class EarningsTotal(Metric[EarningsTotalParams]):
    name = "earnings_total"
    value_type = "integer"
    missing_value = 0
    description = "Sum of payments (yen) with paid_at in the window; refunds subtract."

    Params = EarningsTotalParams

    def sql(self, params: EarningsTotalParams, period: Period, rows: RowSource = all_rows) -> str:
        return f"SELECT worker_id, total AS value FROM ({window_totals_sql(params.window_months, period, rows)}) t"

    def window(self, params: EarningsTotalParams, period: Period) -> Window:
        return _range_window(period, params.window_months)


class EarningsShareRankParams(_Params):
    window_months: int = Field(12, ge=1, le=120)


class EarningsShareRank(Metric[EarningsShareRankParams]):
    name = "earnings_share_rank"
    value_type = "ratio"
    description = (
        "In each division, workers with positive earnings in the window are ranked highest first (ties share the "
        "best rank); rank / number ranked in the division. <= 0.2 means the top 20 %."
    )

    threshold_style = "share"
    Params = EarningsShareRankParams

    def totals_sql(self, params: EarningsShareRankParams, period: Period, division_is: str | None = None) -> str:
        """Each positive total of the window with its rank and the number ranked, per division (only the
        division given by the SQL expression ``division_is``, when given)."""
        totals = window_totals_sql(params.window_months, period, division_is=division_is)
        return f"""
            SELECT worker_id, division, total,
                   RANK() OVER (PARTITION BY division ORDER BY total DESC) AS ranked_at,
                   COUNT(*) OVER (PARTITION BY division) AS ranked
            FROM ({totals}) totals
            WHERE total > 0"""

    def sql(self, params: EarningsShareRankParams, period: Period, rows: RowSource = all_rows) -> str:
        # A rank depends on the whole division, so no form narrows the facts to one worker first.
        return f"SELECT worker_id, ranked_at AS num, ranked AS den FROM ({self.totals_sql(params, period)}) r"

    def worker_sql(
        self, params: EarningsShareRankParams, period: Period, worker: str, *, index_fence: bool = False
    ) -> str:
        division = f"(SELECT division FROM workers WHERE worker_id = {worker})"
        if period.away:
            return self._lengthened_sql(params, period, worker, division, index_fence=index_fence)
        ranked = self.totals_sql(params, period, division)
        return f"SELECT worker_id, ranked_at AS num, ranked AS den FROM ({ranked}) r WHERE worker_id = {worker}"

    def _lengthened_sql(
        self, params: EarningsShareRankParams, period: Period, worker: str, division: str, *, index_fence: bool
    ) -> str:
        """A worker on leave: their total over their lengthened window, ranked among the others' totals over the
        program's window (the others were not away; their windows do not move)."""
        own = window_totals_sql(params.window_months, period, worker_rows(worker, index_fence=index_fence))
        others = window_totals_sql(params.window_months, period.without_away, division_is=division)
        return f"""
            SELECT o.worker_id,
                   1 + COUNT(CASE WHEN p.total > o.total THEN 1 END) AS num,
                   1 + COUNT(CASE WHEN p.total > 0 THEN 1 END) AS den
            FROM ({own}) o LEFT JOIN ({others}) p ON p.worker_id <> o.worker_id
            WHERE o.total > 0
            GROUP BY o.worker_id"""

    def window(self, params: EarningsShareRankParams, period: Period) -> Window:
        return _range_window(period, params.window_months)


class ReviewShareParams(ReviewMeanParams):
    min_score: Decimal = Field(Decimal(4), ge=1, le=5)


def _reviewed_within(months: int | None, period: Period) -> str:
    since = f"AND created_at >= {sql_timestamp(period.start(months))}" if months is not None else ""
    return f"created_at < {sql_timestamp(period.observed_end)} {since}"


def _item_total(items: list[str]) -> str:
    return "item_sum" if sorted(items) == sorted(RATING_ITEMS) else " + ".join(items)


class ReviewShare(Metric[ReviewShareParams]):
    name = "review_share"
    value_type = "ratio"
    description = (
        "Among reviews in the window, the share whose score (the mean of the chosen items) is at least min_score."
    )

    Params = ReviewShareParams

    def sql(self, params: ReviewShareParams, period: Period, rows: RowSource = all_rows) -> str:
        # mean(items) >= p/q  <=>  sum(items) * q >= p * len(items): exact, no division.
        return self.parts(params, period).sql(rows)

    def parts(self, params: ReviewShareParams, period: Period) -> Parts:
        bound = Fraction(params.min_score)
        satisfied = f"{_item_total(params.items)} * {bound.denominator} >= {bound.numerator * len(params.items)}"
        return Parts(
            "reviews",
            _reviewed_within(params.window_months, period),
            (("num", f"SUM(CASE WHEN {satisfied} THEN 1 ELSE 0 END)"), ("den", "COUNT(*)")),
        )

    def window(self, params: ReviewShareParams, period: Period) -> Window:
        return _range_window(period, params.window_months)


class ResponseRateParams(_Params):
    within_hours: int = Field(24, ge=1, le=24 * 30)
    window_months: int = Field(12, ge=1, le=120)


class ResponseRate(Metric[ResponseRateParams]):
    name = "response_rate"
    value_type = "ratio"
    requires = frozenset({"inquiries"})
    description = (
        "Among inquiries received in [D - window, D - within_hours] (every deadline has passed by D), the share "
        "replied to within within_hours."
    )

    Params = ResponseRateParams

    def latest_counted(self, params: ResponseRateParams, period: Period) -> Any:
        """The last instant an inquiry may arrive and still be counted: D − ``within_hours`` (naive UTC)."""
        return period.end - timedelta(hours=params.within_hours)

    def sql(self, params: ResponseRateParams, period: Period, rows: RowSource = all_rows) -> str:
        allowed_us = params.within_hours * 3600 * 1_000_000
        # For a forecast nothing after the observation cut-off is known: not the inquiry, not the reply.
        cutoff = "" if period.observed_end == period.end else f"AND received_at < {sql_timestamp(period.observed_end)}"
        replied_known = (
            "" if period.observed_end == period.end else f"AND replied_at < {sql_timestamp(period.observed_end)}"
        )
        return f"""
            SELECT worker_id,
                   SUM(CASE WHEN reply_us IS NOT NULL AND reply_us <= {allowed_us} {replied_known}
                       THEN 1 ELSE 0 END) AS num,
                   COUNT(*) AS den
            FROM {rows("inquiries")}
            WHERE received_at >= {sql_timestamp(period.start(params.window_months))}
              AND received_at <= {sql_timestamp(self.latest_counted(params, period))} {cutoff}
            GROUP BY worker_id"""

    def window(self, params: ResponseRateParams, period: Period) -> Window:
        return Window(
            "received", start=period.start_day(params.window_months), end=period.as_of, hours=params.within_hours
        )


class RecentLoginParams(_Params):
    days: int = Field(30, ge=1, le=3660)


class RecentLogin(Metric[RecentLoginParams]):
    name = "recent_login"
    value_type = "boolean"
    requires = frozenset({"workers.last_login_at"})
    description = "The worker's last login is at or after 00:00 (program time) of D minus the given days."

    Params = RecentLoginParams

    def parts(self, params: RecentLoginParams, period: Period) -> Parts:
        since = sql_timestamp(period.utc(period.days_back(params.days)))
        recent = f"(last_login_at IS NOT NULL AND last_login_at >= {since})"
        return Parts("workers", "TRUE", (("value", recent),), grouped=False)

    def sql(self, params: RecentLoginParams, period: Period, rows: RowSource = all_rows) -> str:
        return self.parts(params, period).sql(rows)

    def window(self, params: RecentLoginParams, period: Period) -> Window:
        return Window("range", start=period.days_back(params.days), end=period.as_of)


class IdentityVerifiedParams(_Params):
    pass


class IdentityVerified(Metric[IdentityVerifiedParams]):
    name = "identity_verified"
    value_type = "boolean"
    requires = frozenset({"workers.identity_verified"})
    description = "The worker has verified their identity (本人確認), as the export says today."

    Params = IdentityVerifiedParams

    def parts(self, params: IdentityVerifiedParams, period: Period) -> Parts:
        return Parts("workers", "TRUE", (("value", "identity_verified"),), grouped=False)

    def sql(self, params: IdentityVerifiedParams, period: Period, rows: RowSource = all_rows) -> str:
        return self.parts(params, period).sql(rows)

    def window(self, params: IdentityVerifiedParams, period: Period) -> Window:
        return Window("current")


METRICS: dict[str, Metric[Any]] = {
    m.name: m
    for m in (
        CompletionRate(),
        ReviewMean(),
        EarningsBestRank(),
        ScoutCount(),
        ProfileComplete(),
        DeliveredCount(),
        EarningsTotal(),
        EarningsShareRank(),
        ReviewShare(),
        ResponseRate(),
        UniqueClients(),
        RecentLogin(),
        IdentityVerified(),
    )
}


def get_metric(name: str) -> Metric[Any]:
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}") from None
