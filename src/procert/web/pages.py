"""Rendering pages: the templates, the visitor's language, and the values every page gets."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from procert.i18n import audit_action, label, local_time, t
from procert.web.auth import csrf_token
from procert.web.markdown import plain_excerpt, render_markdown

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
# The templates ship with the package and never change under a running server: no stat() per page to look.
templates.env.auto_reload = False
templates.env.filters["markdown"] = render_markdown
templates.env.filters["excerpt"] = plain_excerpt


def pick_lang(request: Request) -> str:
    """``?lang=``, else the ``lang`` cookie, else the browser's first language; Japanese by default."""
    chosen = request.query_params.get("lang") or request.cookies.get("lang")
    if chosen in ("ja", "en"):
        return chosen
    accepted = request.headers.get("accept-language", "")
    return "en" if accepted.lower().startswith("en") else "ja"


def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """The page ``name`` in the visitor's language, with the program, who is signed in and the CSRF token."""
    context = request.app.state.context
    program = context.program
    lang = pick_lang(request)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "t": lambda key, **kw: t(key, lang, **kw),
            "program": program,
            "program_name": program.name.get(lang),
            "division_label": lambda division: program.division_label(division, lang),
            "label": lambda prefix, code: label(prefix, code, lang),
            "action_label": lambda action: audit_action(action, lang),
            # A criterion by its name (a run of an older program version may name one the program no longer has).
            "criterion_label": lambda cid: next((c.label.get(lang) for c in program.criteria if c.id == cid), cid),
            # An API instant ("2026-12-02T05:00:00Z") as people in the program's time zone read it.
            "local": lambda instant: (
                local_time(datetime.fromisoformat(instant.removesuffix("Z")), program.timezone) if instant else "—"
            ),
            # The other language, on the same page with the same search, filters and page.
            "lang_switch_url": str(request.url.include_query_params(lang="en" if lang == "ja" else "ja")).removeprefix(
                str(request.base_url).rstrip("/")
            ),
            "signed_in": request.session.get("worker"),
            "admin": request.session.get("admin"),
            "csrf": _LazyCsrf(request),
            "demo": context.core.demo,
            "status_code": status_code,
            **values,
        },
        status_code=status_code,
    )
    if request.query_params.get("lang") in ("ja", "en"):
        response.set_cookie("lang", lang, max_age=365 * 86400, httponly=True, samesite="lax")
    return response


class _LazyCsrf:
    """The session's CSRF token, made only when a page's form prints it: a visitor who sees no form gets no
    session (no cookie to sign and set on every public page)."""

    __slots__ = ("_request",)

    def __init__(self, request: Request) -> None:
        self._request = request

    def __str__(self) -> str:
        return csrf_token(self._request)

    def __html__(self) -> str:  # URL-safe base64: nothing to escape
        return csrf_token(self._request)


def message_page(request: Request, *, status_code: int, title_key: str, message: str) -> HTMLResponse:
    """A page that says one thing (an error, a refusal), titled in the visitor's language."""
    return render(
        request, "message.html", status_code=status_code, title=t(title_key, pick_lang(request)), message=message
    )


#: Statuses an error page has its own words for (error_title_<status>, error_hint_<status>).
ERROR_PAGES = (400, 401, 403, 404, 405, 409, 410, 413, 422, 429)
#: Refusals whose own message tells the visitor what to change (a form's input); other details are for admins.
_SAYS_WHY = (400, 409)


def error_page(request: Request, *, status_code: int, detail: str) -> HTMLResponse:
    """An error as people read it: what went wrong and what to do, in their language. The technical detail is
    shown where it helps the visitor fix a form (400, 409) and to a signed-in admin; never a code otherwise."""
    lang = pick_lang(request)
    known = str(status_code) if status_code in ERROR_PAGES else "other"
    title = t("error_title_" + known, lang)
    hint = t("error_hint_" + known, lang)
    shown = detail if status_code in _SAYS_WHY or request.session.get("admin") else None
    return render(request, "error.html", status_code=status_code, title=title, hint=hint, detail=shown)
