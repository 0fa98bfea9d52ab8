"""Promotion on the web: the newsletter archive, the signed unsubscribe page and the featured pros endpoint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine, func, select
from starlette.concurrency import run_in_threadpool

from procert.benefits.models import Feature, NewsletterIssue, Subscriber
from procert.benefits.promotion import (
    Candidate,
    NewsletterError,
    featured_on_site,
    read_unsubscribe_token,
    unsubscribe,
)
from procert.facts import FactStore
from procert.ledger import session_scope
from procert.programs import Program


def add_promotion_routes(
    app: FastAPI,
    *,
    engine: Engine,
    store: FactStore,
    program: Program,
    secret: str,
    render: Callable[..., HTMLResponse],
    candidates: Callable[[], list[Candidate]],
    today: Callable[[], date],
    public_url: str,
    version: Callable[[], Any],
) -> None:
    featured_cache: dict[str, tuple[Any, dict[str, Any]]] = {}

    def subscriber_of(token: str) -> Subscriber:
        try:
            subscriber_id = read_unsubscribe_token(secret, token)
        except NewsletterError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        with session_scope(engine) as session:
            sub = session.get(Subscriber, subscriber_id)
        if sub is None:
            raise HTTPException(status_code=404, detail="no such subscriber")
        return sub

    @app.get("/api/v1/featured-pros", tags=["promotion"])
    def api_featured() -> dict[str, Any]:
        """Today's featured pros for the operator's home page, chosen once a day by the fair rotation (every pro
        of a division once before anyone twice; divisions in proportion to their pros) when a run is recorded or
        by `procert featured choose`. `chosen_on` is the day of that choice; anyone no longer certified is left
        out. Reading never writes."""
        on = today()
        pros = candidates()
        # The answer changes only with the day, the pros (ledger or facts) or a new choice (a feature count).
        with session_scope(engine) as session:
            choices = session.scalar(
                select(func.count())
                .select_from(Feature)
                .where(Feature.program_id == program.id, Feature.channel == "site")
            )
            key = (on, version(), choices)
            cached = featured_cache.get("answer")
            if cached is not None and cached[0] == key:
                return cached[1]
            chosen_on, items = featured_on_site(
                session, store=store, program=program, pros=pros, on=on, public_url=public_url
            )
        answer = {"date": on.isoformat(), "chosen_on": chosen_on.isoformat() if chosen_on else None, "items": items}
        featured_cache["answer"] = (key, answer)
        return answer

    @app.get("/newsletter", response_class=HTMLResponse, include_in_schema=False)
    def archive(request: Request) -> HTMLResponse:
        with session_scope(engine) as session:
            issues = list(
                session.scalars(
                    select(NewsletterIssue)
                    .where(NewsletterIssue.program_id == program.id, NewsletterIssue.sent_at.is_not(None))
                    .order_by(NewsletterIssue.issue_date.desc())
                )
            )
        return render(request, "newsletter_archive.html", issues=issues)

    @app.get("/newsletter/unsubscribe", response_class=HTMLResponse, include_in_schema=False)
    def unsubscribe_page(request: Request, token: str = "") -> HTMLResponse:
        # A page with a button, not an immediate effect: mail scanners open links without a person.
        sub = subscriber_of(token)
        return render(request, "unsubscribe.html", email=sub.email, token=token, done=sub.unsubscribed_at is not None)

    @app.post("/newsletter/unsubscribe", include_in_schema=False)
    async def unsubscribe_post(request: Request, token: str = "") -> Response:
        form = await request.form()
        token = token or str(form.get("token", ""))
        sub = await run_in_threadpool(subscriber_of, token)

        # One-click unsubscribe from a mail client (RFC 8058) posts without our CSRF token; the signed token
        # in the URL is the proof, and unsubscribing is the only thing it can do.
        def record() -> None:
            with session_scope(engine, write=True) as session:
                unsubscribe(session, subscriber_id=sub.id, actor=f"subscriber:{sub.id}")

        await run_in_threadpool(record)
        return render(request, "unsubscribe.html", email=sub.email, token=token, done=True)

    @app.get("/newsletter/{issue_id}", response_class=HTMLResponse, include_in_schema=False)
    def issue_page(request: Request, issue_id: int) -> HTMLResponse:
        with session_scope(engine) as session:
            issue = session.get(NewsletterIssue, issue_id)
            if issue is None or issue.program_id != program.id or issue.sent_at is None:
                raise HTTPException(status_code=404, detail=f"no issue #{issue_id}")
        return render(request, "newsletter_issue.html", issue=issue, content=issue.content)
