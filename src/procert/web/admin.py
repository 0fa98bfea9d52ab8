"""The admin console (``/admin``) and the admin JSON API (runs, transitions, overrides, outbox, audit log).

Admins sign in with a user name and password (Argon2id hashes, `procert admin create`) or call the API with
an API key (`X-API-Key`, `procert api-key create`). Every form carries a CSRF token; API calls that change state
from a browser session must send it as ``X-CSRF-Token`` (API keys need none: a browser never sends them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select
from starlette.concurrency import run_in_threadpool

from procert.i18n import t
from procert.ledger import (
    AdminLocked,
    AdminUser,
    Notification,
    Override,
    Run,
    Transition,
    audit_entries,
    authenticate_admin,
    clear_override,
    end_session,
    end_sessions,
    list_notifications,
    list_overrides,
    list_runs,
    list_transitions,
    session_scope,
    session_subject,
    set_override,
    start_session,
)
from procert.programs import Program
from procert.web.auth import SignInThrottle, check_csrf
from procert.web.jobs import utcnow
from procert.web.params import PageQuery, PerPageQuery

AdminPerPageQuery = Annotated[int, Query(ge=1, le=500, description="Items per page, 1 to 500.")]
KindQuery = Annotated[Literal["granted", "lost", "kept", "changes", "all"], Query(description="Which transitions.")]
OutboxStatus = Literal["pending", "sending", "sent", "failed", "skipped"]
KINDS: dict[str, tuple[str, ...]] = {
    "granted": ("granted",),
    "lost": ("lost",),
    "kept": ("kept",),
    "changes": ("granted", "lost"),
    "all": ("granted", "kept", "lost"),
}


class AdminLoginRequired(Exception):
    """A console page was asked for without an admin session: send the browser to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class OverrideRequest(BaseModel):
    worker_id: str = Field(min_length=1, max_length=120)
    certified: bool = Field(description="true: keep certified; false: keep out.")
    reason: str = Field(min_length=1, max_length=2000)
    expires_on: date | None = Field(default=None, description="The lock ends after this day; none: until cleared.")


def admin_session_valid(engine: Engine, request: Request) -> bool:
    """The session names an admin who still exists and is not disabled, and its server-side session is neither
    revoked nor expired (checked once per request)."""
    if hasattr(request.state, "admin_valid"):
        return bool(request.state.admin_valid)
    username, token = request.session.get("admin"), request.session.get("admin_sid")
    valid = False
    if username and token:
        with session_scope(engine) as session:
            row = session.scalar(select(AdminUser).where(AdminUser.username == username))
            valid = (
                row is not None
                and row.disabled_at is None
                and session_subject(session, token=str(token), kind="admin") == username
            )
    if not valid:
        request.session.pop("admin", None)
        request.session.pop("admin_sid", None)
    request.state.admin_valid = valid
    return valid


def run_json(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "program_id": run.program_id,
        "program_version": run.program_version,
        "as_of": run.as_of.isoformat(),
        "started_at": run.started_at.isoformat() + "Z",
        "finished_at": run.finished_at.isoformat() + "Z",
        "duration_seconds": round((run.finished_at - run.started_at).total_seconds(), 3),
        "evaluation_seconds": round(run.evaluation_seconds, 3),
        "workers": run.workers,
        "certified": run.certified,
        "transitions": (run.counts or {}).get("transitions", {}),
        "notifications": (run.counts or {}).get("notifications", 0),
        "at_risk": (run.counts or {}).get("at_risk", 0),
        "forced": run.forced,
        "backfill": run.backfill,
        "actor": run.actor,
        "superseded_by": run.superseded_by,
        "facts_fingerprint": run.facts_fingerprint,
    }


def transition_json(row: Transition) -> dict[str, Any]:
    return {
        "id": row.id,
        "run_id": row.run_id,
        "worker_id": row.worker_id,
        "as_of": row.as_of.isoformat(),
        "kind": row.kind,
        "reason": row.reason,
        "failed": row.failed,
        "values": row.values,
    }


def override_json(row: Override) -> dict[str, Any]:
    return {
        "id": row.id,
        "worker_id": row.worker_id,
        "certified": row.certified,
        "reason": row.reason,
        "expires_on": row.expires_on.isoformat() if row.expires_on else None,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat() + "Z",
        "revoked_by": row.revoked_by,
        "revoked_at": row.revoked_at.isoformat() + "Z" if row.revoked_at else None,
    }


def notification_json(row: Notification) -> dict[str, Any]:
    return {
        "id": row.id,
        "worker_id": row.worker_id,
        "run_id": row.run_id,
        "kind": row.kind,
        "email": row.email,
        "locale": row.locale,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at.isoformat() + "Z",
        "last_error": row.last_error,
        "created_at": row.created_at.isoformat() + "Z",
        "sent_at": row.sent_at.isoformat() + "Z" if row.sent_at else None,
    }


def add_admin_routes(
    app: FastAPI,
    *,
    engine: Engine,
    program: Program,
    render: Callable[..., HTMLResponse],
    lang_of: Callable[[Request], str],
    api_key: Callable[[str], tuple[int, str] | None],
    ledger_changed: Callable[[], None],
    worker_card: Callable[[str], dict[str, Any]],
    official_status: Callable[[str, str], dict[str, Any]],
    find_workers: Callable[[str], list[tuple[str, str]]],
    session_hours: float = 8,
    max_failures: int = 5,
    lock_minutes: int = 15,
) -> Callable[..., str]:
    """Register the console pages and the admin API on ``app``; returns the admin check for other API routes
    (``api_admin(request, changes_state=False) -> actor``)."""
    throttle = SignInThrottle()

    @app.exception_handler(AdminLoginRequired)
    async def to_sign_in(_request: Request, exc: AdminLoginRequired) -> Response:
        return RedirectResponse(f"/admin/login?next={exc.next_path}", status_code=303)

    def page_admin(request: Request) -> str:
        """The signed-in admin's audit name, or a redirect to the sign-in page."""
        if not admin_session_valid(engine, request):
            raise AdminLoginRequired(request.url.path)
        return f"admin:{request.session['admin']}"

    def api_admin(request: Request, *, changes_state: bool = False) -> str:
        """Who is calling the admin API: an API key, or an admin session (which must send X-CSRF-Token when it
        changes state). 401 otherwise; a signed-in worker gets 403."""
        key = request.headers.get("x-api-key")
        if key is not None:
            found = api_key(key)
            if found is None:
                raise HTTPException(status_code=401, detail="invalid or revoked API key")
            return f"api_key:{found[0]}:{found[1]}"
        if admin_session_valid(engine, request):
            if changes_state:
                check_csrf(request, request.headers.get("x-csrf-token"))
            return f"admin:{request.session['admin']}"
        if request.session.get("worker"):
            raise HTTPException(status_code=403, detail="admins only")
        raise HTTPException(status_code=401, detail="admin credentials needed: an X-API-Key or an admin session")

    def safe_next(target: str | None) -> str:
        # Only paths on this site: never an absolute URL (an open redirect).
        return target if target and target.startswith("/admin") and "//" not in target else "/admin"

    # ---- signing in --------------------------------------------------------------------------------------

    @app.get("/admin/login", response_class=HTMLResponse, include_in_schema=False)
    def admin_login_form(request: Request, next: str | None = None) -> HTMLResponse:
        return render(request, "admin_login.html", next=safe_next(next), error=None)

    @app.post("/admin/login", include_in_schema=False)
    async def admin_login(request: Request) -> Response:
        address = request.client.host if request.client else "unknown"
        lang = lang_of(request)
        form = await request.form()
        check_csrf(request, str(form.get("csrf", "")))
        username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
        target = safe_next(str(form.get("next", "")))
        wait = throttle.wait_seconds(address)
        if wait > 0:
            return too_many(request, target, wait)

        def sign_in() -> str | AdminLocked | None:
            # Argon2 takes tens of milliseconds of CPU: in a worker thread, never on the event loop.
            with session_scope(engine, write=True) as session:
                try:
                    admin = (
                        authenticate_admin(
                            session,
                            username=username,
                            password=password,
                            max_failures=max_failures,
                            lock_minutes=lock_minutes,
                        )
                        if username
                        else None
                    )
                except AdminLocked as locked:
                    return locked  # returned, not raised: the refusal's audit entry is committed
                if admin is None:
                    return None
                return start_session(
                    session, kind="admin", subject=username, hours=session_hours, actor=f"admin:{username}"
                )

        token = await run_in_threadpool(sign_in)
        if isinstance(token, AdminLocked):
            throttle.failed(address)
            return too_many(request, target, (token.until - utcnow()).total_seconds())
        if token is None:
            throttle.failed(address)
            error = t("web_admin_login_failed", lang)
            return render(request, "admin_login.html", status_code=401, next=target, error=error)
        throttle.succeeded(address)
        request.session.clear()  # a new session (and CSRF token) for a new sign-in
        request.session.update({"admin": username, "admin_sid": token})
        return RedirectResponse(target, status_code=303)

    def too_many(request: Request, target: str, wait: float) -> HTMLResponse:
        response = render(
            request,
            "admin_login.html",
            status_code=429,
            next=target,
            error=t("web_too_many_attempts", lang_of(request)),
        )
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response

    @app.post("/admin/logout", include_in_schema=False)
    async def admin_logout(request: Request) -> Response:
        form = await request.form()
        check_csrf(request, str(form.get("csrf", "")))
        username, token = request.session.get("admin"), request.session.get("admin_sid")

        def revoke() -> None:
            with session_scope(engine, write=True) as session:
                if form.get("everywhere") and username and admin_session_valid(engine, request):
                    end_sessions(session, kind="admin", subject=str(username), actor=f"admin:{username}")
                elif token:
                    end_session(session, token=str(token), actor=f"admin:{username}")

        await run_in_threadpool(revoke)
        request.session.clear()
        return RedirectResponse("/admin/login", status_code=303)

    # ---- console pages -----------------------------------------------------------------------------------

    @app.get("/admin", response_class=HTMLResponse, include_in_schema=False)
    def admin_home(request: Request, page: PageQuery = 1) -> HTMLResponse:
        page_admin(request)
        per_page = 20
        with session_scope(engine) as session:
            total, runs = list_runs(session, program_id=program.id, limit=per_page, offset=(page - 1) * per_page)
            by_status, _n, _rows = list_notifications(session, program_id=program.id, limit=0)
        pages = max(1, -(-total // per_page))
        return render(
            request,
            "admin_home.html",
            runs=[run_json(r) for r in runs],
            total=total,
            page=page,
            pages=pages,
            outbox=by_status,
            spec=program.model_dump(mode="json"),
        )

    @app.get("/admin/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    def admin_run(request: Request, run_id: int) -> HTMLResponse:
        page_admin(request)
        with session_scope(engine) as session:
            run = session.get(Run, run_id)
            if run is None or run.program_id != program.id:
                raise HTTPException(status_code=404, detail=f"no run #{run_id}")
            granted_total, granted = list_transitions(
                session, program_id=program.id, run_id=run_id, kinds=("granted",), limit=200
            )
            lost_total, lost = list_transitions(
                session, program_id=program.id, run_id=run_id, kinds=("lost",), limit=200
            )
            data = run_json(run)
        return render(
            request,
            "admin_run.html",
            run=data,
            granted=[transition_json(x) for x in granted],
            granted_total=granted_total,
            lost=[transition_json(x) for x in lost],
            lost_total=lost_total,
        )

    @app.get("/admin/workers", response_class=HTMLResponse, include_in_schema=False)
    def admin_workers(request: Request, q: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
        page_admin(request)
        q = q.strip()
        lang = lang_of(request)
        worker = status = None
        matches: list[tuple[str, str]] = []
        overrides: list[dict[str, Any]] = []
        events: list[Any] = []
        if q:
            try:
                worker = worker_card(q)
            except HTTPException:
                matches = find_workers(q)
        if worker is not None:
            status = official_status(q, lang)
            with session_scope(engine) as session:
                overrides = [
                    override_json(o)
                    for o in list_overrides(session, program_id=program.id, include_inactive=True)
                    if o.worker_id == q
                ]
                events = audit_entries(session, subject=f"worker:{q}", limit=50)
        return render(
            request,
            "admin_workers.html",
            q=q,
            worker=worker,
            status=status,
            matches=matches,
            overrides=overrides,
            events=events,
            today=date.today().isoformat(),
        )

    @app.post("/admin/overrides", include_in_schema=False)
    async def admin_set_override(request: Request) -> Response:
        form = await request.form()
        # The ledger and the facts are read and written in a worker thread, never on the event loop.
        return await run_in_threadpool(set_override_from_form, request, dict(form))

    def set_override_from_form(request: Request, form: dict[str, Any]) -> Response:
        actor = page_admin(request)
        check_csrf(request, str(form.get("csrf", "")))
        worker_id = str(form.get("worker_id", "")).strip()
        lang = lang_of(request)
        try:
            worker_card(worker_id)
            request_data = OverrideRequest(
                worker_id=worker_id,
                certified=str(form.get("certified")) == "true",
                reason=str(form.get("reason", "")).strip(),
                expires_on=str(form.get("expires_on") or "") or None,  # type: ignore[arg-type]
            )
        except HTTPException:
            raise HTTPException(status_code=404, detail=f"no worker {worker_id!r}") from None
        except ValueError as exc:
            return render(request, "message.html", status_code=422, title=t("web_error_title", lang), message=str(exc))
        with session_scope(engine, write=True) as session:
            set_override(
                session,
                program_id=program.id,
                worker_id=request_data.worker_id,
                certified=request_data.certified,
                reason=request_data.reason,
                actor=actor,
                expires_on=request_data.expires_on,
            )
        ledger_changed()
        return RedirectResponse(f"/admin/workers?q={worker_id}", status_code=303)

    @app.post("/admin/overrides/clear", include_in_schema=False)
    async def admin_clear_override(request: Request) -> Response:
        form = await request.form()
        return await run_in_threadpool(clear_override_from_form, request, dict(form))

    def clear_override_from_form(request: Request, form: dict[str, Any]) -> Response:
        actor = page_admin(request)
        check_csrf(request, str(form.get("csrf", "")))
        worker_id = str(form.get("worker_id", "")).strip()
        with session_scope(engine, write=True) as session:
            clear_override(session, program_id=program.id, worker_id=worker_id, actor=actor)
        ledger_changed()
        return RedirectResponse(f"/admin/workers?q={worker_id}", status_code=303)

    @app.get("/admin/overrides", response_class=HTMLResponse, include_in_schema=False)
    def admin_overrides(request: Request, all: bool = False) -> HTMLResponse:
        page_admin(request)
        with session_scope(engine) as session:
            rows = [override_json(o) for o in list_overrides(session, program_id=program.id, include_inactive=all)]
        return render(request, "admin_overrides.html", overrides=rows, show_all=all)

    @app.get("/admin/outbox", response_class=HTMLResponse, include_in_schema=False)
    def admin_outbox(request: Request, status: OutboxStatus | None = None, page: PageQuery = 1) -> HTMLResponse:
        page_admin(request)
        per_page = 50
        with session_scope(engine) as session:
            by_status, total, rows = list_notifications(
                session, program_id=program.id, status=status, limit=per_page, offset=(page - 1) * per_page
            )
            items = [notification_json(n) for n in rows]
        return render(
            request,
            "admin_outbox.html",
            by_status=by_status,
            items=items,
            status=status or "",
            page=page,
            pages=max(1, -(-total // per_page)),
        )

    @app.get("/admin/audit", response_class=HTMLResponse, include_in_schema=False)
    def admin_audit(request: Request, page: PageQuery = 1) -> HTMLResponse:
        page_admin(request)
        per_page = 50
        with session_scope(engine) as session:
            entries = audit_entries(session, limit=per_page + 1, offset=(page - 1) * per_page)
        return render(request, "admin_audit.html", entries=entries[:per_page], page=page, more=len(entries) > per_page)

    # ---- admin API -----------------------------------------------------------------------------------------

    @app.get("/api/v1/program", tags=["admin"])
    def api_program(request: Request) -> dict[str, Any]:
        """The program being run: its full specification and version."""
        api_admin(request)
        return program.model_dump(mode="json")

    @app.get("/api/v1/runs", tags=["admin"])
    def api_runs(request: Request, page: PageQuery = 1, per_page: PerPageQuery = 20) -> dict:
        """Recorded runs, newest first: counts, duration, gained and lost."""
        api_admin(request)
        with session_scope(engine) as session:
            total, runs = list_runs(session, program_id=program.id, limit=per_page, offset=(page - 1) * per_page)
            return {"total": total, "page": page, "per_page": per_page, "items": [run_json(r) for r in runs]}

    @app.get("/api/v1/runs/{run_id}", tags=["admin"])
    def api_run(request: Request, run_id: int) -> dict[str, Any]:
        api_admin(request)
        with session_scope(engine) as session:
            run = session.get(Run, run_id)
            if run is None or run.program_id != program.id:
                raise HTTPException(status_code=404, detail=f"no run #{run_id}")
            return run_json(run)

    @app.get("/api/v1/runs/{run_id}/transitions", tags=["admin"])
    def api_run_transitions(
        request: Request,
        run_id: int,
        kind: KindQuery = "changes",
        page: PageQuery = 1,
        per_page: AdminPerPageQuery = 100,
    ) -> dict[str, Any]:
        """Who gained and lost the status in a run, and why (`reason`, `failed` criteria, measured values)."""
        api_admin(request)
        with session_scope(engine) as session:
            run = session.get(Run, run_id)
            if run is None or run.program_id != program.id:
                raise HTTPException(status_code=404, detail=f"no run #{run_id}")
            total, rows = list_transitions(
                session,
                program_id=program.id,
                run_id=run_id,
                kinds=KINDS[kind],
                limit=per_page,
                offset=(page - 1) * per_page,
            )
            return {"total": total, "page": page, "per_page": per_page, "items": [transition_json(x) for x in rows]}

    @app.get("/api/v1/transitions", tags=["admin"])
    def api_transitions(
        request: Request,
        worker_id: Annotated[str | None, Query(max_length=120)] = None,
        kind: KindQuery = "changes",
        page: PageQuery = 1,
        per_page: AdminPerPageQuery = 100,
    ) -> dict[str, Any]:
        """Transitions across runs, newest first; of one worker with `worker_id`."""
        api_admin(request)
        with session_scope(engine) as session:
            total, rows = list_transitions(
                session,
                program_id=program.id,
                worker_id=worker_id,
                kinds=KINDS[kind],
                limit=per_page,
                offset=(page - 1) * per_page,
            )
            return {"total": total, "page": page, "per_page": per_page, "items": [transition_json(x) for x in rows]}

    @app.get("/api/v1/overrides", tags=["admin"])
    def api_overrides(request: Request, include_inactive: bool = False) -> dict[str, Any]:
        """Overrides in force (or all of them, with `include_inactive=true`)."""
        api_admin(request)
        with session_scope(engine) as session:
            rows = list_overrides(session, program_id=program.id, include_inactive=include_inactive)
            return {"total": len(rows), "items": [override_json(o) for o in rows]}

    @app.post("/api/v1/overrides", tags=["admin"], status_code=201)
    def api_set_override(request: Request, body: OverrideRequest) -> dict[str, Any]:
        """Lock a worker's status (replacing any lock in force). Automation never changes a locked status."""
        actor = api_admin(request, changes_state=True)
        try:
            worker_card(body.worker_id)
        except HTTPException:
            raise HTTPException(status_code=404, detail=f"no worker {body.worker_id!r}") from None
        with session_scope(engine, write=True) as session:
            lock = set_override(
                session,
                program_id=program.id,
                worker_id=body.worker_id,
                certified=body.certified,
                reason=body.reason,
                actor=actor,
                expires_on=body.expires_on,
            )
            data = override_json(lock)
        ledger_changed()
        return data

    @app.delete("/api/v1/overrides/{worker_id}", tags=["admin"])
    def api_clear_override(request: Request, worker_id: str) -> dict[str, Any]:
        """Lift the worker's lock; the next run decides their status again."""
        actor = api_admin(request, changes_state=True)
        with session_scope(engine, write=True) as session:
            cleared = clear_override(session, program_id=program.id, worker_id=worker_id, actor=actor)
        ledger_changed()
        if not cleared:
            raise HTTPException(status_code=404, detail=f"no override in force for {worker_id!r}")
        return {"worker_id": worker_id, "cleared": cleared}

    @app.get("/api/v1/notifications", tags=["admin"])
    def api_notifications(
        request: Request, status: OutboxStatus | None = None, page: PageQuery = 1, per_page: AdminPerPageQuery = 50
    ) -> dict[str, Any]:
        """The notification outbox: counts by status and one page of notifications."""
        api_admin(request)
        with session_scope(engine) as session:
            by_status, total, rows = list_notifications(
                session, program_id=program.id, status=status, limit=per_page, offset=(page - 1) * per_page
            )
            return {"by_status": by_status, "total": total, "items": [notification_json(n) for n in rows]}

    @app.get("/api/v1/audit", tags=["admin"])
    def api_audit(
        request: Request,
        subject: Annotated[str | None, Query(max_length=200)] = None,
        page: PageQuery = 1,
        per_page: AdminPerPageQuery = 50,
    ) -> dict[str, Any]:
        """The audit log, newest first; `subject` like `worker:W1` or `run:3`."""
        api_admin(request)
        with session_scope(engine) as session:
            rows = audit_entries(session, subject=subject, limit=per_page, offset=(page - 1) * per_page)
            return {
                "page": page,
                "items": [
                    {
                        "id": e.id,
                        "at": e.at.isoformat() + "Z",
                        "actor": e.actor,
                        "action": e.action,
                        "program_id": e.program_id,
                        "subject": e.subject,
                        "details": e.details,
                    }
                    for e in rows
                ],
            }

    return api_admin
