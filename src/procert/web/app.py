"""The web app: public profiles with the Pro badge, the Pro directory, the worker's dashboard, the admin
console (:mod:`procert.web.admin`) and the JSON API under ``/api/v1``.

Thin routes over the ledger and facts; everything they show comes from :mod:`procert.web.directory`, the
ledger's current statuses and the facts store. API errors share one body: ``{"error": {"status", "code",
"message", "details"}}``.
"""

from __future__ import annotations

import threading
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import anyio.to_thread
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from procert.benefits import Viewer, pro_feed
from procert.benefits.promotion import Candidate
from procert.errors import ProcertError
from procert.evaluation import evaluate_worker, explain_rows, threshold_text
from procert.facts import FactStore
from procert.i18n import format_value, t
from procert.ledger import (
    StatusReader,
    api_key_digest,
    current_pros,
    end_session,
    end_sessions,
    list_transitions,
    session_scope,
    session_subject,
    start_session,
    use_login_link,
)
from procert.metrics import Period
from procert.programs import Program
from procert.web.admin import add_admin_routes, admin_session_valid
from procert.web.auth import LoginError, check_csrf, csrf_token, login_token, read_login_link, read_login_token
from procert.web.badge import badge_svg, etag
from procert.web.directory import Directory, ProCard, SortKey, pro_cards
from procert.web.errors import error_body
from procert.web.guard import RequestGuard
from procert.web.jobs import add_job_routes, utcnow
from procert.web.params import PageQuery, PerPageQuery
from procert.web.promotion import add_promotion_routes

HERE = Path(__file__).resolve().parent
#: How long a sign-in lasts (cookie and server-side session alike).
SESSION_HOURS = 8

DivisionQuery = Annotated[str | None, Query(max_length=120, description="Only this division.")]
TextQuery = Annotated[str | None, Query(max_length=200, description="Words to find in name and profile.")]
SortQuery = Annotated[SortKey, Query(description="rating, recent (most recently certified) or name.")]


class WebContext:
    """What the routes read: the program, the ledger (through a :class:`StatusReader` snapshot), the facts; the
    current pros cached per ledger version."""

    def __init__(
        self,
        *,
        program: Program,
        engine: Engine,
        facts_path: Path,
        ledger_refresh_seconds: float = 1.0,
        facts_reload_seconds: float = 5.0,
        facts_memory_limit: str | None = None,
        facts_threads: int | None = None,
    ) -> None:
        self.program = program
        self.facts_reload_seconds = facts_reload_seconds
        self.engine = engine
        self.store = FactStore(facts_path, read_only=True, memory_limit=facts_memory_limit, threads=facts_threads)
        self.statuses = StatusReader(
            engine, program_id=program.id, today=self.today, refresh_seconds=ledger_refresh_seconds
        )
        self._cards_version: tuple[Any, ...] | None = None

        self._cards: list[ProCard] = []
        self._by_id: dict[str, ProCard] = {}
        self._directory = Directory([])
        self._cards_lock = threading.Lock()

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.program.timezone)).date()

    def cards(self) -> list[ProCard]:
        """Every worker certified now, with what the directory shows: rebuilt when the ledger's version changes."""
        self.refresh_facts()
        version = (self.statuses.refresh(), self.store.generation)
        if version != self._cards_version:
            # One thread rebuilds; the others keep serving the previous cards meanwhile (they wait only for the
            # very first build), so a slow ledger never queues every request behind one lock.
            if not self._cards_lock.acquire(blocking=self._cards_version is None):
                return self._cards
            try:
                if version != self._cards_version:
                    with session_scope(self.engine) as session:
                        pros = current_pros(session, program_id=self.program.id, on=self.today())
                    cards = pro_cards(self.store, pros)
                    self._cards, self._by_id = cards, {c.worker_id: c for c in cards}
                    self._directory = Directory(cards)
                    self._cards_version = version
            finally:
                self._cards_lock.release()
        return self._cards

    def snapshot_is_fresh(self) -> bool:
        """Whether :meth:`cards` would answer from memory, touching neither the ledger nor the facts: what lets
        the hottest routes stay on the event loop without ever blocking it."""
        return (
            self.statuses.is_fresh()
            and not self.store.reload_due(self.facts_reload_seconds)
            and self._cards_version == (self.statuses.version, self.store.generation)
        )

    def cards_version(self) -> tuple[Any, ...] | None:
        """Changes whenever the current pros or their facts do (after :meth:`cards`)."""
        return self._cards_version

    def refresh_facts(self) -> None:
        """Switch to a newer facts store if an import wrote one (checked at most every facts_reload_seconds)."""
        self.store.reopen_if_replaced(every_seconds=self.facts_reload_seconds)

    def directory(self) -> Directory:
        self.cards()
        return self._directory

    def certified(self, worker_id: str) -> tuple[bool, date | None]:
        """Whether the worker is certified now and since when: a lookup in the current pros, no query at all
        (badges are the most requested resource)."""
        self.cards()
        card = self._by_id.get(worker_id)
        return (True, card.since) if card is not None else (False, None)

    def api_key(self, key: str) -> tuple[int, str] | None:
        """The (id, name) of the active admin API key ``key``, or None."""
        digest = api_key_digest(key)
        return self.statuses.api_key(digest) if digest else None

    def known_worker(self, worker_id: str) -> bool:
        found = self.store.reader().execute("SELECT 1 FROM workers WHERE worker_id = ?", [worker_id]).fetchone()
        return found is not None

    def close(self) -> None:
        self.store.close()


def pick_lang(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get("lang")
    if chosen in ("ja", "en"):
        return chosen
    accepted = request.headers.get("accept-language", "")
    return "en" if accepted.lower().startswith("en") else "ja"


def create_app(
    *,
    program: Program,
    engine: Engine,
    facts_path: Path,
    secret: str,
    demo: bool = False,
    login_link_minutes: int = 15,
    ledger_refresh_seconds: float = 1.0,
    public_url: str = "http://127.0.0.1:8000",
    max_body_bytes: int = 2_000_000,
    max_header_bytes: int = 16_384,
    admin_lockout_failures: int = 5,
    admin_lockout_minutes: int = 15,
    facts_reload_seconds: float = 5.0,
    web_threads: int = 4,
    facts_memory_limit: str | None = None,
    facts_threads: int | None = None,
) -> FastAPI:
    """The web app. ``secret`` signs login links and sessions (see :func:`procert.web.auth.resolve_secret`).
    Runs, overrides and API keys changed by another process show within ``ledger_refresh_seconds``."""
    context = WebContext(
        program=program,
        engine=engine,
        facts_path=facts_path,
        ledger_refresh_seconds=ledger_refresh_seconds,
        facts_reload_seconds=facts_reload_seconds,
        facts_memory_limit=facts_memory_limit,
        facts_threads=facts_threads,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        # Few worker threads: ledger reads are Python work under the GIL, and forty threads contending for it
        # cost more than they overlap (bench/results-web-hardening.md: status API 1,207 req/s with 40, 1,971
        # with 2, p99 60 → 11 ms). Raise PROCERT_WEB_THREADS for a ledger far away on the network.
        anyio.to_thread.current_default_thread_limiter().total_tokens = web_threads
        yield
        context.close()

    app = FastAPI(
        title="procert",
        version="1",
        lifespan=lifespan,
        description="Pro worker certification: public profiles, the Pro directory and badges.",
    )
    app.state.context = context

    def authorize(scope: Any) -> tuple[int, str] | None:
        """Admin credentials on a state-changing request, checked before its body is read (see guard)."""
        request = Request(scope)
        key = request.headers.get("x-api-key")
        if key is not None:
            return None if context.api_key(key) is not None else (401, "invalid or revoked API key")
        if request.session.get("admin") and admin_session_valid(context.engine, request):
            return None
        if request.session.get("worker"):
            return (403, "admins only")
        return (401, "admin credentials needed: an X-API-Key or an admin session")

    app.add_middleware(
        RequestGuard,
        authorize=authorize,
        protected=writes_need_admin,
        max_body_bytes=max_body_bytes,
        max_header_bytes=max_header_bytes,
        demo=demo,
    )
    # Sessions: a signed cookie, HTTP-only, SameSite=Lax, Secure outside demo mode.
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="procert_session",
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=not demo,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")

    def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        lang = pick_lang(request)
        response = templates.TemplateResponse(
            request,
            name,
            {
                "lang": lang,
                "t": lambda key, **kw: t(key, lang, **kw),
                "program": program,
                "program_name": program.name.get(lang),
                "signed_in": request.session.get("worker"),
                "admin": request.session.get("admin"),
                "csrf": csrf_token(request),
                "demo": demo,
                "status_code": status_code,
                **values,
            },
            status_code=status_code,
        )
        if request.query_params.get("lang") in ("ja", "en"):
            response.set_cookie("lang", lang, max_age=365 * 86400, httponly=True, samesite="lax")
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail: Any = exc.detail
        message, details = (detail["message"], detail["details"]) if isinstance(detail, dict) else (str(detail), [])
        if is_api(request):
            return JSONResponse(
                error_body(exc.status_code, message, details), status_code=exc.status_code, headers=exc.headers
            )
        lang = pick_lang(request)
        return render(
            request, "message.html", status_code=exc.status_code, title=t("web_error_title", lang), message=message
        )

    @app.exception_handler(ProcertError)
    async def refused(request: Request, exc: ProcertError) -> Response:
        """Any of procert's own refusals that a route did not answer itself: one body, the kind's status."""
        if is_api(request):
            return JSONResponse(error_body(exc.status, str(exc)), status_code=exc.status)
        lang = pick_lang(request)
        return render(
            request, "message.html", status_code=exc.status, title=t("web_error_title", lang), message=str(exc)
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        details = [{"location": ".".join(str(part) for part in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        message = "; ".join(f"{d['location']}: {d['message']}" for d in details)
        if is_api(request):
            return JSONResponse(error_body(422, message, details), status_code=422)
        lang = pick_lang(request)
        return render(request, "message.html", status_code=422, title=t("web_error_title", lang), message=message)

    def worker_card(worker_id: str) -> dict[str, Any]:
        context.refresh_facts()
        row = (
            context.store.reader()
            .execute(
                """SELECT w.display_name, w.division, w.profile_text, w.self_pr_text, count(r.review_id),
                      sum(r.item_sum), sum(r.communication), w.status
               FROM workers w LEFT JOIN reviews r ON r.worker_id = w.worker_id
               WHERE w.worker_id = ? GROUP BY ALL""",
                [worker_id],
            )
            .fetchone()
        )
        if row is None:
            raise HTTPException(status_code=404, detail=f"no worker {worker_id!r}")
        name, division, profile, self_pr, reviews, item_sum, communication, account = row
        if account == "withdrawn":
            # The worker left the marketplace: nothing of theirs stays public.
            raise HTTPException(status_code=410, detail=f"worker {worker_id!r} has left the marketplace")
        suspended = account == "suspended"
        certified, since = context.certified(worker_id)
        if suspended:
            profile = self_pr = ""
            certified, since = False, None
        return {
            "worker_id": worker_id,
            "display_name": name,
            "division": division,
            "profile_text": profile or "",
            "self_pr_text": self_pr or "",
            "reviews": reviews,
            "overall_rating": round(item_sum / (5 * reviews), 2) if reviews else None,
            "communication_rating": round(communication / reviews, 2) if reviews else None,
            "certified": certified,
            "certified_since": since.isoformat() if since else None,
            "suspended": suspended,
        }

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: answers without touching the ledger or the facts (for load balancers)."""
        return {"status": "ok", "program": program.id}

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/pros")

    # Every route that may touch the ledger or the facts runs its database work in the thread pool: a slow or
    # locked database then delays that request alone, never the event loop (and so never /healthz). The hottest
    # reads (badges, the directory) are coroutines that answer from the in-memory snapshot while it is fresh and
    # hop to a thread only to refresh it (at most once per PROCERT_LEDGER_REFRESH_SECONDS).
    async def fresh_snapshot() -> None:
        if not context.snapshot_is_fresh():
            await run_in_threadpool(context.cards)

    @app.get("/api/v1/pros", tags=["directory"])
    async def api_pros(
        division: DivisionQuery = None,
        q: TextQuery = None,
        sort: SortQuery = "rating",
        page: PageQuery = 1,
        per_page: PerPageQuery = 20,
    ) -> dict[str, Any]:
        """Every currently certified worker, searchable; `total` counts all matches, `items` is one page."""
        await fresh_snapshot()
        result = context.directory().search(q=q, division=division, sort=sort, page=page, per_page=per_page)
        return {
            "total": result.total,
            "page": result.page,
            "per_page": result.per_page,
            "items": [
                {
                    "worker_id": c.worker_id,
                    "display_name": c.display_name,
                    "division": c.division,
                    "certified_since": c.since.isoformat() if c.since else None,
                    "overall_rating": round(c.overall_rating, 2) if c.overall_rating is not None else None,
                    "reviews": c.reviews,
                    "profile_url": f"/workers/{c.worker_id}",
                }
                for c in result.items
            ],
        }

    @app.get("/api/v1/workers/{worker_id}/profile", tags=["profiles"])
    def api_profile(worker_id: str) -> dict[str, Any]:
        """A worker's public profile: name, division, lifetime ratings and whether they are certified now."""
        return worker_card(worker_id)

    @app.get("/badge/{worker_id}.svg", tags=["badges"])
    async def badge(worker_id: str, request: Request) -> Response:
        """The worker's badge: the Pro mark while certified, a neutral mark otherwise. Cached with an ETag."""
        await fresh_snapshot()
        certified, _since = context.certified(worker_id)
        lang = pick_lang(request)
        svg = badge_svg(program.name.get(lang), certified, t("badge_pro" if certified else "badge_none", lang))
        tag = etag(svg)
        headers = {"ETag": tag, "Cache-Control": "public, max-age=300", "Vary": "Accept-Language"}
        if request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers=headers)
        return Response(svg, media_type="image/svg+xml", headers=headers)

    @app.get("/pros", response_class=HTMLResponse, include_in_schema=False)
    async def pros_page(
        request: Request,
        division: DivisionQuery = None,
        q: TextQuery = None,
        sort: SortQuery = "rating",
        page: PageQuery = 1,
    ) -> HTMLResponse:
        await fresh_snapshot()
        directory = context.directory()
        result = directory.search(q=q, division=division, sort=sort, page=page, per_page=20)
        divisions = directory.divisions
        return render(
            request, "pros.html", result=result, q=q or "", division=division or "", sort=sort, divisions=divisions
        )

    @app.get("/workers/{worker_id}", response_class=HTMLResponse, include_in_schema=False)
    def profile_page(request: Request, worker_id: str) -> HTMLResponse:
        try:
            card = worker_card(worker_id)
        except HTTPException as exc:
            return render(request, "not_found.html", status_code=exc.status_code, worker_id=worker_id)
        return render(request, "profile.html", worker=card)

    # ---- signing in ------------------------------------------------------------------------------------

    # A login link opens a page with a button (GET never writes, and mail scanners that open links do not use
    # them up); pressing it uses the link once and starts a server-side session.
    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, token: str = "") -> HTMLResponse:
        try:
            worker_id = read_login_token(secret, token, max_age_seconds=login_link_minutes * 60)
            worker_card(worker_id)
        except (LoginError, HTTPException) as exc:
            return login_refused(request, exc)
        return render(request, "login_confirm.html", token=token)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        check_csrf(request, str(form.get("csrf", "")))
        token = str(form.get("token", ""))

        def sign_in() -> tuple[str, str]:
            worker_id, link_id = read_login_link(secret, token, max_age_seconds=login_link_minutes * 60)
            worker_card(worker_id)
            with session_scope(context.engine, write=True) as session:
                if not use_login_link(session, link_id=link_id, worker_id=worker_id):
                    raise LoginError("this login link was used already; ask for a new one")
                return worker_id, start_session(
                    session, kind="worker", subject=worker_id, hours=SESSION_HOURS, actor=f"worker:{worker_id}"
                )

        try:
            worker_id, session_token = await run_in_threadpool(sign_in)
        except (LoginError, HTTPException) as exc:
            return login_refused(request, exc)
        request.session.clear()  # a new session for a new sign-in
        request.session.update({"worker": worker_id, "sid": session_token})
        return RedirectResponse("/dashboard", status_code=303)

    def login_refused(request: Request, exc: Exception) -> HTMLResponse:
        reason = str(exc) if isinstance(exc, LoginError) else "unknown worker"
        title = t("web_login_failed", pick_lang(request))
        return render(request, "message.html", status_code=400, title=title, message=reason)

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        form = await request.form()
        check_csrf(request, str(form.get("csrf", "")))
        worker_id, token = request.session.get("worker"), request.session.get("sid")

        def revoke() -> None:
            with session_scope(context.engine, write=True) as session:
                if form.get("everywhere") and worker_id and current_worker(request):
                    end_sessions(session, kind="worker", subject=worker_id, actor=f"worker:{worker_id}")
                elif token:
                    end_session(session, token=str(token), actor=f"worker:{worker_id}")

        await run_in_threadpool(revoke)
        request.session.clear()
        return RedirectResponse("/pros", status_code=303)

    def current_worker(request: Request) -> str | None:
        """The worker this request's session signs in as, checked against the ledger (revoked or expired
        sessions sign in nobody); once per request."""
        if hasattr(request.state, "worker"):
            return request.state.worker  # type: ignore[no-any-return]
        worker, token = request.session.get("worker"), request.session.get("sid")
        found = None
        if worker and token:
            with session_scope(context.engine) as session:
                found = session_subject(session, token=str(token), kind="worker")
        if found != worker:
            found = None
            request.session.pop("worker", None)
            request.session.pop("sid", None)
        request.state.worker = found
        return found

    @app.get("/demo/login", response_class=HTMLResponse, include_in_schema=False)
    def demo_login(request: Request) -> HTMLResponse:
        """Demo mode only: pick a worker to sign in as."""
        if not demo:
            raise HTTPException(status_code=404, detail="not found")
        cards = sorted(context.cards(), key=lambda c: c.worker_id)[:10]
        pros = {c.worker_id for c in cards}
        with session_scope(context.engine) as session:
            _n, lost = list_transitions(session, program_id=program.id, kinds=("lost",), limit=5)
        lost_ids = [x.worker_id for x in lost]
        others = (
            context.store.reader()
            .execute("SELECT worker_id, display_name FROM workers WHERE status = 'active' ORDER BY worker_id LIMIT 15")
            .fetchall()
        )
        names = dict(others)
        if lost_ids:
            placeholders = ", ".join("?" for _ in lost_ids)
            names |= dict(
                context.store.reader()
                .execute(f"SELECT worker_id, display_name FROM workers WHERE worker_id IN ({placeholders})", lost_ids)
                .fetchall()
            )
        links = [(c.worker_id, c.display_name, login_token(secret, c.worker_id), "pro") for c in cards]
        links += [(w, names.get(w) or w, login_token(secret, w), "lost") for w in lost_ids if w not in pros]
        shown = pros | set(lost_ids)
        links += [(w, n or w, login_token(secret, w), "") for w, n in others if w not in shown][: 20 - len(links)]
        return render(request, "demo_login.html", links=links)

    # ---- the worker's own dashboard and status ------------------------------------------------------------

    def signed_in_as(request: Request, worker_id: str | None) -> str:
        """Who may see ``worker_id``: an admin API key (X-API-Key) sees anyone; a signed-in worker only
        themselves. 401 without valid credentials, 403 for another worker's data."""
        key = request.headers.get("x-api-key")
        if key is not None:
            if context.api_key(key) is None:
                raise HTTPException(status_code=401, detail="invalid or revoked API key")
            if worker_id is None:
                raise HTTPException(status_code=400, detail="name the worker")
            return worker_id
        if request.session.get("admin") and admin_active(request):
            if worker_id is None:
                raise HTTPException(status_code=400, detail="name the worker")
            return worker_id
        current = current_worker(request)
        if not current:
            raise HTTPException(status_code=401, detail="sign in with the login link from your platform")
        if worker_id is not None and worker_id != current:
            raise HTTPException(status_code=403, detail="you can only see your own dashboard")
        return current

    def official_status(worker_id: str, lang: str) -> dict[str, Any]:
        """The status by the last recorded run (with overrides on top): ledger reads only, so it is cheap."""
        status, history = context.statuses.read(worker_id)
        if status.division is None and not context.known_worker(worker_id):
            raise HTTPException(status_code=404, detail=f"no worker {worker_id!r}")
        official = status.values or {}
        forecast = status.forecast or {}
        labels = {c.id: c.label.get(lang) for c in program.criteria}
        return {
            "worker_id": worker_id,
            "program": program.id,
            "program_version": program.version,
            "certified": status.certified,
            "since": status.since.isoformat() if status.since else None,
            "last_run": {"id": status.run_id, "as_of": status.as_of.isoformat() if status.as_of else None},
            "override": (
                {
                    "certified": status.override.certified,
                    "reason": status.override.reason,
                    "expires_on": status.override.expires_on.isoformat() if status.override.expires_on else None,
                }
                if status.override
                else None
            ),
            "in_grace": status.in_grace,
            "at_risk": forecast.get("at_risk", []) if status.certified else [],
            "forecast_as_of": forecast.get("as_of"),
            "next_evaluation": program.cadence.next_after(context.today()).isoformat(),
            "criteria": [
                {
                    "id": c.id,
                    "label": c.label.get(lang),
                    "threshold": threshold_text(c, status.division or ""),
                    "value": official.get(c.id),
                    "value_text": format_value(official.get(c.id), lang, display=c.display),
                    "passed": (status.passed or {}).get(c.id),
                }
                for c in program.criteria
            ],
            "history": [
                {
                    "as_of": h.as_of.isoformat(),
                    "kind": h.kind,
                    "reason": h.reason,
                    "failed": h.failed,
                    "failed_labels": [labels.get(f, f) for f in h.failed],
                }
                for h in history
            ],
        }

    def live_preview(worker_id: str, lang: str) -> dict[str, Any]:
        """The worker evaluated alone as of today: each criterion's value, progress and what it would take."""
        store = context.store.thread_cursor()  # keeps the evaluation's prepared statement between requests
        today = context.today()
        row = evaluate_worker(store, program, today, worker_id)
        if row is None:
            raise HTTPException(status_code=404, detail=f"no worker {worker_id!r}")
        live = explain_rows(store, program, Period(today, program.timezone), [row], {worker_id: lang})[worker_id]
        return {
            "worker_id": worker_id,
            "as_of": today.isoformat(),
            "certified": bool(row["certified"]),
            "criteria": [
                {
                    "id": c.id,
                    "label": e.label,
                    "threshold": e.threshold_text,
                    "window": e.window_text,
                    "value": e.value,
                    "value_text": format_value(e.value, lang) if isinstance(e.value, bool) else e.value_text,
                    "passed": e.passed,
                    "progress": progress(c, e.value, row["division"]),
                    "what_it_would_take": e.takes,
                    "margin": e.margin,
                    "advice": e.advice,
                }
                for c, e in zip(program.criteria, live.criteria, strict=True)
            ],
        }

    @app.get("/api/v1/workers/{worker_id}/status", tags=["workers"])
    def api_status(request: Request, worker_id: str) -> dict[str, Any]:
        """The worker's status by the last run: certified since, each criterion's value and pass flag, the
        at-risk forecast for the next evaluation and the history. Only for that worker's own session or an
        admin (session or X-API-Key): 401 without credentials, 403 for another worker."""
        signed_in_as(request, worker_id)
        return official_status(worker_id, pick_lang(request))

    @app.get("/api/v1/workers/{worker_id}/preview", tags=["workers"])
    def api_preview(request: Request, worker_id: str) -> dict[str, Any]:
        """A live preview: the worker evaluated alone as of today, with progress, what it would take and
        advice for each criterion. Same access rules as the status."""
        signed_in_as(request, worker_id)
        return live_preview(worker_id, pick_lang(request))

    @app.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
    @app.get("/dashboard/{worker_id}", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(request: Request, worker_id: str | None = None) -> HTMLResponse:
        lang = pick_lang(request)
        try:
            current = signed_in_as(request, worker_id)
        except HTTPException as exc:
            key = "web_sign_in_needed" if exc.status_code == 401 else "web_forbidden"
            return render(
                request,
                "message.html",
                status_code=exc.status_code,
                title=t(key, lang),
                message=t(key + "_detail", lang),
            )
        data = official_status(current, lang)
        live = live_preview(current, lang)
        data["criteria"] = [{**o, "live": lv} for o, lv in zip(data["criteria"], live["criteria"], strict=True)]
        now = utcnow()
        with session_scope(context.engine) as session:
            feed = pro_feed(
                session,
                store=context.store,
                program=program,
                worker_id=current,
                certified=data["certified"],
                now=now,
                limit=5,
            )
        return render(
            request, "dashboard.html", data=data, worker=worker_card(current), feed=[i.to_json(now) for i in feed]
        )

    def admin_active(request: Request) -> bool:
        return admin_session_valid(context.engine, request)

    def find_workers(text: str) -> list[tuple[str, str]]:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = (
            context.store.reader()
            .execute(
                "SELECT worker_id, display_name FROM workers WHERE worker_id ILIKE ? ESCAPE '\\' "
                "OR display_name ILIKE ? ESCAPE '\\' ORDER BY worker_id LIMIT 20",
                [pattern, pattern],
            )
            .fetchall()
        )
        return [(w, n or "") for w, n in rows]

    api_admin = add_admin_routes(
        app,
        engine=context.engine,
        program=program,
        render=render,
        lang_of=pick_lang,
        api_key=context.api_key,
        ledger_changed=context.statuses.invalidate,
        worker_card=worker_card,
        official_status=official_status,
        find_workers=find_workers,
        session_hours=SESSION_HOURS,
        max_failures=admin_lockout_failures,
        lock_minutes=admin_lockout_minutes,
    )

    def viewer_of(request: Request) -> Viewer:
        """Who is looking at jobs: the operator (API key or admin session), a signed-in worker, or anyone."""
        if request.headers.get("x-api-key") is not None or request.session.get("admin"):
            try:
                api_admin(request)
                return Viewer("admin")
            except HTTPException:
                if request.headers.get("x-api-key") is not None:
                    raise
        worker = current_worker(request)
        if worker:
            return Viewer("worker", worker, certified=context.certified(worker)[0])
        return Viewer()

    add_job_routes(
        app,
        engine=context.engine,
        store=context.store,
        program=program,
        render=render,
        viewer_of=viewer_of,
        api_admin=api_admin,
        signed_in_as=signed_in_as,
        certified=context.certified,
        pro_ids=lambda: [(c.worker_id, c.division) for c in context.cards()],
        rated_as_of=lambda: context.statuses.latest_as_of or context.today(),
    )
    add_promotion_routes(
        app,
        engine=context.engine,
        store=context.store,
        program=program,
        secret=secret,
        render=render,
        candidates=lambda: [Candidate(c.worker_id, c.division, c.since) for c in context.cards()],
        today=context.today,
        public_url=public_url,
        version=context.cards_version,
    )
    return app


def writes_need_admin(method: str, path: str) -> bool:
    """State-changing requests that only admins may make: the API and the console (but for signing in and out,
    which are checked by their CSRF token and held to a small body)."""
    if path.startswith("/api/"):
        return True
    return path.startswith("/admin") and path not in ("/admin/login", "/admin/logout")


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def progress(criterion: Any, value: Any, division: str) -> float:
    """How far along a criterion the worker is, 0..1, for progress bars."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    threshold = float(criterion.threshold_for(division))
    if criterion.comparison in ("<=", "<"):
        return min(threshold / value, 1.0) if value > 0 else 0.0
    return min(float(value) / threshold, 1.0) if threshold > 0 else 1.0
