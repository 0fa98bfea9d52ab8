"""Import: complete validation before any write, precise problem reports, upsert, formats and time zones."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from procert.facts import FactStore, ImportFailed, import_export
from tests.conftest import Export

TZ = "Asia/Tokyo"


def small_export() -> Export:
    exp = Export()
    exp.worker("W1")
    exp.worker("W2", division="engineer")
    c = exp.contract("W1", "2024-05-01T00:00:00+09:00", contract_id="C1")
    exp.review("W1", 5, contract_id=c, review_id="R1")
    exp.payment("W1", "2024-05-02T00:00:00+09:00", 1000, contract_id=c, payment_id="P1")
    exp.scout("W2", "2024-05-03T00:00:00+09:00", scout_id="S1")
    return exp


def snapshot(store: FactStore) -> dict[str, list[tuple]]:
    return {
        t: store.query(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in ("workers", "contracts", "reviews", "payments", "scouts")
    }


def failing_import(store: FactStore, exp: Export, directory: Path, fmt: str = "csv") -> ImportFailed:
    before = snapshot(store)
    fingerprint = store.fingerprint()
    with pytest.raises(ImportFailed) as info:
        import_export(store, exp.write(directory, fmt), timezone=TZ)
    assert snapshot(store) == before, "a failed import must leave the stored facts exactly as they were"
    assert store.fingerprint() == fingerprint
    return info.value


@pytest.fixture
def loaded(store: FactStore, tmp_path: Path) -> FactStore:
    import_export(store, small_export().write(tmp_path / "first"), timezone=TZ)
    return store


def test_import_stores_every_table_and_keys_months_in_program_time(loaded: FactStore):
    assert loaded.counts() == {"workers": 2, "contracts": 1, "reviews": 1, "payments": 1, "scouts": 1, "inquiries": 0}
    paid_at, month = loaded.query("SELECT paid_at, paid_month FROM payments").fetchone()
    assert paid_at == datetime(2024, 5, 1, 15, 0)  # stored as naive UTC
    assert month == 2024 * 12 + 4  # May 2024
    assert loaded.timezone == TZ


@pytest.mark.parametrize(
    ("written", "stored_utc", "month"),
    [
        ("2024-06-01T02:00:00+09:00", datetime(2024, 5, 31, 17), 2024 * 12 + 5),
        ("2024-05-31T17:00:00Z", datetime(2024, 5, 31, 17), 2024 * 12 + 5),
        ("2024-05-31T17:00:00+00:00", datetime(2024, 5, 31, 17), 2024 * 12 + 5),
        ("2024-06-01 02:00:00", datetime(2024, 5, 31, 17), 2024 * 12 + 5),  # naive: Asia/Tokyo
        ("2024-06-01", datetime(2024, 5, 31, 15), 2024 * 12 + 5),  # a date: 00:00 Asia/Tokyo
        ("2024-05-31T14:59:59Z", datetime(2024, 5, 31, 14, 59, 59), 2024 * 12 + 4),
    ],
)
def test_timestamps_with_and_without_offsets(store, tmp_path, written, stored_utc, month):
    exp = Export()
    exp.worker("W1")
    exp.payment("W1", written, 10)
    import_export(store, exp.write(tmp_path / "e"), timezone=TZ)
    assert store.query("SELECT paid_at, paid_month FROM payments").fetchone() == (stored_utc, month)


def test_reimport_upserts_by_id(loaded: FactStore, tmp_path: Path):
    exp = Export()
    exp.worker("W1", display_name="renamed")
    exp.worker("W3")
    exp.payment("W1", "2024-07-01T00:00:00+09:00", 7, payment_id="P1")  # same id: replaces P1
    import_export(loaded, exp.write(tmp_path / "second", tables=("workers", "payments")), timezone=TZ)
    assert loaded.counts()["workers"] == 3
    assert loaded.query("SELECT display_name FROM workers WHERE worker_id = 'W1'").fetchone() == ("renamed",)
    assert loaded.query("SELECT worker_id, amount_jpy FROM payments").fetchall() == [("W1", 7)]
    assert loaded.counts()["contracts"] == 1  # tables absent from the export are untouched


def test_replace_mode_needs_every_table_and_replaces_them(loaded: FactStore, tmp_path: Path):
    exp = Export()
    exp.worker("W9")
    with pytest.raises(ImportFailed, match="--replace needs every table"):
        import_export(loaded, exp.write(tmp_path / "partial", tables=("workers",)), timezone=TZ, replace=True)
    import_export(loaded, exp.write(tmp_path / "full"), timezone=TZ, replace=True)
    assert loaded.counts() == {"workers": 1, "contracts": 0, "reviews": 0, "payments": 0, "scouts": 0, "inquiries": 0}


def test_parquet_export_imports_like_csv(store: FactStore, tmp_path: Path):
    import_export(store, small_export().write(tmp_path / "pq", "parquet"), timezone=TZ)
    assert store.counts() == {"workers": 2, "contracts": 1, "reviews": 1, "payments": 1, "scouts": 1, "inquiries": 0}


def test_extra_columns_are_ignored(store: FactStore, tmp_path: Path):
    exp = small_export()
    exp.rows["workers"][0]["favourite_colour"] = "blue"
    import_export(store, exp.write(tmp_path / "x"), timezone=TZ)
    assert store.counts()["workers"] == 2


def test_profile_blankness_is_derived_at_import(store: FactStore, tmp_path: Path):
    exp = Export()
    exp.worker("W1", profile_text="\u3000", self_pr_text="ok")
    import_export(store, exp.write(tmp_path / "x"), timezone=TZ)
    assert store.query("SELECT has_profile_text, has_self_pr_text FROM workers").fetchone() == (False, True)


# ---- bad input ------------------------------------------------------------------------------------------------


def only(problem_list, **expected):
    matches = [p for p in problem_list if all(getattr(p, k) == v for k, v in expected.items())]
    assert matches, f"no problem matching {expected} in {problem_list}"
    return matches[0]


def test_missing_required_column(loaded, tmp_path):
    exp = small_export()
    for r in exp.rows["reviews"]:
        del r["quality"]
    failure = failing_import(loaded, exp, tmp_path / "bad")
    p = only(failure.problems, file="reviews.csv", column="quality")
    assert p.row is None and "missing" in p.because("en")


def test_unparsable_timestamp(loaded, tmp_path):
    exp = small_export()
    exp.rows["payments"][0]["paid_at"] = "2024-13-01T00:00:00"
    exp.payment("W1", "yesterday", 5)
    exp.payment("W1", "2024-1-1 1:2:3", 5)  # DuckDB would parse it; not ISO 8601
    failure = failing_import(loaded, exp, tmp_path / "bad")
    rows = sorted(p.row for p in failure.problems if p.column == "paid_at")
    assert rows == [1, 2, 3]
    assert "not an ISO 8601 timestamp" in only(failure.problems, row=2, column="paid_at").because("en")
    assert failure.total == 3


def test_rating_out_of_range_and_not_integer(loaded, tmp_path):
    exp = small_export()
    exp.rows["reviews"][0]["skill"] = 6
    exp.review("W1", (5, 5, "4.5", 5, 0))
    failure = failing_import(loaded, exp, tmp_path / "bad")
    assert "from 1 to 5" in only(failure.problems, file="reviews.csv", row=1, column="skill").because("en")
    assert "not an integer" in only(failure.problems, row=2, column="schedule").because("en")
    assert "from 1 to 5" in only(failure.problems, row=2, column="partnership").because("en")


def test_duplicate_id_names_the_first_row(loaded, tmp_path):
    exp = small_export()
    exp.worker("W2")
    failure = failing_import(loaded, exp, tmp_path / "bad")
    p = only(failure.problems, file="workers.csv", column="worker_id")
    assert p.row == 3 and "duplicate worker_id 'W2' (first on row 2)" in p.because("en")


def test_review_of_unknown_worker(store, tmp_path):
    exp = small_export()
    exp.review("W404", 5, contract_id="C1")
    failure = failing_import(store, exp, tmp_path / "bad")
    p = only(failure.problems, file="reviews.csv", row=2, column="worker_id")
    assert "unknown worker_id 'W404'" in p.because("en")


def test_references_may_point_at_previously_stored_rows(loaded, tmp_path):
    exp = Export()
    exp.worker("W5")
    exp.scout("W1", "2024-05-05T00:00:00+09:00")  # W1 only exists in the store
    import_export(loaded, exp.write(tmp_path / "more", tables=("workers", "scouts")), timezone=TZ)
    assert loaded.counts()["scouts"] == 2


def test_review_worker_must_match_its_contract(store, tmp_path):
    exp = small_export()
    exp.review("W2", 5, contract_id="C1")
    failure = failing_import(store, exp, tmp_path / "bad")
    assert "is not the worker of contract 'C1'" in only(failure.problems, row=2, column="worker_id").because("en")


def test_unknown_status_and_kind(loaded, tmp_path):
    exp = small_export()
    exp.rows["workers"][1]["status"] = "retired"
    exp.rows["scouts"][0]["kind"] = "bulk"
    failure = failing_import(loaded, exp, tmp_path / "bad")
    assert "unknown value 'retired'" in only(failure.problems, file="workers.csv", row=2, column="status").because("en")
    assert "expected one of direct, mass" in only(failure.problems, file="scouts.csv", column="kind").because("en")


def test_closed_at_must_agree_with_status(loaded, tmp_path):
    exp = small_export()
    exp.contract("W1", None, status="delivered")
    exp.contract("W1", "2024-01-01T00:00:00Z", status="active")
    exp.contract("W1", "2018-01-01T00:00:00Z")  # before started_at
    failure = failing_import(loaded, exp, tmp_path / "bad")
    assert "closed contract needs closed_at" in only(failure.problems, file="contracts.csv", row=2).because("en")
    assert "must be empty while status is active" in only(failure.problems, row=3, column="closed_at").because("en")
    assert "before started_at" in only(failure.problems, row=4, column="closed_at").because("en")


def test_negative_contract_amount_and_empty_required_value(loaded, tmp_path):
    exp = small_export()
    exp.rows["contracts"][0]["amount_jpy"] = -5
    exp.rows["workers"][0]["division"] = "  "
    failure = failing_import(loaded, exp, tmp_path / "bad")
    assert "must be ≥ 0" in only(failure.problems, file="contracts.csv", column="amount_jpy").because("en")
    assert only(failure.problems, file="workers.csv", row=1, column="division").because("en") == "is empty"


def test_file_that_is_not_csv_or_parquet(loaded, tmp_path):
    directory = small_export().write(tmp_path / "bad")
    (directory / "scouts.csv").unlink()
    (directory / "scouts.xlsx").write_bytes(b"PK\x03\x04 not really a spreadsheet")
    failure = failing_import_dir(loaded, directory)
    assert "not a CSV or Parquet file" in only(failure.problems, file="scouts.xlsx").because("en")


def test_binary_file_named_csv_and_corrupt_parquet(loaded, tmp_path):
    directory = small_export().write(tmp_path / "bad")
    (directory / "scouts.csv").write_bytes(b"\x00\x01\x02garbage")
    (directory / "payments.csv").unlink()
    (directory / "payments.parquet").write_bytes(b"definitely not parquet")
    failure = failing_import_dir(loaded, directory)
    assert "not a UTF-8 CSV" in only(failure.problems, file="scouts.csv").because("en")
    assert "cannot be read as Parquet" in only(failure.problems, file="payments.parquet").because("en")


def test_same_table_twice_and_empty_folder(loaded, tmp_path):
    directory = small_export().write(tmp_path / "bad")
    small_export().write(tmp_path / "bad", "parquet", tables=("scouts",))
    failure = failing_import_dir(loaded, directory)
    assert "holds the same table" in only(failure.problems, file="scouts.parquet").because("en")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no table files found" in failing_import_dir(loaded, empty).problems[0].because("en")


def test_report_keeps_the_first_50_problems_and_counts_the_rest(loaded, tmp_path):
    exp = small_export()
    for i in range(120):
        exp.scout("W1", "not a date", scout_id=f"X{i}")
    failure = failing_import(loaded, exp, tmp_path / "bad")
    assert failure.total == 120
    assert len(failure.problems) == 50
    assert [p.row for p in failure.problems] == list(range(2, 52))
    assert "... and 70 more" in failure.report("en")
    assert "…ほか 70 件" in failure.report()


def test_stored_time_zone_must_match(loaded, tmp_path):
    with pytest.raises(ImportFailed, match="imported with time zone Asia/Tokyo"):
        import_export(loaded, small_export().write(tmp_path / "utc"), timezone="UTC")


def failing_import_dir(store: FactStore, directory: Path) -> ImportFailed:
    before = snapshot(store)
    with pytest.raises(ImportFailed) as info:
        import_export(store, directory, timezone=TZ)
    assert snapshot(store) == before
    return info.value


def test_a_version_1_store_is_upgraded_in_place_and_refused_read_only_until_then(tmp_path: Path):
    """Schema 2 adds the monthly ranks; they derive from the stored facts, so an old store upgrades itself."""
    from procert.facts import FactStoreError
    from procert.facts.store import SCHEMA_VERSION, WORKER_INDEXED, worker_index

    exp = Export()
    for wid, amount in (("A", 300), ("B", 500), ("C", 500)):
        exp.worker(wid)
        exp.payment(wid, "2025-03-10T12:00:00+09:00", amount)
    path = tmp_path / "facts.duckdb"
    with FactStore(path) as store:
        import_export(store, exp.write(tmp_path / "e"), timezone="Asia/Tokyo")
        for table in WORKER_INDEXED:  # stores of that time had no worker indexes either
            store.query(f"DROP INDEX {worker_index(table)}")
        store.query("ALTER TABLE monthly_earnings DROP COLUMN month_rank")
        store.set_meta("schema_version", "1")
    with pytest.raises(FactStoreError, match="schema version 1; this procert expects 4"):
        FactStore(path, read_only=True)
    with FactStore(path) as store:
        assert store.meta("schema_version") == SCHEMA_VERSION
        ranks = dict(store.query("SELECT worker_id, month_rank FROM monthly_earnings").fetchall())
        indexes = {r[0] for r in store.query("SELECT index_name FROM duckdb_indexes()").fetchall()}
    assert ranks == {"B": 1, "C": 1, "A": 3}  # ties share the best rank, the next one skips
    assert indexes == {worker_index(t) for t in WORKER_INDEXED}
