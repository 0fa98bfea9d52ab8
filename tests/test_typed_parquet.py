"""Parquet columns in their own types (issue 16): an export whose integers, booleans and timestamps are typed
imports exactly like its CSV twin, is checked in those types (ranges, years) with the file, row and column of
each problem, and never parses them back from text."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from procert.facts import FactStore, ImportFailed, import_export
from tests.conftest import Export
from tests.test_hardening_import import only_problem
from tests.test_import import TZ, failing_import, small_export, snapshot


def rich_export() -> Export:
    """Every typed kind, with values at the edges: a zero amount, ratings 1 and 5, a refund, an optional boolean
    left empty, a timestamp at a month's first instant in Japan time (still the previous month in UTC)."""
    exp = small_export()
    exp.rows["workers"][0] |= {"identity_verified": "true", "last_login_at": "2024-06-01T00:00:00+09:00"}
    exp.rows["workers"][1] |= {"identity_verified": None, "last_login_at": None}
    cid = exp.contract("W2", None, status="active", amount_jpy=0, contract_id="C2")
    exp.review("W2", (1, 5, 3, 4, 2), contract_id=cid, review_id="R2", created_at="2024-06-01T00:00:00+09:00")
    exp.payment("W2", "2024-06-01T00:00:00+09:00", -300, contract_id=cid, payment_id="P2")
    exp.inquiry("W1", "2024-05-01T10:00:00+09:00", "2024-05-01T10:30:00+09:00", inquiry_id="Q1")
    exp.inquiry("W2", "2024-05-01T10:00:00+09:00", None, inquiry_id="Q2")
    return exp


def stored(store: FactStore) -> dict[str, list[tuple]]:
    return snapshot(store) | {
        "inquiries": store.query("SELECT * FROM inquiries ORDER BY ALL").fetchall(),
        "monthly_earnings": store.query("SELECT * FROM monthly_earnings ORDER BY ALL").fetchall(),
    }


def test_a_typed_parquet_export_stores_exactly_what_its_csv_twin_stores(tmp_path: Path):
    directory = rich_export().write(tmp_path / "typed", "typed-parquet")
    schema = pq.read_schema(directory / "contracts.parquet")
    assert schema.field("amount_jpy").type == pa.int64()
    assert schema.field("closed_at").type == pa.timestamp("us", tz="UTC")
    assert pq.read_schema(directory / "workers.parquet").field("identity_verified").type == pa.bool_()
    with FactStore(tmp_path / "csv.duckdb") as from_csv, FactStore(tmp_path / "typed.duckdb") as from_typed:
        import_export(from_csv, rich_export().write(tmp_path / "csv"), timezone=TZ)
        import_export(from_typed, directory, timezone=TZ)
        expected = stored(from_csv)
        assert stored(from_typed) == expected
    # The hand-computed facts: the payment at 2024-06-01 00:00 in Japan is 2024-05-31 15:00 UTC, June's money.
    assert (
        "P2",
        "W2",
        "C2",
        datetime(2024, 5, 31, 15),
        -300,
        2024 * 12 + 5,
    ) in expected["payments"]
    # A boolean left empty is stored as false, a typed true as true.
    with FactStore(tmp_path / "typed.duckdb") as from_typed:
        verified = from_typed.query("SELECT worker_id, identity_verified FROM workers ORDER BY 1").fetchall()
    assert verified == [("W1", True), ("W2", False)]


def test_a_naive_parquet_timestamp_is_wall_clock_time_in_the_programs_zone(store: FactStore, tmp_path: Path):
    exp = small_export()
    exp.rows["payments"][0]["paid_at"] = "2024-06-01T00:30:00"  # every paid_at naive: a TIMESTAMP column
    directory = exp.write(tmp_path / "naive", "typed-parquet")
    assert pq.read_schema(directory / "payments.parquet").field("paid_at").type == pa.timestamp("us")
    import_export(store, directory, timezone=TZ)
    assert store.query("SELECT paid_at, paid_month FROM payments").fetchall() == [
        (datetime(2024, 5, 31, 15, 30), 2024 * 12 + 5)
    ]


def test_typed_values_out_of_range_are_refused_with_row_column_and_value(store: FactStore, tmp_path: Path):
    import_export(store, small_export().write(tmp_path / "first"), timezone=TZ)
    exp = small_export()
    exp.rows["reviews"][0]["quality"] = 6
    exp.rows["contracts"][0]["amount_jpy"] = -1
    exp.rows["payments"][0]["amount_jpy"] = 10**12 + 1
    exp.rows["scouts"][0]["sent_at"] = "1899-12-31T14:59:59+00:00"  # 23:59:59 in Japan
    exp.rows["workers"][1]["registered_at"] = None
    failure = failing_import(store, exp, tmp_path / "bad", fmt="typed-parquet")
    assert only_problem(failure, file="reviews.parquet", row=1, column="quality") == (
        "must be an integer from 1 to 5 (got '6')"
    )
    assert only_problem(failure, file="contracts.parquet", row=1, column="amount_jpy") == "must be ≥ 0 (got '-1')"
    assert only_problem(failure, file="payments.parquet", row=1, column="amount_jpy") == (
        "must be ≤ 1,000,000,000,000 (got '1000000000001')"
    )
    assert only_problem(failure, file="scouts.parquet", row=1, column="sent_at").startswith(
        "the year must be from 1900 to 2999 (got '1899-12-31 23:59:59"
    )
    assert only_problem(failure, file="workers.parquet", row=2, column="registered_at") == "is empty"
    assert failure.total == 5


def test_the_exact_bounds_of_typed_columns_pass(store: FactStore, tmp_path: Path):
    exp = small_export()
    exp.rows["reviews"][0] |= {"skill": 1, "quality": 5}
    exp.rows["payments"][0]["amount_jpy"] = 10**12
    exp.rows["scouts"][0]["sent_at"] = "1900-01-01T00:00:00+09:00"  # still 1899 in UTC: the program's zone counts
    import_export(store, exp.write(tmp_path / "edges", "typed-parquet"), timezone=TZ)
    assert store.query("SELECT amount_jpy FROM payments").fetchall() == [(10**12,)]
    assert store.query("SELECT sent_at FROM scouts").fetchall() == [(datetime(1899, 12, 31, 15),)]


def write_columns(directory: Path, base: Export, changed: dict[str, dict[str, pa.Array]]) -> None:
    """Write a typed export with some columns of some tables in other Parquet types."""
    base.write(directory, "typed-parquet")
    for table, columns in changed.items():
        data = pq.read_table(directory / f"{table}.parquet")
        for name, array in columns.items():
            data = data.set_column(data.schema.get_field_index(name), name, array)
        pq.write_table(data, directory / f"{table}.parquet")


def test_other_parquet_types_are_checked_as_their_text(store: FactStore, tmp_path: Path):
    """A rating stored as a double is not an integer (4.5 must not round to 5); an unsigned amount beyond the
    64-bit range is reported by its bound; an id stored as an integer is its digits."""
    import_export(store, small_export().write(tmp_path / "first"), timezone=TZ)
    directory = tmp_path / "odd"
    odd = {
        "reviews": {"quality": pa.array([4.5], pa.float64())},
        "payments": {"amount_jpy": pa.array([2**64 - 1], pa.uint64())},
    }
    write_columns(directory, small_export(), odd)
    before = snapshot(store)
    with pytest.raises(ImportFailed) as info:
        import_export(store, directory, timezone=TZ)
    assert snapshot(store) == before
    assert only_problem(info.value, file="reviews.parquet", row=1, column="quality") == "not an integer (got '4.5')"
    assert only_problem(info.value, file="payments.parquet", row=1, column="amount_jpy") == (
        "must be ≤ 1,000,000,000,000 (got '18446744073709551615')"
    )

    exp = Export()
    exp.worker("1001")
    ids = tmp_path / "ids"
    write_columns(ids, exp, {"workers": {"worker_id": pa.array([1001], pa.int64())}})
    import_export(store, ids, timezone=TZ)
    assert store.query("SELECT worker_id FROM workers WHERE worker_id = '1001'").fetchall() == [("1001",)]


def test_a_parquet_column_named_file_row_number_keeps_the_row_numbers(store: FactStore, tmp_path: Path):
    exp = small_export()
    exp.rows["reviews"][0]["skill"] = 0
    directory = exp.write(tmp_path / "own", "typed-parquet")
    data = pq.read_table(directory / "reviews.parquet")
    pq.write_table(data.append_column("file_row_number", pa.array([77])), directory / "reviews.parquet")
    with pytest.raises(ImportFailed) as info:
        import_export(store, directory, timezone=TZ)
    assert only_problem(info.value, file="reviews.parquet", row=1, column="skill").startswith("must be an integer")


def test_a_parquet_file_whose_pages_are_broken_is_reported_and_nothing_is_stored(store: FactStore, tmp_path: Path):
    import_export(store, small_export().write(tmp_path / "first"), timezone=TZ)
    exp = Export()
    exp.worker("W1")
    for n in range(2000):
        exp.scout("W1", "2024-05-03T00:00:00+09:00", scout_id=f"S{n:05d}", client_id=f"K{n * 7919 % 100003}")
    directory = exp.write(tmp_path / "broken", "typed-parquet", tables=("scouts",))
    path = directory / "scouts.parquet"
    raw = bytearray(path.read_bytes())
    # The footer (schema) stays readable; the column data in the middle is overwritten.
    middle = len(raw) // 3
    raw[middle : middle + 64] = b"\xff" * 64
    path.write_bytes(bytes(raw))
    before = snapshot(store)
    with pytest.raises(ImportFailed) as info:
        import_export(store, directory, timezone=TZ)
    assert snapshot(store) == before
    assert only_problem(info.value, file="scouts.parquet").startswith("cannot be read as Parquet")


def test_date_and_nanosecond_columns_mean_what_their_text_would(tmp_path: Path):
    """A Parquet ``date`` is midnight in the program's zone, as the text ``2020-01-01`` is; a naive nanosecond
    timestamp is wall-clock time there, like a naive microsecond one."""
    exp = small_export()
    exp.rows["workers"][0]["registered_at"] = "2020-01-01"
    exp.rows["workers"][1]["registered_at"] = "2020-01-02"
    exp.rows["payments"][0]["paid_at"] = "2024-06-01T00:30:00"
    directory = tmp_path / "dated"
    changed = {
        "workers": {"registered_at": pa.array([date(2020, 1, 1), date(2020, 1, 2)], pa.date32())},
        "payments": {"paid_at": pa.array([datetime(2024, 6, 1, 0, 30)], pa.timestamp("ns"))},
    }
    write_columns(directory, exp, changed)
    with FactStore(tmp_path / "csv.duckdb") as from_csv, FactStore(tmp_path / "dated.duckdb") as from_dates:
        import_export(from_csv, exp.write(tmp_path / "csv"), timezone=TZ)
        import_export(from_dates, directory, timezone=TZ)
        assert stored(from_dates) == stored(from_csv)
        assert from_dates.query("SELECT registered_at FROM workers ORDER BY 1").fetchall() == [
            (datetime(2019, 12, 31, 15),),
            (datetime(2020, 1, 1, 15),),
        ]
