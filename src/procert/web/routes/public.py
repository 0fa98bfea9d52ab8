"""Public pages and their API: the Pro directory and a worker's profile, and the health check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from procert.errors import ProcertError
from procert.web.badge import embed_snippets
from procert.web.context import WebContext
from procert.web.deps import Context, Lang
from procert.web.directory import SortKey
from procert.web.pages import pick_lang, render
from procert.web.params import PageQuery, PerPageQuery
from procert.web.profile import public_profile
from procert.web.program_page import program_overview
from procert.web.schemas import DirectoryItem, DirectoryPage, Health, PublicProfile

router = APIRouter()

DivisionQuery = Annotated[str | None, Query(max_length=120, description="Only this division.")]
TextQuery = Annotated[str | None, Query(max_length=200, description="Words to find in name and profile.")]
SortQuery = Annotated[SortKey, Query(description="rating, recent (most recently certified) or name.")]
LevelQuery = Annotated[
    str | None, Query(max_length=40, description="Programs with levels: only workers at this level or a higher one.")
]


async def fresh_snapshot(context: WebContext) -> None:
    """Every route that may touch the ledger or the facts runs its database work in the thread pool: a slow or
    locked database then delays that request alone, never the event loop (and so never /healthz). The hottest
    reads (badges, the directory) are coroutines that answer from the in-memory snapshot while it is fresh and
    hop to a thread only to refresh it (at most once per PROCERT_LEDGER_REFRESH_SECONDS)."""
    if not context.snapshot_is_fresh():
        await run_in_threadpool(context.cards)


@router.get("/healthz", tags=["operations"], response_model=Health)
async def healthz(request: Request) -> Health:
    """Liveness: answers without touching the ledger or the facts (for load balancers)."""
    context = request.app.state.context
    return Health(
        status="ok",
        program=context.program.id,
        profiles_ready=context.profiles.ready,
        clocks_ready=context.clocks.ready,
    )


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/pros")


@router.get("/api/v1/pros", tags=["directory"], response_model=DirectoryPage)
async def api_pros(
    context: Context,
    lang: Lang,
    division: DivisionQuery = None,
    level: LevelQuery = None,
    q: TextQuery = None,
    sort: SortQuery = "rating",
    page: PageQuery = 1,
    per_page: PerPageQuery = 20,
) -> DirectoryPage:
    """Every currently certified worker, searchable; `total` counts all matches, `items` is one page. Ratings
    are the review_mean metric as of the latest run."""
    await fresh_snapshot(context)
    result = context.directory().search(q=q, division=division, level=level, sort=sort, page=page, per_page=per_page)
    return DirectoryPage(
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        items=[
            DirectoryItem(
                worker_id=c.worker_id,
                display_name=c.display_name,
                division=c.division,
                division_label=context.program.division_label(c.division, lang),
                certified_since=c.since.isoformat() if c.since else None,
                overall_rating=round(c.overall_rating, 2) if c.overall_rating is not None else None,
                reviews=c.reviews,
                level=c.level,
                profile_url=f"{context.core.settings.public_url.rstrip('/')}/workers/{c.worker_id}",
            )
            for c in result.items
        ],
    )


@router.get("/api/v1/workers/{worker_id}/profile", tags=["profiles"], response_model=PublicProfile)
async def api_profile(worker_id: str, context: Context) -> PublicProfile:
    """A worker's public profile: name, division, lifetime ratings and whether they are certified now."""
    if context.profile_answers_from_memory():
        return public_profile(context, worker_id)
    return await run_in_threadpool(public_profile, context, worker_id)


@router.get("/pros", response_class=HTMLResponse, include_in_schema=False)
async def pros_page(
    request: Request,
    context: Context,
    division: DivisionQuery = None,
    level: LevelQuery = None,
    q: TextQuery = None,
    sort: SortQuery = "rating",
    page: PageQuery = 1,
) -> HTMLResponse:
    await fresh_snapshot(context)
    directory = context.directory()
    result = directory.search(q=q, division=division, level=level, sort=sort, page=page, per_page=20)
    return render(
        request,
        "pros.html",
        result=result,
        q=q or "",
        division=division or "",
        level=level or "",
        sort=sort,
        divisions=directory.divisions,
    )


@router.get("/workers/{worker_id}", response_class=HTMLResponse, include_in_schema=False)
async def profile_page(request: Request, worker_id: str, context: Context) -> HTMLResponse:
    """A coroutine answering from the server's memory while it can (see WebContext.profile_answers_from_memory);
    a worker thread does it otherwise. The thread hop halves the pages a second (bench/results-web.md)."""
    if context.profile_answers_from_memory():
        return _profile_page(request, worker_id, context)
    return await run_in_threadpool(_profile_page, request, worker_id, context)


def _profile_page(request: Request, worker_id: str, context: WebContext) -> HTMLResponse:
    try:
        card = public_profile(context, worker_id)
    except ProcertError as exc:
        return render(request, "not_found.html", status_code=exc.status, worker_id=worker_id)
    lang = pick_lang(request)
    embed = (
        embed_snippets(
            public_url=context.core.settings.public_url,
            worker_id=card.worker_id,
            display_name=card.display_name,
            program_name=context.program.name.get(lang),
        )
        if card.certified
        else None
    )
    return render(request, "profile.html", worker=card.model_dump(), embed=embed)


@router.get("/program", response_class=HTMLResponse, include_in_schema=False)
def program_page(request: Request, context: Context) -> HTMLResponse:
    """The program in words: its criteria and thresholds, the schedule and the next date, what it brings, how to
    appeal and take leave (the program file, in the visitor's language)."""
    overview = program_overview(context.program, pick_lang(request), context.today())
    return render(request, "program.html", o=overview)


_FAVICON = (Path(__file__).resolve().parent.parent / "static" / "favicon.svg").read_bytes()


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """The site's icon (an SVG, which browsers take at this path too), cached for a day."""
    return Response(_FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>procert API</title>
<link rel="stylesheet" href="/static/swagger/swagger-ui.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/docs-init.js"></script>
</body>
</html>
"""


@router.get("/docs", include_in_schema=False)
def api_docs() -> HTMLResponse:
    """The API's interactive description, served from the installed Swagger UI files: it works offline."""
    return HTMLResponse(_DOCS_PAGE)
