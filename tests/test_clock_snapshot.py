"""The live and forecast clocks from the server's snapshot: for every worker of a demo marketplace, with declared
leave (past, current, ahead), the same rows as evaluating the worker alone, and the same status API answers as
with the snapshot off; never a snapshot of another day, facts version or state of leave."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from procert.core import Procert
from procert.demo import generate
from procert.evaluation import evaluate_worker
from procert.facts import FactStore, import_export
from procert.ledger import (
    NotifyOptions,
    away_by_worker,
    create_api_key,
    declare_leave,
    make_engine,
    record_run,
    session_scope,
    upgrade,
)
from procert.ledger.leave import list_leaves
from procert.metrics import merge_away
from procert.programs import load_program
from procert.web.clock_snapshot import ClockKey, ClockSnapshots
from tests.web_support import web_app

SECRET = secrets.token_urlsafe(32)
PROGRAM = load_program("crowdworks-pro")
TODAY = Procert.today_in(PROGRAM)  # the server's clock: the live clock evaluates today
RUN = PROGRAM.cadence.latest_on_or_before(TODAY)


@pytest.fixture(scope="module")
def marketplace(tmp_path_factory: pytest.TempPathFactory):
    """300 demo workers, a run as of RUN, and leave for three of them: one over, one now, one ahead."""
    root = tmp_path_factory.mktemp("clocks")
    export = generate(root / "export", workers=300, seed=12, end=TODAY).directory
    engine = make_engine(f"sqlite:///{root / 'ledger.sqlite'}")
    upgrade(engine)
    with FactStore(root / "facts.duckdb") as store:
        import_export(store, export, timezone=PROGRAM.timezone)
        with session_scope(engine, write=True) as session:
            record_run(session, store=store, program=PROGRAM, as_of=RUN, actor="t", notify=NotifyOptions(enabled=False))
        ids = [r[0] for r in store.query("SELECT worker_id FROM workers ORDER BY worker_id").fetchall()]
    spans = [
        (TODAY - timedelta(days=60), TODAY - timedelta(days=20)),
        (TODAY - timedelta(days=10), TODAY + timedelta(days=30)),
        (TODAY + timedelta(days=20), TODAY + timedelta(days=50)),
    ]
    with session_scope(engine, write=True) as session:
        for worker_id, (first, last) in zip(ids[:3], spans, strict=True):
            declare_leave(
                session,
                program=PROGRAM,
                worker_id=worker_id,
                starts_on=first,
                ends_on=last,
                category="illness",
                actor="admin:t",
                by_worker=False,
                today=first,
            )
    yield root, engine, ids
    engine.dispose()


def test_every_worker_reads_the_same_clocks_from_the_snapshot_as_evaluated_alone(marketplace):
    root, engine, ids = marketplace

    def away(day: date):
        with session_scope(engine) as session:
            return away_by_worker(session, program_id=PROGRAM.id, through=day)

    with FactStore(root / "facts.duckdb", read_only=True) as store:
        for today in (TODAY, RUN):
            snapshots = ClockSnapshots(PROGRAM, away)
            key = ClockKey(generation=store.generation, today=today, leaves=("any",))
            snapshots.build_soon(store, key)
            try:
                assert snapshots.wait(key, timeout=60)
                next_date = PROGRAM.cadence.next_after(today)
                certified = 0
                for worker_id in ids:
                    with session_scope(engine) as session:
                        leaves = list_leaves(session, program_id=PROGRAM.id, worker_id=worker_id)
                    spans = merge_away((leave.starts_on, leave.ends_on) for leave in leaves)
                    live = evaluate_worker(store, PROGRAM, today, worker_id, away=spans)
                    forecast = evaluate_worker(store, PROGRAM, next_date, worker_id, observed_until=today, away=spans)
                    found = snapshots.lookup(key, worker_id)
                    assert found is not None and found is not False
                    assert found.live == live, (today, worker_id)
                    assert found.forecast == forecast, (today, worker_id)
                    # The same types too: booleans stay booleans, integers integers (JSON would print them).
                    assert [type(v) for v in found.live.values()] == [type(v) for v in live.values()]
                    certified += bool(live["certified"])
                assert certified > 0
                assert snapshots.lookup(key, "nobody") is None
                other = ClockKey(generation=store.generation, today=today + timedelta(days=1), leaves=("any",))
                assert snapshots.lookup(other, ids[0]) is False  # another day is never answered from it
            finally:
                snapshots.close()


def test_the_status_api_answers_the_same_with_and_without_the_snapshot_and_follows_new_leave(
    marketplace, tmp_path: Path
):
    root, engine, ids = marketplace
    with session_scope(engine, write=True) as session:
        _row, key = create_api_key(session, name="t", actor="t")
    headers = {"x-api-key": key}
    answers = {}
    for snapshot in (False, True):
        app = web_app(
            program=PROGRAM,
            engine=engine,
            facts_path=root / "facts.duckdb",
            secret=SECRET,
            clock_snapshot=snapshot,
        )
        with TestClient(app, base_url="https://testserver") as client:
            context = app.state.context
            if snapshot:
                assert context.clocks.wait(context.clock_key(), timeout=60)
                assert client.get("/healthz").json()["clocks_ready"] is True
            answers[snapshot] = [client.get(f"/api/v1/workers/{w}/status", headers=headers).json() for w in ids[:40]]
            assert client.get("/api/v1/workers/nobody/status", headers=headers).status_code == 404
            if snapshot:
                # New leave changes the key: the next status is evaluated live, with the leave, until rebuilt.
                before = context.clock_key()
                spans = ((TODAY - timedelta(days=3), TODAY + timedelta(days=40)),)
                store = context.store
                # A worker whose live evaluation the leave changes (a window lengthened over facts of theirs).
                worker = next(
                    w
                    for w in ids[5:]
                    if evaluate_worker(store, PROGRAM, TODAY, w, away=spans)
                    != evaluate_worker(store, PROGRAM, TODAY, w)
                )
                with session_scope(engine, write=True) as session:
                    declare_leave(
                        session,
                        program=PROGRAM,
                        worker_id=worker,
                        starts_on=TODAY - timedelta(days=3),
                        ends_on=TODAY + timedelta(days=40),
                        category="illness",
                        actor="admin:t",
                        by_worker=False,
                        today=TODAY,
                    )
                context.statuses.invalidate()
                after = context.clock_key()
                assert after != before
                assert client.get(f"/api/v1/workers/{worker}/status", headers=headers).status_code == 200
                assert context.clocks.wait(after, timeout=60)
                rows = context.clock_rows(worker)
                assert rows is not None
                assert rows.live == evaluate_worker(store, PROGRAM, TODAY, worker, away=spans)
    assert answers[True] == answers[False]
    assert any(a["verdict"]["live"]["passed"] for a in answers[True])
