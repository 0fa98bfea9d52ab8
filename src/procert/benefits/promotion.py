"""Promotion: fair rotation of featured pros in the newsletter and on the site, newsletter issues, subscribers and
their signed unsubscribe links.

Fairness: divisions get places in proportion to their number of pros (largest remainders); inside a division,
the pros featured least often come first, then the longest ago, then the most recently certified (so a new pro
appears soon). Nobody in a division is featured a second time before every eligible pro of the division has been
featured once. Only pros certified at composition time and active in the facts are eligible: lost, locked-out
and paused workers never appear.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from procert.errors import ProcertError
from procert.facts import FactStore
from procert.ledger import NewsletterMail, Notification, OutboxItem, audit, enqueue
from procert.programs import Program

from .jobs import Viewer, list_jobs
from .matching import rating_date, worker_profiles
from .models import Feature, NewsletterIssue, Subscriber

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_UNSUBSCRIBE_SALT = "procert.newsletter.unsubscribe"


@dataclass(frozen=True)
class Candidate:
    worker_id: str
    division: str
    since: date | None


@dataclass(frozen=True)
class History:
    times: int = 0
    last: date | None = None


def division_quotas(counts: dict[str, int], places: int) -> dict[str, int]:
    """Places per division in proportion to its pros, by largest remainders (ties: the larger division, then
    the name), never more than the division has."""
    total = sum(counts.values())
    places = min(places, total)
    if places <= 0:
        return {d: 0 for d in counts}
    exact = {d: places * n / total for d, n in counts.items()}
    quotas = {d: int(exact[d]) for d in counts}
    left = places - sum(quotas.values())
    for d in sorted(counts, key=lambda d: (-(exact[d] - quotas[d]), -counts[d], d))[:left]:
        quotas[d] += 1
    return quotas


def choose_features(candidates: list[Candidate], history: dict[str, History], places: int) -> list[Candidate]:
    """The pros to feature: the rotation rule above, as a pure function (tested by property)."""
    by_division: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_division.setdefault(c.division, []).append(c)
    quotas = division_quotas({d: len(v) for d, v in by_division.items()}, places)
    chosen: list[Candidate] = []
    for division in sorted(by_division):
        ranked = sorted(
            by_division[division],
            key=lambda c: (
                history.get(c.worker_id, History()).times,
                history.get(c.worker_id, History()).last or date.min,
                -(c.since or date.min).toordinal(),
                c.worker_id,
            ),
        )
        chosen += ranked[: quotas[division]]
    return chosen


def eligible_candidates(store: FactStore, pros: list[Candidate]) -> list[Candidate]:
    """Pros whose account is active in the facts now (a paused or suspended pro is not promoted)."""
    facts = store.workers([p.worker_id for p in pros])
    return [p for p in pros if p.worker_id in facts and facts[p.worker_id].active]


def feature_history(session: Session, *, program_id: str, channel: str) -> dict[str, History]:
    rows = session.execute(
        select(Feature.worker_id, func.count(), func.max(Feature.featured_on))
        .where(Feature.program_id == program_id, Feature.channel == channel)
        .group_by(Feature.worker_id)
    )
    return {w: History(n, last) for w, n, last in rows}


def _cards(
    store: FactStore, program: Program, chosen: list[Candidate], public_url: str, rated_as_of: date
) -> list[dict[str, Any]]:
    ids = [c.worker_id for c in chosen]
    profiles = worker_profiles(store, ids, program=program, rated_as_of=rated_as_of)
    texts = {w: f.profile_text for w, f in store.workers(ids).items()}
    base = public_url.rstrip("/")
    cards = []
    for c in chosen:
        p = profiles.get(c.worker_id)
        text = texts.get(c.worker_id, "")[:140]
        cards.append(
            {
                "worker_id": c.worker_id,
                "display_name": p.display_name if p else c.worker_id,
                "division": c.division,
                # The label in both languages, so a mail or an archived issue never shows the code.
                "division_label": {lang: program.division_label(c.division, lang) for lang in ("ja", "en")},
                "since": c.since.isoformat() if c.since else None,
                "overall_rating": round(p.rating, 2) if p and p.rating is not None else None,
                "reviews": p.reviews if p else 0,
                "profile_text": text,
                "profile_url": f"{base}/workers/{c.worker_id}",
                "badge_url": f"{base}/badge/{c.worker_id}.svg",
            }
        )
    return cards


# ---- the newsletter ------------------------------------------------------------------------------------------


class NewsletterError(ProcertError, ValueError):
    pass


def compose_issue(
    session: Session,
    *,
    store: FactStore,
    program: Program,
    issue_date: date,
    pros: list[Candidate],
    public_url: str,
    actor: str,
) -> NewsletterIssue:
    """Select the featured pros for the issue of ``issue_date`` and freeze what it shows (their cards and the
    premium jobs open to everyone that day). One issue per date; refuses when no pro is eligible."""
    existing = session.scalar(
        select(NewsletterIssue).where(
            NewsletterIssue.program_id == program.id, NewsletterIssue.issue_date == issue_date
        )
    )
    if existing is not None:
        raise NewsletterError(f"the issue of {issue_date} is already composed (#{existing.id})")
    candidates = eligible_candidates(store, pros)
    if not candidates:
        raise NewsletterError("no certified, active worker to feature: record a run first")
    history = feature_history(session, program_id=program.id, channel="newsletter")
    chosen = choose_features(candidates, history, program.benefits.newsletter_features)
    # Jobs everyone may see that day: the newsletter goes to the public, so early access is respected.
    noon = datetime.combine(issue_date, datetime.min.time()).replace(hour=3)  # 12:00 in Tokyo, in UTC
    _total, views = list_jobs(
        session, store=store, program=program, viewer=Viewer(), now=noon, premium_only=True, per_page=5
    )
    base = public_url.rstrip("/")
    content = {
        "program_name": program.name.model_dump(),
        "issue_date": issue_date.isoformat(),
        "featured": _cards(store, program, chosen, public_url, rating_date(session, program=program)),
        "jobs": [
            {
                "job_id": v.job.job_id,
                "title": v.job.title,
                "company_name": v.job.company_name,
                "url": f"{base}/jobs/{v.job.job_id}",
            }
            for v in views
        ],
        "directory_url": f"{base}/pros",
    }
    issue = NewsletterIssue(program_id=program.id, issue_date=issue_date, composed_at=_utcnow(), content=content)
    session.add(issue)
    session.flush()
    for position, c in enumerate(chosen, start=1):
        session.add(
            Feature(
                program_id=program.id,
                channel="newsletter",
                issue_id=issue.id,
                worker_id=c.worker_id,
                division=c.division,
                featured_on=issue_date,
                position=position,
            )
        )
    audit(
        session,
        actor=actor,
        action="newsletter.composed",
        program_id=program.id,
        subject=f"newsletter:{issue.id}",
        details={"issue_date": issue_date.isoformat(), "featured": [c.worker_id for c in chosen]},
    )
    return issue


def unsubscribe_token(secret: str, subscriber_id: int) -> str:
    return URLSafeSerializer(secret, salt=_UNSUBSCRIBE_SALT).dumps(subscriber_id)


def read_unsubscribe_token(secret: str, token: str) -> int:
    try:
        value = URLSafeSerializer(secret, salt=_UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        raise NewsletterError("this unsubscribe link is not valid") from None
    # Signed ids are ours, but keep any value the database could not hold out (a bool is an int too).
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise NewsletterError("this unsubscribe link is not valid")
    return value


def send_issue(
    session: Session, *, program: Program, issue_id: int | None, secret: str, public_url: str, actor: str
) -> tuple[NewsletterIssue, int]:
    """Queue the issue (the latest composed one when ``issue_id`` is None) in the outbox for every subscriber,
    each with a signed unsubscribe link; `procert notify send` delivers it. Queuing twice queues nobody twice."""
    query = select(NewsletterIssue).where(NewsletterIssue.program_id == program.id)
    query = query.where(NewsletterIssue.id == issue_id) if issue_id else query.order_by(NewsletterIssue.id.desc())
    issue = session.scalars(query.limit(1)).first()
    if issue is None:
        raise NewsletterError("no such issue: compose one with `procert newsletter compose`")
    now = _utcnow()
    base = public_url.rstrip("/")
    outbox = [
        OutboxItem(
            program_id=program.id,
            occasion=f"newsletter-{issue.id}",
            recipient=f"subscriber:{sub.id}",
            payload=NewsletterMail(
                kind="newsletter",
                issue_id=issue.id,
                name=sub.name,
                unsubscribe_url=f"{base}/newsletter/unsubscribe?token={unsubscribe_token(secret, sub.id)}",
                archive_url=f"{base}/newsletter/{issue.id}",
                **issue.content,
            ),
            email=sub.email,
            locale=sub.locale,
        )
        for sub in session.scalars(
            select(Subscriber).where(Subscriber.unsubscribed_at.is_(None)).order_by(Subscriber.id)
        )
    ]
    queued = enqueue(session, outbox, now=now)
    issue.sent_at = issue.sent_at or now
    audit(
        session,
        actor=actor,
        action="newsletter.queued",
        program_id=program.id,
        subject=f"newsletter:{issue.id}",
        details={"queued": queued},
    )
    return issue, queued


def unsubscribe(session: Session, *, subscriber_id: int, actor: str) -> Subscriber | None:
    """Unsubscribe now, and skip any of their newsletters still waiting in the outbox."""
    sub = session.get(Subscriber, subscriber_id)
    if sub is None:
        return None
    if sub.unsubscribed_at is None:
        sub.unsubscribed_at = _utcnow()
        session.execute(
            update(Notification)
            .where(
                Notification.kind == "newsletter",
                Notification.worker_id == f"subscriber:{sub.id}",
                Notification.status == "pending",
            )
            .values(status="skipped", last_error="unsubscribed")
        )
        audit(session, actor=actor, action="newsletter.unsubscribed", subject=f"subscriber:{sub.id}")
    return sub


@dataclass(frozen=True)
class SubscriberImport:
    added: int
    updated: int
    kept_unsubscribed: int


def import_subscribers(session: Session, *, path: Path, actor: str) -> SubscriberImport:
    """Add or update subscribers from a CSV (email, name, locale). Every row is checked first; any problem is
    reported by file, row and column, and nothing is stored. Someone who unsubscribed stays unsubscribed."""
    if not path.exists():
        raise NewsletterError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or "email" not in reader.fieldnames:
            raise NewsletterError(f"{path}, row 0, column email: the header needs an email column")
        rows = list(reader)
    problems = []
    seen: Counter[str] = Counter()
    for number, row in enumerate(rows, start=1):
        email = (row.get("email") or "").strip().lower()
        if not EMAIL.match(email):
            problems.append(f"{path}, row {number}, column email: {email!r} is not an e-mail address")
        seen[email] += 1
        if seen[email] == 2:
            problems.append(f"{path}, row {number}, column email: {email!r} appears twice")
        if (row.get("locale") or "ja").strip() not in ("ja", "en"):
            problems.append(f"{path}, row {number}, column locale: use ja or en")
    if problems:
        raise NewsletterError("\n".join(problems[:50]))
    added = updated = kept = 0
    now = _utcnow()
    for row in rows:
        email = row["email"].strip().lower()
        sub = session.scalar(select(Subscriber).where(Subscriber.email == email))
        name, locale = (row.get("name") or "").strip() or None, (row.get("locale") or "ja").strip()
        if sub is None:
            session.add(Subscriber(email=email, name=name, locale=locale, subscribed_at=now))
            added += 1
        else:
            sub.name, sub.locale = name, locale
            updated += 1
            kept += sub.unsubscribed_at is not None
    audit(session, actor=actor, action="newsletter.subscribers_imported", details={"added": added, "updated": updated})
    return SubscriberImport(added, updated, kept)


def choose_site_features(
    session: Session, *, store: FactStore, program: Program, pros: list[Candidate], on: date, actor: str
) -> list[Candidate]:
    """Choose the pros featured on the operator's site on ``on`` under the rotation rule, once a day (a run and
    `procert featured choose` call it; a web request never does). Choosing again the same day keeps the choice
    unless one of them stopped being eligible."""
    eligible = {c.worker_id: c for c in eligible_candidates(store, pros)}
    todays = list(
        session.scalars(
            select(Feature)
            .where(Feature.program_id == program.id, Feature.channel == "site", Feature.featured_on == on)
            .order_by(Feature.position)
        )
    )
    if todays and all(f.worker_id in eligible for f in todays):
        return [eligible[f.worker_id] for f in todays]
    for f in todays:
        session.delete(f)
    session.flush()
    history = feature_history(session, program_id=program.id, channel="site")
    chosen = choose_features(list(eligible.values()), history, program.benefits.featured_on_site)
    for position, c in enumerate(chosen, start=1):
        session.add(
            Feature(
                program_id=program.id,
                channel="site",
                worker_id=c.worker_id,
                division=c.division,
                featured_on=on,
                position=position,
            )
        )
    audit(
        session,
        actor=actor,
        action="featured.chosen",
        program_id=program.id,
        subject=f"featured:{on.isoformat()}",
        details={"featured": [c.worker_id for c in chosen]},
    )
    return chosen


def featured_on_site(
    session: Session, *, store: FactStore, program: Program, pros: list[Candidate], on: date, public_url: str
) -> tuple[date | None, list[dict[str, Any]]]:
    """The pros featured on the site on ``on``: the latest choice made on or before that day (read only), less
    anyone no longer certified and active. Returns the day of that choice (None before any) and the cards."""
    chosen_on = session.scalar(
        select(func.max(Feature.featured_on)).where(
            Feature.program_id == program.id, Feature.channel == "site", Feature.featured_on <= on
        )
    )
    if chosen_on is None:
        return None, []
    eligible = {c.worker_id: c for c in eligible_candidates(store, pros)}
    rows = session.scalars(
        select(Feature)
        .where(Feature.program_id == program.id, Feature.channel == "site", Feature.featured_on == chosen_on)
        .order_by(Feature.position)
    )
    shown = [eligible[f.worker_id] for f in rows if f.worker_id in eligible]
    return chosen_on, _cards(store, program, shown, public_url, rating_date(session, program=program))


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
