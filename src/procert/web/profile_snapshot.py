"""What a public profile shows of the facts (the worker, their rating, their hiring record), for one worker.

Read live, that is five DuckDB queries, and a DuckDB query costs most of a millisecond however narrow (parse,
plan, execute), which bounds profile pages to a few hundred a second. So the server copies what every profile
shows, for all workers at once and as of the rated date, into an SQLite file of its own (a few seconds at a
million workers, in a background thread) and answers each profile with one SQLite point lookup (tens of
microseconds). A snapshot is keyed by what it depends on: the facts store's generation, the rated date and
whether inquiries were imported. Until the snapshot of the current key is ready, profiles are read live, never
from an older snapshot, so a page never shows figures of another run than the worker's status.

Both forms compute the figures with the same SQL (:func:`procert.facts.hiring_records_sql`,
:func:`procert.metrics.lifetime_ratings_sql`) and decode them with the same functions. Emails are not copied:
no profile shows one.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import orjson

from procert.facts import (
    HIRING_RECORD_COLUMNS,
    WORKER_COLUMNS,
    FactStore,
    HiringRecord,
    WorkerFacts,
    hiring_record_of,
    hiring_records_sql,
    worker_facts_of,
)
from procert.metrics import Period, Rating, lifetime_ratings, lifetime_ratings_sql, rating_of
from procert.metrics.catalog import all_rows

log = logging.getLogger(__name__)

#: A failed build is tried again after this many seconds (not on every request).
RETRY_SECONDS = 60.0
_BATCH = 20_000
_RATING_COLUMNS = ("rating_num", "rating_den", "communication_num", "communication_den")


@dataclass(frozen=True)
class ProfileFacts:
    """What a profile shows of the facts about one worker, as of the rated date."""

    facts: WorkerFacts  # email is None: no profile shows it
    rating: Rating
    record: HiringRecord


@dataclass(frozen=True)
class SnapshotKey:
    """What the figures of a profile depend on besides the worker."""

    generation: int  # the facts store's (a newer import switched in bumps it)
    rated_as_of: date
    timezone: str
    with_inquiries: bool

    @property
    def before(self) -> datetime:
        """The end of the rated date's period (naive UTC): hiring records count what happened before it."""
        return Period(self.rated_as_of, self.timezone).end


def live_profile_facts(store: FactStore, worker_id: str, key: SnapshotKey) -> ProfileFacts | None:
    """One worker's profile facts read from the store now (None for an unknown worker)."""
    facts = store.worker(worker_id)
    if facts is None:
        return None
    rating = lifetime_ratings(store, [worker_id], as_of=key.rated_as_of, timezone=key.timezone)[worker_id]
    record = store.hiring_record(worker_id, before=key.before, with_inquiries=key.with_inquiries)
    return ProfileFacts(replace(facts, email=None), rating, record)


def _snapshot_sql(key: SnapshotKey) -> str:
    worker_columns = ", ".join(f"w.{c}" if c != "email" else "NULL AS email" for c in WORKER_COLUMNS.split(", "))
    ratings = lifetime_ratings_sql(all_rows, as_of=key.rated_as_of, timezone=key.timezone)
    hiring = hiring_records_sql(all_rows, before="$before", with_inquiries=key.with_inquiries)
    rating_names = ", ".join(_RATING_COLUMNS)
    hiring_names = ", ".join(HIRING_RECORD_COLUMNS)
    # The recent reviews as JSON text made by DuckDB: rows of plain values cost far less to fetch into Python.
    return f"""
        SELECT {worker_columns}, r.* EXCLUDE (worker_id), h.* EXCLUDE (worker_id, recent_reviews),
               coalesce(to_json(h.recent_reviews), '[]') AS recent_reviews
        FROM workers w
        LEFT JOIN (SELECT * FROM ({ratings}) AS t(worker_id, {rating_names})) r USING (worker_id)
        LEFT JOIN (SELECT * FROM ({hiring}) AS t(worker_id, {hiring_names})) h USING (worker_id)
        ORDER BY w.worker_id"""


_COLUMNS = (*WORKER_COLUMNS.split(", "), *_RATING_COLUMNS, *HIRING_RECORD_COLUMNS)
_WORKERS = len(WORKER_COLUMNS.split(", "))
_RECENT = _COLUMNS.index("recent_reviews")


def _decoded(row: Sequence[object]) -> ProfileFacts:
    facts = worker_facts_of(row[:_WORKERS])
    num, den, communication_num, communication_den = row[_WORKERS : _WORKERS + 4]
    rating = rating_of(num, den, communication_num, communication_den)  # type: ignore[arg-type]
    recent = [
        {"at": datetime.fromisoformat(review["at"]), "score": review["score"]}
        for review in orjson.loads(row[_RECENT])  # type: ignore[arg-type]
    ]
    return ProfileFacts(facts, rating, hiring_record_of([*row[_WORKERS + 4 : _RECENT], recent]))


def write_snapshot(
    store: FactStore,
    path: Path,
    key: SnapshotKey,
    *,
    started: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> int:
    """Copy every worker's profile facts as of ``key`` into a new SQLite file at ``path``; returns the workers.
    ``started`` is handed the DuckDB cursor the copy reads with (to interrupt it)."""
    con = store.con.cursor()  # a cursor of its own: this runs beside the request threads
    if started is not None:
        started(con)
    out = sqlite3.connect(path)
    try:
        out.execute("PRAGMA journal_mode = OFF")
        out.execute("PRAGMA synchronous = OFF")
        columns = ", ".join(c if c != "worker_id" else "worker_id TEXT PRIMARY KEY" for c in _COLUMNS)
        out.execute(f"CREATE TABLE profiles ({columns}) WITHOUT ROWID")
        insert = f"INSERT INTO profiles VALUES ({', '.join('?' for _ in _COLUMNS)})"
        result = con.execute(_snapshot_sql(key), {"before": key.before})
        count = 0
        while batch := result.fetchmany(_BATCH):
            out.executemany(insert, batch)
            count += len(batch)
        out.commit()
        return count
    finally:
        out.close()
        con.close()


class ProfileSnapshots:
    """The current snapshot, built again in the background whenever its key changes (thread-safe)."""

    def __init__(self) -> None:
        self._directory: Path | None = None
        self._current: tuple[SnapshotKey, Path] | None = None
        self._building: SnapshotKey | None = None
        self._failed: tuple[SnapshotKey, float] | None = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._serial = 0
        self._done = threading.Condition(self._lock)
        self._closed = False
        self._thread: threading.Thread | None = None
        self._reading: duckdb.DuckDBPyConnection | None = None

    @property
    def current_key(self) -> SnapshotKey | None:
        """The key of the snapshot answered from, if any."""
        current = self._current
        return current[0] if current is not None else None

    @property
    def ready(self) -> bool:
        """Whether a snapshot is answered from and none is building (what /healthz reports)."""
        return self._current is not None and self._building is None

    def lookup(self, key: SnapshotKey, worker_id: str) -> ProfileFacts | bool | None:
        """The worker's profile facts from the snapshot of ``key``, None when it holds no such worker, False
        when there is no snapshot of ``key`` (yet)."""
        current = self._current
        if current is None or current[0] != key:
            return False
        row = self._connection(current[1]).execute("SELECT * FROM profiles WHERE worker_id = ?", [worker_id]).fetchone()
        return _decoded(row) if row is not None else None

    def _connection(self, path: Path) -> sqlite3.Connection:
        held: tuple[Path, sqlite3.Connection] | None = getattr(self._local, "held", None)
        if held is not None and held[0] == path:
            return held[1]
        if held is not None:
            held[1].close()
        # immutable: the file never changes once written, so SQLite needs no locks to read it.
        con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        # Mapped into memory: a lookup reads pages the kernel holds for the file it just wrote, no read() calls.
        con.execute(f"PRAGMA mmap_size = {max(path.stat().st_size, 1 << 20)}")
        self._local.held = (path, con)
        return con

    def build_soon(self, store: FactStore, key: SnapshotKey) -> None:
        """Start building the snapshot of ``key`` in a background thread unless one is built or building."""
        with self._lock:
            if self._building == key or (self._current is not None and self._current[0] == key):
                return
            if self._failed is not None and self._failed[0] == key and time.monotonic() < self._failed[1]:
                return
            if self._building is not None or self._closed:  # another key is building: looked at again when done
                return
            self._building = key
            self._thread = threading.Thread(target=self._build, args=(store, key), name="profile-snapshot", daemon=True)
            self._thread.start()

    def _build(self, store: FactStore, key: SnapshotKey) -> None:
        with self._lock:
            if self._directory is None:
                self._directory = Path(tempfile.mkdtemp(prefix="procert-profiles-"))
            self._serial += 1
            path = self._directory / f"profiles-{self._serial}.sqlite"
        started = time.perf_counter()
        try:
            if store.generation != key.generation:
                raise RuntimeError("the facts store switched to a newer file before the build began")
            count = write_snapshot(store, path, key, started=self._reading_with)
            if store.generation != key.generation:
                raise RuntimeError("the facts store switched to a newer file during the build")
        except Exception as exc:  # a failed cache build must never take the server down: profiles stay live
            log.warning("profile snapshot for %s not built: %s", key, exc)
            path.unlink(missing_ok=True)
            with self._lock:
                self._building, self._reading = None, None
                self._failed = (key, time.monotonic() + RETRY_SECONDS)
                self._done.notify_all()
            return
        log.info("profile snapshot of %d workers built in %.1f s", count, time.perf_counter() - started)
        with self._lock:
            previous, self._current = self._current, (key, path)
            self._building, self._reading = None, None
            self._done.notify_all()
        if previous is not None:
            previous[1].unlink(missing_ok=True)  # readers holding it open keep reading until they switch

    def _reading_with(self, con: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            self._reading = con
        if self._closed:
            con.interrupt()

    def wait(self, key: SnapshotKey, timeout: float) -> bool:
        """Wait until the snapshot of ``key`` is ready (or its build failed); returns whether it is ready."""
        deadline = time.monotonic() + timeout
        with self._done:
            while self._building == key and time.monotonic() < deadline:
                self._done.wait(max(0.0, deadline - time.monotonic()))
            return self._current is not None and self._current[0] == key

    def close(self) -> None:
        """Stop a build under way (before the facts store it reads closes) and remove the snapshot files."""
        with self._lock:
            self._closed, reading, thread = True, self._reading, self._thread
        if reading is not None:
            with contextlib.suppress(duckdb.Error):  # already closed: the build is over
                reading.interrupt()
        if thread is not None:
            thread.join(timeout=30)
        held = getattr(self._local, "held", None)
        if held is not None:
            held[1].close()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
