"""Hand-computed fixtures for each criterion of crowdworks-pro and its boundaries.

The as-of date D is 2025-01-01 unless a test says otherwise: 00:00 JST on 1 Jan 2025 is 2024-12-31T15:00Z, and
the one-year window starts at 00:00 JST on 1 Jan 2024 (2023-12-31T15:00Z).
"""

from __future__ import annotations

from datetime import date

import pytest

D = date(2025, 1, 1)


def perfect_worker(exp, wid: str, division: str = "writer", **worker: str) -> str:
    """A worker passing every criterion as of D (so a test can break exactly one)."""
    exp.worker(wid, division=division, **worker)
    exp.contract(wid, "2024-06-01T00:00:00+09:00")
    exp.review(wid, 5)
    exp.payment(wid, "2024-06-10T00:00:00+09:00", 100_000)
    for _ in range(5):
        exp.scout(wid, "2024-06-01T00:00:00+09:00")
    return wid


# ---- completion_rate ---------------------------------------------------------------------------------------


def test_completion_rate_window_edges(export, evaluate_export):
    w = export.worker("W1")
    export.contract(w, "2024-01-01T00:00:00+09:00")  # first instant of the window: inside
    export.contract(w, "2023-12-31T14:59:59Z", status="cancelled")  # 23:59:59 JST the day before: outside
    export.contract(w, "2024-12-31T23:59:59+09:00", status="cancelled")  # last second: inside
    export.contract(w, "2024-12-31T15:00:00Z", status="cancelled")  # exactly D (written in UTC): outside
    export.contract(w, "2025-01-01T00:00:00", status="cancelled")  # exactly D (naive = JST): outside
    row = evaluate_export(export, D)["W1"]
    assert row["completion_rate__num"] == 1
    assert row["completion_rate__den"] == 2
    assert row["completion_rate"] == 0.5
    assert row["completion_rate_passed"] is False


def test_completion_rate_exactly_27_of_30_passes_and_26_fails(export, evaluate_export):
    for wid, delivered in (("W27", 27), ("W26", 26)):
        export.worker(wid)
        for i in range(30):
            export.contract(wid, "2024-05-01T12:00:00+09:00", status="delivered" if i < delivered else "cancelled")
    rows = evaluate_export(export, D)
    assert rows["W27"]["completion_rate"] == 0.9
    assert rows["W27"]["completion_rate_passed"] is True
    assert rows["W26"]["completion_rate_passed"] is False


def test_completion_rate_ignores_hourly_and_active_contracts(export, evaluate_export):
    w = export.worker("W1")
    export.contract(w, "2024-05-01T00:00:00+09:00")
    export.contract(w, "2024-05-01T00:00:00+09:00", status="cancelled", kind="hourly")
    export.contract(w, None, status="active")
    row = evaluate_export(export, D)["W1"]
    assert (row["completion_rate__num"], row["completion_rate__den"]) == (1, 1)
    assert row["completion_rate_passed"] is True


def test_completion_rate_undefined_without_closed_contracts(export, evaluate_export):
    export.worker("W1")
    row = evaluate_export(export, D)["W1"]
    assert row["completion_rate"] is None
    assert row["completion_rate_passed"] is False


def test_leap_day_as_of_uses_28_february_a_year_earlier(export, evaluate_export):
    w = export.worker("W1")
    export.contract(w, "2023-02-28T00:00:00+09:00")  # D - 1y = 28 Feb 2023 00:00 JST: inside
    export.contract(w, "2023-02-27T23:59:59+09:00", status="cancelled")  # outside
    export.scout(w, "2023-02-28T00:00:00+09:00")
    export.scout(w, "2023-02-27T14:59:59Z")  # 23:59:59 JST on 27 Feb: outside
    row = evaluate_export(export, date(2024, 2, 29))["W1"]
    assert (row["completion_rate__num"], row["completion_rate__den"]) == (1, 1)
    assert row["scouts"] == 1


# ---- ratings ------------------------------------------------------------------------------------------------


def test_overall_rating_exactly_4_8_over_15_reviews_passes(export, evaluate_export):
    # 12 perfect reviews (25 points each) + 3 reviews of 4 on every item (20 points): 360 / 75 = 4.8 exactly.
    w = export.worker("W1")
    for _ in range(12):
        export.review(w, 5)
    for _ in range(3):
        export.review(w, 4)
    # Another worker one item point short: 359 / 75 < 4.8.
    v = export.worker("W2")
    for _ in range(12):
        export.review(v, 5)
    export.review(v, (4, 4, 4, 4, 3))
    for _ in range(2):
        export.review(v, 4)
    rows = evaluate_export(export, D)
    assert rows["W1"]["overall_rating"] == 4.8
    assert rows["W1"]["overall_rating_passed"] is True
    assert (rows["W2"]["overall_rating__num"], rows["W2"]["overall_rating__den"]) == (359, 75)
    assert rows["W2"]["overall_rating_passed"] is False


def test_overall_rating_exact_where_a_naive_float_mean_drifts_below(export, evaluate_export):
    # Review scores 4.6 x3, 4.8 x4, 5.0 x3: exactly 4.8, but summing the float means gives 4.799999999999999.
    sums = [25, 25, 23, 25, 24, 23, 24, 23, 24, 24]  # in this order the float sum drifts
    items = {23: (5, 5, 5, 4, 4), 24: (5, 5, 5, 5, 4), 25: (5, 5, 5, 5, 5)}
    assert sum(s / 5 for s in sums) / len(sums) < 4.8  # the drift this test guards against
    w = export.worker("W1")
    for s in sums:
        export.review(w, items[s])
    row = evaluate_export(export, D)["W1"]
    assert (row["overall_rating__num"], row["overall_rating__den"]) == (240, 50)
    assert row["overall_rating"] == 4.8
    assert row["overall_rating_passed"] is True


def test_overall_rating_is_mean_of_review_means_and_excludes_d(export, evaluate_export):
    w = export.worker("W1")
    export.review(w, (5, 5, 5, 5, 4), created_at="2010-01-01T00:00:00+09:00")  # 4.8
    export.review(w, (3, 3, 3, 3, 3), created_at="2024-12-31T23:59:59+09:00")  # 3.0
    export.review(w, (1, 1, 1, 1, 1), created_at="2024-12-31T15:00:00Z")  # at D: excluded
    row = evaluate_export(export, D)["W1"]
    assert row["overall_rating"] == pytest.approx(3.9)
    assert (row["overall_rating__num"], row["overall_rating__den"]) == (39, 10)


def test_communication_rating_exactly_4_8_over_20_reviews(export, evaluate_export):
    # communication: 16 fives and 4 fours = 96 / 20 = 4.8 exactly.
    w = export.worker("W1")
    for i in range(20):
        export.review(w, (5, 5, 5, 5 if i < 16 else 4, 5))
    row = evaluate_export(export, D)["W1"]
    assert row["communication_rating"] == 4.8
    assert row["communication_rating_passed"] is True


def test_ratings_undefined_without_reviews(export, evaluate_export):
    export.worker("W1")
    row = evaluate_export(export, D)["W1"]
    assert row["overall_rating"] is None and row["communication_rating"] is None
    assert row["overall_rating_passed"] is False and row["communication_rating_passed"] is False


# ---- earnings_rank ------------------------------------------------------------------------------------------


def test_payment_at_2am_jst_on_the_1st_written_in_utc_belongs_to_the_jst_month(export, evaluate_export):
    # 2024-12-01 02:00 JST is 2024-11-30T17:00Z: it belongs to December (inside the 12 months before Jan 2025).
    w = export.worker("W1")
    export.payment(w, "2024-11-30T17:00:00Z", 5000)
    # 2024-01-01 00:30 JST written in UTC is 2023-12-31T15:30Z: January 2024, the first month of the window.
    v = export.worker("W2")
    export.payment(v, "2023-12-31T15:30:00Z", 5000)
    # 2023-12-31 23:59 JST: December 2023, outside the window.
    u = export.worker("W3")
    export.payment(u, "2023-12-31T23:59:00+09:00", 5000)
    rows = evaluate_export(export, D)
    assert rows["W1"]["earnings_rank"] == 1
    assert rows["W2"]["earnings_rank"] == 1
    assert rows["W3"]["earnings_rank"] is None
    assert rows["W3"]["earnings_rank_passed"] is False


def test_month_containing_d_is_excluded(export, evaluate_export):
    w = export.worker("W1")
    export.payment(w, "2025-01-15T00:00:00+09:00", 5000)
    row = evaluate_export(export, date(2025, 1, 20))["W1"]
    assert row["earnings_rank"] is None


def test_ties_at_rank_200_share_the_rank(export, evaluate_export):
    # 203 writers paid in June 2024: amounts 1000 * (300 - i) for i < 199, then three tied at 50,
    # then one at 10. Ranks: 1..199, 200, 200, 200, 203.
    amounts = [1000 * (300 - i) for i in range(199)] + [50, 50, 50, 10]
    for i, amount in enumerate(amounts):
        w = export.worker(f"W{i:03d}")
        export.payment(w, "2024-06-15T12:00:00+09:00", amount)
    rows = evaluate_export(export, D)
    assert rows["W000"]["earnings_rank"] == 1
    assert rows["W198"]["earnings_rank"] == 199
    for wid in ("W199", "W200", "W201"):
        assert rows[wid]["earnings_rank"] == 200
        assert rows[wid]["earnings_rank_passed"] is True
    assert rows["W202"]["earnings_rank"] == 203
    assert rows["W202"]["earnings_rank_passed"] is False


def test_engineers_need_top_100_and_rank_within_their_division(export, evaluate_export):
    for i in range(101):
        w = export.worker(f"E{i:03d}", division="engineer")
        export.payment(w, "2024-03-10T00:00:00+09:00", 100_000 - i)
    # A writer earning less than every engineer still ranks first among writers.
    export.payment(export.worker("WR1", division="writer"), "2024-03-10T00:00:00+09:00", 1)
    rows = evaluate_export(export, D)
    assert rows["E099"]["earnings_rank"] == 100 and rows["E099"]["earnings_rank_passed"] is True
    assert rows["E100"]["earnings_rank"] == 101 and rows["E100"]["earnings_rank_passed"] is False
    assert rows["WR1"]["earnings_rank"] == 1


def test_best_month_counts_and_refunds_reduce_the_monthly_sum(export, evaluate_export):
    a, b = export.worker("A"), export.worker("B")
    # March: A 300 - 250 refund = 50, B 100 -> B first, A second. April: A 500, B 400 -> A first.
    export.payment(a, "2024-03-05T00:00:00+09:00", 300)
    export.payment(a, "2024-03-20T00:00:00+09:00", -250)
    export.payment(b, "2024-03-05T00:00:00+09:00", 100)
    export.payment(a, "2024-04-05T00:00:00+09:00", 500)
    export.payment(b, "2024-04-05T00:00:00+09:00", 400)
    # C's March sum is zero: not ranked at all.
    c = export.worker("C")
    export.payment(c, "2024-03-05T00:00:00+09:00", 100)
    export.payment(c, "2024-03-06T00:00:00+09:00", -100)
    rows = evaluate_export(export, D)
    assert rows["A"]["earnings_rank"] == 1
    assert rows["B"]["earnings_rank"] == 1  # first in March
    assert rows["C"]["earnings_rank"] is None


# ---- scouts -------------------------------------------------------------------------------------------------


def test_scouts_count_direct_only_within_the_window(export, evaluate_export):
    w = export.worker("W1")
    for _ in range(4):
        export.scout(w, "2024-07-01T00:00:00+09:00")
    export.scout(w, "2024-07-01T00:00:00+09:00", kind="mass")
    export.scout(w, "2024-12-31T15:00:00Z")  # D itself: outside
    export.scout(w, "2024-01-01T00:00:00+09:00")  # window start: inside -> 5 direct
    row = evaluate_export(export, D)["W1"]
    assert row["scouts"] == 5
    assert row["scouts_passed"] is True


def test_four_direct_scouts_fail_and_none_is_zero(export, evaluate_export):
    w = export.worker("W1")
    for _ in range(4):
        export.scout(w, "2024-07-01T00:00:00+09:00")
    export.worker("W2")
    rows = evaluate_export(export, D)
    assert rows["W1"]["scouts"] == 4 and rows["W1"]["scouts_passed"] is False
    assert rows["W2"]["scouts"] == 0 and rows["W2"]["scouts_passed"] is False


# ---- profile and status ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "self_pr", "expected"),
    [
        ("書いた", "書いた", True),
        ("\u3000\u3000", "書いた", False),  # only full-width spaces
        ("  \t ", "書いた", False),
        ("書いた", None, False),
        (None, None, False),
        (" a ", " b ", True),
    ],
)
def test_profile_blank_rules(export, evaluate_export, profile, self_pr, expected):
    export.worker("W1", profile_text=profile, self_pr_text=self_pr)
    row = evaluate_export(export, D)["W1"]
    assert row["profile"] is expected
    assert row["profile_passed"] is expected


@pytest.mark.parametrize(("status", "certified"), [("active", True), ("suspended", False), ("withdrawn", False)])
def test_only_active_workers_are_certified(export, evaluate_export, status, certified):
    perfect_worker(export, "W1", status=status)
    row = evaluate_export(export, D)["W1"]
    assert all(
        row[f"{c}_passed"]
        for c in ("completion_rate", "overall_rating", "earnings_rank", "scouts", "communication_rating", "profile")
    )
    assert row["certified"] is certified


def test_worker_with_no_data_at_all(export, evaluate_export):
    export.worker("W1", profile_text=None, self_pr_text=None)
    row = evaluate_export(export, D)["W1"]
    assert row["certified"] is False
    assert [
        row[c]
        for c in ("completion_rate", "overall_rating", "earnings_rank", "scouts", "communication_rating", "profile")
    ] == [None, None, None, 0, None, False]


def test_one_failing_criterion_is_enough_to_fail(export, evaluate_export):
    perfect_worker(export, "OK")
    perfect_worker(export, "LOW")
    export.review("LOW", 1)  # (25 + 5) / 10 = 3.0
    rows = evaluate_export(export, D)
    assert rows["OK"]["certified"] is True
    assert rows["LOW"]["certified"] is False
    assert rows["LOW"]["overall_rating_passed"] is False
    assert rows["LOW"]["communication_rating_passed"] is False
