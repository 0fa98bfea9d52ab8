"""Where an import builds its typed rows: temporary tables when the files fit in its memory limit, a scratch
database file beside the store when they do not (temporary tables spill uncompressed; see
procert.facts.importer._typed_rows_home). Either way the stored facts are the same and nothing is left behind."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import procert.facts.importer as importer
from procert.demo import generate
from procert.facts import FactStore, ImportFailed, import_export
from procert.facts.files import staged_bytes
from procert.i18n import Message
from tests.conftest import Export, stored_then_refused


def _home_of_typed_rows(store: FactStore, seen: dict[str, object]):
    """A progress callback noting, while the contracts are checked, which database holds their typed rows and
    whether the scratch file exists."""

    def step(message: Message) -> None:
        if message.key == "step_checking_file" and message.values["file"] in ("contracts.parquet", "contracts.csv"):
            found = store.con.execute(
                "SELECT database_name FROM duckdb_tables() WHERE table_name = 'typed_contracts'"
            ).fetchall()
            seen["database"] = [row[0] for row in found]
            assert store.path is not None
            seen["scratch"] = store.path.with_name(store.path.name + ".staging").exists()

    return step


def _left_behind(store: FactStore) -> tuple[list[str], str, bool]:
    assert store.path is not None
    databases = sorted(row[0] for row in store.con.execute("SELECT database_name FROM duckdb_databases()").fetchall())
    search_path = str(store.con.execute("SELECT current_setting('search_path')").fetchone()[0])  # type: ignore[index]
    scratch = store.path.with_name(store.path.name + ".staging")
    return databases, search_path, scratch.exists() or scratch.with_name(scratch.name + ".wal").exists()


def _monthly(store: FactStore) -> tuple[int, int]:
    row = store.con.execute("SELECT count(*), bit_xor(hash(m)) FROM monthly_earnings m").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_a_large_import_builds_its_typed_rows_in_a_scratch_file_and_stores_the_same_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    export = tmp_path / "export"
    generate(export, workers=300, seed=5, end=date(2025, 6, 30), fmt="parquet")
    with FactStore(tmp_path / "temp" / "facts.duckdb") as in_temp:
        seen_temp: dict[str, object] = {}
        import_export(in_temp, export, timezone="Asia/Tokyo", progress=_home_of_typed_rows(in_temp, seen_temp))
        expected = in_temp.fingerprint(), _monthly(in_temp)
    # Under a memory limit, files larger than a share of it are staged in the scratch file: with the share at
    # zero, every import is one.
    monkeypatch.setattr(importer, "STAGING_SHARE", 0.0)
    with FactStore(tmp_path / "staged" / "facts.duckdb", memory_limit="2GB") as staged:
        seen: dict[str, object] = {}
        import_export(staged, export, timezone="Asia/Tokyo", progress=_home_of_typed_rows(staged, seen))
        assert seen == {"database": [importer.STAGING_DATABASE], "scratch": True}
        assert (staged.fingerprint(), _monthly(staged)) == expected
        assert _left_behind(staged) == (sorted(["facts", "system", "temp"]), "", False)
    # Without a memory limit nothing is staged on disk, whatever the share.
    assert seen_temp == {"database": ["temp"], "scratch": False}


def test_an_import_that_fits_in_its_memory_limit_uses_temporary_tables(tmp_path: Path):
    exp = Export()
    exp.worker("A")
    exp.contract("A", "2025-03-10T12:00:00+09:00")
    with FactStore(tmp_path / "facts.duckdb", memory_limit="2GB") as store:
        seen: dict[str, object] = {}
        import_export(
            store, exp.write(tmp_path / "in"), timezone="Asia/Tokyo", progress=_home_of_typed_rows(store, seen)
        )
        assert seen == {"database": ["temp"], "scratch": False}


def test_a_refused_large_import_stores_nothing_and_leaves_no_scratch_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(importer, "STAGING_SHARE", 0.0)
    good, bad = stored_then_refused()
    with FactStore(tmp_path / "facts.duckdb", memory_limit="1GB") as store:
        import_export(store, good.write(tmp_path / "good"), timezone="Asia/Tokyo")
        fingerprint = store.fingerprint()
        with pytest.raises(ImportFailed, match="unknown worker_id 'NOBODY'"):
            import_export(store, bad.write(tmp_path / "bad"), timezone="Asia/Tokyo", replace=True)
        assert store.fingerprint() == fingerprint
        assert _left_behind(store) == (sorted(["facts", "system", "temp"]), "", False)
        # The connection is as before: the next import works.
        good.worker("B")
        import_export(store, good.write(tmp_path / "again"), timezone="Asia/Tokyo")
        assert store.con.execute("SELECT count(*) FROM workers").fetchone() == (2,)


def test_a_scratch_file_left_by_a_killed_import_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(importer, "STAGING_SHARE", 0.0)
    (tmp_path / "facts.duckdb.staging").write_bytes(b"not a database: what a killed import left")
    exp = Export()
    exp.worker("A")
    with FactStore(tmp_path / "facts.duckdb", memory_limit="1GB") as store:
        import_export(store, exp.write(tmp_path / "in"), timezone="Asia/Tokyo")
        assert store.con.execute("SELECT worker_id FROM workers").fetchall() == [("A",)]
        assert _left_behind(store)[2] is False


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("2GB", 2_000_000_000),
        ("1.5GiB", 3 * 2**29),
        ("64 MB", 64_000_000),
        ("256mib", 256 * 2**20),
        (None, None),  # DuckDB's default: no limit of procert's
    ],
)
def test_the_memory_limit_is_read_as_duckdb_reads_it(limit: str | None, expected: int | None):
    with FactStore(memory_limit=limit) as store:
        assert store.memory_limit_bytes == expected
        if limit is not None:  # DuckDB's own reading of it, as it prints it: cut to one decimal (2GB: "1.8 GiB")
            shown = str(store.con.execute("SELECT current_setting('memory_limit')").fetchone()[0])  # type: ignore[index]
            number, unit = shown.split()
            assert expected is not None
            in_unit = expected / {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[unit]
            assert float(number) <= in_unit < float(number) + 0.1


def test_staged_bytes_reads_a_parquet_footer_and_a_csv_size(tmp_path: Path):
    exp = Export()
    exp.worker("A")
    exp.contract("A", "2025-03-10T12:00:00+09:00")
    parquet = exp.write(tmp_path / "pq", "parquet") / "contracts.parquet"
    csv = exp.write(tmp_path / "csv") / "contracts.csv"
    with FactStore() as store:
        import pyarrow.parquet as pq

        footer = pq.ParquetFile(parquet).metadata
        uncompressed = sum(
            footer.row_group(g).column(c).total_uncompressed_size
            for g in range(footer.num_row_groups)
            for c in range(footer.num_columns)
        )
        assert staged_bytes(store.con, parquet) == uncompressed > 0
        assert staged_bytes(store.con, csv) == csv.stat().st_size
        (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
        assert staged_bytes(store.con, tmp_path / "broken.parquet") == 0
