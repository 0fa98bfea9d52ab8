"""The admin API under ``/api/v1``: the program, runs and their transitions, overrides, the outbox and the
audit log. An API key (``X-API-Key``) or an admin session (with ``X-CSRF-Token`` to change state)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from procert.errors import NotFoundError, ProcertError
from procert.ledger import (
    audit_entries,
    clear_override,
    get_run,
    list_notifications,
    list_overrides,
    list_runs,
    list_transitions,
    session_scope,
    set_override,
)
from procert.programs import Program
from procert.web.deps import ApiAdmin, ApiAdminWrite, Context
from procert.web.params import PageQuery, PerPageQuery
from procert.web.profile import public_profile
from procert.web.rows import audit_out, notification_out, override_out, run_out, transition_out
from procert.web.schemas import (
    AuditPage,
    NotificationPage,
    OverrideCleared,
    OverrideList,
    OverrideOut,
    RunOut,
    RunPage,
    TransitionPage,
)

router = APIRouter(prefix="/api/v1", tags=["admin"])

AdminPerPageQuery = Annotated[int, Query(ge=1, le=500, description="Items per page, 1 to 500.")]
KindQuery = Annotated[
    Literal["granted", "promoted", "kept", "demoted", "lost", "changes", "all"], Query(description="Which transitions.")
]
OutboxStatus = Literal["pending", "sending", "sent", "failed", "skipped"]
KINDS: dict[str, tuple[str, ...]] = {
    "granted": ("granted",),
    "promoted": ("promoted",),
    "kept": ("kept",),
    "demoted": ("demoted",),
    "lost": ("lost",),
    "changes": ("granted", "promoted", "demoted", "lost"),
    "all": ("granted", "promoted", "kept", "demoted", "lost"),
}


class OverrideRequest(BaseModel):
    worker_id: str = Field(min_length=1, max_length=120)
    certified: bool = Field(description="true: keep certified; false: keep out.")
    level: str | None = Field(None, description="Programs with levels: the level to hold the worker at.")
    reason: str = Field(min_length=1, max_length=2000)
    expires_on: date | None = Field(default=None, description="The lock ends after this day; none: until cleared.")


@router.get("/program", response_model=Program)
def api_program(_admin: ApiAdmin, context: Context) -> Program:
    """The program being run: its full specification and version."""
    return context.program


@router.get("/runs", response_model=RunPage)
def api_runs(_admin: ApiAdmin, context: Context, page: PageQuery = 1, per_page: PerPageQuery = 20) -> RunPage:
    """Recorded runs, newest first: counts, duration, gained and lost."""
    with session_scope(context.engine) as session:
        total, runs = list_runs(session, program_id=context.program.id, limit=per_page, offset=(page - 1) * per_page)
        return RunPage(total=total, page=page, per_page=per_page, items=[run_out(r) for r in runs])


@router.get("/runs/{run_id}", response_model=RunOut)
def api_run(run_id: int, _admin: ApiAdmin, context: Context) -> RunOut:
    with session_scope(context.engine) as session:
        run = get_run(session, program_id=context.program.id, run_id=run_id)
        if run is None:
            raise NotFoundError(f"no run #{run_id}")
        return run_out(run)


@router.get("/runs/{run_id}/transitions", response_model=TransitionPage)
def api_run_transitions(
    run_id: int,
    _admin: ApiAdmin,
    context: Context,
    kind: KindQuery = "changes",
    page: PageQuery = 1,
    per_page: AdminPerPageQuery = 100,
) -> TransitionPage:
    """Who gained and lost the status in a run, and why (`reason`, `failed` criteria, measured values)."""
    with session_scope(context.engine) as session:
        if get_run(session, program_id=context.program.id, run_id=run_id) is None:
            raise NotFoundError(f"no run #{run_id}")
        total, rows = list_transitions(
            session,
            program_id=context.program.id,
            run_id=run_id,
            kinds=KINDS[kind],
            limit=per_page,
            offset=(page - 1) * per_page,
        )
        return TransitionPage(total=total, page=page, per_page=per_page, items=[transition_out(x) for x in rows])


@router.get("/transitions", response_model=TransitionPage)
def api_transitions(
    _admin: ApiAdmin,
    context: Context,
    worker_id: Annotated[str | None, Query(max_length=120)] = None,
    kind: KindQuery = "changes",
    page: PageQuery = 1,
    per_page: AdminPerPageQuery = 100,
) -> TransitionPage:
    """Transitions across runs, newest first; of one worker with `worker_id`."""
    with session_scope(context.engine) as session:
        total, rows = list_transitions(
            session,
            program_id=context.program.id,
            worker_id=worker_id,
            kinds=KINDS[kind],
            limit=per_page,
            offset=(page - 1) * per_page,
        )
        return TransitionPage(total=total, page=page, per_page=per_page, items=[transition_out(x) for x in rows])


@router.get("/overrides", response_model=OverrideList)
def api_overrides(_admin: ApiAdmin, context: Context, include_inactive: bool = False) -> OverrideList:
    """Overrides in force (or all of them, with `include_inactive=true`)."""
    with session_scope(context.engine) as session:
        rows = list_overrides(session, program_id=context.program.id, include_inactive=include_inactive)
        return OverrideList(total=len(rows), items=[override_out(o) for o in rows])


@router.post("/overrides", status_code=201, response_model=OverrideOut)
def api_set_override(body: OverrideRequest, actor: ApiAdminWrite, context: Context) -> OverrideOut:
    """Lock a worker's status (replacing any lock in force). Automation never changes a locked status."""
    try:
        public_profile(context, body.worker_id)
    except ProcertError:
        raise NotFoundError(f"no worker {body.worker_id!r}") from None
    with session_scope(context.engine, write=True) as session:
        lock = set_override(
            session,
            program_id=context.program.id,
            worker_id=body.worker_id,
            certified=body.certified,
            reason=body.reason,
            actor=actor,
            expires_on=body.expires_on,
            level=body.level,
            levels=[level.id for level in context.program.levels],
        )
        data = override_out(lock)
    context.statuses.invalidate()
    return data


@router.delete("/overrides/{worker_id}", response_model=OverrideCleared)
def api_clear_override(worker_id: str, actor: ApiAdminWrite, context: Context) -> OverrideCleared:
    """Lift the worker's lock; the next run decides their status again."""
    with session_scope(context.engine, write=True) as session:
        cleared = clear_override(session, program_id=context.program.id, worker_id=worker_id, actor=actor)
    context.statuses.invalidate()
    if not cleared:
        raise NotFoundError(f"no override in force for {worker_id!r}")
    return OverrideCleared(worker_id=worker_id, cleared=cleared)


@router.get("/notifications", response_model=NotificationPage)
def api_notifications(
    _admin: ApiAdmin,
    context: Context,
    status: OutboxStatus | None = None,
    page: PageQuery = 1,
    per_page: AdminPerPageQuery = 50,
) -> NotificationPage:
    """The notification outbox: counts by status and one page of notifications."""
    with session_scope(context.engine) as session:
        by_status, total, rows = list_notifications(
            session, program_id=context.program.id, status=status, limit=per_page, offset=(page - 1) * per_page
        )
        return NotificationPage(by_status=by_status, total=total, items=[notification_out(n) for n in rows])


@router.get("/audit", response_model=AuditPage)
def api_audit(
    _admin: ApiAdmin,
    context: Context,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    page: PageQuery = 1,
    per_page: AdminPerPageQuery = 50,
) -> AuditPage:
    """The audit log, newest first; `subject` like `worker:W1` or `run:3`."""
    with session_scope(context.engine) as session:
        rows = audit_entries(session, subject=subject, limit=per_page, offset=(page - 1) * per_page)
        return AuditPage(page=page, items=[audit_out(e) for e in rows])
