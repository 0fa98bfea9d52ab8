"""Profile pages from the server's snapshot: the same figures as reading the facts live, for every worker of a demo
marketplace and at hand-made edges (a review at the period's end, ties, no record at all), and never a snapshot
of another rated date or facts version than the page's."""

from __future__ import annotations

import secrets
import time
from datetime import date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from procert.demo import generate
from procert.facts import FactStore, import_export
from procert.ledger import NotifyOptions, make_engine, record_run, session_scope, upgrade
from procert.programs import load_program
from procert.web.profile_snapshot import ProfileSnapshots, SnapshotKey, live_profile_facts
from tests.conftest import Export
from tests.web_support import web_app

SECRET = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("snapshot")
    export = generate(root / "export", workers=400, seed=9, end=date(2025, 3, 31)).directory
    store = FactStore(root / "facts.duckdb")
    import_export(store, export, timezone="Asia/Tokyo")
    yield store
    store.close()


def _snapshot(store: FactStore, key: SnapshotKey) -> ProfileSnapshots:
    snapshots = ProfileSnapshots()
    snapshots.build_soon(store, key)
    assert snapshots.wait(key, timeout=60), "the snapshot was not built"
    return snapshots


@pytest.mark.parametrize(
    ("as_of", "with_inquiries"), [(date(2025, 1, 1), True), (date(2024, 7, 1), False), (date(2025, 4, 1), True)]
)
def test_every_demo_worker_reads_the_same_from_the_snapshot_as_live(demo_store: FactStore, as_of, with_inquiries):
    key = SnapshotKey(
        generation=demo_store.generation, rated_as_of=as_of, timezone="Asia/Tokyo", with_inquiries=with_inquiries
    )
    snapshots = _snapshot(demo_store, key)
    try:
        ids = [r[0] for r in demo_store.con.execute("SELECT worker_id FROM workers ORDER BY worker_id").fetchall()]
        assert len(ids) == 400
        with_reviews = with_record = 0
        for worker_id in ids:
            snapped, live = snapshots.lookup(key, worker_id), live_profile_facts(demo_store, worker_id, key)
            assert snapped == live, worker_id
            assert live is not None
            with_reviews += live.rating.reviews > 0
            with_record += live.record.delivered > 0
        # The comparison covered workers with and without reviews and delivered work.
        assert 0 < with_reviews < 400 and 0 < with_record < 400
        assert snapshots.lookup(key, "no-such-worker") is None
    finally:
        snapshots.close()


def test_edges_of_the_record_are_the_same_in_both_forms(tmp_path: Path):
    """A review at 00:00 JST of the rated date is after it; two reviews of the same instant are ordered by id;
    a worker with nothing has an empty record and no rating."""
    exp = Export()
    exp.worker("A", display_name="青木 一郎", skills="SEO;取材")
    exp.worker("B")
    exp.review("A", (5, 5, 5, 5, 5), created_at="2025-01-01T00:00:00+09:00", review_id="R-late")  # on the date
    exp.review("A", (4, 4, 4, 4, 4), created_at="2024-12-31T23:59:59+09:00", review_id="R-a")
    exp.review("A", (3, 3, 3, 3, 3), created_at="2024-12-31T23:59:59+09:00", review_id="R-b")  # same instant
    exp.review("A", (2, 2, 2, 2, 2), created_at="2024-06-01T00:00:00+09:00", review_id="R-old")
    exp.review("A", (1, 1, 1, 1, 1), created_at="2024-05-01T00:00:00+09:00", review_id="R-older")
    with FactStore(tmp_path / "facts.duckdb") as store:
        import_export(store, exp.write(tmp_path / "export"), timezone="Asia/Tokyo")
        key = SnapshotKey(generation=0, rated_as_of=date(2025, 1, 1), timezone="Asia/Tokyo", with_inquiries=False)
        snapshots = _snapshot(store, key)
        try:
            a = snapshots.lookup(key, "A")
            assert a == live_profile_facts(store, "A", key)
            assert a and a.facts.skills == ("SEO", "取材") and a.facts.email is None
            # newest first, R-b before R-a (same instant, the larger id first); R-late and R-older left out
            assert a.record.recent_reviews == [
                (datetime(2024, 12, 31, 14, 59, 59), 3.0),
                (datetime(2024, 12, 31, 14, 59, 59), 4.0),
                (datetime(2024, 5, 31, 15, 0), 2.0),
            ]
            # four reviews before the date: (4 + 3 + 2 + 1) / 4; each review() also delivered one contract to K1
            assert (a.rating.reviews, a.rating.overall) == (4, 2.5)
            assert (a.record.delivered, a.record.clients, a.record.repeat_clients) == (5, 1, 1)
            b = snapshots.lookup(key, "B")
            assert b == live_profile_facts(store, "B", key)
            assert b and (b.rating.reviews, b.rating.overall, b.record.delivered, b.record.recent_reviews) == (
                0,
                None,
                0,
                [],
            )
        finally:
            snapshots.close()


def test_another_key_is_never_answered_from_a_snapshot(demo_store: FactStore):
    key = SnapshotKey(
        generation=demo_store.generation, rated_as_of=date(2025, 1, 1), timezone="Asia/Tokyo", with_inquiries=True
    )
    snapshots = _snapshot(demo_store, key)
    try:
        worker = demo_store.con.execute("SELECT min(worker_id) FROM workers").fetchone()[0]
        assert snapshots.lookup(key, worker) is not None
        for other in (
            SnapshotKey(key.generation, date(2025, 2, 1), key.timezone, True),
            SnapshotKey(key.generation + 1, key.rated_as_of, key.timezone, True),
            SnapshotKey(key.generation, key.rated_as_of, key.timezone, False),
        ):
            assert snapshots.lookup(other, worker) is False
    finally:
        snapshots.close()


def test_a_failed_build_leaves_profiles_live(demo_store: FactStore):
    """A snapshot of a generation the store is not at is refused; nothing is served from it."""
    key = SnapshotKey(
        generation=demo_store.generation + 5, rated_as_of=date(2025, 1, 1), timezone="Asia/Tokyo", with_inquiries=True
    )
    snapshots = ProfileSnapshots()
    try:
        snapshots.build_soon(demo_store, key)
        assert snapshots.wait(key, timeout=60) is False
        assert snapshots.lookup(key, "anyone") is False
        snapshots.build_soon(demo_store, key)  # not tried again at once
        assert snapshots._building is None
    finally:
        snapshots.close()


def _recorded_demo(tmp_path: Path, *, workers: int, seed: int, as_of: date, worker_sql: str):
    """A demo marketplace imported beside a SQLite ledger with one run as of ``as_of``: (program, engine, the
    worker ``worker_sql`` picks)."""
    program = load_program("crowdworks-pro")
    export = generate(tmp_path / "export", workers=workers, seed=seed, end=date(2025, 3, 31)).directory
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    upgrade(engine)
    with FactStore(tmp_path / "facts.duckdb") as store:
        import_export(store, export, timezone=program.timezone)
        with session_scope(engine, write=True) as session:
            record_run(
                session, store=store, program=program, as_of=as_of, actor="t", notify=NotifyOptions(enabled=False)
            )
        worker = store.con.execute(worker_sql).fetchone()[0]
    return program, engine, worker


def test_profile_pages_come_from_the_snapshot_and_follow_a_new_run(tmp_path: Path):
    """The page's figures are the live ones before the snapshot exists, the snapshot's after, and the live ones
    of the new rated date as soon as a new run is recorded (until the snapshot of that date is built)."""
    program, engine, worker = _recorded_demo(
        tmp_path,
        workers=300,
        seed=4,
        as_of=date(2024, 10, 1),
        worker_sql="SELECT worker_id FROM reviews WHERE created_at >= '2024-10-01' AND created_at < '2025-01-01' "
        "GROUP BY worker_id ORDER BY count(*) DESC, worker_id LIMIT 1",
    )
    app = web_app(
        program=program, engine=engine, facts_path=tmp_path / "facts.duckdb", secret=SECRET, ledger_refresh_seconds=0
    )
    with TestClient(app, base_url="https://testserver") as client:
        context = app.state.context
        first = client.get(f"/api/v1/workers/{worker}/profile").json()
        key = context.profile_key()
        assert context.profiles.wait(key, timeout=60)
        assert context.profiles.lookup(key, worker) is not False
        assert client.get(f"/api/v1/workers/{worker}/profile").json() == first
        with FactStore(tmp_path / "facts.duckdb", read_only=True) as store, session_scope(engine, write=True) as s:
            record_run(
                s, store=store, program=program, as_of=date(2025, 1, 1), actor="t", notify=NotifyOptions(enabled=False)
            )
        later = client.get(f"/api/v1/workers/{worker}/profile").json()
        assert later["reviews"] > first["reviews"]  # the reviews of the last quarter count now
        assert context.profile_key().rated_as_of == date(2025, 1, 1)
        assert context.profiles.wait(context.profile_key(), timeout=60)
        assert client.get(f"/api/v1/workers/{worker}/profile").json() == later
    engine.dispose()


def test_profiles_are_answered_from_memory_only_when_nothing_else_must_be_read(tmp_path: Path):
    """On the event loop only while the ledger and facts snapshots are fresh, the profile snapshot of the current
    key is ready and no other program's status must be read from the ledger."""
    program, engine, worker = _recorded_demo(
        tmp_path,
        workers=150,
        seed=6,
        as_of=date(2025, 1, 1),
        worker_sql="SELECT min(worker_id) FROM workers WHERE status = 'active'",
    )

    def served(refresh: float) -> tuple[bool, bool, dict]:
        app = web_app(
            program=program,
            engine=engine,
            facts_path=tmp_path / "facts.duckdb",
            secret=SECRET,
            ledger_refresh_seconds=refresh,
        )
        with TestClient(app, base_url="https://testserver") as client:
            context = app.state.context
            assert context.profiles.wait(context.profile_key(), timeout=60)
            before = context.profile_answers_from_memory()
            client.get("/pros")  # the directory's cards, built in a thread
            first = client.get(f"/api/v1/workers/{worker}/profile").json()  # reads the other programs: none
            after = context.profile_answers_from_memory()
            assert client.get(f"/api/v1/workers/{worker}/profile").json() == first
            assert client.get(f"/workers/{worker}").status_code == 200
            return before, after, first

    assert served(60)[:2] == (True, True)  # the server looked at the ledger and the other programs at start-up
    assert served(0)[1] is False  # a ledger re-read on every request: always in a thread
    with FactStore(tmp_path / "facts.duckdb", read_only=True) as store, session_scope(engine, write=True) as s:
        record_run(
            s,
            store=store,
            program=load_program("lancers-certified"),
            as_of=date(2025, 1, 1),
            actor="t",
            notify=NotifyOptions(enabled=False),
        )
    assert served(60)[1] is False  # another program is recorded: its status is read from the ledger
    engine.dispose()


def test_the_server_looks_at_the_ledger_in_its_own_thread_so_requests_need_not(tmp_path: Path):
    """A change made by another process (an override) is seen with no request at all, and the snapshots stay
    fresh across many refresh intervals: no request has to look itself, so none leaves the event loop for it."""
    from procert.ledger import set_override

    program, engine, worker = _recorded_demo(
        tmp_path,
        workers=120,
        seed=8,
        as_of=date(2025, 1, 1),
        worker_sql="SELECT min(worker_id) FROM workers WHERE status = 'active'",
    )
    app = web_app(
        program=program,
        engine=engine,
        facts_path=tmp_path / "facts.duckdb",
        secret=SECRET,
        ledger_refresh_seconds=0.2,
        facts_reload_seconds=0.2,
    )
    with TestClient(app, base_url="https://testserver"):
        context = app.state.context
        assert context.profiles.wait(context.profile_key(), timeout=60)
        version = context.statuses.version
        fresh = []
        for _ in range(20):  # 2 s: ten refresh intervals
            time.sleep(0.1)
            fresh.append(context.snapshot_is_fresh())
        assert all(fresh)
        with session_scope(engine, write=True) as session:
            set_override(
                session, program_id=program.id, worker_id=worker, certified=True, reason="test", actor="admin:t"
            )
        deadline = time.monotonic() + 10
        while context.cards_version() in (None, (version, context.store.generation)) and time.monotonic() < deadline:
            time.sleep(0.05)
        # Seen by the server's own look, the directory's cards rebuilt with the worker locked in.
        assert context.statuses.version != version
        assert context.cards_version() == (context.statuses.version, context.store.generation)
        assert worker in {card.worker_id for card in context._cards}
        assert context.snapshot_is_fresh()
    assert context._watcher is not None and not context._watcher.is_alive()  # stopped with the server
    engine.dispose()


def test_a_status_snapshot_being_re_read_counts_as_fresh_for_the_other_requests(tmp_path: Path):
    """While one thread re-reads the ledger, the others answer from the snapshot they have instead of all
    hopping to worker threads (what made every page's p99 jump once a second)."""
    from procert.ledger import StatusReader

    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    upgrade(engine)
    reader = StatusReader(engine, program_id="crowdworks-pro", today=lambda: date(2025, 1, 1), refresh_seconds=0)
    assert reader.is_fresh() is False  # never read
    reader.refresh()
    assert reader.is_fresh() is False  # re-read on every request (0 s)
    with reader._lock:  # as while another thread re-reads it
        assert reader.is_fresh() is True
        assert reader.refresh() == reader.version  # answers without waiting for that thread
    assert reader.is_fresh() is False
    engine.dispose()


def test_the_status_snapshot_reads_again_exactly_when_the_ledger_changed(tmp_path: Path):
    """Every second the server only looks whether anything changed (one cheap statement); each kind of change
    (an override set or cleared, an API key made or revoked, a leave declared, a new day) is seen."""
    from procert.ledger import StatusReader, clear_override, create_api_key, revoke_api_key, set_override

    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    upgrade(engine)
    today = [date(2025, 1, 1)]
    reader = StatusReader(engine, program_id="crowdworks-pro", today=lambda: today[0], refresh_seconds=0)
    reads = []
    original = reader._read

    def counted(now: float, day: date) -> None:
        reads.append(day)
        original(now, day)

    reader._read = counted  # type: ignore[method-assign]
    reader.refresh()
    reader.refresh()
    assert len(reads) == 1  # nothing changed: looked, not read again

    def after(change) -> int:
        with session_scope(engine, write=True) as session:
            result = change(session)
        before = len(reads)
        reader.refresh()
        assert len(reads) == before + 1
        return result

    after(
        lambda s: set_override(s, program_id="crowdworks-pro", worker_id="A", certified=True, reason="r", actor="admin")
    )
    assert "A" in reader._overrides
    after(lambda s: clear_override(s, program_id="crowdworks-pro", worker_id="A", actor="admin"))
    assert "A" not in reader._overrides
    key_id = after(lambda s: create_api_key(s, name="k", actor="admin")[0].id)
    assert any(found == key_id for found, _name in reader._key_digests.values())
    after(lambda s: revoke_api_key(s, key_id=key_id, actor="admin"))
    assert reader._key_digests == {}
    today[0] = date(2025, 1, 2)
    reader.refresh()
    assert reads[-1] == date(2025, 1, 2)
    # an override of another program is not this snapshot's change
    with session_scope(engine, write=True) as session:
        set_override(session, program_id="lancers-certified", worker_id="B", certified=True, reason="r", actor="admin")
    before = len(reads)
    reader.refresh()
    assert len(reads) == before
    engine.dispose()
