"""Jobs on the web: the listing and a job's page (early access enforced for every viewer), the job API
(`POST /api/v1/jobs` for the operator), a pro's job feed and the pros recommended for a job."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Body, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from procert.benefits import (
    JobImportFailed,
    Viewer,
    get_job,
    list_jobs,
    pro_feed,
    recommended_pros,
    store_jobs,
    validate_jobs,
)
from procert.facts import FactStore
from procert.ledger import session_scope
from procert.programs import Program
from procert.web.params import PageQuery, PerPageQuery


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def add_job_routes(
    app: FastAPI,
    *,
    engine: Engine,
    store: FactStore,
    program: Program,
    render: Callable[..., HTMLResponse],
    viewer_of: Callable[[Request], Viewer],
    api_admin: Callable[..., str],
    signed_in_as: Callable[[Request, str | None], str],
    certified: Callable[[str], tuple[bool, Any]],
    pro_ids: Callable[[], list[tuple[str, str]]],
    rated_as_of: Callable[[], Any],
) -> None:
    def pros_by_division() -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = defaultdict(list)
        for worker_id, division in pro_ids():
            grouped[division].append(worker_id)
        return grouped

    def one_job(job_id: str, viewer: Viewer):  # type: ignore[no-untyped-def]
        with session_scope(engine) as session:
            try:
                return get_job(session, store=store, program=program, job_id=job_id, viewer=viewer, now=utcnow())
            except LookupError as exc:
                raise HTTPException(status_code=404, detail=str(exc)) from None

    @app.post("/api/v1/jobs", tags=["jobs"], status_code=201)
    def api_post_jobs(
        request: Request,
        jobs: Annotated[list[dict[str, Any]], Body(description="Jobs in the job contract (see docs/benefits.md).")],
    ) -> dict[str, Any]:
        """Add or replace jobs (by `job_id`); all or none: any invalid job gets 422 naming its index, field and
        reason, and nothing is stored. Admin API key (or admin session with X-CSRF-Token)."""
        actor = api_admin(request, changes_state=True)
        try:
            valid = validate_jobs(jobs, program=program, source="request")
        except JobImportFailed as exc:
            details = [{"location": f"body.{p.row - 1}.{p.column}", "message": p.reason} for p in exc.problems]
            raise HTTPException(status_code=422, detail={"message": str(exc), "details": details}) from None
        with session_scope(engine, write=True) as session:
            stored = store_jobs(session, jobs=valid, actor=actor, program_id=program.id)
        return {"stored": stored, "job_ids": [j.job_id for j in valid]}

    @app.get("/api/v1/jobs", tags=["jobs"])
    def api_jobs(
        request: Request,
        division: Annotated[str | None, Query(max_length=120)] = None,
        premium: bool = False,
        page: PageQuery = 1,
        per_page: PerPageQuery = 20,
    ) -> dict[str, Any]:
        """Open jobs, newest first. Premium jobs appear to certified workers at once and to everyone else when
        their early access ends."""
        now = utcnow()
        with session_scope(engine) as session:
            total, views = list_jobs(
                session,
                store=store,
                program=program,
                viewer=viewer_of(request),
                now=now,
                division=division,
                premium_only=premium,
                page=page,
                per_page=per_page,
            )
            return {"total": total, "page": page, "per_page": per_page, "items": [v.to_json(now) for v in views]}

    @app.get("/api/v1/jobs/{job_id}", tags=["jobs"])
    def api_job(request: Request, job_id: str) -> dict[str, Any]:
        """One job with its premium score, part by part. 404 while it is in early access and you are not a pro."""
        now = utcnow()
        return one_job(job_id, viewer_of(request)).to_json(now)

    @app.get("/api/v1/jobs/{job_id}/recommended-pros", tags=["jobs"])
    def api_recommended(
        request: Request, job_id: str, limit: Annotated[int, Query(ge=1, le=50)] = 10
    ) -> dict[str, Any]:
        """The certified workers who fit the job best (fit, then rating), to scout directly, with reasons."""
        view = one_job(job_id, viewer_of(request))
        ranked = recommended_pros(
            store=store,
            program=program,
            view=view,
            pro_ids_by_division=pros_by_division(),
            rated_as_of=rated_as_of(),
            limit=limit,
        )
        return {"job_id": job_id, "items": [r.to_json() for r in ranked]}

    @app.get("/api/v1/workers/{worker_id}/jobs", tags=["workers"])
    def api_feed(request: Request, worker_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict:
        """The worker's Pro job feed: open premium jobs ranked by fit and premium score, with reasons. Empty
        unless certified. Same access rules as the status."""
        signed_in_as(request, worker_id)
        now = utcnow()
        is_pro, _since = certified(worker_id)
        with session_scope(engine) as session:
            items = pro_feed(
                session, store=store, program=program, worker_id=worker_id, certified=is_pro, now=now, limit=limit
            )
            return {"worker_id": worker_id, "certified": is_pro, "items": [i.to_json(now) for i in items]}

    @app.get("/jobs", response_class=HTMLResponse, include_in_schema=False)
    def jobs_page(
        request: Request,
        division: Annotated[str | None, Query(max_length=120)] = None,
        premium: bool = False,
        page: PageQuery = 1,
    ) -> HTMLResponse:
        now = utcnow()
        viewer = viewer_of(request)
        with session_scope(engine) as session:
            total, views = list_jobs(
                session,
                store=store,
                program=program,
                viewer=viewer,
                now=now,
                division=division,
                premium_only=premium,
                page=page,
                per_page=20,
            )
            items = [v.to_json(now) for v in views]
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
            early_hours=program.benefits.early_access_hours,
        )

    @app.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    def job_page(request: Request, job_id: str) -> HTMLResponse:
        view = one_job(job_id, viewer_of(request))
        return render(request, "job.html", job=view.to_json(utcnow()))

    @app.get("/jobs/{job_id}/recommended-pros", response_class=HTMLResponse, include_in_schema=False)
    def recommended_page(request: Request, job_id: str) -> HTMLResponse:
        view = one_job(job_id, viewer_of(request))
        ranked = recommended_pros(
            store=store,
            program=program,
            view=view,
            pro_ids_by_division=pros_by_division(),
            rated_as_of=rated_as_of(),
            limit=20,
        )
        return render(request, "recommended.html", job=view.to_json(utcnow()), pros=[r.to_json() for r in ranked])
