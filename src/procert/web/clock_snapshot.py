"""The live and forecast clocks of every worker (:func:`procert.ledger.verdict.worker_view`), evaluated for all of
them at once and kept in a snapshot file of the server's own (see :mod:`.snapshot_files`).

A worker's status (API, dashboard) shows three clocks: the official one is the ledger's; the live one evaluates
the worker on today's facts and the forecast one on the next scheduled date. Evaluated one worker at a time,
that is two DuckDB queries of several milliseconds each at a million workers, which bounded the status API to
a few dozen answers a second for workers asking at random. Evaluated for everyone, it is two full evaluations
(seconds), done once per day, facts version and state of declared leave, in a background thread. The rows are
the same as one worker's evaluation gives (the same SQL; each worker's leave lengthens their own windows in
both), stored as JSON arrays made by DuckDB and read back to the same Python values."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import orjson

from procert.evaluation import AwayByWorker, evaluate
from procert.facts import FactStore
from procert.programs import Program
from procert.web.snapshot_files import SnapshotFiles

_BATCH = 20_000
_LIVE, _FORECAST = "procert_clock_live", "procert_clock_forecast"


@dataclass(frozen=True)
class ClockKey:
    """What the live and forecast clocks depend on besides the worker."""

    generation: int  # the facts store's
    today: date
    #: The ledger's state of declared leave (see StatusReader.leaves_version): leave lengthens windows.
    leaves: tuple[Any, ...]


@dataclass(frozen=True)
class ClockRows:
    """A worker's evaluation rows behind the live clock (today) and the forecast (the next scheduled date)."""

    live: dict[str, Any]
    forecast: dict[str, Any]


class ClockSnapshots(SnapshotFiles[ClockKey, ClockRows]):
    """Every worker's live and forecast evaluation rows for ``program``; ``away`` reads the declared leave from
    the ledger when a build starts."""

    def __init__(self, program: Program, away: Callable[[date], AwayByWorker]) -> None:
        super().__init__(name="clocks", table="clocks", write=self._write_clocks, decode=self._decoded)
        self.program = program
        self._away = away
        self._columns: list[str] = []

    def _decoded(self, row: Sequence[object]) -> ClockRows:
        live, forecast = orjson.loads(row[1]), orjson.loads(row[2])  # type: ignore[arg-type]
        return ClockRows(dict(zip(self._columns, live, strict=True)), dict(zip(self._columns, forecast, strict=True)))

    def _write_clocks(
        self, store: FactStore, path: Path, key: ClockKey, started: Callable[[duckdb.DuckDBPyConnection], None]
    ) -> int:
        cursor = store.cursor()  # its own connection: its own temporary tables, beside the request threads
        started(cursor.con)
        program = self.program
        next_date = program.cadence.next_after(key.today)
        away = self._away(next_date)
        out = sqlite3.connect(path)
        try:
            evaluate(cursor, program, key.today, table=_LIVE, away=away)
            evaluate(cursor, program, next_date, observed_until=key.today, table=_FORECAST, away=away)
            columns = [d[0] for d in cursor.query(f"SELECT * FROM {_LIVE} LIMIT 0").description]
            if [d[0] for d in cursor.query(f"SELECT * FROM {_FORECAST} LIMIT 0").description] != columns:
                raise RuntimeError("the live and forecast evaluations have different columns")

            def values(alias: str) -> str:
                return "json_array(" + ", ".join(f"{alias}.{c}" for c in columns) + ")::VARCHAR"

            out.execute("PRAGMA journal_mode = OFF")
            out.execute("PRAGMA synchronous = OFF")
            out.execute("CREATE TABLE clocks (worker_id TEXT PRIMARY KEY, live TEXT, forecast TEXT) WITHOUT ROWID")
            result = cursor.query(
                f"SELECT l.worker_id, {values('l')}, {values('f')} FROM {_LIVE} l "
                f"JOIN {_FORECAST} f ON f.worker_id = l.worker_id ORDER BY l.worker_id"
            )
            count = 0
            while batch := result.fetchmany(_BATCH):
                out.executemany("INSERT INTO clocks VALUES (?, ?, ?)", batch)
                count += len(batch)
            out.commit()
            self._columns = columns  # the program's: the same for every build
            return count
        finally:
            out.close()
            with contextlib.suppress(duckdb.Error):  # interrupted: the connection goes anyway
                for table in (_LIVE, _FORECAST):
                    cursor.query(f"DROP TABLE IF EXISTS {table}")
            cursor.close()
