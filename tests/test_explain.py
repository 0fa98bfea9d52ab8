"""Explanations: exact "what it would take" figures, the ranking cut-off, margins and languages."""

from __future__ import annotations

from datetime import date

import pytest

from procert.evaluation import WorkerNotFound, explain, min_steps
from procert.facts import import_export
from tests.conftest import Export

D = date(2025, 1, 1)


@pytest.fixture
def explained(store, program, tmp_path):
    def run(exp: Export, worker_id: str, lang: str = "en", as_of: date = D):
        import_export(store, exp.write(tmp_path / "e"), timezone=program.timezone)
        result = explain(store, program, as_of, worker_id, lang)
        return result, {c.id: c for c in result.criteria}

    return run


def test_min_steps_finds_the_least_k():
    assert min_steps(lambda k: k * k >= 50) == 8
    assert min_steps(lambda k: True) == 0
    assert min_steps(lambda k: False, limit=100) is None


def test_more_perfect_reviews_computed_exactly(export, explained):
    # Overall: 4 reviews of 4 -> 80/20 = 4.0; (80 + 25k) / (20 + 5k) >= 4.8  <=>  k >= 16.
    # Communication: 4.0 over 4 reviews; (16 + 5k) / (4 + k) >= 4.8  <=>  k >= 16.
    w = export.worker("W1")
    for _ in range(4):
        export.review(w, 4)
    _, c = explained(export, "W1")
    assert "16 more top-mark (5-star) review(s)" in c["overall_rating"].takes
    assert "now 4 over 4 review(s)" in c["overall_rating"].takes
    assert "16 more" in c["communication_rating"].takes


def test_communication_needs_three_more(export, explained):
    # 33/7: (33 + 5k) / (7 + k) >= 4.8  <=>  0.2k >= 0.6  <=>  k >= 3.
    w = export.worker("W1")
    for comm in (5, 5, 5, 5, 5, 4, 4):
        export.review(w, (5, 5, 5, comm, 5))
    _, c = explained(export, "W1")
    assert c["communication_rating"].facts == {"numerator": 33, "denominator": 7}
    assert c["communication_rating"].takes.startswith("3 more top-mark")


def test_more_deliveries_and_more_scouts(export, explained):
    # 8 of 10 delivered: (8 + k) / (10 + k) >= 0.9  <=>  k >= 10.  2 direct scouts: 3 more.
    w = export.worker("W1")
    for i in range(10):
        export.contract(w, "2024-04-01T00:00:00+09:00", status="delivered" if i < 8 else "cancelled")
    export.scout(w, "2024-04-01T00:00:00+09:00")
    export.scout(w, "2024-04-02T00:00:00+09:00")
    _, c = explained(export, "W1")
    assert c["completion_rate"].takes.startswith("10 more delivered contract(s)")
    assert "(8 of 10 delivered now)" in c["completion_rate"].takes
    assert c["scouts"].takes == "3 more needed within the window (now 2)."


def test_one_star_margin_on_a_lifetime_average(export, explained):
    # 50 perfect reviews: (1250 + 5k) / (250 + 5k) < 4.8  <=>  19k > 50  <=>  k >= 3.
    w = export.worker("W1")
    for _ in range(50):
        export.review(w, 5)
    _, c = explained(export, "W1")
    assert c["overall_rating"].passed
    assert c["overall_rating"].margin == "3 one-star review(s) would take you below the threshold."


def test_ranking_names_the_cut_off_in_the_closest_month(export, explained):
    # 250 other writers in June 2024 earn 10,000 + i; the 200th highest of them earns 10,050.
    for i in range(250):
        export.payment(export.worker(f"O{i:03d}"), "2024-06-10T00:00:00+09:00", 10_000 + i)
    w = export.worker("W1")
    export.payment(w, "2024-06-10T00:00:00+09:00", 9_000)
    result, c = explained(export, "W1")
    rank = c["earnings_rank"]
    assert rank.value == 251 and not rank.passed
    assert rank.facts["cutoff_rank"] == 200
    assert rank.facts["closest_month"]["month"] == "2024-06"
    assert rank.facts["closest_month"]["cutoff_total"] == 10_050
    assert "the 200th in your division earned ¥10,050; you earned ¥9,000 (¥1,050 short)" in rank.takes
    assert result.certified is False


def test_ranking_details_at_the_cut_off_with_ties_and_the_worker_inside_it(export, explained):
    """Each month's cut-off total is the N-th highest total among the *other* workers (N = 200 for writers),
    ties sharing the rank, hand-computed: June, W1 first among 251; July, five totals tied across the 200th
    place; August, exactly 200 ranked (no 201st to take the place of W1)."""
    for i in range(250):
        export.payment(export.worker(f"O{i:03d}"), "2024-06-10T00:00:00+09:00", 10_000 + i)
    for i in range(198):
        export.payment(f"O{i:03d}", "2024-07-10T00:00:00+09:00", 20_000 + i)
    for i in range(198, 202):
        export.payment(f"O{i:03d}", "2024-07-10T00:00:00+09:00", 10_000)
    for i in range(199):
        export.payment(f"O{i:03d}", "2024-08-10T00:00:00+09:00", 5_000 + i)
    w = export.worker("W1")
    export.payment(w, "2024-06-10T00:00:00+09:00", 50_000)
    export.payment(w, "2024-07-10T00:00:00+09:00", 10_000)
    export.payment(w, "2024-08-10T00:00:00+09:00", 100_000)
    _, c = explained(export, "W1")
    rank = c["earnings_rank"]
    assert rank.passed and rank.value == 1
    months = {m["month"]: m for m in rank.facts["months"]}
    # June: the others earn 10,000..10,249; without W1 the 200th of them earns 10,249 - 199 = 10,050.
    assert months["2024-06"] == {
        "month": "2024-06",
        "own": 50_000,
        "own_rank": 1,
        "ranked": 251,
        "cutoff_total": 10_050,
    }
    # July: 198 above 20,000, then W1 and four others on 10,000 share rank 199; the 200th other earns 10,000.
    assert months["2024-07"] == {
        "month": "2024-07",
        "own": 10_000,
        "own_rank": 199,
        "ranked": 203,
        "cutoff_total": 10_000,
    }
    # August: 199 others and W1 ranked; without W1 only 199 remain, so no 200th total.
    assert months["2024-08"] == {"month": "2024-08", "own": 100_000, "own_rank": 1, "ranked": 200, "cutoff_total": None}


def test_engineer_cut_off_is_100_and_small_divisions_are_open(export, explained):
    for i in range(120):
        export.payment(export.worker(f"E{i:03d}", division="engineer"), "2024-06-10T00:00:00+09:00", 1000 + i)
    w = export.worker("W1", division="engineer")
    export.payment(w, "2024-06-10T00:00:00+09:00", 50)
    export.payment(w, "2024-07-10T00:00:00+09:00", -1)  # July: nobody else paid, W1 not positive
    _, c = explained(export, "W1")
    assert c["earnings_rank"].threshold_text == "rank 100 or better"
    # 100th highest other engineer earns 1000 + 20 = 1020, W1 earned 50; July needs just ¥1 (¥2 from -1).
    assert c["earnings_rank"].facts["closest_month"]["month"] == "2024-07"
    assert "only 0 worker(s) of your division were ranked" in c["earnings_rank"].takes


def test_profile_names_the_blank_fields_in_japanese(export, explained):
    export.worker("W1", self_pr_text="\u3000")
    result, c = explained(export, "W1", lang="ja")
    assert c["profile"].takes == "未入力の項目があります: 自己PR"
    assert result.verdict == "認定条件を満たしていません"
    assert "次回の判定日: 2025-04-01" in result.to_text()
    assert c["profile"].advice.startswith("プロフィールと自己PR")


def test_suspended_worker_is_told_why(export, explained):
    export.worker("W1", status="suspended")
    result, _ = explained(export, "W1")
    assert result.verdict.startswith("account status is 'suspended'")


def test_unknown_worker(export, explained):
    export.worker("W1")
    with pytest.raises(WorkerNotFound):
        explained(export, "W404")


def test_a_rank_margin_warns_when_the_qualifying_month_leaves_the_next_window(export, evaluate_export, store, program):
    """As of 2025-01-01 the months are 2024-01 to 2024-12; at the next date (2025-04-01) they are 2024-04 to 2025-03."""
    from datetime import date

    from procert.evaluation import explain

    export.worker("LEAVING")
    export.payment("LEAVING", "2024-02-10T12:00:00+09:00", 100_000)  # rank 1 in 2024-02, which then leaves
    export.worker("STAYING")
    export.payment("STAYING", "2024-02-10T12:00:00+09:00", 100_000)
    export.payment("STAYING", "2024-06-10T12:00:00+09:00", 100_000)  # and 2024-06, which stays
    evaluate_export(export, date(2025, 1, 1))
    leaving = explain(store, program, date(2025, 1, 1), "LEAVING", "ja").by_id["earnings_rank"].margin
    assert leaving == (
        "2024-02 に 1 位(基準 200 位以内)でした。"
        " ただし 2024-02 は次回 2025-04-01 の判定では集計期間外になり、ほかに基準内の月がありません。"
    )
    staying = explain(store, program, date(2025, 1, 1), "STAYING", "ja").by_id["earnings_rank"].margin
    assert staying is not None and "集計期間外" not in staying
