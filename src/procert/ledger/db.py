"""The ledger's database: SQLite under PROCERT_HOME by default, PostgreSQL through PROCERT_DATABASE_URL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session

from procert.errors import ProcertError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class LedgerNotReady(ProcertError, RuntimeError):
    """The ledger's schema is missing or older than this procert: run `procert db upgrade`."""


def dumps_json(value: Any) -> str:
    """The ledger's JSON text, for SQLAlchemy's JSON columns and the bulk writers alike (one serialiser, so both
    store the same text): orjson, several times faster than the standard library on a million results."""
    return orjson.dumps(value).decode()


def default_url(home: Path) -> str:
    return f"sqlite:///{home / 'ledger.sqlite'}"


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # SQLAlchemy, not the driver, begins transactions, so that writers can take SQLite's write lock up
        # front (BEGIN IMMEDIATE): a second writer then waits for the first (generous busy timeout) and sees its
        # result, instead of failing on a stale snapshot.
        engine = create_engine(url, connect_args={"timeout": 120, "isolation_level": None}, json_serializer=dumps_json)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Connection) -> None:
            write = connection.get_execution_options().get("procert_write", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=dumps_json)


def _alembic_config() -> Config:
    # No URL in the config: migrations run on the connection handed over (passwords never reach a config).
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> list[str]:
    """Apply every pending migration; returns the revisions applied."""
    before = current_revision(engine)
    config = _alembic_config()
    # Take the write lock first, so two processes upgrading at once run one after the other (the second finds
    # nothing left to do) instead of both creating the same tables.
    with engine.connect() as raw:
        connection = raw.execution_options(procert_write=True)
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7274623)")
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    after = current_revision(engine)
    script = ScriptDirectory.from_config(config)
    if before == after:
        return []
    return [rev.revision for rev in script.iterate_revisions(after, before)][::-1]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def require_current(engine: Engine) -> None:
    current = current_revision(engine)
    if current != head_revision():
        state = "has no ledger schema" if current is None else f"is at revision {current}"
        raise LedgerNotReady(
            f"the ledger database {engine.url.render_as_string(hide_password=True)} {state}; "
            f"run `procert db upgrade` (target {head_revision()})"
        )


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back (nothing visible) if it raises.

    ``write`` takes the database's write lock at the start (SQLite; PostgreSQL locks rows as it goes), for
    work such as recording a run that must see every earlier writer's result.
    """
    with engine.connect() as connection:
        if write:
            connection = connection.execution_options(procert_write=True)
        with connection.begin():
            session = Session(bind=connection, expire_on_commit=False)
            try:
                yield session
                session.flush()
            finally:
                session.close()
