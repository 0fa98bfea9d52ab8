"""Data contract version 2: two optional worker columns, the optional inquiries table, what a store records it was
given, and version 1 exports and stores still working."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from procert.facts import FactStore, import_export
from procert.facts.store import SCHEMA_VERSION
from tests.test_import import TZ, failing_import, only, small_export


def test_a_version_1_export_imports_unchanged_and_supplies_none_of_the_new_facts(store: FactStore, tmp_path: Path):
    import_export(store, small_export().write(tmp_path / "v1"), timezone=TZ)
    assert store.provided() == set()
    assert store.missing_facts({"workers.identity_verified", "inquiries"}) == {"workers.identity_verified", "inquiries"}
    # Empty means false: stored workers are not verified, never logged in.
    assert store.query("SELECT identity_verified, last_login_at FROM workers").fetchall() == [(False, None)] * 2


def test_new_columns_and_inquiries_are_stored_in_utc_and_recorded_as_supplied(store: FactStore, tmp_path: Path):
    exp = small_export()
    exp.rows["workers"][0].update(identity_verified="TRUE", last_login_at="2026-11-30T23:59:59+09:00")
    exp.rows["workers"][1].update(identity_verified="", last_login_at="")
    exp.inquiry("W1", "2026-11-01T10:00:00+09:00", "2026-11-02T10:00:00+09:00", inquiry_id="Q1")
    exp.inquiry("W2", "2026-11-01T10:00:00Z", None, inquiry_id="Q2")
    import_export(store, exp.write(tmp_path / "v2"), timezone=TZ)
    assert store.provided() == {"workers.identity_verified", "workers.last_login_at", "inquiries"}
    assert store.query("SELECT worker_id, identity_verified, last_login_at FROM workers ORDER BY 1").fetchall() == [
        ("W1", True, datetime(2026, 11, 30, 14, 59, 59)),
        ("W2", False, None),
    ]
    assert store.query("SELECT * FROM inquiries ORDER BY 1").fetchall() == [
        ("Q1", "W1", "K1", datetime(2026, 11, 1, 1, 0), datetime(2026, 11, 2, 1, 0), 24 * 3600 * 10**6),
        ("Q2", "W2", "K1", datetime(2026, 11, 1, 10, 0), None, None),
    ]
    # An upsert of workers without the new columns keeps the stored values and what was supplied.
    plain = small_export()
    import_export(store, plain.write(tmp_path / "again", tables=("workers",)), timezone=TZ)
    assert store.query("SELECT identity_verified FROM workers WHERE worker_id = 'W1'").fetchall() == [(True,)]
    assert "workers.identity_verified" in store.provided()
    # A full replace without inquiries empties the table and no longer counts it as supplied.
    import_export(store, plain.write(tmp_path / "full"), timezone=TZ, replace=True)
    assert store.counts()["inquiries"] == 0
    assert store.provided() == set()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_bad_booleans_inquiries_and_replies_before_receipt_are_refused_with_row_and_column(
    store: FactStore, tmp_path: Path, fmt: str
):
    import_export(store, small_export().write(tmp_path / "first"), timezone=TZ)
    exp = small_export()
    exp.rows["workers"][1]["identity_verified"] = "yes"
    exp.inquiry("W1", "2026-11-01T10:00:00+09:00", "2026-11-01T09:59:59+09:00")
    exp.inquiry("NOBODY", "2026-11-01T10:00:00+09:00", None)
    exp.inquiry("W2", "yesterday", None)
    failure = failing_import(store, exp, tmp_path / "bad", fmt)
    ext = fmt
    assert "must be true or false (got 'yes')" in only(failure.problems, file=f"workers.{ext}", row=2).because("en")
    replied = only(failure.problems, file=f"inquiries.{ext}", row=1, column="replied_at")
    assert replied.because("en") == "is before received_at"
    assert "unknown worker_id 'NOBODY'" in only(failure.problems, file=f"inquiries.{ext}", row=2).because("en")
    assert "not an ISO 8601 timestamp" in only(failure.problems, file=f"inquiries.{ext}", row=3).because("en")
    assert store.provided() == set()


def test_a_reply_at_the_instant_of_receipt_is_valid(store: FactStore, tmp_path: Path):
    exp = small_export()
    exp.inquiry("W1", "2026-11-01T10:00:00+09:00", "2026-11-01T01:00:00Z")
    import_export(store, exp.write(tmp_path / "e"), timezone=TZ)
    assert store.counts()["inquiries"] == 1


def test_a_version_2_store_upgrades_in_place_keeping_its_workers(tmp_path: Path):
    path = tmp_path / "facts.duckdb"
    with FactStore(path) as store:
        import_export(store, small_export().write(tmp_path / "e"), timezone=TZ)
        # Make it look like a version 2 store: no new columns, no inquiries table, no record of what was supplied.
        store.query("DROP INDEX workers_by_worker")
        store.query("ALTER TABLE workers DROP COLUMN identity_verified")
        store.query("ALTER TABLE workers DROP COLUMN last_login_at")
        store.query("ALTER TABLE workers DROP COLUMN display_name_kana")
        store.query("ALTER TABLE workers DROP COLUMN skills")
        store.query("DROP TABLE inquiries")
        store.query("DELETE FROM procert_meta WHERE key = 'provided'")
        store.set_meta("schema_version", "2")
        before = store.query("SELECT worker_id, display_name, has_profile_text FROM workers ORDER BY 1").fetchall()
    with FactStore(path) as store:
        assert store.meta("schema_version") == SCHEMA_VERSION == "4"
        assert (
            store.query("SELECT worker_id, display_name, has_profile_text FROM workers ORDER BY 1").fetchall() == before
        )
        assert store.query("SELECT DISTINCT identity_verified FROM workers").fetchall() == [(False,)]
        assert store.counts()["inquiries"] == 0
        assert store.provided() == {"workers.email", "workers.locale"}
        columns = [r[0] for r in store.query("DESCRIBE workers").fetchall()]
    assert columns.index("last_login_at") < columns.index("has_profile_text")  # the contract's order, then derived


def test_the_demo_generator_fills_the_new_facts(tmp_path: Path):
    from procert.demo.generator import generate

    summary = generate(tmp_path / "demo", workers=3000, seed=5)
    with FactStore(tmp_path / "facts.duckdb") as store:
        import_export(store, summary.directory, timezone=TZ)
        verified, never, late, unanswered = store.query(
            """SELECT avg(CASE WHEN identity_verified THEN 1 ELSE 0 END),
                      avg(CASE WHEN last_login_at IS NULL THEN 1 ELSE 0 END),
                      (SELECT avg(CASE WHEN replied_at > received_at + INTERVAL 24 HOUR THEN 1 ELSE 0 END)
                       FROM inquiries WHERE replied_at IS NOT NULL),
                      (SELECT avg(CASE WHEN replied_at IS NULL THEN 1 ELSE 0 END) FROM inquiries)
               FROM workers"""
        ).fetchone()
    assert summary.rows["inquiries"] > 3000
    assert 0.8 < verified < 0.9  # most workers verified
    assert 0.01 < never < 0.06  # a few never logged in
    assert 0.02 < late < 0.3 and 0.04 < unanswered < 0.12  # most replies in time, some late, some never


def test_a_version_3_store_gains_the_reading_and_skills_columns(tmp_path: Path):
    path = tmp_path / "facts.duckdb"
    with FactStore(path) as store:
        import_export(store, small_export().write(tmp_path / "e"), timezone=TZ)
        store.query("DROP INDEX workers_by_worker")
        store.query("ALTER TABLE workers DROP COLUMN display_name_kana")
        store.query("ALTER TABLE workers DROP COLUMN skills")
        store.set_meta("schema_version", "3")
        provided = store.provided()
    with FactStore(path) as store:
        assert store.meta("schema_version") == "4" and store.provided() == provided
        assert store.query("SELECT DISTINCT display_name_kana, skills FROM workers").fetchall() == [(None, None)]


def test_readings_and_skills_are_imported_and_read_back(store: FactStore, tmp_path: Path):
    exp = small_export()
    for row in exp.rows["workers"]:
        row.update({"display_name_kana": "ナカムラ ケン", "skills": "Python; FastAPI ;;AWS"})
    import_export(store, exp.write(tmp_path / "e"), timezone=TZ)
    facts = store.worker(exp.rows["workers"][0]["worker_id"])
    assert facts is not None
    assert (facts.display_name_kana, facts.skills) == ("ナカムラ ケン", ("Python", "FastAPI", "AWS"))
