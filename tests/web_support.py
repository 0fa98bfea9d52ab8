"""Building the web app in tests the way `procert serve` does: settings, then the core object, then the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

from procert.core import Procert
from procert.programs import Program
from procert.settings import Settings
from procert.web.app import create_app


def web_app(
    *,
    program: Program,
    engine: Engine,
    facts_path: Path,
    secret: str | None = None,
    demo: bool = False,
    **settings: Any,
) -> FastAPI:
    """The app over ``facts_path`` (a ``facts.duckdb`` in the state folder) and ``engine``; ``settings`` are
    :class:`Settings` fields (``ledger_refresh_seconds=0``, ``max_body_bytes=…``)."""
    assert facts_path.name == "facts.duckdb", "the facts store lives at PROCERT_HOME/facts.duckdb"
    configured = Settings(home=facts_path.parent, secret_key=None if demo else secret, demo=demo, **settings)
    return create_app(Procert(configured, program=program, engine=engine))
