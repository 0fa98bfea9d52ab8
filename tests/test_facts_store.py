"""The facts store's access paths for one worker: worker indexes kept through imports, prepared statements."""

from __future__ import annotations

from pathlib import Path

import pytest

from procert.facts import FactStore, import_export
from procert.facts.store import PREPARED_PER_CONNECTION, WORKER_INDEXED, sql_literal, worker_index
from tests.conftest import Export, stored_then_refused


def indexes(store: FactStore) -> set[str]:
    return {r[0] for r in store.query("SELECT index_name FROM duckdb_indexes()").fetchall()}


def prepared(store: FactStore) -> set[str]:
    return {r[0] for r in store.query("SELECT name FROM duckdb_prepared_statements()").fetchall()}


def test_a_new_store_and_every_import_keep_one_worker_index_per_table_read_for_one_worker(tmp_path: Path):
    expected = {worker_index(t) for t in WORKER_INDEXED}
    exp = Export()
    exp.worker("A")
    exp.contract("A", "2025-03-10T12:00:00+09:00")
    exp.payment("A", "2025-03-10T12:00:00+09:00", 1000)
    with FactStore(tmp_path / "facts.duckdb") as store:
        assert indexes(store) == expected
        import_export(store, exp.write(tmp_path / "first"), timezone="Asia/Tokyo", replace=True)
        assert indexes(store) == expected
        exp.worker("B")
        exp.contract("B", "2025-04-10T12:00:00+09:00")
        import_export(store, exp.write(tmp_path / "second"), timezone="Asia/Tokyo")  # an upsert
        assert indexes(store) == expected
        # The rebuilt indexes answer for the new rows too.
        found = store.query("SELECT worker_id FROM (SELECT * FROM contracts WHERE worker_id = 'B' OFFSET 0)")
        assert found.fetchall() == [("B",)]


def test_a_refused_bulk_import_leaves_the_facts_and_their_indexes_as_they_were(tmp_path: Path):
    """A whole export drops the worker indexes before its transaction (a transaction that drops one commits
    slowly); refused by a check inside it, the facts roll back and the indexes are built again."""
    from procert.facts import ImportFailed

    good, bad = stored_then_refused()
    with FactStore(tmp_path / "facts.duckdb") as store:
        import_export(store, good.write(tmp_path / "good"), timezone="Asia/Tokyo")
        fingerprint = store.fingerprint()
        with pytest.raises(ImportFailed, match="unknown worker_id 'NOBODY'"):
            import_export(store, bad.write(tmp_path / "bad"), timezone="Asia/Tokyo", replace=True)
        assert store.fingerprint() == fingerprint
        assert indexes(store) == {worker_index(t) for t in WORKER_INDEXED}
        assert store.missing_worker_indexes() == []


def test_a_store_left_without_its_indexes_gets_them_back_when_opened(tmp_path: Path):
    """Imports build the worker indexes after their commit: a store an interrupted import left without them (the
    facts committed, the indexes not yet built) is whole again the next time it is opened for writing."""
    exp = Export()
    exp.worker("A")
    exp.payment("A", "2025-03-10T12:00:00+09:00", 1000)
    with FactStore(tmp_path / "facts.duckdb") as store:
        import_export(store, exp.write(tmp_path / "first"), timezone="Asia/Tokyo")
        for table in WORKER_INDEXED:
            store.query(f"DROP INDEX {worker_index(table)}")
        assert indexes(store) == set()
    with FactStore(tmp_path / "facts.duckdb") as store:
        assert indexes(store) == {worker_index(t) for t in WORKER_INDEXED}


def test_prepared_statements_are_reused_and_the_least_recently_used_released():
    with FactStore() as store:
        store.query("CREATE TABLE t (s VARCHAR, n INTEGER)")
        store.query("INSERT INTO t VALUES ('a', 1), ('b', 2)")
        sqls = [f"SELECT n + {i} FROM t WHERE s = $1" for i in range(PREPARED_PER_CONNECTION + 1)]
        assert store.execute_prepared(sqls[0], ["a"]).fetchall() == [(1,)]
        first = prepared(store)
        assert store.execute_prepared(sqls[0], ["b"]).fetchall() == [(2,)]
        assert prepared(store) == first  # the same statement, not a second one
        for i, sql in enumerate(sqls[1:], start=1):
            assert store.execute_prepared(sql, ["a"]).fetchall() == [(1 + i,)]
        names = prepared(store)
        assert len(names) == PREPARED_PER_CONNECTION
        assert not first & names  # the oldest was released
        assert store.execute_prepared(sqls[0], ["b"]).fetchall() == [(2,)]  # and is prepared again when needed


def test_prepared_statement_arguments_are_literals_whatever_they_hold():
    awkward = ["O'Neil", "x'); DROP TABLE t; --", "back\\slash", "改行\nあり", "nul\x00inside", "", "''"]
    with FactStore() as store:
        store.query("CREATE TABLE t (s VARCHAR)")
        store.query("INSERT INTO t SELECT unnest(?)", [awkward])
        for value in awkward:
            assert store.execute_prepared("SELECT s FROM t WHERE s = $1", [value]).fetchall() == [(value,)]
        assert store.query("SELECT count(*) FROM t").fetchone() == (len(awkward),)


def test_sql_literal_takes_strings_only():
    assert sql_literal("it's") == "'it''s'"
    with pytest.raises(TypeError, match="expected a string, got int"):
        sql_literal(1)  # type: ignore[arg-type]


def test_each_thread_keeps_its_own_cursor(tmp_path: Path):
    import threading

    with FactStore(tmp_path / "facts.duckdb") as store:
        mine = store.thread_cursor()
        assert store.thread_cursor() is mine
        other: list[FactStore] = []
        thread = threading.Thread(target=lambda: other.append(store.thread_cursor()))
        thread.start()
        thread.join()
        assert other[0] is not mine and other[0].con is not mine.con


def test_a_prepared_single_worker_evaluation_sees_facts_imported_after_it(tmp_path: Path):
    """Imports drop and rebuild the worker indexes under a prepared plan: DuckDB must re-plan, not read stale."""
    from datetime import date

    from procert.evaluation import evaluate_worker
    from procert.programs import load_program
    from tests.test_ledger import pro

    program = load_program("crowdworks-pro")
    exp = Export()
    pro(exp, "A")
    with FactStore(tmp_path / "facts.duckdb") as store:
        import_export(store, exp.write(tmp_path / "first"), timezone=program.timezone)
        before = evaluate_worker(store, program, date(2025, 7, 1), "A")
        exp.review("A", 1)  # a bad review: 6 / 10 overall
        import_export(store, exp.write(tmp_path / "second"), timezone=program.timezone)
        after = evaluate_worker(store, program, date(2025, 7, 1), "A")
    assert before is not None and after is not None
    assert (before["overall_rating__num"], before["overall_rating__den"], before["certified"]) == (25, 5, True)
    assert (after["overall_rating__num"], after["overall_rating__den"], after["certified"]) == (30, 10, False)


def test_a_worker_with_many_rows_is_read_by_a_scan_not_row_by_row_through_the_index():
    from procert.facts.store import INDEX_SCAN_MAX_ROWS

    def plan(worker_id: str) -> str:
        sql = f"SELECT count(*) FROM (SELECT * FROM contracts WHERE worker_id = {sql_literal(worker_id)} OFFSET 0)"
        return store.query("EXPLAIN ANALYZE " + sql).fetchall()[0][1]

    with FactStore() as store:
        store.query(
            "INSERT INTO contracts (contract_id, worker_id, kind, status) "
            "SELECT 'C' || i, CASE WHEN i <= ? THEN 'BUSY' ELSE 'CALM' END, 'fixed', 'delivered' FROM range(1, ?) t(i)",
            [INDEX_SCAN_MAX_ROWS + 1, INDEX_SCAN_MAX_ROWS + 5],
        )
        assert "Index Scan" in plan("CALM") and "Sequential Scan" not in plan("CALM")
        assert "Sequential Scan" in plan("BUSY")


def test_duckdb_never_draws_its_progress_bar_on_standard_output(tmp_path):
    """DuckDB prints a progress bar on stdout for queries over two seconds, which would corrupt the JSON or CSV
    procert prints there: every connection of the store, and its cursors, have it off."""
    with FactStore(tmp_path / "facts.duckdb") as store:
        setting = "SELECT current_setting('enable_progress_bar')"
        assert store.query(setting).fetchone()[0] is False
        assert store.cursor().query(setting).fetchone()[0] is False


def test_a_request_begun_before_quick_switches_keeps_reading_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A web request reads on a cursor of the connection it began on; imports may switch in new files meanwhile.
    Closing a connection closes its cursors, so a retired one stays open while it may still be read."""
    import duckdb

    import procert.facts.store as store_module
    from procert.facts import atomic_import

    path = tmp_path / "facts.duckdb"
    exp = Export()
    exp.worker("A")
    atomic_import(path, exp.write(tmp_path / "e0"), timezone="Asia/Tokyo")
    with FactStore(path, read_only=True) as store:
        early = store.thread_cursor()
        for n in range(1, 4):  # three imports in quick succession
            exp.worker(f"W{n}")
            atomic_import(path, exp.write(tmp_path / f"e{n}"), timezone="Asia/Tokyo")
            assert store.reopen_if_replaced()
        assert early.query("SELECT count(*) FROM workers").fetchone() == (1,)  # its own file, still open
        assert store.query("SELECT count(*) FROM workers").fetchone() == (4,)
        # Retired long enough (here at once), connections beyond the last two close.
        monkeypatch.setattr(store_module, "RETIRED_SECONDS", 0.0)
        exp.worker("W4")
        atomic_import(path, exp.write(tmp_path / "e4"), timezone="Asia/Tokyo")
        assert store.reopen_if_replaced()
        assert len(store._retired) == 2
        with pytest.raises(duckdb.ConnectionException):
            early.query("SELECT count(*) FROM workers")
        assert store.query("SELECT count(*) FROM workers").fetchone() == (5,)
