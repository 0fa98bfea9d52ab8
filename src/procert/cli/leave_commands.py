"""Declared leave from the command line (admins): `procert leave declare|list|cancel`."""

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
    out,
    parse_day,
    refuse,
)
from procert.errors import NotFoundError
from procert.i18n import t
from procert.ledger import LeaveRefused, cancel_leave, declare_leave, list_leaves, session_scope

leave_app = typer.Typer(help="Workers' declared leave: declare, list, cancel (admins).", no_args_is_help=True)


@leave_app.command("declare")
def leave_declare(
    worker_id: Annotated[str, typer.Argument(help="The worker who is away.")],
    starts_on: Annotated[str, typer.Option("--from", help="First day away (YYYY-MM-DD, the program's time zone).")],
    ends_on: Annotated[str, typer.Option("--to", help="Last day away (YYYY-MM-DD), included.")],
    category: Annotated[str, typer.Option("--category", help="illness, childcare, holiday or other.")],
    note: Annotated[str | None, typer.Option("--note", help="A note for the record.", show_default=False)] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Declare a worker's leave on their behalf: the program's [leave] rules apply, except the notice (an admin may
    declare leave at any time, e.g. after an illness). Audited."""
    core = core_for(home, program)
    first, last = parse_day(starts_on, "--from"), parse_day(ends_on, "--to")
    with facts_of(core) as store:
        contact = store.worker(worker_id)
    if contact is None:
        fail(t("cli_no_such_worker", core.settings.lang, worker=worker_id))
    try:
        with session_scope(core.ledger, write=True) as session:
            leave = declare_leave(
                session,
                program=core.program,
                worker_id=worker_id,
                starts_on=first,
                ends_on=last,
                category=category,
                note=note,
                actor=actor_name(actor),
                by_worker=False,
                today=core.today(),
                contact_of=lambda _worker: contact,
                public_url=core.settings.public_url,
            )
            leave_id = leave.id
    except LeaveRefused as exc:
        refuse(exc)
    said = t(
        "cli_leave_declared",
        core.settings.lang,
        id=leave_id,
        worker=worker_id,
        first=first,
        last=last,
        program=core.program.id,
    )
    out.print(said, highlight=False)


@leave_app.command("list")
def leave_list(
    worker_id: Annotated[
        str | None, typer.Option("--worker", help="Only this worker's leave.", show_default=False)
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include cancelled leave.")] = False,
    home: HomeOption = None,
    program: ProgramOption = None,
    lang: LangOption = None,
) -> None:
    """Declared leave, earliest first, with who declared it."""
    core = core_for(home, program, lang)
    lang_ = core.settings.lang
    with session_scope(core.ledger) as session:
        rows = list_leaves(session, program_id=core.program.id, worker_id=worker_id, include_cancelled=all_)
    if not rows:
        out.print(t("leave_none", lang_), highlight=False)
        return
    table = Table(title=t("leave_title", lang_))
    for col in ("#", "col_worker", "leave_from", "leave_to", "leave_days", "leave_category", "leave_declared_by"):
        table.add_column(col if col == "#" else t(col, lang_))
    for leave in rows:
        state = (
            t("leave_cancelled", lang_, date=f"{leave.cancelled_at:%Y-%m-%d}") if leave.cancelled_at is not None else ""
        )
        table.add_row(
            str(leave.id),
            leave.worker_id,
            leave.starts_on.isoformat(),
            leave.ends_on.isoformat(),
            str((leave.ends_on - leave.starts_on).days + 1),
            t("leave_category_" + leave.category, lang_),
            f"{leave.declared_by} {state}".strip(),
        )
    out.print(table)


@leave_app.command("cancel")
def leave_cancel(
    leave_id: Annotated[int, typer.Argument(help="The leave to withdraw.")],
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Cancel a leave that has not begun, or cut one that has begun short to end yesterday. Audited."""
    core = core_for(home, program)
    try:
        with facts_of(core) as store, session_scope(core.ledger, write=True) as session:
            leave = cancel_leave(
                session,
                program=core.program,
                leave_id=leave_id,
                actor=actor_name(actor),
                today=core.today(),
                contact_of=store.worker,
                public_url=core.settings.public_url,
            )
            message = (
                f"leave #{leave_id} cancelled"
                if leave.cancelled_at is not None
                else f"leave #{leave_id} now ends on {leave.ends_on}"
            )
    except (LeaveRefused, NotFoundError) as exc:
        refuse(exc)
    out.print(message, highlight=False)
