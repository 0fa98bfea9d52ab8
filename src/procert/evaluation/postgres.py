"""The full evaluation on facts kept in PostgreSQL: the very same SQL as the embedded engine (one definition of
every metric and threshold), in PostgreSQL's dialect."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg

from procert.evaluation.engine import AwayByWorker, evaluation_sql, require_facts, with_leave, worker_period
from procert.facts.postgres import conninfo, postgres_provided, postgres_timezone
from procert.facts.store import FactStoreError
from procert.metrics import Away, Period
from procert.programs import Program


def _plain(value: Any) -> Any:
    # PostgreSQL sums big integers as NUMERIC; the embedded engine gives integers. Same values, one type.
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def evaluate_postgres(
    url: str, program: Program, as_of: date, *, observed_until: date | None = None, away: AwayByWorker | None = None
) -> list[dict[str, Any]]:
    """Every worker's evaluation row (as :meth:`procert.evaluation.Evaluation.rows` gives), ordered by worker;
    ``away``: declared leave by worker (their windows lengthened, as the embedded engine does)."""
    stored = postgres_timezone(url)
    if stored is not None and stored != program.timezone:
        raise FactStoreError(
            f"the facts were imported with time zone {stored}, but the program uses {program.timezone}"
        )
    require_facts(program, postgres_provided(url))
    period = Period(as_of, program.timezone, observed_until=observed_until)
    sql = evaluation_sql(program, period, dialect="postgresql")
    with psycopg.connect(conninfo(url)) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM ({sql}) evaluated ORDER BY worker_id")
        names = [d.name for d in cur.description or []]
        rows = [{k: _plain(v) for k, v in zip(names, row, strict=True)} for row in cur.fetchall()]
        return with_leave(rows, program, period, away, lambda w, own: _worker_row(conn, program, own, w))


def evaluate_worker_postgres(
    connection: psycopg.Connection, program: Program, as_of: date, worker_id: str, *, away: Sequence[Away] = ()
) -> dict[str, Any] | None:
    """One worker's evaluation row on PostgreSQL (the dashboard's live preview, event-driven updates): the
    single-worker SQL, which reads the worker's rows through the indexes built at import. None if unknown."""
    return _worker_row(connection, program, worker_period(program, Period(as_of, program.timezone), away), worker_id)


def _worker_row(
    connection: psycopg.Connection, program: Program, period: Period, worker_id: str
) -> dict[str, Any] | None:
    with connection.cursor() as cur:
        # The planner multiplies the joins' row estimates into a cost that switches JIT compilation on: most of
        # a second compiling a query that reads a few index pages.
        cur.execute("SET jit = off")
        cur.execute(
            evaluation_sql(program, period, worker_id_param=True, dialect="postgresql"), {"worker_id": worker_id}
        )
        row = cur.fetchone()
        if row is None:
            return None
        names = [d.name for d in cur.description or []]
    return {k: _plain(v) for k, v in zip(names, row, strict=True)}
