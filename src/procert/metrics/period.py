"""Evaluation moments and windows.

All time-zone arithmetic happens here, in Python, once per evaluation: the as-of date becomes naive UTC
instants and integer month keys that the portable metric SQL compares against stored columns.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
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


@dataclass(frozen=True)
class Period:
    """An evaluation "as of" date D in a time zone: the instant 00:00 of D there."""

    as_of: date
    timezone: str
    #: For forecasts: only facts before 00:00 of this date count ("if nothing new happened after it"), while
    #: the windows are those of ``as_of``. None: every fact before D counts.
    observed_until: date | None = None

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
        return shift_months(self.as_of, -months_back)

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
