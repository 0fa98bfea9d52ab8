"""Promotion on the web: the newsletter archive, the signed unsubscribe page and today's featured pros."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from procert.benefits.models import Feature, NewsletterIssue, Subscriber
from procert.benefits.promotion import Candidate, NewsletterError, featured_on_site, read_unsubscribe_token, unsubscribe
from procert.errors import NotFoundError, ProcertError
from procert.i18n import Message
from procert.ledger import session_scope
from procert.web.context import WebContext
from procert.web.deps import Context
from procert.web.pages import render
from procert.web.schemas import FeaturedPros

router = APIRouter()


class BadLink(ProcertError):
    """A forged or altered unsubscribe link."""


def _subscriber(context: WebContext, token: str) -> Subscriber:
    try:
        subscriber_id = read_unsubscribe_token(context.core.secret, token)
    except NewsletterError as exc:
        raise BadLink(str(exc)) from None
    with session_scope(context.engine) as session:
        sub = session.get(Subscriber, subscriber_id)
    if sub is None:
        raise NotFoundError(Message("refused_no_subscriber"))
    return sub


@router.get("/api/v1/featured-pros", tags=["promotion"], response_model=FeaturedPros)
def api_featured(context: Context) -> dict[str, Any]:
    """Today's featured pros for the operator's home page, chosen once a day by the fair rotation (every pro
    of a division once before anyone twice; divisions in proportion to their pros) when a run is recorded or
    by `procert featured choose`. `chosen_on` is the day of that choice; anyone no longer certified is left
    out. Reading never writes."""
    program = context.program
    on = context.today()
    pros = [
        Candidate(c.worker_id, c.division, c.since)
        for c in context.cards()
        if program.gets("promotion", c.level, certified=True)
    ]
    # The answer changes only with the day, the pros (ledger or facts) or a new choice (a feature count).
    with session_scope(context.engine) as session:
        choices = session.scalar(
            select(func.count()).select_from(Feature).where(Feature.program_id == program.id, Feature.channel == "site")
        )
        key = (on, context.cards_version(), choices)
        cached = context.featured_answer
        if cached is not None and cached[0] == key:
            return cached[1]
        chosen_on, items = featured_on_site(
            session,
            store=context.store,
            program=program,
            pros=pros,
            on=on,
            public_url=context.core.settings.public_url,
        )
    answer = {"date": on.isoformat(), "chosen_on": chosen_on.isoformat() if chosen_on else None, "items": items}
    context.featured_answer = (key, answer)
    return answer


@router.get("/newsletter", response_class=HTMLResponse, include_in_schema=False)
def archive(request: Request, context: Context) -> HTMLResponse:
    with session_scope(context.engine) as session:
        issues = list(
            session.scalars(
                select(NewsletterIssue)
                .where(NewsletterIssue.program_id == context.program.id, NewsletterIssue.sent_at.is_not(None))
                .order_by(NewsletterIssue.issue_date.desc())
            )
        )
    return render(request, "newsletter_archive.html", issues=issues)


@router.get("/newsletter/unsubscribe", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_page(request: Request, context: Context, token: str = "") -> HTMLResponse:
    # A page with a button, not an immediate effect: mail scanners open links without a person.
    sub = _subscriber(context, token)
    return render(request, "unsubscribe.html", email=sub.email, token=token, done=sub.unsubscribed_at is not None)


@router.post("/newsletter/unsubscribe", include_in_schema=False)
async def unsubscribe_post(request: Request, context: Context, token: str = "") -> Response:
    form = await request.form()
    token = token or str(form.get("token", ""))
    sub = await run_in_threadpool(_subscriber, context, token)

    # One-click unsubscribe from a mail client (RFC 8058) posts without our CSRF token; the signed token
    # in the URL is the proof, and unsubscribing is the only thing it can do.
    def record() -> None:
        with session_scope(context.engine, write=True) as session:
            unsubscribe(session, subscriber_id=sub.id, actor=f"subscriber:{sub.id}")

    await run_in_threadpool(record)
    return render(request, "unsubscribe.html", email=sub.email, token=token, done=True)


@router.get("/newsletter/{issue_id}", response_class=HTMLResponse, include_in_schema=False)
def issue_page(request: Request, issue_id: int, context: Context) -> HTMLResponse:
    with session_scope(context.engine) as session:
        issue = session.get(NewsletterIssue, issue_id)
        if issue is None or issue.program_id != context.program.id or issue.sent_at is None:
            raise NotFoundError(Message("refused_no_issue", {"id": issue_id}))
    return render(request, "newsletter_issue.html", issue=issue, content=issue.content)
