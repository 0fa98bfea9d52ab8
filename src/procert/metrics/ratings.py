"""The lifetime rating shown to clients (directory, profile, matching): the ``review_mean`` metric itself, for
a list of workers as of a date, so no page can show a rating the evaluation did not use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from procert.facts import FactStore
from procert.metrics.catalog import ReviewMean, RowSource, worker_rows
from procert.metrics.period import Period


@dataclass(frozen=True)
class Rating:
    """A worker's ratings over every review before the as-of date (None without reviews)."""

    overall: float | None  # the mean review score, 1–5 (review_mean over the five items)
    communication: float | None  # the mean of the communication item alone
    reviews: int


NO_REVIEWS = Rating(None, None, 0)


def _mean(num: int | None, den: int | None) -> float | None:
    return float(Fraction(int(num), int(den))) if num is not None and den else None


def rating_of(num: int | None, den: int | None, communication_num: int | None, communication_den: int | None) -> Rating:
    """A :class:`Rating` from the sums :func:`lifetime_ratings_sql` selects (all None: no reviews)."""
    return Rating(_mean(num, den), _mean(communication_num, communication_den), int(communication_den or 0))


def lifetime_ratings_sql(rows: RowSource, *, as_of: date, timezone: str) -> str:
    """worker_id, then the overall and the communication mean's numerator and denominator, one row per worker
    with reviews before ``as_of``, reading the facts as ``rows`` names them: the one query behind every rating."""
    metric, period = ReviewMean(), Period(as_of, timezone)
    overall = metric.sql(ReviewMean.Params(), period, rows)
    communication = metric.sql(ReviewMean.Params(items=["communication"]), period, rows)
    return (
        f"SELECT o.worker_id, o.num, o.den, c.num, c.den FROM ({overall}) o JOIN ({communication}) c USING (worker_id)"
    )


def lifetime_ratings(store: FactStore, worker_ids: Sequence[str], *, as_of: date, timezone: str) -> dict[str, Rating]:
    """Each listed worker's :class:`Rating` as of ``as_of`` (00:00 in ``timezone``): the review_mean metric's
    value (every review created before that instant). Workers without reviews get :data:`NO_REVIEWS`."""
    ids = list(dict.fromkeys(worker_ids))
    if not ids:
        return {}
    if len(ids) == 1:
        # One worker (a profile page): the metric's single-worker form, an index lookup instead of a scan.
        sql = lifetime_ratings_sql(worker_rows("$1", index_fence=True), as_of=as_of, timezone=timezone)
        parameters: list[object] = [ids[0]]
    else:

        def listed(table: str) -> str:
            return f"(SELECT * FROM {table} WHERE worker_id IN (SELECT unnest($1))) {table}"

        sql = lifetime_ratings_sql(listed, as_of=as_of, timezone=timezone)
        parameters = [ids]
    rows = store.reader().execute(sql, parameters).fetchall()
    found = {w: rating_of(n, d, cn, cd) for w, n, d, cn, cd in rows}
    return {w: found.get(w, NO_REVIEWS) for w in ids}
