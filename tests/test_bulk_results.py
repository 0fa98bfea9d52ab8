"""Run results written at bulk speed (COPY on PostgreSQL, executemany on SQLite) are stored exactly as
SQLAlchemy's own insert stores them: the same values read back, the same JSON text in the database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import insert, select, text

from procert.ledger import session_scope
from procert.ledger.bulk import RESULT_COLUMNS, write_results
from procert.ledger.models import Run, RunResult


def results(run_id: int) -> list[dict]:
    rows = []
    for i in range(12):
        rows.append(
            {
                "run_id": run_id,
                "worker_id": f"W{i:03d}",
                "division": "writer" if i % 2 else "デザイナー",
                "status": "active",
                "evaluated": i % 3 == 0,
                "certified": i % 4 == 0,
                "certified_since": date(2026, 1 + i % 12, 1) if i % 4 == 0 else None,
                "level": "gold" if i % 5 == 0 else None,
                "grace_cycles": i % 3,
                "at_risk": i == 7,
                "values": {"completion_rate": 0.9 + i / 1000, "reviews": i, "rank": None, "名前": '佐藤\t"x"\\'},
                "passed": {"completion_rate": True, "reviews": i > 3},
                "forecast": None
                if i == 2
                else {"as_of": "2026-12-01", "at_risk": ["reviews"] if i == 7 else [], "values": None},
                "leave": None
                if i != 5
                else {"on_leave": True, "lengthened": False, "spans": [["2026-11-01", "2026-11-30"]]},
            }
        )
    return rows


def new_run(session, as_of: date) -> int:
    now = datetime(2026, 12, 1, 3, 0)
    run = Run(
        program_id="p",
        program_version=1,
        as_of=as_of,
        facts_fingerprint="f",
        started_at=now,
        finished_at=now,
        evaluation_seconds=0.1,
        workers=12,
        certified=3,
        counts={},
        actor="test",
    )
    session.add(run)
    session.flush()
    return run.id


def test_bulk_results_are_stored_as_the_orm_stores_them(engine):
    with session_scope(engine, write=True) as session:
        bulk_run, orm_run = new_run(session, date(2026, 11, 1)), new_run(session, date(2026, 12, 1))
        write_results(session, results(bulk_run))
        session.execute(insert(RunResult), results(orm_run))
    with session_scope(engine) as session:

        def read(run_id: int) -> list[dict]:
            found = session.scalars(select(RunResult).where(RunResult.run_id == run_id).order_by(RunResult.worker_id))
            return [{c: getattr(r, c) for c in RESULT_COLUMNS if c != "run_id"} for r in found]

        bulk, orm = read(bulk_run), read(orm_run)
        assert len(bulk) == 12 and bulk == orm
        assert bulk == [{k: v for k, v in r.items() if k != "run_id"} for r in results(bulk_run)]
        # The stored text of the JSON columns, NULLs included, is the same on either path.
        raw = "SELECT worker_id, {c} FROM run_results WHERE run_id = :run ORDER BY worker_id"
        for column in ("values", "passed", "forecast", "leave"):
            quoted = f'"{column}"'
            as_text = f"CAST({quoted} AS TEXT)"
            got = session.execute(text(raw.format(c=as_text)), {"run": bulk_run}).all()
            want = session.execute(text(raw.format(c=as_text)), {"run": orm_run}).all()
            assert got == want, column
