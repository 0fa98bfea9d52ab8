"""Metrics: per-worker measurements as of a date, written once as portable SQL over the stored facts."""

from procert.metrics.catalog import METRICS, Metric, Window, get_metric
from procert.metrics.period import Away, Period, merge_away, month_index, month_label, shift_months
from procert.metrics.query import MetricRequest, metrics_sql, raw_columns
from procert.metrics.ratings import NO_REVIEWS, Rating, lifetime_ratings, lifetime_ratings_sql, rating_of

__all__ = [
    "METRICS",
    "NO_REVIEWS",
    "Away",
    "Metric",
    "MetricRequest",
    "Period",
    "Rating",
    "Window",
    "get_metric",
    "lifetime_ratings",
    "lifetime_ratings_sql",
    "merge_away",
    "metrics_sql",
    "month_index",
    "month_label",
    "rating_of",
    "raw_columns",
    "shift_months",
]
