"""The routes' dependencies, typed with ``Annotated`` (the FastAPI full-stack template's ``deps.py``): the web
context, the visitor's language, who is signed in, and the access rules of the worker, admin and job routes.

Rules of access, in one place:

- a worker's own data (status, preview, dashboard, job feed): that worker's session, or an admin (API key or
  admin session); 401 without credentials, 403 for another worker's data;
- the admin API: an API key (``X-API-Key``) or an admin session, which must send ``X-CSRF-Token`` to change
  state; a signed-in worker gets 403;
- console pages: an admin session, else a redirect to the sign-in page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select

from procert.benefits import Viewer
from procert.ledger import AdminUser, end_session, end_sessions, session_scope, session_subject
from procert.web.auth import check_csrf
from procert.web.context import WebContext
from procert.web.pages import pick_lang


class AdminLoginRequired(Exception):
    """A console page was asked for without an admin session: send the browser to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


async def get_context(request: Request) -> WebContext:
    context: WebContext = request.app.state.context
    return context


async def get_lang(request: Request) -> str:
    return pick_lang(request)


Context = Annotated[WebContext, Depends(get_context)]
Lang = Annotated[str, Depends(get_lang)]


def current_worker(request: Request) -> str | None:
    """The worker this request's session signs in as, checked against the ledger (revoked or expired sessions
    sign in nobody); once per request."""
    if hasattr(request.state, "worker"):
        found: str | None = request.state.worker
        return found
    worker, token = request.session.get("worker"), request.session.get("sid")
    found = None
    if worker and token:
        with session_scope(request.app.state.context.engine) as session:
            found = session_subject(session, token=str(token), kind="worker")
    if found != worker:
        found = None
        request.session.pop("worker", None)
        request.session.pop("sid", None)
    request.state.worker = found
    return found


def admin_session_valid(request: Request) -> bool:
    """The session names an admin who still exists and is not disabled, and its server-side session is neither
    revoked nor expired (checked once per request)."""
    if hasattr(request.state, "admin_valid"):
        return bool(request.state.admin_valid)
    username, token = request.session.get("admin"), request.session.get("admin_sid")
    valid = False
    if username and token:
        with session_scope(request.app.state.context.engine) as session:
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


def sign_out(request: Request, *, kind: str, everywhere: bool) -> None:
    """End this browser's session of ``kind`` (worker or admin) in the ledger, or every session of the same
    person when ``everywhere`` (only once the session is still valid); the cookie is cleared by the caller."""
    subject_key, token_key = ("worker", "sid") if kind == "worker" else ("admin", "admin_sid")
    subject, token = request.session.get(subject_key), request.session.get(token_key)
    still_valid = current_worker(request) if kind == "worker" else admin_session_valid(request)
    with session_scope(request.app.state.context.engine, write=True) as session:
        if everywhere and subject and still_valid:
            end_sessions(session, kind=kind, subject=str(subject), actor=f"{kind}:{subject}")
        elif token:
            end_session(session, token=str(token), actor=f"{kind}:{subject}")


def admin_actor(request: Request, *, changes_state: bool = False) -> str:
    """Who is calling the admin API, as the audit log names them: an API key, or an admin session (which must
    send X-CSRF-Token when it changes state). 401 otherwise; a signed-in worker gets 403."""
    key = request.headers.get("x-api-key")
    if key is not None:
        found = request.app.state.context.api_key(key)
        if found is None:
            raise HTTPException(status_code=401, detail="invalid or revoked API key")
        return f"api_key:{found[0]}:{found[1]}"
    if admin_session_valid(request):
        if changes_state:
            check_csrf(request, request.headers.get("x-csrf-token"))
        return f"admin:{request.session['admin']}"
    if request.session.get("worker"):
        raise HTTPException(status_code=403, detail="admins only")
    raise HTTPException(status_code=401, detail="admin credentials needed: an X-API-Key or an admin session")


def api_admin(request: Request) -> str:
    return admin_actor(request)


def api_admin_write(request: Request) -> str:
    return admin_actor(request, changes_state=True)


def page_admin(request: Request) -> str:
    """The signed-in admin's audit name, or a redirect to the sign-in page."""
    if not admin_session_valid(request):
        raise AdminLoginRequired(request.url.path)
    return f"admin:{request.session['admin']}"


def signed_in_as(request: Request, worker_id: str | None) -> str:
    """Who may see ``worker_id``: an admin sees anyone; a signed-in worker only themselves (``None``: whoever
    is signed in). 401 without valid credentials, 403 for another worker's data."""
    if request.headers.get("x-api-key") is not None or (request.session.get("admin") and admin_session_valid(request)):
        admin_actor(request)  # a forged or revoked key: 401
        if worker_id is None:
            raise HTTPException(status_code=400, detail="name the worker")
        return worker_id
    current = current_worker(request)
    if not current:
        raise HTTPException(status_code=401, detail="sign in with the login link from your platform")
    if worker_id is not None and worker_id != current:
        raise HTTPException(status_code=403, detail="you can only see your own dashboard")
    return current


def worker_access(request: Request, worker_id: str) -> str:
    """The ``worker_id`` of the path, once the caller may see that worker's data."""
    return signed_in_as(request, worker_id)


def job_viewer(request: Request) -> Viewer:
    """Who is looking at jobs: the operator (API key or admin session), a signed-in worker, or anyone."""
    if request.headers.get("x-api-key") is not None or request.session.get("admin"):
        try:
            admin_actor(request)
            return Viewer("admin")
        except HTTPException:
            if request.headers.get("x-api-key") is not None:
                raise
    worker = current_worker(request)
    if worker:
        return Viewer("worker", worker, certified=request.app.state.context.gets("early_access", worker))
    return Viewer()


ApiAdmin = Annotated[str, Depends(api_admin)]
ApiAdminWrite = Annotated[str, Depends(api_admin_write)]
PageAdmin = Annotated[str, Depends(page_admin)]
CurrentWorker = Annotated[str | None, Depends(current_worker)]
WorkerAccess = Annotated[str, Depends(worker_access)]
JobViewer = Annotated[Viewer, Depends(job_viewer)]
