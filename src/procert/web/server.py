"""Building the app from settings alone, so that uvicorn can start several server processes
(`procert serve --workers N`): each process calls :func:`app_from_environment` and reads ``PROCERT_*``."""

from __future__ import annotations

from fastapi import FastAPI

from procert.core import Procert
from procert.settings import Settings
from procert.web.app import create_app


def app_from_settings(settings: Settings) -> FastAPI:
    """The app for these settings. Raises SettingsError without a usable secret key outside demo mode."""
    return create_app(Procert(settings))


def app_from_environment() -> FastAPI:
    """uvicorn's app factory: the settings of the environment (``PROCERT_*``)."""
    return app_from_settings(Settings())
