"""Facts in PostgreSQL: the same tables as the embedded store, loaded from it with COPY and indexed by worker, so
the same metric SQL runs there (see :mod:`procert.evaluation.postgres`)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import psycopg

from procert.facts.contract import TABLE_ORDER
from procert.facts.store import MONTHLY_EARNINGS_SCHEMA, STORED_SCHEMA, FactStore, one
from procert.i18n import Message, Progress

#: Single-worker evaluation reads every table by worker (the monthly ranks from a covering index); explanations
#: read monthly totals by division and month.
INDEXES = (
    "CREATE UNIQUE INDEX ON workers (worker_id)",
    "CREATE INDEX ON contracts (worker_id)",
    "CREATE INDEX ON reviews (worker_id)",
    "CREATE INDEX ON payments (worker_id)",
    "CREATE INDEX ON scouts (worker_id)",
    "CREATE INDEX ON inquiries (worker_id)",
    "CREATE INDEX ON monthly_earnings (division, paid_month, total_jpy DESC)",
    "CREATE INDEX ON monthly_earnings (worker_id, paid_month) INCLUDE (total_jpy, month_rank)",
)


def conninfo(url: str) -> str:
    """A libpq URL from a SQLAlchemy-style one."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def load_postgres(store: FactStore, url: str, *, progress: Progress | None = None) -> dict[str, int]:
    """Replace the facts in the PostgreSQL database at ``url`` with those of ``store``, in one transaction:
    tables created afresh, rows streamed with COPY, indexes built, statistics gathered. Returns rows per table."""
    step = progress or (lambda _msg: None)
    tables = {**STORED_SCHEMA, "monthly_earnings": MONTHLY_EARNINGS_SCHEMA}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp, psycopg.connect(conninfo(url)) as conn, conn.cursor() as cur:
        for table in (*TABLE_ORDER, "monthly_earnings"):
            step(Message("step_copying_table", {"table": table}))
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute(f"CREATE TABLE {table} ({tables[table]})")
            csv_path = Path(tmp) / f"{table}.csv"
            store.query(f"COPY {table} TO '{csv_path}' (FORMAT csv, HEADER false)")
            with csv_path.open("rb") as source, cur.copy(f"COPY {table} FROM STDIN (FORMAT csv)") as copy:
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
            counts[table] = one(store.query(f"SELECT count(*) FROM {table}").fetchone())[0]
            csv_path.unlink()
        cur.execute("DROP TABLE IF EXISTS procert_meta")
        cur.execute("CREATE TABLE procert_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        cur.execute("INSERT INTO procert_meta VALUES ('timezone', %s)", [store.timezone])
        cur.execute("INSERT INTO procert_meta VALUES ('provided', %s)", [json.dumps(sorted(store.provided()))])
        step(Message("step_building_indexes"))
        for ddl in INDEXES:
            cur.execute(ddl)
        cur.execute("ANALYZE")
    return counts


def postgres_timezone(url: str) -> str | None:
    with psycopg.connect(conninfo(url)) as conn:
        row = conn.execute("SELECT value FROM procert_meta WHERE key = 'timezone'").fetchone()
    return row[0] if row else None


def postgres_provided(url: str) -> set[str]:
    """The optional facts the loaded store held (see :meth:`procert.facts.FactStore.provided`)."""
    with psycopg.connect(conninfo(url)) as conn:
        row = conn.execute("SELECT value FROM procert_meta WHERE key = 'provided'").fetchone()
    return set(json.loads(row[0])) if row and row[0] else set()
