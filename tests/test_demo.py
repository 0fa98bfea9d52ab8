"""The demo generator: valid against the contract, reproducible, skewed, and in mixed time notations."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from procert.demo import generate
from procert.evaluation import evaluate
from procert.facts import TABLE_ORDER, TABLES, FactStore, import_export
from procert.programs import load_program


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("demo")
    generate(directory, workers=3000, seed=11, end=date(2025, 3, 31))
    return directory


def test_demo_export_imports_cleanly_and_certifies_some(demo: Path, tmp_path: Path):
    with FactStore(tmp_path / "f.duckdb") as store:
        report = import_export(store, demo, timezone="Asia/Tokyo")
        assert set(report.rows) == set(TABLE_ORDER)
        summary = evaluate(store, load_program("crowdworks-pro"), date(2025, 1, 1)).summary()
    assert summary.workers == 3000
    assert 0 < summary.certified < summary.eligible < summary.workers
    assert all(0 < passed < 3000 for passed in summary.passed.values())


def test_same_seed_same_data_and_another_seed_differs(demo: Path, tmp_path: Path):
    again = generate(tmp_path / "again", workers=3000, seed=11, end=date(2025, 3, 31))
    for table in TABLE_ORDER:
        assert (demo / f"{table}.csv").read_bytes() == (again.directory / f"{table}.csv").read_bytes()
    other = generate(tmp_path / "other", workers=3000, seed=12, end=date(2025, 3, 31))
    assert (other.directory / "contracts.csv").read_bytes() != (demo / "contracts.csv").read_bytes()


def test_columns_follow_the_contract_and_timestamps_mix_notations(demo: Path):
    contracts = pacsv.read_csv(demo / "contracts.csv").to_pydict()
    workers = pacsv.read_csv(
        demo / "workers.csv",
        convert_options=pacsv.ConvertOptions(column_types={"profile_text": "string", "self_pr_text": "string"}),
    ).to_pydict()
    assert list(workers) == list(TABLES["workers"].column_names)
    started = contracts["started_at"]
    assert any(s.endswith("+09:00") for s in started)
    assert any(s.endswith("Z") for s in started)
    assert any(len(s) == 19 for s in started)  # naive: Japan time
    assert any(p == "\u3000" for p in workers["profile_text"])  # full-width blank profiles exist
    assert {"writer", "designer", "business", "engineer"} == set(workers["division"])


def test_activity_is_skewed(demo: Path):
    per_worker: dict[str, int] = {}
    for wid in pacsv.read_csv(demo / "contracts.csv").column("worker_id").to_pylist():
        per_worker[wid] = per_worker.get(wid, 0) + 1
    counts = sorted(per_worker.values())
    mean = sum(counts) / 3000
    assert 12 < mean < 30  # about 20 contracts per worker
    assert counts[-1] > 10 * counts[len(counts) // 2]  # the busiest worker does far more than the median one


def test_parquet_format(tmp_path: Path):
    summary = generate(tmp_path, workers=50, seed=1, end=date(2025, 1, 1), fmt="parquet")
    assert pq.read_table(tmp_path / "workers.parquet").num_rows == 50 == summary.rows["workers"]
    with pytest.raises(ValueError, match="format must be csv or parquet"):
        generate(tmp_path, workers=5, fmt="xlsx")
