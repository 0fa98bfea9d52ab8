"""Writing a run's results at bulk-insert speed: ``COPY`` on PostgreSQL, the driver's ``executemany`` on SQLite,
SQLAlchemy's portable insert elsewhere. A million results through the ORM's insert spend most of their time in
per-row type processing; these paths hand the driver ready values (JSON already serialised, SQLite's dates and
booleans as SQLAlchemy stores them), in the session's own transaction.

Every path stores what SQLAlchemy's own insert stores: the same JSON text (the ledger's one serialiser,
:func:`~procert.ledger.db.dumps_json`; Python ``None`` as JSON ``null``, as SQLAlchemy's JSON type does by
default), so reading the rows back gives the same values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

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
#: Quoted: "values" is a keyword in SQL.
_COLUMN_LIST = ", ".join(f'"{name}"' for name in RESULT_COLUMNS)


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
        _copy(session, (_as_tuple(r) for r in rows))
    elif dialect == "sqlite":
        placeholders = ", ".join("?" for _ in RESULT_COLUMNS)
        sql = f"INSERT INTO run_results ({_COLUMN_LIST}) VALUES ({placeholders})"
        cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for start in range(0, len(rows), BATCH):
                cursor.executemany(sql, [_for_sqlite(r) for r in rows[start : start + BATCH]])
        finally:
            cursor.close()
    else:
        for start in range(0, len(rows), BATCH):
            session.execute(insert(RunResult), list(rows[start : start + BATCH]))


def _copy(session: Session, rows: Iterable[Sequence[Any]]) -> None:
    raw: Any = session.connection().connection.dbapi_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY run_results ({_COLUMN_LIST}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
