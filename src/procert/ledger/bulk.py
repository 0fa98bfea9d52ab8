"""Writing a run's results at bulk-insert speed: ``COPY`` on PostgreSQL, the driver's ``executemany`` on SQLite,
SQLAlchemy's portable insert elsewhere. A million results through the ORM's insert spend most of their time in
per-row type processing; these paths hand the driver ready values (JSON already serialised, SQLite's dates and
booleans as SQLAlchemy stores them), in the session's own transaction.

A run's results are one query on the store's connection (:func:`write_run_results`): the evaluation's values
and pass flags and the forecast's values become JSON text in DuckDB, joined to the statuses the run decided, and
stream to the ledger in batches, with no Python object per worker. Only workers whose status a rule decides
(:class:`ResultStatus`) come from Python.

Every path stores what SQLAlchemy's own insert stores: the same JSON text (the ledger's one serialiser,
:func:`~procert.ledger.db.dumps_json`, whose compact output DuckDB's ``json_object`` matches; Python ``None`` as
JSON ``null``, as SQLAlchemy's JSON type does by default), so reading the rows back gives the same values."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import insert
from sqlalchemy.orm import Session

from procert.evaluation import Evaluation
from procert.facts.store import sql_literal

from .db import dumps_json
from .models import RunResult

RESULT_COLUMNS = (
    "run_id",
    "worker_id",
    "division",
    "status",
    "evaluated",
    "certified",
    "certified_since",
    "level",
    "grace_cycles",
    "at_risk",
    "values",
    "passed",
    "forecast",
    "leave",
)
JSON_COLUMNS = frozenset({"values", "passed", "forecast", "leave"})
_JSON_AT = tuple(i for i, name in enumerate(RESULT_COLUMNS) if name in JSON_COLUMNS)
#: SQLAlchemy's SQLite types store booleans as 0/1 and dates as ISO text.
_BOOL_AT = tuple(RESULT_COLUMNS.index(name) for name in ("evaluated", "certified", "at_risk"))
_DATE_AT = RESULT_COLUMNS.index("certified_since")
BATCH = 5_000
#: Rows per batch fetched from the store and handed to the driver.
STREAM_BATCH = 50_000
#: Quoted: "values" is a keyword in SQL.
_COLUMN_LIST = ", ".join(f'"{name}"' for name in RESULT_COLUMNS)
#: The store's temporary table of the statuses a run decided in Python.
DECIDED_TABLE = "procert_run_decided"


@dataclass(frozen=True)
class ResultStatus:
    """What a run decided of a worker, as their result row stores it: the effective status, the forecast's
    at-risk criteria and the leave the run counted (JSON-ready)."""

    certified: bool
    certified_since: date | None
    level: str | None
    grace_cycles: int
    at_risk: bool
    forecast_at_risk: list[str]
    leave: Any


def _as_tuple(row: dict[str, Any]) -> list[Any]:
    values = [row[name] for name in RESULT_COLUMNS]
    for i in _JSON_AT:
        values[i] = dumps_json(values[i])
    return values


def _for_sqlite(row: dict[str, Any]) -> list[Any]:
    values = _as_tuple(row)
    for i in _BOOL_AT:
        values[i] = int(values[i])
    since = values[_DATE_AT]
    values[_DATE_AT] = None if since is None else since.isoformat()
    return values


def write_results(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert run results (dicts with every column of :data:`RESULT_COLUMNS`) in the session's transaction."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        _copy(session, [(_as_tuple(r) for r in rows)])
    elif dialect == "sqlite":
        batches = ([_for_sqlite(r) for r in rows[start : start + BATCH]] for start in range(0, len(rows), BATCH))
        _executemany(session, batches)
    else:
        for start in range(0, len(rows), BATCH):
            session.execute(insert(RunResult), list(rows[start : start + BATCH]))


def write_run_results(
    session: Session,
    *,
    evaluation: Evaluation,
    forecast: Evaluation,
    run_id: int,
    decided: dict[str, ResultStatus],
    undecided: ResultStatus,
) -> int:
    """Write one result per evaluated worker, in worker order, in the session's transaction: the run's own
    decision for the workers in ``decided``, ``undecided`` for every other. Returns the rows written."""
    store = evaluation.store
    store.query(f"CREATE OR REPLACE TEMP TABLE {DECIDED_TABLE} AS {_DECIDED_SQL}", _decided_columns(decided))
    dialect = session.get_bind().dialect.name
    sql, params = _results_sql(evaluation, forecast, dialect), [run_id, *_constants(undecided)]
    try:
        if dialect == "postgresql":
            return _copy_csv(session, store.arrow_batches(sql, params, rows=STREAM_BATCH))
        batches = _batches(store.query(sql, params))
        if dialect == "sqlite":
            return _executemany(session, batches)
        written = 0
        for batch in batches:
            parsed = [dict(zip(RESULT_COLUMNS, row, strict=True)) for row in batch]
            for row in parsed:
                for name in JSON_COLUMNS:
                    row[name] = orjson.loads(row[name])
            session.execute(insert(RunResult), parsed)
            written += len(parsed)
        return written
    finally:
        store.query(f"DROP TABLE IF EXISTS {DECIDED_TABLE}")


_DECIDED_SQL = """SELECT unnest(?::VARCHAR[]) AS worker_id, unnest(?::BOOLEAN[]) AS certified,
    unnest(?::DATE[]) AS certified_since, unnest(?::VARCHAR[]) AS level, unnest(?::INTEGER[]) AS grace_cycles,
    unnest(?::BOOLEAN[]) AS at_risk, unnest(?::VARCHAR[]) AS forecast_at_risk, unnest(?::VARCHAR[]) AS leave"""


def _decided_columns(decided: dict[str, ResultStatus]) -> list[list[Any]]:
    statuses = decided.values()
    return [
        list(decided),
        [s.certified for s in statuses],
        [s.certified_since for s in statuses],
        [s.level for s in statuses],
        [s.grace_cycles for s in statuses],
        [s.at_risk for s in statuses],
        [dumps_json(s.forecast_at_risk) for s in statuses],
        [dumps_json(s.leave) for s in statuses],
    ]


def _constants(status: ResultStatus) -> list[Any]:
    """The undecided workers' columns, as query parameters (in the order :func:`_results_sql` takes them)."""
    return [
        status.certified,
        status.certified_since,
        status.level,
        status.grace_cycles,
        status.at_risk,
        dumps_json(status.forecast_at_risk),
        dumps_json(status.leave),
    ]


def _results_sql(evaluation: Evaluation, forecast: Evaluation, dialect: str) -> str:
    """Every result row, in :data:`RESULT_COLUMNS` order and worker order, ready for the ledger's driver."""
    program = evaluation.program
    sqlite = dialect == "sqlite"

    def flag(sql: str) -> str:  # SQLite stores booleans as 0/1
        return f"CAST({sql} AS INTEGER)" if sqlite else sql

    def decided(column: str, constant: str) -> str:
        return f"CASE WHEN d.worker_id IS NULL THEN {constant} ELSE d.{column} END"

    def criteria_json(alias: str, suffix: str = "", default: str | None = None) -> str:
        def value(criterion_id: str) -> str:
            column = f"{alias}.{criterion_id}{suffix}"
            return column if default is None else f"coalesce({column}, {default})"

        return "json_object(" + ", ".join(f"{sql_literal(c.id)}, {value(c.id)}" for c in program.criteria) + ")"

    since = decided("certified_since", "?::DATE")
    forecast_values = f"CASE WHEN f.worker_id IS NULL THEN NULL ELSE {criteria_json('f')} END"
    return f"""
        SELECT ?::BIGINT, e.worker_id, e.division, e.status, {flag("coalesce(e.certified, false)")},
               {flag(decided("certified", "?::BOOLEAN"))},
               {f"CAST({since} AS VARCHAR)" if sqlite else since},
               {decided("level", "?::VARCHAR")}, {decided("grace_cycles", "?::INTEGER")},
               {flag(decided("at_risk", "?::BOOLEAN"))},
               {criteria_json("e")}::VARCHAR,
               {criteria_json("e", "_passed", "false")}::VARCHAR,
               json_object('as_of', {sql_literal(forecast.period.as_of.isoformat())},
                           'at_risk', CAST({decided("forecast_at_risk", "?::VARCHAR")} AS JSON),
                           'values', {forecast_values})::VARCHAR,
               {decided("leave", "?::VARCHAR")}
        FROM {evaluation.table} e
        LEFT JOIN {DECIDED_TABLE} d ON d.worker_id = e.worker_id
        LEFT JOIN {forecast.table} f ON f.worker_id = e.worker_id
        ORDER BY e.worker_id"""


def _batches(cursor: Any) -> Iterable[list[tuple[Any, ...]]]:
    while batch := cursor.fetchmany(STREAM_BATCH):
        yield batch


def _executemany(session: Session, batches: Iterable[Sequence[Sequence[Any]]]) -> int:
    placeholders = ", ".join("?" for _ in RESULT_COLUMNS)
    sql = f"INSERT INTO run_results ({_COLUMN_LIST}) VALUES ({placeholders})"
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    written = 0
    try:
        for batch in batches:
            cursor.executemany(sql, batch)
            written += len(batch)
    finally:
        cursor.close()
    return written


def _copy_csv(session: Session, reader: pa.RecordBatchReader) -> int:
    """COPY Arrow batches as CSV: no Python object per row or value. Arrow quotes every string and leaves a NULL
    empty, which is how PostgreSQL's CSV format tells an empty string from NULL."""
    raw: Any = session.connection().connection.dbapi_connection
    options = pa_csv.WriteOptions(include_header=False)
    written = 0
    with raw.cursor() as cursor, cursor.copy(f"COPY run_results ({_COLUMN_LIST}) FROM STDIN (FORMAT csv)") as copy:
        for batch in reader:
            text = io.BytesIO()
            pa_csv.write_csv(batch, text, write_options=options)
            copy.write(text.getbuffer())
            written += batch.num_rows
    return written


def _copy(session: Session, batches: Iterable[Iterable[Sequence[Any]]]) -> int:
    raw: Any = session.connection().connection.dbapi_connection
    written = 0
    with raw.cursor() as cursor, cursor.copy(f"COPY run_results ({_COLUMN_LIST}) FROM STDIN") as copy:
        for batch in batches:
            for row in batch:
                copy.write_row(row)
                written += 1
    return written
