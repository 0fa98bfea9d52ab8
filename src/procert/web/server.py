"""Building the app from settings alone, so that uvicorn can start several server processes
(`procert serve --workers N`): each process calls :func:`app_from_environment` and reads ``PROCERT_*``."""

from __future__ import annotations

from fastapi import FastAPI

from procert.ledger import make_engine
from procert.programs import load_program
from procert.settings import Settings
from procert.web.app import create_app
from procert.web.auth import resolve_secret


def app_from_settings(settings: Settings) -> FastAPI:
    """The app for these settings. Raises ValueError without a usable secret key outside demo mode."""
    secret = resolve_secret(settings.secret_key.get_secret_value() if settings.secret_key else None, demo=settings.demo)
    return create_app(
        program=load_program(settings.program),
        engine=make_engine(settings.ledger_url),
        facts_path=settings.facts_path,
        secret=secret,
        demo=settings.demo,
        login_link_minutes=settings.login_link_minutes,
        ledger_refresh_seconds=settings.ledger_refresh_seconds,
        public_url=settings.public_url,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
        admin_lockout_failures=settings.admin_lockout_failures,
        admin_lockout_minutes=settings.admin_lockout_minutes,
        facts_reload_seconds=settings.facts_reload_seconds,
        web_threads=settings.web_threads,
        facts_memory_limit=settings.duckdb_memory_limit,
        facts_threads=settings.duckdb_threads,
    )


def app_from_environment() -> FastAPI:
    """uvicorn's app factory: the settings of the environment (``PROCERT_*``)."""
    return app_from_settings(Settings())
