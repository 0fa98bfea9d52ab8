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

import sqlite3
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
from procert.web.snapshot_files import SnapshotFiles

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


class ProfileSnapshots(SnapshotFiles[SnapshotKey, ProfileFacts]):
    """Every worker's profile facts as of the rated date (see :mod:`.snapshot_files`)."""

    def __init__(self) -> None:
        super().__init__(name="profiles", table="profiles", write=write_snapshot, decode=_decoded)
