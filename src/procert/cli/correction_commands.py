"""Corrections on changed facts: `procert recompute --since DATE` and `procert corrections list|accept|dismiss`."""

from __future__ import annotations

from pathlib import Path
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
from procert.ledger import (
    CorrectionRefused,
    RunRefused,
    list_corrections,
    recompute,
    review_correction,
    session_scope,
    status_words,
)

commands = typer.Typer()
corrections_app = typer.Typer(
    help="Decisions that changed facts would lower, held for review (admins).", no_args_is_help=True
)


@commands.command("recompute")
def recompute_command(
    since: Annotated[str, typer.Option("--since", help="Recompute every recorded run as of this date or later.")],
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Re-evaluate the recorded runs since a date on the facts as they are now (after a review was removed, a
    cancellation reclassified…). A decision they raise is recorded from its original date; one they would lower
    is held for review (`procert corrections list`). Each worker affected gets a receipt. All or nothing."""
    core = core_for(home, program)
    day = parse_day(since, "--since")
    with facts_of(core) as store:
        try:
            with session_scope(core.ledger, write=True) as session:
                outcome = recompute(
                    session,
                    store=store,
                    program=core.program,
                    since=day,
                    actor=actor_name(actor),
                    public_url=core.settings.public_url,
                    # One line per run, flushed as it goes: an operator (or a test) sees where it is.
                    progress=lambda message: out.print(message.text(core.settings.lang), highlight=False),
                )
        except (CorrectionRefused, RunRefused) as exc:
            fail(t("cli_recompute_refused", core.settings.lang, reason=exc.text(core.settings.lang)))
    for as_of, old, new in outcome.runs:
        out.print(t("cli_recomputed_run", core.settings.lang, as_of=as_of, old=old, new=new), highlight=False)
    out.print(outcome.message.text(core.settings.lang), highlight=False)


@corrections_app.command("list")
def corrections_list(
    all_: Annotated[bool, typer.Option("--all", help="Also the applied and reviewed ones.")] = False,
    home: HomeOption = None,
    program: ProgramOption = None,
    lang: LangOption = None,
) -> None:
    """Corrections held for review (a recomputation would lower the status), oldest first."""
    core = core_for(home, program, lang)
    prog, lang_ = core.program, core.settings.lang
    with session_scope(core.ledger) as session:
        rows = list_corrections(session, program_id=prog.id, status=None if all_ else "pending")
    if not rows:
        out.print(t("correction_none", lang_), highlight=False)
        return
    table = Table(title=t("correction_title", lang_))
    for col in ("#", "col_worker", "col_as_of", "correction_before", "correction_after", "col_result"):
        table.add_column(col if col == "#" else t(col, lang_))
    for c in rows:
        table.add_row(
            str(c.id),
            c.worker_id,
            c.as_of.isoformat(),
            status_words(prog, c.level_before, lang_),
            status_words(prog, c.level_after, lang_),
            t("correction_status_" + c.status, lang_),
        )
    out.print(table)


def _review(
    correction_id: int, accept: bool, note: str, actor: str | None, home: Path | None, program: str | None
) -> None:
    core = core_for(home, program)
    with facts_of(core) as store:
        try:
            with session_scope(core.ledger, write=True) as session:
                found = list_corrections(session, program_id=core.program.id)
                worker = next((c.worker_id for c in found if c.id == correction_id), None)
                review_correction(
                    session,
                    program=core.program,
                    correction_id=correction_id,
                    accept=accept,
                    note=note,
                    actor=actor_name(actor),
                    today=core.today(),
                    contact=store.worker(worker) if worker else None,
                    public_url=core.settings.public_url,
                )
        except (CorrectionRefused, NotFoundError) as exc:
            refuse(exc)
    said = t("cli_correction_accepted" if accept else "cli_correction_dismissed", core.settings.lang, id=correction_id)
    out.print(said, highlight=False)


@corrections_app.command("accept")
def corrections_accept(
    correction_id: Annotated[int, typer.Argument(help="The held correction.")],
    note: Annotated[str, typer.Option("--note", help="Why (audited, and told to the worker).")],
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Apply a held correction: the status becomes what the corrected facts give, locked until the next scheduled
    date (then the criteria decide). Audited; the worker is told."""
    _review(correction_id, True, note, actor, home, program)


@corrections_app.command("dismiss")
def corrections_dismiss(
    correction_id: Annotated[int, typer.Argument(help="The held correction.")],
    note: Annotated[str, typer.Option("--note", help="Why (audited, and told to the worker).")],
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Keep the recorded status despite a held correction. Audited; the worker is told."""
    _review(correction_id, False, note, actor, home, program)
