"""`procert jobs …`: premium jobs from the operator's files."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from procert.benefits import JobImportFailed, Viewer, list_jobs, read_job_rows, store_jobs, validate_jobs
from procert.benefits.promotion import Candidate, choose_site_features
from procert.cli.common import (
    ActorOption,
    HomeOption,
    ProgramOption,
    actor_name,
    core_for,
    err,
    facts_of,
    fail,
    labelled_table,
    out,
    parse_as_of,
    refuse,
    signing_secret,
)
from procert.core import Procert
from procert.i18n import local_time, t
from procert.ledger import current_pros, session_scope

jobs_app = typer.Typer(help="Premium jobs: import, list.", no_args_is_help=True)


@jobs_app.command("import")
def jobs_import(
    file: Annotated[Path, typer.Argument(help="A CSV (UTF-8, header row) or Parquet file of jobs.")],
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Validate every job in FILE, then store them all in one transaction (replacing jobs with the same job_id).
    Any problem: each is reported by file, row, column and reason, and nothing is stored."""
    core = core_for(home, program)
    lang, prog, engine = core.settings.lang, core.program, core.ledger
    try:
        jobs = validate_jobs(read_job_rows(file), program=prog, source=str(file))
    except JobImportFailed as exc:
        for problem in exc.problems:
            err.print(str(problem), highlight=False, markup=False, soft_wrap=True)
        if exc.total > len(exc.problems):
            err.print(t("import_more_problems", lang, more=exc.total - len(exc.problems)), highlight=False)
        fail(t("cli_jobs_refused", lang, total=exc.total, file=file))
    with session_scope(engine, write=True) as session:
        stored = store_jobs(session, jobs=jobs, actor=actor_name(actor), program_id=prog.id)
    out.print(t("cli_jobs_stored", lang, count=stored, file=file), highlight=False)


@jobs_app.command("list")
def jobs_list(
    premium: Annotated[bool, typer.Option("--premium", help="Only premium jobs.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many.")] = 20,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Open jobs, newest first, with their premium score and when their pro early access ends."""
    core = core_for(home, program)
    settings, prog, engine = core.settings, core.program, core.ledger
    now = datetime.now(UTC).replace(tzinfo=None)
    # Without facts, derived order probabilities fall back to one half (no client history to read).
    facts = facts_of(core) if settings.facts_path.exists() else nullcontext(None)
    with facts as store, session_scope(engine) as session:
        total, views = list_jobs(
            session, store=store, program=prog, viewer=Viewer("admin"), now=now, premium_only=premium, per_page=limit
        )
        lang_ = settings.lang
        table = labelled_table(
            ("col_job", "col_title", "col_company", "col_division", "col_score", "col_premium", "col_pro_only_until"),
            lang_,
            title=t("jobs_title", lang_, total=f"{total:,}"),
        )
        for v in views:
            table.add_row(
                v.job.job_id,
                v.job.title,
                v.job.company_name,
                prog.division_label(v.job.division, lang_),
                f"{v.score.total:.1f}",
                t("yes", lang_) if v.score.premium else "",
                # In the program's time zone, as the site shows it.
                local_time(v.early_access_until, prog.timezone) if v.early_access_until else "",
            )
    out.print(table)


newsletter_app = typer.Typer(help="The newsletter featuring certified workers.", no_args_is_help=True)
subscribers_app = typer.Typer(help="Newsletter subscribers.", no_args_is_help=True)


def current_candidates(core: Procert, day: date) -> list[Candidate]:
    """The pros certified on ``day``, as candidates for featuring."""
    with core.session() as session:
        pros = current_pros(session, program_id=core.program.id, on=day)
    return [
        Candidate(p.worker_id, p.division, p.since)
        for p in pros
        if core.program.gets("promotion", p.level, certified=True)
    ]


@newsletter_app.command("compose")
def newsletter_compose(
    on: Annotated[
        str | None, typer.Option("--date", help="Issue date YYYY-MM-DD (default today).", show_default=False)
    ] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Select the featured pros of an issue by fair rotation and freeze its content (pros, open premium jobs)."""
    from procert.benefits.promotion import NewsletterError, compose_issue

    core = core_for(home, program)
    settings, prog, engine = core.settings, core.program, core.ledger
    day = parse_as_of(on, prog) if on else core.today()
    pros = current_candidates(core, day)
    try:
        with facts_of(core) as store, session_scope(engine, write=True) as session:
            issue = compose_issue(
                session,
                store=store,
                program=prog,
                issue_date=day,
                pros=pros,
                public_url=settings.public_url,
                actor=actor_name(actor),
            )
            featured = [(f["worker_id"], f["display_name"], f["division"]) for f in issue.content["featured"]]
            issue_id = issue.id
    except NewsletterError as exc:
        refuse(exc)
    names = ", ".join(f"{n} ({core.program.division_label(d, core.settings.lang)})" for _w, n, d in featured)
    out.print(t("cli_newsletter_composed", core.settings.lang, id=issue_id, day=day, names=names), highlight=False)


@newsletter_app.command("send")
def newsletter_send(
    issue: Annotated[
        int | None, typer.Option("--issue", help="Issue number (default the latest).", show_default=False)
    ] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Queue an issue in the outbox for every subscriber, each with a signed unsubscribe link; `procert notify
    send` delivers it. Needs PROCERT_SECRET_KEY (demo mode: the demo key) for the links."""
    from procert.benefits.promotion import NewsletterError, send_issue

    core = core_for(home, program)
    settings, prog, engine = core.settings, core.program, core.ledger
    secret = signing_secret(core, "cannot sign unsubscribe links")
    try:
        with session_scope(engine, write=True) as session:
            sent, queued = send_issue(
                session,
                program=prog,
                issue_id=issue,
                secret=secret,
                public_url=settings.public_url,
                actor=actor_name(actor),
            )
            sent_id = sent.id
    except NewsletterError as exc:
        refuse(exc)
    out.print(t("cli_newsletter_queued", core.settings.lang, id=sent_id, queued=queued), highlight=False)


@newsletter_app.command("list")
def newsletter_list(home: HomeOption = None, program: ProgramOption = None) -> None:
    """Issues composed so far, with who they featured."""
    from sqlalchemy import select

    from procert.benefits.models import NewsletterIssue

    core = core_for(home, program)
    settings, prog, engine = core.settings, core.program, core.ledger
    table = labelled_table(("#", "col_date", "col_sent", "col_featured"), settings.lang)
    with session_scope(engine) as session:
        for i in session.scalars(
            select(NewsletterIssue).where(NewsletterIssue.program_id == prog.id).order_by(NewsletterIssue.issue_date)
        ):
            table.add_row(
                str(i.id),
                i.issue_date.isoformat(),
                f"{i.sent_at:%Y-%m-%d %H:%M}" if i.sent_at else "",
                ", ".join(f["display_name"] for f in i.content["featured"]),
            )
    out.print(table)


@subscribers_app.command("import")
def subscribers_import(
    file: Annotated[Path, typer.Argument(help="CSV with columns email, name, locale (ja or en).")],
    actor: ActorOption = None,
    home: HomeOption = None,
) -> None:
    """Add or update newsletter subscribers. Every row is checked first (nothing is stored if one is wrong);
    people who unsubscribed stay unsubscribed."""
    from procert.benefits.promotion import NewsletterError, import_subscribers

    core = core_for(home, with_program=False)
    lang = core.settings.lang
    try:
        with session_scope(core.ledger, write=True) as session:
            result = import_subscribers(session, path=file, actor=actor_name(actor))
    except NewsletterError as exc:
        refuse(exc)
    said = t("cli_subscribers_imported", lang, added=result.added, updated=result.updated)
    if result.kept_unsubscribed:
        said += t("cli_subscribers_kept_unsubscribed", lang, count=result.kept_unsubscribed)
    out.print(said, highlight=False)


@jobs_app.command("digest")
def jobs_digest(
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Queue today's digest mail for every certified worker with new premium jobs (posted in the last 24 hours)
    that fit them; run it daily (cron) to offer the digest. One per worker and day. `procert notify send`
    delivers them."""
    from procert.benefits import queue_job_digests
    from procert.ledger import audit, current_pros

    core = core_for(home, program)
    settings, prog, engine = core.settings, core.program, core.ledger
    now = datetime.now(UTC).replace(tzinfo=None)
    with facts_of(core) as store, session_scope(engine, write=True) as session:
        pros = [
            p.worker_id
            for p in current_pros(session, program_id=prog.id, on=core.today())
            if prog.gets("early_access", p.level, certified=True)
        ]
        queued = queue_job_digests(
            session, store=store, program=prog, pro_ids=pros, now=now, public_url=settings.public_url
        )
        audit(
            session,
            actor=actor_name(actor),
            action="jobs.digest_queued",
            program_id=prog.id,
            details={"queued": queued},
        )
    out.print(t("cli_digests_queued", settings.lang, queued=queued, pros=len(pros)), highlight=False)


featured_app = typer.Typer(help="Pros featured on the operator's home page.", no_args_is_help=True)


def choose_featured_today(core: Procert, actor: str) -> int | None:
    """Choose today's featured pros once (a run and `run-due` call it): the web only reads the choice. Returns
    how many were chosen, None without facts to check eligibility against."""
    if not core.facts_path.exists():
        return None
    day = core.today()
    pros = current_candidates(core, day)
    with facts_of(core) as store, core.session(write=True) as session:
        return len(choose_site_features(session, store=store, program=core.program, pros=pros, on=day, actor=actor))


@featured_app.command("choose")
def featured_choose(
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Choose today's featured pros by fair rotation (kept if already chosen today and all still eligible).
    `procert run` and `procert run-due` do this too; run it daily from cron if runs are rarer."""
    core = core_for(home, program)
    chosen = choose_featured_today(core, actor_name(actor))
    if chosen is None:
        fail(t("cli_no_facts", core.settings.lang, path=core.facts_path))
    out.print(t("cli_featured_today", core.settings.lang, count=chosen), highlight=False)
