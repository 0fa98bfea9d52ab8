"""Hand-computed fixtures for the metrics of contract version 2, levels and the two new presets, at their edges.

The as-of date D is 2025-01-01 00:00 JST (2024-12-31T15:00Z) unless a test says otherwise: 24 hours before D is
2024-12-31T00:00 JST, 30 days before D is 2024-12-02T00:00 JST, three months before D is 2024-10-01T00:00 JST.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from procert.evaluation import evaluate, explain
from procert.evaluation.engine import MissingFacts
from procert.facts import FactStore, import_export
from procert.programs import Program, load_program
from tests.conftest import Export

D = date(2025, 1, 1)
LABEL = {"ja": "ラベル", "en": "label"}


def program_of(*criteria: dict[str, Any], levels: list[dict[str, Any]] | None = None) -> Program:
    return Program.model_validate(
        {
            "id": "test",
            "version": 1,
            "name": LABEL,
            "description": LABEL,
            "cadence": {"months": [1]},
            "criteria": [{"label": LABEL, "advice": LABEL, **c} for c in criteria],
            "levels": levels or [],
        }
    )


def rows_of(store: FactStore, tmp_path, exp: Export, program: Program, as_of: date = D) -> dict[str, dict]:
    import_export(store, exp.write(tmp_path / "export"), timezone=program.timezone)
    return {r["worker_id"]: r for r in evaluate(store, program, as_of).rows()}


# ---- response_rate ---------------------------------------------------------------------------------------------

RESPONSE = {"id": "replies", "metric": "response_rate", "threshold": "0.8"}


def test_response_rate_counts_inquiries_whose_deadline_has_passed_and_replies_up_to_the_deadline(
    store, tmp_path, export
):
    w = export.worker("W1")
    # Received exactly at D - 24 h (counted), answered exactly at the deadline, which is D itself: in time.
    export.inquiry(w, "2024-12-31T00:00:00+09:00", "2025-01-01T00:00:00+09:00")
    export.inquiry(w, "2024-12-31T00:00:01+09:00", "2024-12-31T00:00:02+09:00")  # a second later: not counted yet
    export.inquiry(w, "2024-06-01T12:00:00+09:00", "2024-06-02T12:00:01+09:00")  # a second late
    export.inquiry(w, "2024-06-02T12:00:00+09:00", None)  # never answered
    export.inquiry(w, "2023-12-31T23:59:59+09:00", "2024-01-01T00:00:00+09:00")  # before the 12-month window
    export.inquiry(w, "2024-01-01T00:00:00+09:00", "2024-01-01T00:30:00+09:00")  # the window's first instant
    w2 = export.worker("W2")
    for i in range(5):  # 4 of 5 in time: exactly 0.8
        export.inquiry(w2, f"2024-07-0{i + 1}T09:00:00+09:00", None if i == 4 else f"2024-07-0{i + 1}T10:00:00+09:00")
    export.worker("W3")  # nobody wrote
    rows = rows_of(store, tmp_path, export, program_of(RESPONSE))
    assert (rows["W1"]["replies__num"], rows["W1"]["replies__den"]) == (2, 4)
    assert rows["W1"]["replies_passed"] is False
    assert (rows["W2"]["replies__num"], rows["W2"]["replies__den"]) == (4, 5)
    assert rows["W2"]["replies"] == 0.8 and rows["W2"]["replies_passed"] is True
    assert rows["W3"]["replies"] is None and rows["W3"]["replies_passed"] is False  # undefined fails by default


def test_when_undefined_pass_passes_only_undefined_values(store, tmp_path, export):
    export.worker("NOBODY_WROTE")
    w = export.worker("IGNORED_ONE")
    export.inquiry(w, "2024-07-01T09:00:00+09:00", None)
    program = program_of({**RESPONSE, "when_undefined": "pass"})
    rows = rows_of(store, tmp_path, export, program)
    assert rows["NOBODY_WROTE"]["replies"] is None and rows["NOBODY_WROTE"]["replies_passed"] is True
    assert rows["IGNORED_ONE"]["replies"] == 0.0 and rows["IGNORED_ONE"]["replies_passed"] is False
    text = explain(store, program, D, "NOBODY_WROTE", "en")
    assert text.by_id["replies"].margin == "No inquiries in the window, so this criterion counts as met."
    assert text.by_id["replies"].progress == 1.0


# ---- earnings_share_rank ---------------------------------------------------------------------------------------

SHARE = {"id": "top", "metric": "earnings_share_rank", "comparison": "<=", "threshold": "0.2"}


def test_share_rank_top_20_percent_with_ties_sharing_the_best_rank(store, tmp_path, export):
    # writer: 10 ranked, totals 10..1 (thousand yen): rank 2 of 10 = 0.2 passes, rank 3 of 10 = 0.3 fails.
    for i, total in enumerate(range(10, 0, -1), start=1):
        export.worker(f"A{i:02d}")
        export.payment(f"A{i:02d}", "2024-06-01T12:00:00+09:00", total * 1000)
    # designer: 10 ranked, 10, 9, 9, 7, ...: the two at 9 share rank 2 and both pass; 7 is rank 4.
    for i, total in enumerate((10, 9, 9, 7, 6, 5, 4, 3, 2, 1), start=1):
        export.worker(f"B{i:02d}", division="designer")
        export.payment(f"B{i:02d}", "2024-06-01T12:00:00+09:00", total * 1000)
    # Not ranked, and not counted among the ranked: no payment, and payments refunded to zero.
    export.worker("A_NONE")
    export.worker("A_REFUNDED")
    export.payment("A_REFUNDED", "2024-06-01T12:00:00+09:00", 50_000)
    export.payment("A_REFUNDED", "2024-06-05T12:00:00+09:00", -50_000)
    rows = rows_of(store, tmp_path, export, program_of(SHARE))
    ranks = {w: (r["top__num"], r["top__den"], r["top_passed"]) for w, r in rows.items()}
    assert ranks["A01"] == (1, 10, True)
    assert ranks["A02"] == (2, 10, True)
    assert ranks["A03"] == (3, 10, False)
    assert ranks["B02"] == ranks["B03"] == (2, 10, True)
    assert ranks["B04"] == (4, 10, False)
    assert ranks["A_NONE"] == ranks["A_REFUNDED"] == (None, None, False)
    # What it would take: the 3rd needs the 2nd-highest other total (9,000) from 8,000: ¥1,000 more.
    takes = explain(store, program_of(SHARE), D, "A03", "en").by_id["top"].takes
    assert takes == "Ranked 3 of 10 in your division; rank 2 or better passes, which takes ¥1,000 more earnings."


def test_share_rank_window_is_the_twelve_months_before_d(store, tmp_path, export):
    export.worker("IN")
    export.payment("IN", "2024-01-01T00:00:00+09:00", 1000)  # the window's first instant
    export.worker("OUT")
    export.payment("OUT", "2023-12-31T23:59:59+09:00", 1000)  # a second before
    export.payment("OUT", "2025-01-01T00:00:00+09:00", 1000)  # at D
    rows = rows_of(store, tmp_path, export, program_of(SHARE))
    assert (rows["IN"]["top__num"], rows["IN"]["top__den"]) == (1, 1)
    assert rows["OUT"]["top"] is None


# ---- review_share, earnings_total, delivered_count, unique_clients ---------------------------------------------------


def test_review_share_19_of_20_passes_and_a_mean_of_exactly_4_is_satisfied(store, tmp_path, export):
    share = {"id": "sat", "metric": "review_share", "threshold": "0.95", "params": {"window_months": 12}}
    export.worker("W19")
    for i in range(20):
        export.review("W19", 1 if i == 0 else (4, 4, 4, 4, 4), created_at="2024-05-01T00:00:00+09:00")
    export.worker("W18")
    for i in range(20):
        # (4, 4, 4, 4, 3) averages 3.8: not satisfied.
        export.review("W18", (4, 4, 4, 4, 3) if i < 2 else 5, created_at="2024-05-01T00:00:00+09:00")
    export.review("W18", 1, created_at="2023-12-31T23:59:59+09:00")  # outside the window
    rows = rows_of(store, tmp_path, export, program_of(share))
    assert (rows["W19"]["sat__num"], rows["W19"]["sat__den"], rows["W19"]["sat_passed"]) == (19, 20, True)
    assert (rows["W18"]["sat__num"], rows["W18"]["sat__den"], rows["W18"]["sat_passed"]) == (18, 20, False)
    takes = explain(store, program_of(share), D, "W18", "en").by_id["sat"].takes
    assert takes == "20 more satisfied reviews in a row would get you there (now 18/20)."  # 38/40 = 0.95


def test_earnings_total_counts_the_three_month_window_from_its_first_instant(store, tmp_path, export):
    total = {"id": "earn", "metric": "earnings_total", "threshold": 50000, "params": {"window_months": 3}}
    export.worker("EXACT")
    export.payment("EXACT", "2024-10-01T00:00:00+09:00", 50_000)  # the window's first instant: counted
    export.payment("EXACT", "2024-09-30T23:59:59+09:00", 90_000)  # a second before: not
    export.worker("REFUND")
    export.payment("REFUND", "2024-11-01T00:00:00+09:00", 60_000)
    export.payment("REFUND", "2024-12-31T23:59:59+09:00", -10_001)  # the last second before D: counted
    export.worker("NOTHING")
    rows = rows_of(store, tmp_path, export, program_of(total))
    assert (rows["EXACT"]["earn"], rows["EXACT"]["earn_passed"]) == (50_000, True)
    assert (rows["REFUND"]["earn"], rows["REFUND"]["earn_passed"]) == (49_999, False)
    assert (rows["NOTHING"]["earn"], rows["NOTHING"]["earn_passed"]) == (0, False)
    takes = explain(store, program_of(total), D, "REFUND", "ja").by_id["earn"].takes
    assert takes == "集計期間内にあと ¥1 必要です(現在 ¥49,999)。"


def test_delivered_count_and_unique_clients(store, tmp_path, export):
    lifetime = {"id": "sales", "metric": "delivered_count", "threshold": 3}
    recent = {"id": "recent", "metric": "delivered_count", "threshold": 1, "params": {"window_months": 3}}
    clients = {"id": "clients", "metric": "unique_clients", "threshold": 2}
    w = export.worker("W1")
    export.contract(w, "2020-01-01T00:00:00+09:00", client_id="K1")  # lifetime only
    export.contract(w, "2024-10-01T00:00:00+09:00", kind="hourly", client_id="K1")  # hourly counts by default
    export.contract(w, "2024-11-01T00:00:00+09:00", status="cancelled", client_id="K2")  # not delivered
    export.contract(w, None, status="active", client_id="K3")
    export.contract(w, "2025-01-01T00:00:00+09:00", client_id="K4")  # at D: not yet
    rows = rows_of(store, tmp_path, export, program_of(lifetime, recent, clients))
    row = rows["W1"]
    assert (row["sales"], row["recent"], row["clients"]) == (2, 1, 1)
    assert (row["sales_passed"], row["recent_passed"], row["clients_passed"]) == (False, True, False)


# ---- recent_login, identity_verified ----------------------------------------------------------------------------


def test_recent_login_from_00_00_thirty_days_before_d_and_identity_verified(store, tmp_path, export):
    login = {"id": "login", "metric": "recent_login", "comparison": "==", "threshold": True}
    verified = {"id": "verified", "metric": "identity_verified", "comparison": "==", "threshold": True}
    export.worker("EDGE", last_login_at="2024-12-02T00:00:00+09:00", identity_verified="true")
    export.worker("EARLY", last_login_at="2024-12-01T23:59:59+09:00", identity_verified="False")
    export.worker("NEVER", last_login_at="", identity_verified="")
    rows = rows_of(store, tmp_path, export, program_of(login, verified))
    assert (rows["EDGE"]["login"], rows["EDGE"]["verified"], rows["EDGE"]["certified"]) == (True, True, True)
    assert (rows["EARLY"]["login"], rows["EARLY"]["verified"]) == (False, False)
    assert (rows["NEVER"]["login"], rows["NEVER"]["verified"]) == (False, False)
    early = explain(store, program_of(login, verified), D, "EARLY", "en")
    assert early.by_id["login"].takes == "Sign in to meet it (last sign-in: 2024-12-01 23:59)."
    assert explain(store, program_of(login), D, "NEVER", "ja").by_id["login"].takes == (
        "ログインすると達成です(最終ログイン: なし)。"
    )


# ---- levels ---------------------------------------------------------------------------------------------------


def coconala_worker(exp: Export, wid: str, *, sales_3m: int, earnings_3m: int, **worker: str) -> None:
    exp.worker(wid, identity_verified="true", last_login_at="2024-12-20T10:00:00+09:00", **worker)
    for _ in range(sales_3m):
        exp.review(wid, 5, contract_id=exp.contract(wid, "2024-11-01T00:00:00+09:00"))
    exp.payment(wid, "2024-12-01T00:00:00+09:00", earnings_3m)


def test_the_highest_level_whose_criteria_pass_is_reached_without_the_lower_ones(store, tmp_path, export):
    coconala = load_program("coconala-rank")
    # Five sales in 3 months: not silver (needs 10), not bronze (needs 10 lifetime), yet ¥50,000 and the rest: gold.
    coconala_worker(export, "GOLD", sales_3m=5, earnings_3m=50_000)
    coconala_worker(export, "PLATINUM", sales_3m=10, earnings_3m=100_000)
    coconala_worker(export, "SILVER", sales_3m=10, earnings_3m=49_999)
    coconala_worker(export, "REGULAR", sales_3m=1, earnings_3m=0)
    coconala_worker(export, "SUSPENDED", sales_3m=10, earnings_3m=100_000, status="suspended")
    export.worker("NEWCOMER")
    rows = rows_of(store, tmp_path, export, coconala)
    levels = {w: (r["level"], r["certified"]) for w, r in rows.items()}
    assert levels == {
        "GOLD": ("gold", True),
        "PLATINUM": ("platinum", True),
        "SILVER": ("silver", True),
        "REGULAR": ("regular", True),
        "SUSPENDED": (None, False),
        "NEWCOMER": (None, False),
    }
    assert rows["GOLD"]["sales_3m_10_passed"] is False and rows["GOLD"]["sales_lifetime_10_passed"] is False
    standing = explain(store, coconala, D, "GOLD", "en").standing
    assert standing is not None
    assert (standing.level, standing.next_level, standing.next_level_needs) == (
        "gold",
        "platinum",
        ["earnings_3m_100k"],
    )
    assert standing.keeps == ["earnings_3m_50k", "completion_3m_90", "rating", "identity_verified", "recent_login"]
    top = explain(store, coconala, D, "PLATINUM", "ja")
    assert top.verdict == "現在のレベル: プラチナ" and top.standing is not None and top.standing.next_level is None


def test_the_level_column_follows_certified_and_programs_without_levels_have_none(store, tmp_path, export):
    from procert.evaluation import output_columns

    coconala = load_program("coconala-rank")
    assert output_columns(coconala)[:4] == ["worker_id", "certified", "level", "sales_lifetime_1"]
    assert "level" not in output_columns(load_program("crowdworks-pro"))
    coconala_worker(export, "W1", sales_3m=1, earnings_3m=0)
    import_export(store, export.write(tmp_path / "e"), timezone="Asia/Tokyo")
    evaluation = evaluate(store, coconala, D)
    evaluation.write(tmp_path / "out.csv")
    header, line = (tmp_path / "out.csv").read_text().splitlines()
    assert header.startswith("worker_id,certified,level,") and line.startswith("W1,true,regular,")


@pytest.mark.parametrize(
    ("levels", "problem"),
    [
        ([{"id": "a", "criteria": ["nope"]}], "level a names unknown criteria ['nope']"),
        ([{"id": "a", "criteria": ["x"]}, {"id": "a", "criteria": ["x"]}], "level id 'a' appears twice"),
        ([{"id": "a", "criteria": ["x"]}], "criteria ['y'] belong to no level"),
    ],
)
def test_malformed_levels_are_refused_with_the_reason(levels, problem):
    from pydantic import ValidationError

    criteria = [{"id": c, "metric": "scout_count", "threshold": 1, "label": LABEL, "advice": LABEL} for c in ("x", "y")]
    with pytest.raises(ValidationError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        Program.model_validate(
            {
                "id": "t",
                "version": 1,
                "name": LABEL,
                "description": LABEL,
                "cadence": {"months": [1]},
                "criteria": criteria,
                "levels": [{"name": LABEL, "description": LABEL, **level} for level in levels],
            }
        )


# ---- facts a program needs ------------------------------------------------------------------------------------


def test_a_version_1_export_evaluated_by_lancers_certified_is_refused_naming_criteria_and_columns(
    store, tmp_path, export
):
    export.worker("W1")
    import_export(store, export.write(tmp_path / "v1"), timezone="Asia/Tokyo")
    with pytest.raises(MissingFacts) as refused:
        evaluate(store, load_program("lancers-certified"), D)
    message = str(refused.value)
    assert "criterion response_rate (response_rate) needs the table inquiries" in message
    assert "criterion recent_login (recent_login) needs the column workers.last_login_at" in message
    assert "criterion identity_verified (identity_verified) needs the column workers.identity_verified" in message
    results = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'procert_evaluation'"
    assert store.query(results).fetchone() == (0,)  # refused before any work
    evaluate(store, load_program("crowdworks-pro"), D)  # the reference program still runs on it
    assert store.query(results).fetchone() == (1,)
