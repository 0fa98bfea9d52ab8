"""Signing workers in and out: the login link's confirmation page, using the link once, signing out (here or
everywhere), and demo mode's page to sign in as anyone."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from procert.errors import ProcertError
from procert.i18n import Message, t
from procert.ledger import list_transitions, session_scope, start_session, use_login_link
from procert.web.auth import SESSION_HOURS, LoginError, check_csrf, login_token, read_login_link, read_login_token
from procert.web.context import WebContext
from procert.web.deps import Context, sign_out
from procert.web.pages import message_page, pick_lang, render
from procert.web.profile import public_profile

router = APIRouter(include_in_schema=False)


def _link_minutes(context: WebContext) -> int:
    return context.core.settings.login_link_minutes


def _refused(request: Request, exc: Exception) -> HTMLResponse:
    lang = pick_lang(request)
    reason = exc.text(lang) if isinstance(exc, LoginError) else t("refused_login_unknown_worker", lang)
    return message_page(request, status_code=400, title_key="web_login_failed", message=reason)


# A login link opens a page with a button (GET never writes, and mail scanners that open links do not use them
# up); pressing it uses the link once and starts a server-side session.
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, context: Context, token: str = "") -> HTMLResponse:
    try:
        worker_id = read_login_token(context.core.secret, token, max_age_seconds=_link_minutes(context) * 60)
        public_profile(context, worker_id)  # unknown or gone: refused
    except ProcertError as exc:
        return _refused(request, exc)
    return render(request, "login_confirm.html", token=token)


@router.post("/login")
async def login(request: Request, context: Context) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    token = str(form.get("token", ""))

    def sign_in() -> tuple[str, str]:
        worker_id, link_id = read_login_link(context.core.secret, token, max_age_seconds=_link_minutes(context) * 60)
        public_profile(context, worker_id)
        with session_scope(context.engine, write=True) as session:
            if not use_login_link(session, link_id=link_id, worker_id=worker_id):
                raise LoginError(Message("refused_login_used"))
            return worker_id, start_session(
                session, kind="worker", subject=worker_id, hours=SESSION_HOURS, actor=f"worker:{worker_id}"
            )

    try:
        worker_id, session_token = await run_in_threadpool(sign_in)
    except ProcertError as exc:
        return _refused(request, exc)
    request.session.clear()  # a new session for a new sign-in
    request.session.update({"worker": worker_id, "sid": session_token})
    return RedirectResponse("/dashboard", status_code=303)


@router.post("/logout")
async def logout(request: Request, context: Context) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    await run_in_threadpool(sign_out, request, kind="worker", everywhere=bool(form.get("everywhere")))
    request.session.clear()
    return RedirectResponse("/pros", status_code=303)


@router.get("/demo/login", response_class=HTMLResponse)
def demo_login(request: Request, context: Context) -> HTMLResponse:
    """Demo mode only: pick a worker to sign in as."""
    if not context.core.demo:
        raise HTTPException(status_code=404, detail="not found")
    secret = context.core.secret
    cards = sorted(context.cards(), key=lambda c: c.worker_id)[:10]
    pros = {c.worker_id for c in cards}
    with session_scope(context.engine) as session:
        _n, lost = list_transitions(session, program_id=context.program.id, kinds=("lost",), limit=5)
    lost_ids = [x.worker_id for x in lost]
    others = context.store.active_workers(limit=15)
    names = {w.worker_id: w.display_name for w in others} | {
        w: f.display_name for w, f in context.store.workers(lost_ids).items()
    }
    links = [(c.worker_id, c.display_name, login_token(secret, c.worker_id), "pro") for c in cards]
    links += [(w, names.get(w) or w, login_token(secret, w), "lost") for w in lost_ids if w not in pros]
    shown = pros | set(lost_ids)
    links += [
        (w.worker_id, w.display_name, login_token(secret, w.worker_id), "") for w in others if w.worker_id not in shown
    ][: 20 - len(links)]
    return render(request, "demo_login.html", links=links)
