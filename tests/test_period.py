"""Windows and evaluation instants: calendar arithmetic in the program's time zone."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from procert.metrics import Period, month_index, month_label, shift_months


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2024, 2, 29), -12, date(2023, 2, 28)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2025, 1, 1), -12, date(2024, 1, 1)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),
    ],
)
def test_shift_months_clamps_the_day(day, months, expected):
    assert shift_months(day, months) == expected


def test_period_instants_are_midnight_in_the_program_zone_as_naive_utc():
    period = Period(date(2025, 1, 1), "Asia/Tokyo")
    assert period.end == datetime(2024, 12, 31, 15, 0)
    assert period.start(12) == datetime(2023, 12, 31, 15, 0)
    assert period.month == month_index(2025, 1)
    assert month_label(period.month - 1) == "2024-12"


def test_period_in_a_zone_with_daylight_saving():
    # New York: 1 July is EDT (UTC-4), 1 January EST (UTC-5).
    period = Period(date(2025, 7, 1), "America/New_York")
    assert period.end == datetime(2025, 7, 1, 4, 0)
    assert period.start(6) == datetime(2025, 1, 1, 5, 0)
