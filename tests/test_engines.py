"""Parity of the engines: one marketplace, with the evaluation core's boundary cases, evaluated by the embedded
DuckDB engine, by PostgreSQL and by Apache Spark (local mode, a real JVM) from the same SQL must give identical
rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from procert.demo import generate
from procert.evaluation import evaluate
from procert.evaluation.postgres import evaluate_postgres
from procert.facts import FactStore, import_export
from procert.facts.postgres import load_postgres
from procert.programs import Program, load_program
from tests.conftest import Export
from tests.ledger_support import ledger_url
from tests.test_ledger import pro

PROGRAM = load_program("crowdworks-pro")
PRESETS = [load_program(p) for p in ("crowdworks-pro", "lancers-certified", "coconala-rank")]
#: Each preset as of a date of its cadence (the reference program at two, for the months its ranks read).
CASES = [(PROGRAM, date(2026, 10, 1)), (PROGRAM, date(2026, 7, 1))] + [(p, date(2026, 10, 1)) for p in PRESETS[1:]]
CASE_IDS = [f"{p.id}-{d}" for p, d in CASES]


def boundary_cases() -> Export:
    """Hand-made edges: an average of exactly 4.8, 90 % completion exactly, a window's last second, ties."""
    exp = Export()
    pro(exp, "EDGE-48", reviews=0)
    exp.review("EDGE-48", (5, 5, 5, 5, 4))  # 24 / 5 = 4.8 exactly: passes >= 4.8
    pro(exp, "EDGE-90")
    for i in range(9):
        exp.contract("EDGE-90", f"2026-0{1 + i % 8}-10T00:00:00+09:00")
    exp.contract("EDGE-90", "2026-05-10T00:00:00+09:00", status="cancelled")
    pro(exp, "EDGE-LASTSECOND")
    exp.scout("EDGE-LASTSECOND", "2026-09-30T23:59:59+09:00")  # inside a window ending 2026-10-01 00:00 JST
    exp.scout("EDGE-LASTSECOND", "2026-10-01T00:00:00+09:00")  # outside
    for wid in ("TIE-1", "TIE-2"):
        pro(exp, wid, division="engineer")
    # A quote in an id: single-worker evaluation on DuckDB passes ids as quoted literals.
    pro(exp, "EDGE-O'QUOTE", email="quote@example.jp")
    # Contract version 2 edges, as of 2026-10-01 00:00 JST: an inquiry received exactly 24 hours before and
    # answered exactly at the deadline, one a second later (not counted yet), a login exactly 30 days before.
    pro(exp, "EDGE-INQUIRY", identity_verified="true", last_login_at="2026-09-01T00:00:00+09:00")
    exp.inquiry("EDGE-INQUIRY", "2026-09-30T00:00:00+09:00", "2026-10-01T00:00:00+09:00")
    exp.inquiry("EDGE-INQUIRY", "2026-09-30T00:00:01+09:00", None)
    pro(exp, "EDGE-LOGIN-EARLY", identity_verified="false", last_login_at="2026-08-31T23:59:59+09:00")
    return exp


@pytest.fixture(scope="module")
def marketplace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("parity")
    generate(root / "demo", workers=1500, seed=11, end=date(2026, 11, 29))
    store = FactStore(root / "facts.duckdb")
    import_export(store, root / "demo", timezone=PROGRAM.timezone)
    import_export(store, boundary_cases().write(root / "edges"), timezone=PROGRAM.timezone)
    store.close()
    return root / "facts.duckdb"


@pytest.mark.parametrize(("program", "as_of"), CASES, ids=CASE_IDS)
def test_postgresql_gives_the_same_rows_as_the_embedded_engine(
    marketplace: Path, tmp_path: Path, program: Program, as_of: date
):
    with FactStore(marketplace, read_only=True) as store:
        expected = sorted(evaluate(store, program, as_of).rows(), key=lambda r: r["worker_id"])
        for url in ledger_url("postgresql", tmp_path):
            counts = load_postgres(store, url)
            assert counts["workers"] == len(expected) > 1500
            assert counts["inquiries"] > 1500
            got = evaluate_postgres(url, program, as_of)
    assert [r["worker_id"] for r in got] == [r["worker_id"] for r in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs, mine["worker_id"]
    assert sum(r["certified"] for r in got) > 10
    edges = {r["worker_id"]: r for r in got}
    if program.id == "lancers-certified":
        inquiry = edges["EDGE-INQUIRY"]
        assert (inquiry["response_rate__num"], inquiry["response_rate__den"]) == (1, 1)
        assert (inquiry["recent_login"], edges["EDGE-LOGIN-EARLY"]["recent_login"]) == (True, False)
    if program.id == "coconala-rank":
        assert len({r["level"] for r in got}) == 6  # every level, and none
    if program is PROGRAM and as_of == date(2026, 10, 1):
        assert edges["EDGE-48"]["overall_rating"] == 4.8 and edges["EDGE-48"]["overall_rating_passed"] is True
        assert (edges["EDGE-90"]["completion_rate"], edges["EDGE-90"]["completion_rate_passed"]) == (0.9, True)
        assert edges["EDGE-LASTSECOND"]["scouts"] == 1  # the scout at 00:00 belongs to the next window


@pytest.fixture(scope="module")
def spark():
    from procert.evaluation.spark import spark_session

    with spark_session("local[2]", driver_memory="1g") as session:
        yield session


@pytest.mark.parametrize(("program", "as_of"), CASES, ids=CASE_IDS)
def test_spark_gives_the_same_rows_as_the_embedded_engine(
    marketplace: Path, tmp_path: Path, spark, program: Program, as_of: date
):
    from procert.evaluation.spark import evaluate_spark

    with FactStore(marketplace, read_only=True) as store:
        expected = sorted(evaluate(store, program, as_of).rows(), key=lambda r: r["worker_id"])
    got = evaluate_spark(spark, tmp_path / "parquet", program, as_of, store_path=marketplace)
    assert [r["worker_id"] for r in got] == [r["worker_id"] for r in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs, mine["worker_id"]
    assert sum(r["certified"] for r in got) > 10


def test_spark_refuses_facts_keyed_in_another_time_zone(marketplace: Path, tmp_path: Path, spark):
    from procert.evaluation.spark import evaluate_spark
    from procert.facts import FactStoreError

    other = PROGRAM.model_copy(update={"timezone": "UTC"})
    with pytest.raises(FactStoreError, match="time zone Asia/Tokyo"):
        evaluate_spark(spark, tmp_path / "parquet", other, date(2026, 10, 1), store_path=marketplace)


@pytest.mark.parametrize(
    ("program", "as_of"),
    [(p, date(2026, 10, 1)) for p in PRESETS] + [(p, date(2026, 9, 15)) for p in PRESETS[1:]],
    ids=[f"{p.id}-2026-10-01" for p in PRESETS] + [f"{p.id}-2026-09-15" for p in PRESETS[1:]],
)
def test_single_worker_evaluation_agrees_with_the_full_one_on_duckdb_and_postgresql(
    marketplace: Path, tmp_path: Path, program: Program, as_of: date
):
    """The fast path (one worker, by index or sorted storage, ranks by counting) must give the full run's row. A date
    on the 1st sums earnings from the monthly totals, another one from the payments: both forms are checked."""
    import random

    import psycopg

    from procert.evaluation import evaluate_worker
    from procert.evaluation.postgres import evaluate_worker_postgres
    from procert.facts.postgres import conninfo

    with FactStore(marketplace, read_only=True) as store:
        full = {r["worker_id"]: r for r in evaluate(store, program, as_of).rows()}
        rank = next(c.id for c in program.criteria if "rank" in c.metric or c.metric == "earnings_total")
        ranked = sorted((r for r in full.values() if r[rank] is not None), key=lambda r: r[rank])
        # Every edge case, the best and worst ranked (ties included), and a random sample.
        picks = {w for w in full if not w.startswith("W")} | {r["worker_id"] for r in ranked[:20] + ranked[-20:]}
        picks |= set(random.Random(5).sample(sorted(full), 150))
        for worker_id in sorted(picks):
            assert evaluate_worker(store, program, as_of, worker_id) == full[worker_id], worker_id
        assert evaluate_worker(store, program, as_of, "NOBODY") is None
        for url in ledger_url("postgresql", tmp_path):
            load_postgres(store, url)
            with psycopg.connect(conninfo(url)) as conn:
                for worker_id in sorted(picks):
                    assert evaluate_worker_postgres(conn, program, as_of, worker_id) == full[worker_id], worker_id
                assert evaluate_worker_postgres(conn, program, as_of, "NOBODY") is None


def test_single_worker_evaluation_reads_every_table_through_its_worker_index(marketplace: Path):
    """DuckDB uses an ART index only when the worker is a scan's sole filter: the single-worker form must keep it
    so (one index lookup per table read), or the dashboard's preview falls back to scanning row groups."""
    from procert.evaluation.engine import evaluation_sql
    from procert.facts.store import sql_literal
    from procert.metrics import Period

    sql = evaluation_sql(PROGRAM, Period(date(2026, 10, 1), PROGRAM.timezone), worker_id_param=True)
    with FactStore(marketplace, read_only=True) as store:
        plan = store.query("EXPLAIN ANALYZE " + sql.replace("$1", sql_literal("EDGE-90"))).fetchall()[0][1]
    assert "Sequential Scan" not in plan
    # The worker (status, then profile), contracts, reviews (two ratings), scouts and monthly earnings.
    assert plan.count("Index Scan") == 7


def leave_for(worker_ids: list[str]) -> dict[str, list[tuple[date, date]]]:
    """Leave of every shape for some workers, as of 2026-10-01: inside the windows, over a 12-month window's
    start, two in a year, and one going on at the as-of date."""
    shapes = [
        [(date(2026, 3, 1), date(2026, 3, 20))],
        [(date(2025, 9, 20), date(2025, 10, 10))],
        [(date(2026, 1, 5), date(2026, 1, 9)), (date(2026, 8, 1), date(2026, 8, 31))],
        [(date(2026, 9, 15), date(2026, 10, 15))],
    ]
    return {w: shapes[i % len(shapes)] for i, w in enumerate(worker_ids)}


def away_workers(marketplace: Path, count: int) -> list[str]:
    with FactStore(marketplace, read_only=True) as store:
        return [w for (w,) in store.query(f"SELECT worker_id FROM workers ORDER BY worker_id LIMIT {count}").fetchall()]


@pytest.mark.parametrize("program", PRESETS, ids=[p.id for p in PRESETS])
def test_leave_lengthens_the_same_windows_on_postgresql(marketplace: Path, tmp_path: Path, program: Program):
    as_of = date(2026, 10, 1)
    away = leave_for(away_workers(marketplace, 40))
    with FactStore(marketplace, read_only=True) as store:
        plain = {r["worker_id"]: r for r in evaluate(store, program, as_of).rows()}
        expected = sorted(evaluate(store, program, as_of, away=away).rows(), key=lambda r: r["worker_id"])
        for url in ledger_url("postgresql", tmp_path):
            load_postgres(store, url)
            got = evaluate_postgres(url, program, as_of, away=away)
    assert got == expected
    changed = [r["worker_id"] for r in expected if r != plain[r["worker_id"]]]
    assert changed and set(changed) <= set(away)  # leave changed some rows, and only those of workers away


def test_leave_lengthens_the_same_windows_on_spark(marketplace: Path, tmp_path: Path, spark):
    from procert.evaluation.spark import evaluate_spark

    program, as_of = PRESETS[1], date(2026, 10, 1)  # lancers-certified: a rank share, days and hours windows
    away = leave_for(away_workers(marketplace, 4))
    with FactStore(marketplace, read_only=True) as store:
        expected = sorted(evaluate(store, program, as_of, away=away).rows(), key=lambda r: r["worker_id"])
    got = evaluate_spark(spark, tmp_path / "parquet", program, as_of, store_path=marketplace, away=away)
    assert got == expected
