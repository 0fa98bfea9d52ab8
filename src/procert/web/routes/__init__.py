"""The web's routes, one module per area, each an ``APIRouter`` whose routes
:func:`procert.web.app.create_app` puts on the app, in the order of :data:`ROUTERS`."""

from __future__ import annotations

from fastapi import APIRouter

from . import admin_api, admin_pages, badges, jobs, newsletter, public, signin, worker

ROUTERS: tuple[APIRouter, ...] = (
    public.router,
    badges.router,
    signin.router,
    worker.router,
    admin_pages.router,
    admin_api.router,
    jobs.router,
    newsletter.router,
)

__all__ = ["ROUTERS"]
