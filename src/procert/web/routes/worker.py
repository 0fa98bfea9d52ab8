"""A worker's own pages and API: the status by the last run, the live preview and the dashboard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from procert.benefits import pro_feed
from procert.evaluation import threshold_text
from procert.i18n import Message, local_time, t
from procert.ledger import (
    AppealRefused,
    cancel_leave,
    declare_leave,
    file_appeal,
    list_appeals,
    session_scope,
    utcnow,
    worker_runs,
)
from procert.web.auth import check_csrf
from procert.web.badge import embed_snippets
from procert.web.context import WebContext
from procert.web.dashboard import facts_csv, facts_of_today, live_preview, official_status, trends_of, verdict_of
from procert.web.deps import Context, Lang, WorkerAccess, signed_in_as, worker_access
from procert.web.pages import render
from procert.web.params import leave_form
from procert.web.profile import public_profile
from procert.web.schemas import FactsOut, PreviewOut, StatusOut

router = APIRouter()


@router.get("/api/v1/workers/{worker_id}/status", tags=["workers"], response_model=StatusOut)
async def api_status(worker_id: str, request: Request, context: Context, lang: Lang) -> StatusOut:
    """The worker's status by the last run: certified since, each criterion's value and pass flag, the
    at-risk forecast for the next evaluation and the history. Only for that worker's own session or an
    admin (session or X-API-Key): 401 without credentials, 403 for another worker."""

    def read() -> StatusOut:
        # The access check and the ledger reads in one worker thread: the most requested private API.
        return official_status(context, worker_access(request, worker_id), lang)

    return await run_in_threadpool(read)


@router.get("/api/v1/workers/{worker_id}/facts", tags=["workers"], response_model=FactsOut)
def api_facts(worker_id: WorkerAccess, context: Context, lang: Lang) -> FactsOut:
    """The facts behind every number of the live evaluation: for each criterion, every row it read, whether it
    counted and why not (outside the window, hourly, mass scout, after the as-of date…). The counted rows
    reproduce the value. Same access rules as the status."""
    return facts_of_today(context, worker_id, lang)


@router.get("/dashboard/facts.csv", include_in_schema=False)
def dashboard_facts_csv(request: Request, context: Context, lang: Lang) -> Response:
    """The signed-in worker's facts behind every number, as a CSV download."""
    current = signed_in_as(request, None)
    body = facts_csv(facts_of_today(context, current, lang))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="facts-{current}.csv"'},
    )


@router.get("/api/v1/workers/{worker_id}/preview", tags=["workers"], response_model=PreviewOut)
def api_preview(worker_id: WorkerAccess, context: Context, lang: Lang) -> PreviewOut:
    """A live preview: the worker evaluated alone as of today, with progress, what it would take and
    advice for each criterion. Same access rules as the status."""
    return live_preview(context, worker_id, lang)


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
@router.get("/dashboard/{worker_id}", response_class=HTMLResponse, include_in_schema=False)
def dashboard(request: Request, context: Context, lang: Lang, worker_id: str | None = None) -> HTMLResponse:
    try:
        current = signed_in_as(request, worker_id)
    except HTTPException as exc:
        key = "web_sign_in_needed" if exc.status_code == 401 else "web_forbidden"
        return render(
            request, "message.html", status_code=exc.status_code, title=t(key, lang), message=t(key + "_detail", lang)
        )
    view, _history = verdict_of(context, current)
    data = official_status(context, current, lang, view).model_dump(mode="json")
    with session_scope(context.engine) as session:
        runs = worker_runs(session, program_id=context.program.id, worker_id=current)
        appeals = list_appeals(session, program_id=context.program.id, worker_id=current)
    behind = {f.id: f for f in facts_of_today(context, current, lang).criteria}
    charts = {
        trend.criterion.id: trend.svg(trend.criterion.label.get(lang), threshold_text(trend.criterion, "", lang))
        for trend in trends_of(context.program, view, runs, lang)
    }
    live = live_preview(context, current, lang, view).model_dump(mode="json")
    data["criteria"] = [{**o, "live": lv} for o, lv in zip(data["criteria"], live["criteria"], strict=True)]
    data["standing"] = live["standing"]
    now = utcnow()
    with session_scope(context.engine) as session:
        feed = pro_feed(
            session,
            store=context.store,
            program=context.program,
            worker_id=current,
            certified=context.gets("early_access", current),
            now=now,
            limit=5,
        )
    worker = public_profile(context, current).model_dump()
    embed = (
        embed_snippets(
            public_url=context.core.settings.public_url,
            worker_id=current,
            display_name=worker["display_name"],
            program_name=context.program.name.get(lang),
        )
        if data["certified"]
        else None
    )
    return render(
        request,
        "dashboard.html",
        embed=embed,
        data=data,
        worker=worker,
        feed=[i.to_json(now) for i in feed],
        runs=data["runs"],
        charts=charts,
        behind=behind,
        appeals=[
            {
                "id": a.id,
                "run_as_of": next((r.as_of for r in runs if r.run_id == a.run_id), None),
                "criterion": a.criterion,
                "text": a.text,
                "status": a.status,
                "due": local_time(a.due_at, context.program.timezone, minutes=False),
                "answer": a.answer,
                "answered": local_time(a.answered_at, context.program.timezone, minutes=False)
                if a.answered_at
                else None,
            }
            for a in appeals
        ],
        leave_earliest=(view.today + timedelta(days=context.program.leave.notice_days)).isoformat()
        if context.program.leave
        else None,
        benefits=[
            t(key, lang, **values)
            for key, values in context.program.benefits_for(
                data["level"] if data["certified"] else (view.forecast.level or view.live.level)
            )
        ],
    )


@router.post("/dashboard/appeals", include_in_schema=False)
async def dashboard_appeal(request: Request, context: Context) -> Response:
    """The signed-in worker appeals a decision (a form on the dashboard)."""
    form = await request.form()
    return await run_in_threadpool(_appeal_from_form, request, context, dict(form))


def _appeal_from_form(request: Request, context: WebContext, form: dict[str, Any]) -> Response:
    current = signed_in_as(request, None)
    check_csrf(request, str(form.get("csrf", "")))
    try:
        run_id = int(str(form.get("run_id", "")))
    except ValueError:
        raise AppealRefused(Message("refused_appeal_choose")) from None
    with session_scope(context.engine, write=True) as session:
        file_appeal(
            session,
            program=context.program,
            worker_id=current,
            run_id=run_id,
            criterion=str(form.get("criterion") or "") or None,
            text=str(form.get("text", "")),
            target_hours=context.core.settings.appeal_target_hours,
        )
    return RedirectResponse("/dashboard#appeals", status_code=303)


@router.post("/dashboard/leave", include_in_schema=False)
async def dashboard_declare_leave(request: Request, context: Context) -> Response:
    """The signed-in worker declares leave (a form on the dashboard), within the program's [leave] rules."""
    form = await request.form()
    return await run_in_threadpool(_leave_from_form, request, context, dict(form))


def _leave_from_form(request: Request, context: WebContext, form: dict[str, Any]) -> Response:
    current = signed_in_as(request, None)
    check_csrf(request, str(form.get("csrf", "")))
    with session_scope(context.engine, write=True) as session:
        declare_leave(
            session,
            program=context.program,
            worker_id=current,
            actor=f"worker:{current}",
            by_worker=True,
            today=context.today(),
            **leave_form(form),
        )
    context.statuses.invalidate()
    return RedirectResponse("/dashboard#leave", status_code=303)


@router.post("/dashboard/leave/{leave_id}/cancel", include_in_schema=False)
async def dashboard_cancel_leave(leave_id: int, request: Request, context: Context) -> Response:
    """The signed-in worker withdraws a leave that has not begun."""
    form = await request.form()
    return await run_in_threadpool(_cancel_from_form, request, context, leave_id, dict(form))


def _cancel_from_form(request: Request, context: WebContext, leave_id: int, form: dict[str, Any]) -> Response:
    current = signed_in_as(request, None)
    check_csrf(request, str(form.get("csrf", "")))
    with session_scope(context.engine, write=True) as session:
        cancel_leave(
            session,
            program=context.program,
            leave_id=leave_id,
            actor=f"worker:{current}",
            today=context.today(),
            worker_id=current,
        )
    context.statuses.invalidate()
    return RedirectResponse("/dashboard#leave", status_code=303)
