"""Helpers for ledger tests: a ledger database on SQLite or on the machine's PostgreSQL, one schema per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from procert.ledger import make_engine, upgrade

PG_URL = os.environ.get("PROCERT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def pg_schema_url(schema: str) -> str:
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}"


def ledger_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """Yield a fresh, empty ledger database URL of the given kind; PostgreSQL schemas are dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    conninfo = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {PG_URL} (set PROCERT_TEST_DATABASE_URL): {exc}"
        if os.environ.get("CI"):  # CI has a PostgreSQL server (.ci/run starts it): there this is a failure
            raise RuntimeError(message) from exc
        pytest.skip(message)  # a developer machine without PostgreSQL still runs everything else
    try:
        yield pg_schema_url(schema)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def ready_engine(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine
