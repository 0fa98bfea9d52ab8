"""Matching certified workers and premium jobs: the Pro job feed (jobs for a pro) and recommended pros (pros for
a job), each ranked by a transparent fit with its reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from procert.facts import FactStore
from procert.ledger import DigestJob, JobDigest, OutboxItem, enqueue, latest_run
from procert.metrics import lifetime_ratings
from procert.programs import Program

from .jobs import JobView, Viewer, list_jobs

#: Fit (0–100): the same division, the job's skills named in the worker's profile, a budget in the worker's range.
DIVISION_POINTS, SKILL_POINTS, PRICE_POINTS = 40.0, 30.0, 30.0
#: A feed item's rank mixes fit with the job's premium score; a recommendation's, fit with the rating.
FEED_FIT_WEIGHT = 0.6
RECOMMEND_FIT_WEIGHT = 0.7


@dataclass(frozen=True)
class WorkerProfile:
    worker_id: str
    display_name: str
    division: str
    text: str  # profile and self-PR, folded for matching
    price_low: float | None  # the worker's usual contract amounts: 25th and 75th percentiles
    price_high: float | None
    rating: float | None
    reviews: int


def rating_date(session: Session, *, program: Program) -> date:
    """The date the ratings shown with benefits are evaluated at: the latest run's (so a card never shows a
    rating the evaluation did not use), or today before any run."""
    run = latest_run(session, program_id=program.id)
    return run.as_of if run is not None else datetime.now(ZoneInfo(program.timezone)).date()


def worker_profiles(
    store: FactStore, worker_ids: list[str], *, program: Program, rated_as_of: date
) -> dict[str, WorkerProfile]:
    """What matching needs to know of these workers: their facts, usual contract amounts and the evaluated
    lifetime rating as of ``rated_as_of``."""
    if not worker_ids:
        return {}
    facts = store.workers(worker_ids)
    prices = store.contract_amount_quartiles(list(facts))
    ratings = lifetime_ratings(store, list(facts), as_of=rated_as_of, timezone=program.timezone)
    profiles = {}
    for w, f in facts.items():
        lo, hi = prices.get(w, (None, None))
        rating = ratings[w]
        text = f"{f.profile_text} {f.self_pr_text}".casefold()
        profiles[w] = WorkerProfile(w, f.display_name, f.division, text, lo, hi, rating.overall, rating.reviews)
    return profiles


@dataclass(frozen=True)
class Fit:
    points: float
    reasons: list[dict[str, Any]]


def _labelled(program: Program, reason: dict[str, Any]) -> dict[str, Any]:
    """A reason as a mail carries it: a division with its label in both languages (a mail never shows codes)."""
    if reason.get("part") != "division":
        return reason
    return {
        **reason,
        "division_label": {lang: program.division_label(reason["division"], lang) for lang in ("ja", "en")},
    }


def fit(profile: WorkerProfile, view: JobView) -> Fit:
    """How well a job suits a worker, 0–100, with a reason per part."""
    job = view.job
    reasons: list[dict[str, Any]] = []
    points = 0.0
    if job.division == profile.division:
        points += DIVISION_POINTS
        reasons.append({"part": "division", "points": DIVISION_POINTS, "division": job.division})
    if job.skills:
        matched = [s for s in job.skills if s.casefold() in profile.text]
        skill = SKILL_POINTS * len(matched) / len(job.skills)
        points += skill
        if matched:
            reasons.append({"part": "skills", "points": round(skill, 1), "matched": matched, "of": len(job.skills)})
    if profile.price_low is not None and profile.price_high is not None and job.budget_jpy > 0:
        low, high = profile.price_low, profile.price_high
        if low <= job.budget_jpy <= high:
            price = PRICE_POINTS
        else:
            edge = low if job.budget_jpy < low else high
            price = PRICE_POINTS * min(job.budget_jpy, edge) / max(job.budget_jpy, edge)
        points += price
        reasons.append(
            {
                "part": "price",
                "points": round(price, 1),
                "budget_jpy": job.budget_jpy,
                "usual_jpy": [round(low), round(high)],
            }
        )
    return Fit(points, reasons)


@dataclass(frozen=True)
class FeedItem:
    view: JobView
    fit: Fit
    rank: float

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            **self.view.to_json(now),
            "fit": round(self.fit.points, 1),
            "rank": round(self.rank, 1),
            "reasons": self.fit.reasons,
        }


def pro_feed(
    session: Session,
    *,
    store: FactStore,
    program: Program,
    worker_id: str,
    certified: bool,
    now: datetime,
    limit: int = 20,
) -> list[FeedItem]:
    """Open premium jobs for a certified worker, best first: fit and premium score, each with its reasons.
    Empty for a worker who is not certified (the feed is a benefit of the status)."""
    if not certified:
        return []
    profile = worker_profiles(
        store, [worker_id], program=program, rated_as_of=rating_date(session, program=program)
    ).get(worker_id)
    if profile is None:
        return []
    viewer = Viewer("worker", worker_id, certified=True)
    _total, views = list_jobs(
        session, store=store, program=program, viewer=viewer, now=now, premium_only=True, per_page=10_000
    )
    items = []
    for view in views:
        f = fit(profile, view)
        items.append(FeedItem(view, f, FEED_FIT_WEIGHT * f.points + (1 - FEED_FIT_WEIGHT) * view.score.total))
    items.sort(key=lambda i: (-i.rank, i.view.job.closes_at, i.view.job.job_id))
    return items[:limit]


@dataclass(frozen=True)
class Recommendation:
    profile: WorkerProfile
    fit: Fit
    rank: float

    def to_json(self) -> dict[str, Any]:
        p = self.profile
        return {
            "worker_id": p.worker_id,
            "display_name": p.display_name,
            "division": p.division,
            "overall_rating": round(p.rating, 2) if p.rating is not None else None,
            "reviews": p.reviews,
            "fit": round(self.fit.points, 1),
            "rank": round(self.rank, 1),
            "reasons": self.fit.reasons,
            "profile_url": f"/workers/{p.worker_id}",
        }


def recommended_pros(
    *,
    store: FactStore,
    program: Program,
    view: JobView,
    pro_ids_by_division: dict[str, list[str]],
    rated_as_of: date,
    limit: int = 10,
) -> list[Recommendation]:
    """The certified workers who fit a job best (fit, then the rating evaluated as of ``rated_as_of``), to scout
    directly. Candidates are the pros of the job's division."""
    candidates = pro_ids_by_division.get(view.job.division, [])
    profiles = worker_profiles(store, candidates, program=program, rated_as_of=rated_as_of)
    ranked = []
    for profile in profiles.values():
        f = fit(profile, view)
        rating = (profile.rating or 0) / 5 * 100
        ranked.append(Recommendation(profile, f, RECOMMEND_FIT_WEIGHT * f.points + (1 - RECOMMEND_FIT_WEIGHT) * rating))
    ranked.sort(key=lambda r: (-r.rank, -r.profile.reviews, r.profile.worker_id))
    return ranked[:limit]


def queue_job_digests(
    session: Session,
    *,
    store: FactStore,
    program: Program,
    pro_ids: list[str],
    now: datetime,
    public_url: str,
    per_mail: int = 5,
    new_within: timedelta = timedelta(hours=24),
) -> int:
    """Queue one digest mail per certified worker who has premium jobs posted in the last ``new_within`` that
    fit them (their feed, top ``per_mail``), through the outbox. One digest per worker and day: running it twice
    queues nobody twice. Returns how many were queued."""
    viewer = Viewer("worker", None, certified=True)
    _total, views = list_jobs(
        session, store=store, program=program, viewer=viewer, now=now, premium_only=True, per_page=100_000
    )
    fresh = [v for v in views if v.job.posted_at >= now - new_within]
    if not fresh or not pro_ids:
        return 0
    day = now.date()
    rated_as_of = rating_date(session, program=program)
    base = public_url.rstrip("/")
    queued = 0
    for start in range(0, len(pro_ids), 5_000):
        batch = pro_ids[start : start + 5_000]
        profiles = worker_profiles(store, batch, program=program, rated_as_of=rated_as_of)
        contacts = store.workers(batch)
        outbox: list[OutboxItem] = []
        for worker_id in batch:
            profile, facts = profiles.get(worker_id), contacts.get(worker_id)
            if profile is None or facts is None or not facts.email:
                continue
            items = []
            for view in fresh:
                f = fit(profile, view)
                # Worth a mail only when the job is in their line of work: their division or their skills.
                if any(r["part"] in ("division", "skills") for r in f.reasons):
                    items.append(
                        FeedItem(view, f, FEED_FIT_WEIGHT * f.points + (1 - FEED_FIT_WEIGHT) * view.score.total)
                    )
            items.sort(key=lambda i: (-i.rank, i.view.job.job_id))
            if not items:
                continue
            payload = JobDigest(
                kind="job_digest",
                worker_id=worker_id,
                display_name=profile.display_name,
                program_name=program.name.model_dump(),
                date=day,
                dashboard_url=f"{base}/dashboard/{worker_id}",
                jobs=[
                    DigestJob(
                        job_id=i.view.job.job_id,
                        title=i.view.job.title,
                        company_name=i.view.job.company_name,
                        budget_jpy=i.view.job.budget_jpy,
                        url=f"{base}/jobs/{i.view.job.job_id}",
                        score=round(i.view.score.total, 1),
                        reasons=[_labelled(program, r) for r in i.fit.reasons],
                    )
                    for i in items[:per_mail]
                ],
            )
            outbox.append(
                OutboxItem(
                    program_id=program.id,
                    occasion=day.isoformat(),
                    recipient=worker_id,
                    payload=payload,
                    email=facts.email,
                    locale=facts.locale,
                )
            )
        queued += enqueue(session, outbox, now=now)
    return queued
