"""Locks, appeals and the audit log: `procert override set|clear|list`, `procert appeals list|answer` and
`procert audit`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from procert.cli.common import (
    ActorOption,
    HomeOption,
    LangOption,
    ProgramOption,
    actor_name,
    core_for,
    facts_of,
    fail,
    labelled_table,
    out,
    parse_as_of,
)
from procert.i18n import audit_action, t
from procert.ledger import (
    AppealRefused,
    answer_appeal,
    audit_entries,
    clear_override,
    list_appeals,
    list_overrides,
    session_scope,
    set_override,
    utcnow,
)

commands = typer.Typer()
override_app = typer.Typer(help="Lock a worker's status (admins).", no_args_is_help=True)
appeals_app = typer.Typer(help="Workers' appeals of decisions, and the answers (admins).", no_args_is_help=True)


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
    level: Annotated[
        str | None,
        typer.Option("--level", help="Programs with levels: the level to hold the worker at.", show_default=False),
    ] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Lock a worker as certified (at a level, in a program with levels) or not certified; automation never
    changes a locked status."""
    core = core_for(home, program)
    _settings, prog = core.settings, core.program
    expires_on = parse_as_of(expires, prog) if expires else None
    if expires_on is not None and expires_on <= core.today():
        raise typer.BadParameter("the expiry must be in the future", param_hint="--expires")
    engine = core.ledger
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
                level=level,
                levels=[tier.id for tier in prog.levels],
            )
    except ValueError as exc:
        hint = "--level" if "level" in str(exc) else "--reason"
        raise typer.BadParameter(str(exc), param_hint=hint) from None
    state = f"certified at level {level}" if level else "certified" if certified else "not certified"
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
    core = core_for(home, program)
    settings, prog, engine = core.settings, core.program, core.ledger
    with session_scope(engine, write=True) as session:
        cleared = clear_override(session, program_id=prog.id, worker_id=worker_id, actor=actor_name(actor))
    if not cleared:
        fail(t("cli_no_override", settings.lang, worker=worker_id, program=prog.id))
    out.print(t("cli_override_cleared", settings.lang, worker=worker_id, program=prog.id), highlight=False)


@override_app.command("list")
def override_list(
    all_: Annotated[bool, typer.Option("--all", help="Include cleared overrides.")] = False,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """List overrides with their reasons, authors and expiry."""
    core = core_for(home, program)
    _settings, prog, engine = core.settings, core.program, core.ledger
    with session_scope(engine) as session:
        locks = list_overrides(session, program_id=prog.id, include_inactive=all_)
    lang = core.settings.lang
    table = labelled_table(
        ("#", "col_worker", "col_locked_as", "col_reason", "col_by", "col_at", "col_expires", "col_cleared"),
        lang,
        title=f"overrides — {prog.id}",
    )
    for o in locks:
        table.add_row(
            str(o.id),
            o.worker_id,
            (prog.level_label(o.level, lang) if o.level else t("status_certified_short", lang))
            if o.certified
            else t("status_not_certified", lang),
            o.reason,
            o.created_by,
            f"{o.created_at:%Y-%m-%d %H:%M}",
            o.expires_on.isoformat() if o.expires_on else "",
            f"{o.revoked_at:%Y-%m-%d} by {o.revoked_by}" if o.revoked_at else "",
        )
    out.print(table)


@commands.command("audit")
def audit_command(
    limit: Annotated[int, typer.Option("--limit", min=1, help="Entries to show, newest first.")] = 30,
    home: HomeOption = None,
) -> None:
    """The append-only audit log: runs, overrides and deliveries with actor and time."""
    core = core_for(home, with_program=False)
    _settings, engine = core.settings, core.ledger
    with session_scope(engine) as session:
        entries = audit_entries(session, limit=limit)
    table = labelled_table(
        ("#", "col_at_utc", "col_actor", "col_action", "col_program", "col_subject", "col_details"),
        core.settings.lang,
        title=t("cli_audit_title", core.settings.lang),
    )
    for e in entries:
        details = ", ".join(f"{k}={v}" for k, v in e.details.items() if v not in (None, {}, []))
        table.add_row(
            str(e.id),
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            e.actor,
            audit_action(e.action, core.settings.lang),
            e.program_id or "",
            e.subject or "",
            details[:80],
        )
    out.print(table)


@appeals_app.command("list")
def appeals_list(
    all_appeals: Annotated[bool, typer.Option("--all", help="Also the answered ones.")] = False,
    home: HomeOption = None,
    program: ProgramOption = None,
    lang: LangOption = None,
) -> None:
    """The appeal queue: open appeals oldest first, with their age and whether they are past the target."""
    core = core_for(home, program, lang)
    prog, lang_ = core.program, core.settings.lang
    now = utcnow()
    with session_scope(core.ledger) as session:
        rows = list_appeals(session, program_id=prog.id, status=None if all_appeals else "open")
    if not rows:
        out.print(t("web_admin_no_appeals", lang_), highlight=False)
        return
    table = Table(title=t("web_admin_appeals", lang_))
    for col in (
        "#",
        t("col_worker", lang_),
        t("col_criterion", lang_),
        t("web_appeal_text", lang_),
        t("col_result", lang_),
    ):
        table.add_column(col)
    for a in rows:
        label = prog.criterion(a.criterion).label.get(lang_) if a.criterion else t("web_appeal_whole", lang_)
        hours = int((now - a.filed_at).total_seconds() // 3600)
        state = t("web_admin_appeal_age", lang_, hours=hours)
        if a.status == "open" and now > a.due_at:
            state += " · " + t("web_admin_appeal_overdue", lang_)
        if a.status == "answered" and a.answered_at is not None:
            state = t("web_appeal_answered", lang_, date=a.answered_at.date().isoformat())
        table.add_row(str(a.id), a.worker_id, label, a.text, state)
    out.print(table)


@appeals_app.command("answer")
def appeals_answer(
    appeal_id: Annotated[int, typer.Argument(help="The appeal to answer.")],
    answer: Annotated[str, typer.Option("--answer", help="The answer, with its reason (mailed to the worker).")],
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Answer an open appeal; the worker is mailed the answer (queued in the same transaction) and it is audited."""
    core = core_for(home, program)
    with facts_of(core) as store, session_scope(core.ledger, write=True) as session:
        found = [a for a in list_appeals(session, program_id=core.program.id) if a.id == appeal_id]
        contact = store.worker(found[0].worker_id) if found else None
        try:
            answer_appeal(
                session,
                program=core.program,
                appeal_id=appeal_id,
                answer=answer,
                actor=actor_name(actor),
                contact=contact,
                public_url=core.settings.public_url,
            )
        except AppealRefused as exc:
            raise typer.BadParameter(str(exc), param_hint="--answer") from None
    out.print(t("cli_appeal_answered", core.settings.lang, id=appeal_id), highlight=False)
