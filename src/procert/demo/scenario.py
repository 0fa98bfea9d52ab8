"""The demo as a scenario: the steps `procert demo` narrates and the browser tests reuse, each on one
:class:`~procert.Procert` — a generated marketplace imported, a year of quarterly runs recorded in a fresh ledger,
premium jobs, subscribers and a newsletter issue, a console admin. The steps return what they did; printing is
the caller's."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

from procert.benefits import Viewer, list_jobs, read_job_rows, store_jobs, validate_jobs
from procert.benefits.models import Job, NewsletterIssue, Subscriber
from procert.benefits.promotion import Candidate, choose_site_features, compose_issue, send_issue
from procert.core import Procert
from procert.demo.generator import DemoSummary, generate
from procert.demo.jobs import generate_jobs
from procert.facts import FactStore
from procert.ledger import (
    AdminError,
    Notification,
    RunOutcome,
    RunResult,
    Transition,
    backfill,
    create_admin,
    current_pros,
    declare_leave,
    latest_run,
    set_admin_password,
    worker_history,
)
from procert.programs import Program, load_program

#: The demo's console admin.
DEMO_ADMIN = "demo-admin"
#: Three newsletter subscribers of the demo: (email, name, locale).
DEMO_SUBSCRIBERS = (
    ("reader1@example.jp", "佐藤 花子", "ja"),
    ("reader2@example.jp", "Alex Smith", "en"),
    ("reader3@example.jp", "田中 一郎", "ja"),
)


def generate_marketplace(
    core: Procert,
    *,
    workers: int,
    seed: int,
    end: date,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, DemoSummary]:
    """A generated marketplace export (CSV) under ``PROCERT_HOME/demo-export``: same seed, same data."""
    export = core.settings.home / "demo-export"
    return export, generate(export, workers=workers, seed=seed, end=end, fmt="csv", progress=progress)


@dataclass
class LedgerSummary:
    outcomes: list[tuple[date, RunOutcome]]
    outbox: dict[str, int]  # notifications queued, by kind
    lost: str | None  # a worker who lost the status at the latest run
    history: list[Transition] = field(default_factory=list)  # that worker's timeline


def record_year(
    core: Procert, store: FactStore, *, day: date, progress: Callable[[date, RunOutcome], None] | None = None
) -> LedgerSummary:
    """Backfill the four scheduled dates up to ``day`` into a fresh ledger (the demo's ledger starts empty,
    like its facts), with the notifications of the latest one."""
    if core.settings.database_url is None:
        core.reset_ledger()
        for leftover in core.settings.home.glob("ledger.sqlite*"):
            leftover.unlink()
    program = core.program
    first = day
    for _ in range(3):
        first = program.cadence.latest_on_or_before(first - timedelta(days=1))
    outcomes: list[tuple[date, RunOutcome]] = []

    def recorded(as_of: date, outcome: RunOutcome) -> None:
        outcomes.append((as_of, outcome))
        if progress is not None:
            progress(as_of, outcome)

    backfill(
        core.ledger,
        store=store,
        program=program,
        start=first,
        today=day,
        actor="demo",
        max_worker_drop=core.settings.max_worker_drop,
        notify=core.notify_options(),
        progress=recorded,
    )
    with core.session() as session:
        outbox = {
            str(kind): int(n)
            for kind, n in session.execute(select(Notification.kind, func.count()).group_by(Notification.kind))
        }
        lost = session.scalar(
            select(Transition.worker_id).where(Transition.as_of == day, Transition.kind == "lost").limit(1)
        )
        history = worker_history(session, program_id=program.id, worker_id=lost) if lost else []
    return LedgerSummary(outcomes, outbox, lost, history)


def declare_demo_leave(core: Procert, store: FactStore, *, today: date) -> list[str]:
    """Two pros on declared leave (a program that takes leave): the first certified pro the forecast puts at risk
    is away from three days ago until just after the next date (declared by an admin, as after an illness), so
    they keep the status; the next pro has a holiday ahead, declared on the dashboard's terms."""
    program = core.program
    if not program.takes_leave:
        return []
    next_date = program.cadence.next_after(today)
    with core.session(write=True) as session:
        run = latest_run(session, program_id=program.id)
        if run is None:
            return []
        rows = session.execute(
            select(RunResult.worker_id, RunResult.at_risk)
            .where(RunResult.run_id == run.id, RunResult.certified.is_(True))
            .order_by(RunResult.at_risk.desc(), RunResult.worker_id)
            .limit(2)
        ).all()
        spans = [
            (today - timedelta(days=3), next_date + timedelta(days=2), "illness", False),
            (today + timedelta(days=14), today + timedelta(days=30), "holiday", True),
        ]
        chosen = []
        for (worker_id, _risk), (first, last, category, by_worker) in zip(rows, spans, strict=False):
            declare_leave(
                session,
                program=program,
                worker_id=worker_id,
                starts_on=first,
                ends_on=last,
                category=category,
                actor=f"worker:{worker_id}" if by_worker else "demo",
                by_worker=by_worker,
                today=today,
                contact_of=store.worker,  # the admin's declaration is mailed to the worker
                public_url=core.settings.public_url,
            )
            chosen.append(worker_id)
    return chosen


#: The presets the demo runs beside the configured program, on the same facts and ledger.
SIDE_PROGRAMS = ("crowdworks-pro", "lancers-certified", "coconala-rank")


@dataclass
class SideRuns:
    program: Program
    outcomes: list[RunOutcome]
    #: Workers at each level (programs without levels: certified) after the latest run.
    levels: dict[str, int]


def record_side_programs(core: Procert, store: FactStore, *, day: date, months: int = 2) -> list[SideRuns]:
    """The other presets' latest ``months`` scheduled dates up to ``day``, recorded in the same ledger (every run
    is scoped to its program), without notifications: several programs side by side on the same facts."""
    done = []
    for program_id in SIDE_PROGRAMS:
        if program_id == core.program.id:
            continue
        program = load_program(program_id)
        first = day
        for _ in range(months - 1):
            first = program.cadence.latest_on_or_before(first - timedelta(days=1))
        outcomes = backfill(
            core.ledger,
            store=store,
            program=program,
            start=first,
            today=day,
            actor="demo",
            max_worker_drop=core.settings.max_worker_drop,
            notify=core.notify_options(enabled=False),
        )
        with core.session() as session:
            pros = current_pros(session, program_id=program.id, on=day)
        levels: dict[str, int] = {}
        for pro in pros:
            key = pro.level or program.id
            levels[key] = levels.get(key, 0) + 1
        done.append(SideRuns(program, outcomes, levels))
    return done


@dataclass
class BenefitsSummary:
    jobs: int
    premium: int
    early: int  # premium jobs still in the pros' early access
    issue_id: int
    featured: list[str]  # "name (division)" of the pros the issue features
    queued: int  # newsletter mails queued


def demo_jobs(core: Procert, *, workers: int) -> list[dict[str, Any]]:
    """A stream of generated jobs (about a fifth premium, some still for pros only)."""
    path = generate_jobs(core.settings.home / "demo-jobs.csv", count=150, clients=max(workers // 2, 10))
    return read_job_rows(path)


def add_benefits(
    core: Procert,
    store: FactStore,
    *,
    jobs: list[dict[str, Any]],
    subscribers: Sequence[tuple[str, str, str]] = DEMO_SUBSCRIBERS,
    today: date | None = None,
    now: datetime | None = None,
) -> BenefitsSummary:
    """Replace the jobs and subscribers with these, then compose today's newsletter issue, choose today's
    featured pros and queue the issue for every subscriber (signed with the core's key)."""
    program = core.program
    today = today or core.today()
    now = now or datetime.now(UTC).replace(tzinfo=None)
    valid = validate_jobs(jobs, program=program, source="demo")
    with core.session(write=True) as session:
        session.execute(delete(Job))
        session.execute(delete(Subscriber))
        session.execute(delete(NewsletterIssue).where(NewsletterIssue.issue_date == today))
        store_jobs(session, jobs=valid, actor="demo", program_id=program.id)
        for email, name, locale in subscribers:
            session.add(Subscriber(email=email, name=name, locale=locale, subscribed_at=now))
        session.flush()
        _total, views = list_jobs(
            session, store=store, program=program, viewer=Viewer("admin"), now=now, per_page=10_000
        )
        premium = [v for v in views if v.score.premium]
        early = [v for v in premium if v.early_access_until and now < v.early_access_until]
        pros = [
            Candidate(p.worker_id, p.division, p.since) for p in current_pros(session, program_id=program.id, on=today)
        ]
        issue = compose_issue(
            session,
            store=store,
            program=program,
            issue_date=today,
            pros=pros,
            public_url=core.settings.public_url,
            actor="demo",
        )
        choose_site_features(session, store=store, program=program, pros=pros, on=today, actor="demo")
        _sent, queued = send_issue(
            session,
            program=program,
            issue_id=issue.id,
            secret=core.secret,
            public_url=core.settings.public_url,
            actor="demo",
        )
        featured = [f"{f['display_name']} ({f['division']})" for f in issue.content["featured"]]
        return BenefitsSummary(len(valid), len(premium), len(early), issue.id, featured, queued)


def ensure_admin(core: Procert, *, username: str = DEMO_ADMIN, password: str | None = None) -> str:
    """A console admin with this password (a fresh random one by default, returned, never stored in clear)."""
    password = password or secrets.token_urlsafe(12)
    with core.session(write=True) as session:
        try:
            create_admin(session, username=username, password=password, actor="demo")
        except AdminError:
            set_admin_password(session, username=username, password=password, actor="demo")
    return password
