"""The web app factory: public profiles with the Pro badge, the Pro directory, the worker's dashboard, the admin
console and the JSON API under ``/api/v1``, all built on one :class:`procert.Procert`.

The routes live in :mod:`procert.web.routes` (one module per area); what they show comes from presenters usable
without HTTP (:mod:`.profile`, :mod:`.dashboard`, :mod:`.directory`). API errors share one body:
``{"error": {"status", "code", "message", "details"}}`` (:mod:`.errors`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
import swagger_ui_bundle  # type: ignore[import-untyped]
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import Scope

from procert.core import Procert
from procert.errors import ProcertError
from procert.web.auth import SESSION_HOURS
from procert.web.context import WebContext
from procert.web.deps import AdminLoginRequired, admin_session_valid, current_worker
from procert.web.errors import error_body
from procert.web.guard import RequestGuard
from procert.web.pages import HERE, error_page, pick_lang
from procert.web.routes import ROUTERS


def create_app(core: Procert) -> FastAPI:
    """The web app for ``core``: its program, ledger, facts (read-only, with the configured limits), signing key
    and settings. Runs, overrides and API keys changed by another process show within
    ``PROCERT_LEDGER_REFRESH_SECONDS``. Raises SettingsError without a usable key (outside demo mode)."""
    settings = core.settings
    core.secret  # noqa: B018  (refuse a missing or weak key before anything starts)
    context = WebContext(core)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Few worker threads: ledger reads are Python work under the GIL, and forty threads contending for it
        # cost more than they overlap (bench/results-web-hardening.md: status API 1,207 req/s with 40, 1,971
        # with 2, p99 60 → 11 ms). Raise PROCERT_WEB_THREADS for a ledger far away on the network.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.web_threads
        await anyio.to_thread.run_sync(context.prepare_snapshots)  # the build itself runs in its own thread
        await anyio.to_thread.run_sync(context.look)  # the current pros and other programs, before any request
        context.watch()
        yield
        context.close()

    app = FastAPI(
        title="procert",
        version="1",
        lifespan=lifespan,
        description="Pro worker certification: public profiles, the Pro directory and badges.",
        # The routers' routes, flat on the app: FastAPI's include_router keeps each router as a node matched on
        # every request, which cost about a fifth of a small request's time (bench/results-house-web.md).
        routes=[route for router in ROUTERS for route in router.routes],
        # /docs is the site's own page over locally installed Swagger UI files (no CDN, no inline script).
        docs_url=None,
    )
    app.state.context = context

    def authorize(scope: Scope) -> tuple[int, str] | None:
        """Credentials on a state-changing request, checked before its body is read (see guard): a worker's own
        session for the dashboard's forms, an admin's for everything else protected."""
        request = Request(scope)
        if request.url.path.startswith(WORKER_WRITES):
            return None if current_worker(request) else (401, "sign in first")
        key = request.headers.get("x-api-key")
        if key is not None:
            return None if context.api_key(key) is not None else (401, "invalid or revoked API key")
        if request.session.get("admin") and admin_session_valid(request):
            return None
        if request.session.get("worker"):
            return (403, "admins only")
        return (401, "admin credentials needed: an X-API-Key or an admin session")

    app.add_middleware(
        RequestGuard,
        authorize=authorize,
        protected=writes_need_credentials,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
        demo=core.demo,
    )
    # Sessions: a signed cookie, HTTP-only, SameSite=Lax, Secure outside demo mode.
    app.add_middleware(
        SessionMiddleware,
        secret_key=core.secret,
        session_cookie="procert_session",
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=not core.demo,
    )
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # Pages and JSON are compressed; small responses (a badge) are not worth it.
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    add_error_handlers(app)
    return app


def add_error_handlers(app: FastAPI) -> None:
    """Errors answer in one shape: the API's error body, or a page saying what went wrong."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail: Any = exc.detail
        message, details = (detail["message"], detail["details"]) if isinstance(detail, dict) else (str(detail), [])
        if is_api(request):
            return JSONResponse(
                error_body(exc.status_code, message, details), status_code=exc.status_code, headers=exc.headers
            )
        return error_page(request, status_code=exc.status_code, detail=message)

    @app.exception_handler(ProcertError)
    async def refused(request: Request, exc: ProcertError) -> Response:
        """Any of procert's own refusals that a route did not answer itself: one body, the kind's status."""
        if is_api(request):
            return JSONResponse(error_body(exc.status, str(exc)), status_code=exc.status)
        return error_page(request, status_code=exc.status, detail=exc.text(pick_lang(request)))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        details = [{"location": ".".join(str(part) for part in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        message = "; ".join(f"{d['location']}: {d['message']}" for d in details)
        if is_api(request):
            return JSONResponse(error_body(422, message, details), status_code=422)
        return error_page(request, status_code=422, detail=message)

    @app.exception_handler(AdminLoginRequired)
    async def to_sign_in(_request: Request, exc: AdminLoginRequired) -> Response:
        return RedirectResponse(f"/admin/login?next={exc.next_path}", status_code=303)


#: State-changing pages of a signed-in worker (the dashboard's forms): their session is checked before the body.
WORKER_WRITES = "/dashboard/"


def writes_need_credentials(method: str, path: str) -> bool:
    """State-changing requests that need credentials before their body is read: the API and the console (admins;
    but for signing in and out, which are checked by their CSRF token and held to a small body), and the
    dashboard's forms (the worker's own session)."""
    if path.startswith(("/api/", WORKER_WRITES)):
        return True
    return path.startswith("/admin") and path not in ("/admin/login", "/admin/logout")


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")
