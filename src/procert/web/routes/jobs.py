"""Jobs on the web: the listing and a job's page (early access enforced for every viewer), the job API
(``POST /api/v1/jobs`` for the operator), a pro's job feed and the pros recommended for a job."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from procert.benefits import (
    JobImportFailed,
    JobView,
    Viewer,
    get_job,
    list_jobs,
    pro_feed,
    recommended_pros,
    store_jobs,
    validate_jobs,
)
from procert.benefits.matching import Recommendation
from procert.errors import NotFoundError
from procert.ledger import session_scope, utcnow
from procert.web.context import WebContext
from procert.web.deps import ApiAdminWrite, Context, JobViewer, WorkerAccess
from procert.web.directory import check_division
from procert.web.pages import render
from procert.web.params import PageQuery, PerPageQuery
from procert.web.schemas import FeedOut, JobOut, JobPage, JobsStored, RecommendationList

router = APIRouter()
DivisionQuery = Annotated[str | None, Query(max_length=120)]


def _one_job(context: WebContext, job_id: str, viewer: Viewer) -> JobView:
    with session_scope(context.engine) as session:
        try:
            return get_job(
                session, store=context.store, program=context.program, job_id=job_id, viewer=viewer, now=utcnow()
            )
        except LookupError as exc:
            raise NotFoundError(str(exc)) from None


def _open_jobs(
    context: WebContext, viewer: Viewer, *, division: str | None, premium: bool, page: int, per_page: int
) -> tuple[int, list[dict[str, Any]]]:
    check_division(context.program, division)
    now = utcnow()
    with session_scope(context.engine) as session:
        total, views = list_jobs(
            session,
            store=context.store,
            program=context.program,
            viewer=viewer,
            now=now,
            division=division,
            premium_only=premium,
            page=page,
            per_page=per_page,
        )
        return total, [v.to_json(now) for v in views]


def _recommended(context: WebContext, view: JobView, limit: int) -> list[Recommendation]:
    by_division: dict[str, list[str]] = defaultdict(list)
    for card in context.cards():
        by_division[card.division].append(card.worker_id)
    return recommended_pros(
        store=context.store,
        program=context.program,
        view=view,
        pro_ids_by_division=by_division,
        rated_as_of=context.rated_as_of(),
        limit=limit,
    )


@router.post("/api/v1/jobs", tags=["jobs"], status_code=201, response_model=JobsStored)
def api_post_jobs(
    actor: ApiAdminWrite,
    context: Context,
    jobs: Annotated[list[dict[str, Any]], Body(description="Jobs in the job contract (see docs/benefits.md).")],
) -> JobsStored:
    """Add or replace jobs (by `job_id`); all or none: any invalid job gets 422 naming its index, field and
    reason, and nothing is stored. Admin API key (or admin session with X-CSRF-Token)."""
    try:
        valid = validate_jobs(jobs, program=context.program, source="request")
    except JobImportFailed as exc:
        details = [{"location": f"body.{p.row - 1}.{p.column}", "message": p.reason} for p in exc.problems]
        raise HTTPException(status_code=422, detail={"message": str(exc), "details": details}) from None
    with session_scope(context.engine, write=True) as session:
        stored = store_jobs(session, jobs=valid, actor=actor, program_id=context.program.id)
    return JobsStored(stored=stored, job_ids=[j.job_id for j in valid])


@router.get("/api/v1/jobs", tags=["jobs"], response_model=JobPage)
def api_jobs(
    viewer: JobViewer,
    context: Context,
    division: DivisionQuery = None,
    premium: bool = False,
    page: PageQuery = 1,
    per_page: PerPageQuery = 20,
) -> dict[str, Any]:
    """Open jobs, newest first. Premium jobs appear to certified workers at once and to everyone else when
    their early access ends."""
    total, items = _open_jobs(context, viewer, division=division, premium=premium, page=page, per_page=per_page)
    return {"total": total, "page": page, "per_page": per_page, "items": items}


@router.get("/api/v1/jobs/{job_id}", tags=["jobs"], response_model=JobOut)
def api_job(job_id: str, viewer: JobViewer, context: Context) -> dict[str, Any]:
    """One job with its premium score, part by part. 404 while it is in early access and you are not a pro."""
    return _one_job(context, job_id, viewer).to_json(utcnow())


@router.get("/api/v1/jobs/{job_id}/recommended-pros", tags=["jobs"], response_model=RecommendationList)
def api_recommended(
    job_id: str, viewer: JobViewer, context: Context, limit: Annotated[int, Query(ge=1, le=50)] = 10
) -> dict[str, Any]:
    """The certified workers who fit the job best (fit, then rating), to scout directly, with reasons."""
    view = _one_job(context, job_id, viewer)
    return {"job_id": job_id, "items": [r.to_json() for r in _recommended(context, view, limit)]}


@router.get("/api/v1/workers/{worker_id}/jobs", tags=["workers"], response_model=FeedOut)
def api_feed(
    worker_id: WorkerAccess, context: Context, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> dict[str, Any]:
    """The worker's Pro job feed: open premium jobs ranked by fit and premium score, with reasons. Empty
    unless certified. Same access rules as the status."""
    now = utcnow()
    is_pro = context.gets("early_access", worker_id)
    with session_scope(context.engine) as session:
        items = pro_feed(
            session,
            store=context.store,
            program=context.program,
            worker_id=worker_id,
            certified=is_pro,
            now=now,
            limit=limit,
        )
        return {"worker_id": worker_id, "certified": is_pro, "items": [i.to_json(now) for i in items]}


@router.get("/jobs", response_class=HTMLResponse, include_in_schema=False)
def jobs_page(
    request: Request,
    viewer: JobViewer,
    context: Context,
    division: DivisionQuery = None,
    premium: bool = False,
    page: PageQuery = 1,
) -> HTMLResponse:
    total, items = _open_jobs(context, viewer, division=division, premium=premium, page=page, per_page=20)
    return render(
        request,
        "jobs.html",
        items=items,
        total=total,
        page=page,
        pages=max(1, -(-total // 20)),
        division=division or "",
        premium=premium,
        viewer=viewer,
        early_hours=context.program.benefits.early_access_hours,
    )


@router.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
def job_page(request: Request, job_id: str, viewer: JobViewer, context: Context) -> HTMLResponse:
    """A job: times in the program's zone, amounts in words, the premium score's parts for pros and admins. A job
    still for pros alone shows anyone else when it opens to everyone (nothing else of it)."""
    try:
        view = _one_job(context, job_id, viewer)
    except NotFoundError:
        hidden = _one_job(context, job_id, Viewer("admin"))  # 404 for a job that does not exist at all
        until = hidden.early_access_until
        if until is None or until <= utcnow():
            raise
        return render(request, "job_teaser.html", until=until.isoformat() + "Z")
    template = context.core.settings.marketplace_job_url
    return render(
        request,
        "job.html",
        job=view.to_json(utcnow()),
        show_score=viewer.kind == "admin" or viewer.certified,
        apply_url=template.replace("{job_id}", quote(job_id, safe="")) if template else None,
    )


@router.get("/jobs/{job_id}/recommended-pros", response_class=HTMLResponse, include_in_schema=False)
def recommended_page(request: Request, job_id: str, viewer: JobViewer, context: Context) -> HTMLResponse:
    view = _one_job(context, job_id, viewer)
    ranked = _recommended(context, view, 20)
    return render(request, "recommended.html", job=view.to_json(utcnow()), pros=[r.to_json() for r in ranked])
