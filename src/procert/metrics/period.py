"""Evaluation moments and windows.

All time-zone arithmetic happens here, in Python, once per evaluation: the as-of date becomes naive UTC
instants and integer month keys that the portable metric SQL compares against stored columns.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def shift_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months, the day clamped to the target month (29 Feb - 1y = 28 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def month_index(year: int, month: int) -> int:
    """The integer month key stored with payments: ``year * 12 + month - 1``."""
    return year * 12 + month - 1


def month_label(index: int) -> str:
    year, month = divmod(index, 12)
    return f"{year:04d}-{month + 1:02d}"


#: Days away on declared leave: (first day, last day), both included, local dates of the program's time zone.
Away = tuple[date, date]


def merge_away(spans: Iterable[Away]) -> tuple[Away, ...]:
    """Leave spans sorted, with overlapping or adjacent spans joined into one."""
    merged: list[Away] = []
    for first, last in sorted(spans):
        if last < first:
            raise ValueError(f"a leave cannot end ({last}) before it starts ({first})")
        if merged and first <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return tuple(merged)


def lengthened_start(base: date, as_of: date, away: tuple[Away, ...]) -> date:
    """The start of a window ending at ``as_of`` (exclusive) that holds as many days *not* on leave as
    [``base``, ``as_of``) holds days: a window is lengthened by the leave days it overlaps, and again by those the
    lengthening reaches, so time away never counts and old facts do not age out during it. ``away`` merged."""
    wanted = (as_of - base).days
    start = as_of
    for first, last in reversed(away):
        if first >= start:
            continue
        last = min(last, start - timedelta(days=1))
        active = (start - (last + timedelta(days=1))).days  # days between this leave and what is counted so far
        if active >= wanted:
            return start - timedelta(days=wanted)
        wanted -= active
        start = first
    return start - timedelta(days=wanted)


@dataclass(frozen=True)
class Period:
    """An evaluation "as of" date D in a time zone: the instant 00:00 of D there."""

    as_of: date
    timezone: str
    #: For forecasts: only facts before 00:00 of this date count ("if nothing new happened after it"), while
    #: the windows are those of ``as_of``. None: every fact before D counts.
    observed_until: date | None = None
    #: One worker's declared leave (merged spans): every window of a metric is lengthened by the leave days it
    #: overlaps (:func:`lengthened_start`). Empty for the evaluation of everyone.
    away: tuple[Away, ...] = ()

    def with_away(self, spans: Iterable[Away]) -> Period:
        return replace(self, away=merge_away(spans))

    @property
    def without_away(self) -> Period:
        """The same moment for everyone else: the windows as the program states them."""
        return replace(self, away=())

    def days_back(self, days: int) -> date:
        """The first day of a window of ``days`` days ending at D (lengthened by leave)."""
        return lengthened_start(self.as_of - timedelta(days=days), self.as_of, self.away)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.zone)

    def utc(self, day: date) -> datetime:
        """00:00 of ``day`` in the program's zone, as a naive UTC datetime (how facts are stored)."""
        return self.local_midnight(day).astimezone(UTC).replace(tzinfo=None)

    @property
    def end(self) -> datetime:
        """The evaluation instant D (exclusive end of every window), naive UTC."""
        return self.utc(self.as_of)

    @property
    def observed_end(self) -> datetime:
        """The exclusive upper bound on event times: D, or the observation cut-off if that is earlier."""
        if self.observed_until is None or self.observed_until >= self.as_of:
            return self.end
        return self.utc(self.observed_until)

    @property
    def last_observed_month(self) -> int:
        """The last month key whose totals count: the month before D's, or before the cut-off's month
        (a cut-off in the middle of a month leaves that partial month out)."""
        last = self.month - 1
        if self.observed_until is not None:
            last = min(last, month_index(self.observed_until.year, self.observed_until.month) - 1)
        return last

    def start_day(self, months_back: int) -> date:
        """The first day of a window of ``months_back`` calendar months ending at D (lengthened by leave)."""
        return lengthened_start(shift_months(self.as_of, -months_back), self.as_of, self.away)

    def start_month(self, months_back: int) -> int:
        """The month key of the first month of a window of months ending before D's month: the month holding
        the window's first day (with leave, the month the lengthened window reaches into)."""
        first = self.start_day(months_back)
        return month_index(first.year, first.month)

    def start(self, months_back: int) -> datetime:
        """The inclusive start of a window of ``months_back`` calendar months ending at D, naive UTC."""
        return self.utc(self.start_day(months_back))

    @property
    def month(self) -> int:
        """Month key of the calendar month containing D."""
        return month_index(self.as_of.year, self.as_of.month)


def sql_timestamp(value: datetime) -> str:
    """A portable SQL timestamp literal (DuckDB, PostgreSQL and Spark all accept this form)."""
    return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S')}'"
