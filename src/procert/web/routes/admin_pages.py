"""The admin console (``/admin``): signing in (Argon2id passwords, lockout, per-address throttle), runs,
workers with their history, overrides set and lifted by CSRF-protected forms, the outbox and the audit log."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from procert.errors import NotFoundError, ProcertError
from procert.i18n import local_time, t
from procert.ledger import (
    AdminLocked,
    CorrectionRefused,
    answer_appeal,
    audit_entries,
    authenticate_admin,
    cancel_leave,
    clear_override,
    declare_leave,
    get_run,
    list_appeals,
    list_corrections,
    list_leaves,
    list_notifications,
    list_overrides,
    list_runs,
    list_transitions,
    recompute,
    review_correction,
    session_scope,
    set_override,
    start_session,
    utcnow,
)
from procert.web.auth import SESSION_HOURS, SignInThrottle, check_csrf
from procert.web.context import WebContext
from procert.web.dashboard import official_status
from procert.web.deps import Context, Lang, PageAdmin, page_admin, sign_out
from procert.web.pages import message_page, pick_lang, render
from procert.web.params import PageQuery, leave_form
from procert.web.profile import public_profile
from procert.web.routes.admin_api import OutboxStatus, OverrideRequest
from procert.web.rows import (
    correction_out,
    leave_out,
    notification_out,
    override_out,
    run_out,
    transition_out,
)

router = APIRouter(include_in_schema=False)
#: Failed sign-ins per client address, in this process (accounts are locked in the ledger, for every process).
throttle = SignInThrottle()


def safe_next(target: str | None) -> str:
    # Only paths on this site: never an absolute URL (an open redirect).
    return target if target and target.startswith("/admin") and "//" not in target else "/admin"


def _too_many(request: Request, target: str, wait: float) -> HTMLResponse:
    response = render(
        request, "admin_login.html", status_code=429, next=target, error=t("web_too_many_attempts", pick_lang(request))
    )
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


@router.get("/admin/login", response_class=HTMLResponse)
def admin_login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "admin_login.html", next=safe_next(next), error=None)


@router.post("/admin/login")
async def admin_login(request: Request, context: Context, lang: Lang) -> Response:
    address = request.client.host if request.client else "unknown"
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    target = safe_next(str(form.get("next", "")))
    wait = throttle.wait_seconds(address)
    if wait > 0:
        return _too_many(request, target, wait)
    settings = context.core.settings

    def sign_in() -> str | AdminLocked | None:
        # Argon2 takes tens of milliseconds of CPU: in a worker thread, never on the event loop.
        with session_scope(context.engine, write=True) as session:
            try:
                admin = (
                    authenticate_admin(
                        session,
                        username=username,
                        password=password,
                        max_failures=settings.admin_lockout_failures,
                        lock_minutes=settings.admin_lockout_minutes,
                    )
                    if username
                    else None
                )
            except AdminLocked as locked:
                return locked  # returned, not raised: the refusal's audit entry is committed
            if admin is None:
                return None
            return start_session(
                session, kind="admin", subject=username, hours=SESSION_HOURS, actor=f"admin:{username}"
            )

    token = await run_in_threadpool(sign_in)
    if isinstance(token, AdminLocked):
        throttle.failed(address)
        return _too_many(request, target, (token.until - utcnow()).total_seconds())
    if token is None:
        throttle.failed(address)
        error = t("web_admin_login_failed", lang)
        return render(request, "admin_login.html", status_code=401, next=target, error=error)
    throttle.succeeded(address)
    request.session.clear()  # a new session (and CSRF token) for a new sign-in
    request.session.update({"admin": username, "admin_sid": token})
    return RedirectResponse(target, status_code=303)


@router.post("/admin/logout")
async def admin_logout(request: Request, context: Context) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    await run_in_threadpool(sign_out, request, kind="admin", everywhere=bool(form.get("everywhere")))
    request.session.clear()
    return RedirectResponse("/admin/login", status_code=303)


@router.get("/admin", response_class=HTMLResponse)
def admin_home(request: Request, _admin: PageAdmin, context: Context, page: PageQuery = 1) -> HTMLResponse:
    per_page = 20
    program = context.program
    with session_scope(context.engine) as session:
        total, runs = list_runs(session, program_id=program.id, limit=per_page, offset=(page - 1) * per_page)
        by_status, _n, _rows = list_notifications(session, program_id=program.id, limit=0)
        shown = [run_out(r).model_dump() for r in runs]
    return render(
        request,
        "admin_home.html",
        runs=shown,
        total=total,
        page=page,
        pages=max(1, -(-total // per_page)),
        outbox=by_status,
        spec=program.model_dump(mode="json"),
    )


@router.get("/admin/runs/{run_id}", response_class=HTMLResponse)
def admin_run(request: Request, run_id: int, _admin: PageAdmin, context: Context) -> HTMLResponse:
    program_id = context.program.id
    with session_scope(context.engine) as session:
        run = get_run(session, program_id=program_id, run_id=run_id)
        if run is None:
            raise NotFoundError(f"no run #{run_id}")
        granted_total, granted = list_transitions(
            session, program_id=program_id, run_id=run_id, kinds=("granted",), limit=200
        )
        lost_total, lost = list_transitions(session, program_id=program_id, run_id=run_id, kinds=("lost",), limit=200)
        data = run_out(run).model_dump()
        return render(
            request,
            "admin_run.html",
            run=data,
            granted=[transition_out(x).model_dump() for x in granted],
            granted_total=granted_total,
            lost=[transition_out(x).model_dump() for x in lost],
            lost_total=lost_total,
        )


@router.get("/admin/workers", response_class=HTMLResponse)
def admin_workers(
    request: Request,
    _admin: PageAdmin,
    context: Context,
    lang: Lang,
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    q = q.strip()
    worker: dict[str, Any] | None = None
    status: dict[str, Any] | None = None
    matches: list[tuple[str, str]] = []
    overrides: list[dict[str, Any]] = []
    events: list[Any] = []
    if q:
        try:
            worker = public_profile(context, q).model_dump()
        except ProcertError:
            matches = [(w.worker_id, w.display_name) for w in context.store.find_workers(q)]
    if worker is not None:
        status = official_status(context, q, lang).model_dump(mode="json")
        with session_scope(context.engine) as session:
            overrides = [
                override_out(o).model_dump()
                for o in list_overrides(session, program_id=context.program.id, include_inactive=True, worker_id=q)
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
        today=context.today().isoformat(),
    )


@router.post("/admin/overrides")
async def admin_set_override(request: Request, context: Context) -> Response:
    form = await request.form()
    # The ledger and the facts are read and written in a worker thread, never on the event loop.
    return await run_in_threadpool(_set_override_from_form, request, context, dict(form))


def _set_override_from_form(request: Request, context: WebContext, form: dict[str, Any]) -> Response:
    actor = page_admin(request)
    check_csrf(request, str(form.get("csrf", "")))
    worker_id = str(form.get("worker_id", "")).strip()
    try:
        public_profile(context, worker_id)
    except ProcertError:
        raise NotFoundError(f"no worker {worker_id!r}") from None
    try:
        wanted = OverrideRequest.model_validate(
            {
                "worker_id": worker_id,
                "certified": str(form.get("certified")) == "true",
                "reason": str(form.get("reason", "")).strip(),
                "expires_on": str(form.get("expires_on") or "") or None,
                "level": (str(form.get("level") or "") or None) if str(form.get("certified")) == "true" else None,
            }
        )
    except ValidationError as exc:
        return message_page(request, status_code=422, title_key="web_error_title", message=str(exc))
    with session_scope(context.engine, write=True) as session:
        set_override(
            session,
            program_id=context.program.id,
            worker_id=wanted.worker_id,
            certified=wanted.certified,
            reason=wanted.reason,
            actor=actor,
            expires_on=wanted.expires_on,
            level=wanted.level,
            levels=[level.id for level in context.program.levels],
        )
    context.statuses.invalidate()
    return RedirectResponse(f"/admin/workers?q={worker_id}", status_code=303)


@router.post("/admin/overrides/clear")
async def admin_clear_override(request: Request, context: Context) -> Response:
    form = await request.form()
    return await run_in_threadpool(_clear_override_from_form, request, context, dict(form))


def _clear_override_from_form(request: Request, context: WebContext, form: dict[str, Any]) -> Response:
    actor = page_admin(request)
    check_csrf(request, str(form.get("csrf", "")))
    worker_id = str(form.get("worker_id", "")).strip()
    with session_scope(context.engine, write=True) as session:
        clear_override(session, program_id=context.program.id, worker_id=worker_id, actor=actor)
    context.statuses.invalidate()
    return RedirectResponse(f"/admin/workers?q={worker_id}", status_code=303)


@router.get("/admin/overrides", response_class=HTMLResponse)
def admin_overrides(request: Request, _admin: PageAdmin, context: Context, all: bool = False) -> HTMLResponse:
    with session_scope(context.engine) as session:
        rows = [
            override_out(o).model_dump()
            for o in list_overrides(session, program_id=context.program.id, include_inactive=all)
        ]
    return render(request, "admin_overrides.html", overrides=rows, show_all=all)


@router.get("/admin/outbox", response_class=HTMLResponse)
def admin_outbox(
    request: Request, _admin: PageAdmin, context: Context, status: OutboxStatus | None = None, page: PageQuery = 1
) -> HTMLResponse:
    per_page = 50
    with session_scope(context.engine) as session:
        by_status, total, rows = list_notifications(
            session, program_id=context.program.id, status=status, limit=per_page, offset=(page - 1) * per_page
        )
        items = [notification_out(n).model_dump() for n in rows]
    return render(
        request,
        "admin_outbox.html",
        by_status=by_status,
        items=items,
        status=status or "",
        page=page,
        pages=max(1, -(-total // per_page)),
    )


@router.get("/admin/audit", response_class=HTMLResponse)
def admin_audit(request: Request, _admin: PageAdmin, context: Context, page: PageQuery = 1) -> HTMLResponse:
    per_page = 50
    with session_scope(context.engine) as session:
        entries = audit_entries(session, limit=per_page + 1, offset=(page - 1) * per_page)
    return render(request, "admin_audit.html", entries=entries[:per_page], page=page, more=len(entries) > per_page)


@router.get("/admin/appeals", response_class=HTMLResponse)
def admin_appeals(request: Request, _admin: PageAdmin, context: Context) -> HTMLResponse:
    """The appeal queue: open appeals oldest first, with their age and target; then the answered ones."""
    now = utcnow()
    with session_scope(context.engine) as session:
        rows = list_appeals(session, program_id=context.program.id)
        runs = {r.id: r.as_of for r in list_runs(session, program_id=context.program.id, limit=1000)[1]}
    labels = {c.id: c.label.get(pick_lang(request)) for c in context.program.criteria}
    items = [
        {
            "id": a.id,
            "worker_id": a.worker_id,
            "run_as_of": runs.get(a.run_id),
            "criterion": labels.get(a.criterion or ""),
            "text": a.text,
            "status": a.status,
            "age_hours": int((now - a.filed_at).total_seconds() // 3600),
            "overdue": a.status == "open" and now > a.due_at,
            "due": local_time(a.due_at, context.program.timezone),
            "answer": a.answer,
            "answered_by": a.answered_by,
        }
        for a in sorted(rows, key=lambda a: (a.status != "open", a.filed_at))
    ]
    return render(request, "admin_appeals.html", appeals=items)


@router.post("/admin/appeals/{appeal_id}/answer")
async def admin_answer_appeal(appeal_id: int, request: Request, context: Context) -> Response:
    form = await request.form()
    return await run_in_threadpool(_answer_from_form, request, context, appeal_id, dict(form))


def _answer_from_form(request: Request, context: WebContext, appeal_id: int, form: dict[str, Any]) -> Response:
    actor = page_admin(request)
    check_csrf(request, str(form.get("csrf", "")))
    with session_scope(context.engine, write=True) as session:
        found = [a for a in list_appeals(session, program_id=context.program.id) if a.id == appeal_id]
        contact = context.store.thread_cursor().worker(found[0].worker_id) if found else None
        answer_appeal(
            session,
            program=context.program,
            appeal_id=appeal_id,
            answer=str(form.get("answer", "")),
            actor=actor,
            contact=contact,
            public_url=context.core.settings.public_url,
        )
    return RedirectResponse("/admin/appeals", status_code=303)


@router.get("/admin/leave", response_class=HTMLResponse)
def admin_leave(request: Request, _admin: PageAdmin, context: Context, all: bool = False) -> HTMLResponse:
    """Declared leave, earliest first, with a form to declare one for a worker (no notice needed)."""
    lang = pick_lang(request)
    today = context.today()
    with session_scope(context.engine) as session:
        rows = list_leaves(session, program_id=context.program.id, include_cancelled=all)
    items = [{**leave_out(leave, today, lang).model_dump(), "worker_id": leave.worker_id} for leave in rows]
    return render(request, "admin_leave.html", leaves=items)


@router.post("/admin/leave")
async def admin_declare_leave(request: Request, context: Context) -> Response:
    form = await request.form()
    return await run_in_threadpool(_declare_from_form, request, context, dict(form))


def _declare_from_form(request: Request, context: WebContext, form: dict[str, Any]) -> Response:
    actor = page_admin(request)
    check_csrf(request, str(form.get("csrf", "")))
    worker_id = str(form.get("worker_id", "")).strip()
    if not context.store.thread_cursor().has_worker(worker_id):
        raise NotFoundError(f"no worker {worker_id!r} in the facts")
    with session_scope(context.engine, write=True) as session:
        declare_leave(
            session,
            program=context.program,
            worker_id=worker_id,
            actor=actor,
            by_worker=False,
            today=context.today(),
            contact_of=context.store.thread_cursor().worker,
            public_url=context.core.settings.public_url,
            **leave_form(form),
        )
    context.statuses.invalidate()
    return RedirectResponse("/admin/leave", status_code=303)


@router.post("/admin/leave/{leave_id}/cancel")
async def admin_cancel_leave(leave_id: int, request: Request, context: Context) -> Response:
    form = await request.form()
    return await run_in_threadpool(_admin_cancel_from_form, request, context, leave_id, dict(form))


def _admin_cancel_from_form(request: Request, context: WebContext, leave_id: int, form: dict[str, Any]) -> Response:
    actor = page_admin(request)
    check_csrf(request, str(form.get("csrf", "")))
    with session_scope(context.engine, write=True) as session:
        cancel_leave(
            session,
            program=context.program,
            leave_id=leave_id,
            actor=actor,
            today=context.today(),
            contact_of=context.store.thread_cursor().worker,
            public_url=context.core.settings.public_url,
        )
    context.statuses.invalidate()
    return RedirectResponse("/admin/leave", status_code=303)


@router.get("/admin/corrections", response_class=HTMLResponse)
def admin_corrections(
    request: Request, _admin: PageAdmin, context: Context, outcome: str | None = None
) -> HTMLResponse:
    """Corrections: held ones first (a recomputation would lower the status), then the rest; a form to recompute."""
    lang = pick_lang(request)
    with session_scope(context.engine) as session:
        rows = list_corrections(session, program_id=context.program.id)
    items = [
        {**correction_out(context.program, c, lang).model_dump(), "worker_id": c.worker_id}
        for c in sorted(rows, key=lambda c: (c.status != "pending", c.as_of, c.id))
    ]
    return render(request, "admin_corrections.html", corrections=items)


@router.post("/admin/recompute")
async def admin_recompute(request: Request, context: Context) -> Response:
    form = await request.form()
    return await run_in_threadpool(_recompute_from_form, request, context, dict(form))


def _recompute_from_form(request: Request, context: WebContext, form: dict[str, Any]) -> Response:
    actor = page_admin(request)
    check_csrf(request, str(form.get("csrf", "")))
    raw = str(form.get("since", "")).strip()
    try:
        since = date.fromisoformat(raw)
    except ValueError:
        raise CorrectionRefused(f"the first date ({raw or 'empty'}) is not a date in YYYY-MM-DD form") from None
    with session_scope(context.engine, write=True) as session:
        recompute(
            session,
            store=context.store.thread_cursor(),
            program=context.program,
            since=since,
            actor=actor,
            public_url=context.core.settings.public_url,
        )
    context.statuses.invalidate()
    return RedirectResponse("/admin/corrections", status_code=303)


@router.post("/admin/corrections/{correction_id}/review")
async def admin_review_correction(correction_id: int, request: Request, context: Context) -> Response:
    form = await request.form()
    return await run_in_threadpool(_review_from_form, request, context, correction_id, dict(form))


def _review_from_form(request: Request, context: WebContext, correction_id: int, form: dict[str, Any]) -> Response:
    actor = page_admin(request)
    check_csrf(request, str(form.get("csrf", "")))
    with session_scope(context.engine, write=True) as session:
        found = [c for c in list_corrections(session, program_id=context.program.id) if c.id == correction_id]
        contact = context.store.thread_cursor().worker(found[0].worker_id) if found else None
        review_correction(
            session,
            program=context.program,
            correction_id=correction_id,
            accept=str(form.get("decision")) == "accept",
            note=str(form.get("note", "")),
            actor=actor,
            today=context.today(),
            contact=contact,
            public_url=context.core.settings.public_url,
        )
    context.statuses.invalidate()
    return RedirectResponse("/admin/corrections", status_code=303)
