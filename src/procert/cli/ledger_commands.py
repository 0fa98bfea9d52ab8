"""``procert`` commands for the ledger and notifications: db, run, status, history, override, schedule, run-due,
backfill, notify and audit. Thin: each parses options, calls one service, prints the outcome."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import Engine, func, select

from procert.cli.common import (
    AsOfOption,
    HomeOption,
    LangOption,
    ProgramOption,
    app,
    fail,
    load_program_or_fail,
    load_settings,
    open_store,
    out,
    parse_as_of,
    steps,
    today_in,
)
from procert.evaluation import explain_rows
from procert.i18n import format_value, t
from procert.ledger import (
    LedgerNotReady,
    Notification,
    NotifyOptions,
    RunRefused,
    audit_entries,
    backfill,
    clear_override,
    create_api_key,
    forecast_at_risk,
    list_api_keys,
    list_overrides,
    make_engine,
    record_run,
    require_current,
    revoke_api_key,
    run_due,
    session_scope,
    set_override,
    upcoming,
    upgrade,
    worker_history,
    worker_status,
)
from procert.ledger.db import current_revision, head_revision
from procert.metrics import Period
from procert.notify import SmtpConfig, send_pending
from procert.programs import Program
from procert.settings import Settings

db_app = typer.Typer(help="The ledger database: migrations.", no_args_is_help=True)
override_app = typer.Typer(help="Lock a worker's status (admins).", no_args_is_help=True)
notify_app = typer.Typer(help="The notification outbox.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(override_app, name="override")
app.add_typer(notify_app, name="notify")
api_key_app = typer.Typer(help="Admin API keys for the operator's backend.", no_args_is_help=True)
app.add_typer(api_key_app, name="api-key")

ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor", help="Who is acting, for the audit log (env PROCERT_ACTOR, default the OS user).", show_default=False
    ),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Proceed past the safety checks / record again.")]


def actor_name(actor: str | None) -> str:
    return actor or os.environ.get("PROCERT_ACTOR") or f"cli:{getpass.getuser()}"


def ledger(settings: Settings) -> Engine:
    """The ledger engine, migrated: the embedded SQLite ledger is upgraded on first use (zero set-up); a
    PostgreSQL ledger must be upgraded explicitly with `procert db upgrade`."""
    engine = make_engine(settings.ledger_url)
    if settings.database_url is None:
        if current_revision(engine) != head_revision():
            upgrade(engine)
        return engine
    try:
        require_current(engine)
    except LedgerNotReady as exc:
        fail(str(exc))
    except Exception as exc:  # connection refused, bad URL: say so plainly
        fail(f"cannot use the ledger database: {exc}")
    return engine


def program_ledger(home: Path | None, program: str | None, lang: str | None = None) -> tuple[Settings, Program, Engine]:
    """Settings, the program and the migrated ledger: what most ledger commands start with."""
    settings = load_settings(home, program, lang)
    return settings, load_program_or_fail(settings), ledger(settings)


def notify_options(settings: Settings, enabled: bool = True) -> NotifyOptions:
    return NotifyOptions(enabled=enabled, public_url=settings.public_url, at_risk_days=settings.at_risk_days)


def smtp_config(settings: Settings) -> SmtpConfig:
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        starttls=settings.smtp_starttls,
        ssl=settings.smtp_ssl,
        user=settings.smtp_user,
        password=settings.smtp_password,
        sender=settings.smtp_from,
        timeout=settings.smtp_timeout,
    )


@db_app.command("upgrade")
def db_upgrade(home: HomeOption = None) -> None:
    """Apply the ledger's database migrations (SQLite under PROCERT_HOME, or PROCERT_DATABASE_URL)."""
    settings = load_settings(home)
    engine = make_engine(settings.ledger_url)
    try:
        applied = upgrade(engine)
    except Exception as exc:
        fail(f"cannot upgrade the ledger database: {exc}")
    url = engine.url.render_as_string(hide_password=True)
    out.print(f"applied {', '.join(applied)} to {url}" if applied else f"{url} is up to date", highlight=False)


@contextmanager
def recording(
    home: Path | None, program: str | None, actor: str | None, refused: str = "run refused"
) -> Iterator[tuple[Settings, Program, Engine, dict[str, Any]]]:
    """What every command that records runs needs: settings, program, ledger, and the facts store, with the
    keyword arguments they share; a refused run becomes a clear error and exit status 1."""
    settings, prog, engine = program_ledger(home, program)
    with open_store(settings, read_only=True) as store:
        shared = {
            "store": store,
            "program": prog,
            "actor": actor_name(actor),
            "max_worker_drop": settings.max_worker_drop,
        }
        try:
            yield settings, prog, engine, shared
        except RunRefused as exc:
            fail(f"{refused}: {exc}")


@app.command("run")
def run_command(
    as_of: AsOfOption = None,
    force: ForceOption = False,
    no_notify: Annotated[bool, typer.Option("--no-notify", help="Queue no notifications for this run.")] = False,
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Evaluate and record one run: values, statuses, transitions and queued notifications, all or nothing."""
    with recording(home, program, actor) as (settings, prog, engine, shared), steps() as progress:
        task = progress.add_task("starting", total=None)
        with session_scope(engine, write=True) as session:
            outcome = record_run(
                session,
                as_of=parse_as_of(as_of, prog),
                force=force,
                notify=notify_options(settings, not no_notify),
                progress=lambda message: progress.update(task, description=message),
                **shared,
            )
    out.print(outcome.message)
    _choose_featured(settings, prog, engine, actor)


def _choose_featured(settings: Settings, prog: Program, engine: Engine, actor: str | None) -> None:
    from procert.cli.benefits_commands import choose_featured_today

    choose_featured_today(settings, prog, engine, actor_name(actor))


@app.command("run-due")
def run_due_command(
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Record the latest scheduled date if it is not recorded yet, then deliver due notifications.
    Safe to call from cron every minute, from several machines at once."""
    with recording(home, program, actor) as (settings, prog, engine, shared):
        outcome = run_due(engine, today=today_in(prog), notify=notify_options(settings), **shared)
    out.print(outcome.message)
    _choose_featured(settings, prog, engine, actor)
    report = send_pending(engine, config=smtp_config(settings), actor=actor_name(actor))
    out.print(f"notifications: {report.sent} sent, {report.retrying} to retry, {report.failed} failed")


@app.command("backfill")
def backfill_command(
    start: Annotated[
        str,
        typer.Option(
            "--from", help="First date YYYY-MM-DD; every scheduled date from it to today is recorded in order."
        ),
    ],
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Record every scheduled date from --from up to today, in order. Only the latest date notifies workers."""
    with recording(home, program, actor, refused="backfill stopped") as (settings, prog, engine, shared):
        backfill(
            engine,
            start=parse_as_of(start, prog),
            today=today_in(prog),
            notify=notify_options(settings),
            progress=lambda day, outcome: out.print(f"{day}: {outcome.message}"),
            **shared,
        )


@app.command("schedule")
def schedule_command(
    count: Annotated[int, typer.Option("--count", min=1, max=40, help="How many dates to list.")] = 4,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """List the latest and next scheduled evaluation dates, and which are recorded or due."""
    _settings, prog, engine = program_ledger(home, program)
    table = Table(title=f"{prog.label} schedule ({prog.timezone})")
    for col in ("date", "state", "run"):
        table.add_column(col)
    for item in upcoming(engine, program=prog, today=today_in(prog), count=count):
        state = "recorded" if item.run_id else ("due" if item.due else "scheduled")
        table.add_row(item.as_of.isoformat(), state, f"#{item.run_id}" if item.run_id else "")
    out.print(table)


@app.command("status")
def status_command(
    worker_id: Annotated[str, typer.Argument(help="The worker.")],
    home: HomeOption = None,
    program: ProgramOption = None,
    lang: LangOption = None,
) -> None:
    """A worker's current status: certified since when, at risk, overrides, and the last run's values."""
    settings, prog, engine = program_ledger(home, program, lang)
    with session_scope(engine) as session:
        status = worker_status(session, program_id=prog.id, worker_id=worker_id, on=today_in(prog))
    if status.run_id is None:
        fail(f"no run of {prog.id} is recorded yet: run `procert run` first")
    if status.values is None and status.override is None:
        fail(f"worker {worker_id!r} was not in the latest run (#{status.run_id}, {status.as_of})")
    lang_ = settings.lang
    head = t(
        "status_certified" if status.certified else "status_not_certified",
        lang_,
        since=status.since.isoformat() if status.since else "—",
    )
    out.print(f"{prog.name.get(lang_)} ({prog.label}) — {worker_id}: {head}", highlight=False)
    if status.override is not None:
        o = status.override
        out.print(
            t(
                "status_override",
                lang_,
                state="certified" if o.certified else "not certified",
                reason=o.reason,
                by=o.created_by,
                until=o.expires_on.isoformat() if o.expires_on else "—",
            ),
            highlight=False,
        )
    if status.in_grace:
        out.print(t("status_grace", lang_), highlight=False)
    if status.values is not None and status.passed is not None:
        table = Table(title=t("status_last_run", lang_, run=status.run_id, as_of=status.as_of))
        for col in ("col_criterion", "col_value", "col_result"):
            table.add_column(t(col, lang_))
        for c in prog.criteria:
            table.add_row(
                c.label.get(lang_),
                format_value(status.values.get(c.id), lang_),
                t("pass" if status.passed.get(c.id) else "fail", lang_),
            )
        out.print(table)
    if status.forecast and status.certified:
        risky = status.forecast.get("at_risk") or []
        labels = ", ".join(prog.criterion(c).label.get(lang_) for c in risky)
        key = "status_at_risk" if risky else "status_safe"
        out.print(t(key, lang_, date=status.forecast["as_of"], criteria=labels), highlight=False)


@app.command("forecast")
def forecast_command(
    worker_id: Annotated[str | None, typer.Argument(help="Only this worker (with what it would take).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At-risk workers to list.")] = 30,
    home: HomeOption = None,
    program: ProgramOption = None,
    lang: LangOption = None,
) -> None:
    """Which certified workers would fail at the next scheduled date if nothing new happened, and why."""
    settings, prog, engine = program_ledger(home, program, lang)
    today = today_in(prog)
    with open_store(settings, read_only=True) as store, session_scope(engine) as session:
        try:
            result = forecast_at_risk(session, store=store, program=prog, today=today, worker_id=worker_id)
        except LookupError as exc:
            fail(str(exc))
        lang_ = settings.lang
        if worker_id is None:
            head = t(
                "forecast_head",
                lang_,
                date=result.as_of,
                today=today,
                at_risk=len(result.at_risk),
                certified=result.certified,
            )
            out.print(head, highlight=False)
        else:
            if not result.at_risk:
                out.print(t("forecast_worker_safe", lang_, worker=worker_id, date=result.as_of), highlight=False)
                return
            row = result.at_risk[0]
            period = Period(result.as_of, prog.timezone, today)
            explanation = explain_rows(store, prog, period, [row], {worker_id: lang_})[worker_id]
            for c in explanation.criteria:
                if not c.passed:
                    out.print(
                        f"[{t('fail', lang_)}] {c.label}: {c.value_text} ({c.threshold_text})",
                        highlight=False,
                        markup=False,
                    )
                    if c.takes:
                        out.print(f"    {t('takes', lang_)}: {c.takes}", highlight=False, markup=False)
            return
    table = Table()
    for col in ("worker", "division", "criteria at risk"):
        table.add_column(col)
    for row in result.at_risk[:limit]:
        risky = ", ".join(f"{c} = {row[c]}" for c in row["at_risk"]) or row["status"]
        table.add_row(row["worker_id"], row["division"], risky)
    out.print(table)


@app.command("history")
def history_command(
    worker_id: Annotated[str, typer.Argument(help="The worker.")],
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """A worker's timeline: every grant, renewal and loss with its reason and failed criteria."""
    _settings, prog, engine = program_ledger(home, program)
    with session_scope(engine) as session:
        items = worker_history(session, program_id=prog.id, worker_id=worker_id)
    if not items:
        out.print(f"no transitions recorded for {worker_id} in {prog.id}", highlight=False)
        return
    table = Table(title=f"{worker_id} — {prog.label}")
    for col in ("as of", "transition", "reason", "failed criteria", "run"):
        table.add_column(col)
    for item in items:
        table.add_row(item.as_of.isoformat(), item.kind, item.reason, ", ".join(item.failed), f"#{item.run_id}")
    out.print(table)


@override_app.command("set")
def override_set(
    worker_id: Annotated[str, typer.Argument(help="The worker to lock.")],
    certified: Annotated[bool, typer.Option("--certified/--not-certified", help="The locked status.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")],
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            help="Last day is the day before this date (YYYY-MM-DD). Default: until cleared.",
            show_default=False,
        ),
    ] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Lock a worker as certified or not certified; automation never changes a locked status."""
    settings = load_settings(home, program)
    prog = load_program_or_fail(settings)
    expires_on = parse_as_of(expires, prog) if expires else None
    if expires_on is not None and expires_on <= today_in(prog):
        raise typer.BadParameter("the expiry must be in the future", param_hint="--expires")
    engine = ledger(settings)
    try:
        with session_scope(engine, write=True) as session:
            lock = set_override(
                session,
                program_id=prog.id,
                worker_id=worker_id,
                certified=certified,
                reason=reason,
                actor=actor_name(actor),
                expires_on=expires_on,
            )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--reason") from None
    state = "certified" if certified else "not certified"
    out.print(
        f"override #{lock.id}: {worker_id} locked as {state} in {prog.id}"
        + (f" until {expires_on}" if expires_on else ""),
        highlight=False,
    )


@override_app.command("clear")
def override_clear(
    worker_id: Annotated[str, typer.Argument(help="The worker to unlock.")],
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Remove a worker's lock; the next run decides their status from the criteria again."""
    _settings, prog, engine = program_ledger(home, program)
    with session_scope(engine, write=True) as session:
        cleared = clear_override(session, program_id=prog.id, worker_id=worker_id, actor=actor_name(actor))
    if not cleared:
        fail(f"{worker_id} has no active override in {prog.id}")
    out.print(f"cleared the override of {worker_id} in {prog.id}", highlight=False)


@override_app.command("list")
def override_list(
    all_: Annotated[bool, typer.Option("--all", help="Include cleared overrides.")] = False,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """List overrides with their reasons, authors and expiry."""
    _settings, prog, engine = program_ledger(home, program)
    with session_scope(engine) as session:
        locks = list_overrides(session, program_id=prog.id, include_inactive=all_)
    table = Table(title=f"overrides — {prog.id}")
    for col in ("#", "worker", "locked as", "reason", "by", "at", "expires", "cleared"):
        table.add_column(col)
    for o in locks:
        table.add_row(
            str(o.id),
            o.worker_id,
            "certified" if o.certified else "not certified",
            o.reason,
            o.created_by,
            f"{o.created_at:%Y-%m-%d %H:%M}",
            o.expires_on.isoformat() if o.expires_on else "",
            f"{o.revoked_at:%Y-%m-%d} by {o.revoked_by}" if o.revoked_at else "",
        )
    out.print(table)


@notify_app.command("send")
def notify_send(
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many in one call.")] = 500,
    actor: ActorOption = None,
    home: HomeOption = None,
) -> None:
    """Deliver due notifications over SMTP (PROCERT_SMTP_*); failures are retried later with backoff."""
    settings = load_settings(home)
    engine = ledger(settings)
    report = send_pending(engine, config=smtp_config(settings), limit=limit, actor=actor_name(actor))
    out.print(f"{report.sent} sent, {report.retrying} to retry, {report.failed} failed", highlight=False)
    if report.interrupted:
        out.print(
            f"  {report.interrupted} left by an interrupted sender marked failed (not resent: at most once; "
            "see `procert notify list --status failed`, `procert notify retry ID`)",
            highlight=False,
        )
    for error in report.errors[:5]:
        out.print(f"  {error}", highlight=False)
    if report.connect_error:
        fail(f"{report.connect_error}; nothing was sent (the notifications stay queued and are retried later)")


@notify_app.command("retry")
def notify_retry(
    notification_id: Annotated[int, typer.Argument(help="The failed notification's id (`procert notify list`).")],
    actor: ActorOption = None,
    home: HomeOption = None,
) -> None:
    """Queue a failed notification again (for example one whose delivery was interrupted). Audited."""
    from procert.notify import retry_notification

    engine = ledger(load_settings(home))
    if not retry_notification(engine, notification_id=notification_id, actor=actor_name(actor)):
        fail(f"no failed notification #{notification_id}")
    out.print(f"notification #{notification_id} queued again", highlight=False)


@notify_app.command("list")
def notify_list(
    status: Annotated[
        str | None, typer.Option("--status", help="pending, sent, failed or skipped.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows to show.")] = 20,
    home: HomeOption = None,
) -> None:
    """Show the outbox: counts per status and the latest notifications."""
    settings = load_settings(home)
    engine = ledger(settings)
    with session_scope(engine) as session:
        counts = dict(session.execute(select(Notification.status, func.count()).group_by(Notification.status)).all())
        query = select(Notification).order_by(Notification.id.desc()).limit(limit)
        if status:
            query = query.where(Notification.status == status)
        rows = session.scalars(query).all()
    out.print(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "the outbox is empty", highlight=False)
    table = Table()
    for col in ("#", "worker", "kind", "as of", "status", "attempts", "email", "last error"):
        table.add_column(col)
    for n in rows:
        table.add_row(
            str(n.id),
            n.worker_id,
            n.kind,
            n.payload.get("as_of", ""),
            n.status,
            str(n.attempts),
            n.email or "",
            (n.last_error or "")[:60],
        )
    out.print(table)


@app.command("audit")
def audit_command(
    limit: Annotated[int, typer.Option("--limit", min=1, help="Entries to show, newest first.")] = 30,
    home: HomeOption = None,
) -> None:
    """The append-only audit log: runs, overrides and deliveries with actor and time."""
    settings = load_settings(home)
    engine = ledger(settings)
    with session_scope(engine) as session:
        entries = audit_entries(session, limit=limit)
    table = Table(title="audit log")
    for col in ("#", "at (UTC)", "actor", "action", "program", "subject", "details"):
        table.add_column(col)
    for e in entries:
        details = ", ".join(f"{k}={v}" for k, v in e.details.items() if v not in (None, {}, []))
        table.add_row(
            str(e.id), f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.action, e.program_id or "", e.subject or "", details[:80]
        )
    out.print(table)


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, max=64, help="Server processes (default PROCERT_WEB_WORKERS, 1).", show_default=False
        ),
    ] = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Serve the web: profiles with the Pro badge, the Pro directory, badges, workers' dashboards, the admin
    console and the API."""
    settings = load_settings(home, program)
    if workers is not None:
        settings = settings.model_copy(update={"web_workers": workers})
    prog = load_program_or_fail(settings)
    mode = " in demo mode (sign in as any worker at /demo/login)" if settings.demo else ""
    processes = f", {settings.web_workers} processes" if settings.web_workers > 1 else ""
    out.print(f"serving {prog.label} on http://{host}:{port}/pros{mode}{processes} (API docs: /docs)")
    serve_site(settings, prog, host=host, port=port)


def serve_site(settings: Settings, prog: Program, *, host: str, port: int) -> None:
    """Run the web app with uvicorn until interrupted (several processes with ``settings.web_workers``)."""
    import uvicorn

    from procert.web.server import app_from_settings

    signing_secret(settings, "refusing to start")  # refuse before anything starts
    if settings.demo:
        if not is_loopback(host):
            fail(
                f"refusing to serve demo mode on {host}: anyone can sign in as anyone there, "
                "so it listens on 127.0.0.1 only"
            )
        if settings.web_workers > 1:
            fail("demo mode serves one process: its random key lives in that process")
    ledger(settings)  # migrated (SQLite) or checked (PostgreSQL)
    if not settings.facts_path.exists():
        fail(f"no facts database at {settings.facts_path}: run `procert import DIR` first")
    # Behind a TLS proxy that is trusted, X-Forwarded-Proto makes the scheme https (Secure cookies, HSTS).
    server_options: dict[str, Any] = {
        "log_level": "warning",
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_keep_alive": 5,
    }
    if settings.web_workers > 1:
        # Each process builds its app from the environment: hand it the settings chosen on the command line.
        os.environ.update(
            {
                "PROCERT_HOME": str(settings.home),
                "PROCERT_PROGRAM": settings.program,
                "PROCERT_DEMO": "true" if settings.demo else "false",
            }
        )
        uvicorn.run(
            "procert.web.server:app_from_environment",
            factory=True,
            workers=settings.web_workers,
            host=host,
            port=port,
            **server_options,
        )
        return
    uvicorn.run(app_from_settings(settings), host=host, port=port, **server_options)


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def signing_secret(settings: Settings, refusal: str) -> str:
    from procert.web.auth import resolve_secret

    try:
        return resolve_secret(
            settings.secret_key.get_secret_value() if settings.secret_key else None, demo=settings.demo
        )
    except ValueError as exc:
        fail(f"{refusal}: {exc}")


secret_app = typer.Typer(help="The key that signs sessions and links.", no_args_is_help=True)
app.add_typer(secret_app, name="secret")


@secret_app.command("generate")
def secret_generate() -> None:
    """Print a new random key (48 random bytes) for PROCERT_SECRET_KEY. Changing the key signs everyone out."""
    from procert.web.auth import generate_secret

    out.print(generate_secret(), soft_wrap=True, highlight=False)


@app.command("login-link")
def login_link_command(
    worker_id: Annotated[str, typer.Argument(help="The worker to sign in.")],
    home: HomeOption = None,
) -> None:
    """Print a short-lived login link for a worker (what the operator's platform hands its signed-in users)."""
    from procert.web.auth import login_url

    settings = load_settings(home)
    secret = signing_secret(settings, "cannot sign a login link")
    out.print(login_url(settings.public_url, secret, worker_id), soft_wrap=True)


@api_key_app.command("create")
def api_key_create(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'platform backend'.")],
    actor: ActorOption = None,
    home: HomeOption = None,
) -> None:
    """Create an admin API key; it is printed once and stored only as a digest. Audited."""
    engine = ledger(load_settings(home))
    try:
        with session_scope(engine, write=True) as session:
            row, key = create_api_key(session, name=name, actor=actor_name(actor))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="NAME") from None
    out.print(f"API key #{row.id} ({row.name}); send it as the X-API-Key header. It is shown only now:")
    out.print(key, soft_wrap=True)


@api_key_app.command("list")
def api_key_list(home: HomeOption = None) -> None:
    """List API keys (never the keys themselves)."""
    engine = ledger(load_settings(home))
    with session_scope(engine) as session:
        keys = list_api_keys(session)
    table = Table()
    for col in ("#", "name", "created by", "created", "revoked"):
        table.add_column(col)
    for k in keys:
        table.add_row(
            str(k.id),
            k.name,
            k.created_by,
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
        )
    out.print(table)


@api_key_app.command("revoke")
def api_key_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's number (see `procert api-key list`).")],
    actor: ActorOption = None,
    home: HomeOption = None,
) -> None:
    """Revoke an API key at once. Audited."""
    engine = ledger(load_settings(home))
    with session_scope(engine, write=True) as session:
        revoked = revoke_api_key(session, key_id=key_id, actor=actor_name(actor))
    if not revoked:
        fail(f"no active API key #{key_id}")
    out.print(f"revoked API key #{key_id}")
