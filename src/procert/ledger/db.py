"""The ledger's database: SQLite under PROCERT_HOME by default, PostgreSQL through PROCERT_DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class LedgerNotReady(RuntimeError):
    """The ledger's schema is missing or older than this procert: run `procert db upgrade`."""


def default_url(home: Path) -> str:
    return f"sqlite:///{home / 'ledger.sqlite'}"


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A generous busy timeout: a second writer waits for the first instead of failing at once.
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def _alembic_config() -> Config:
    # No URL in the config: migrations run on the connection handed over (passwords never reach a config).
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> list[str]:
    """Apply every pending migration; returns the revisions applied."""
    before = current_revision(engine)
    config = _alembic_config()
    with engine.begin() as connection:
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
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back (nothing visible) if it raises."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session
