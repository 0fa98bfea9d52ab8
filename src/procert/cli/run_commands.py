"""Recording runs: `procert run`, `run-due`, `backfill`, `schedule` and `db upgrade`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from procert.cli.benefits_commands import choose_featured_today
from procert.cli.common import (
    ActorOption,
    AsOfOption,
    ForceOption,
    HomeOption,
    LangOption,
    ProgramOption,
    actor_name,
    core_for,
    delivery_summary,
    facts_of,
    fail,
    labelled_table,
    out,
    parse_as_of,
    steps,
)
from procert.core import Procert
from procert.i18n import t
from procert.ledger import (
    RunRefused,
    backfill,
    make_engine,
    record_run,
    run_due,
    upcoming,
    upgrade,
)
from procert.notify import send_pending

commands = typer.Typer()
db_app = typer.Typer(help="The ledger database: migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(home: HomeOption = None) -> None:
    """Apply the ledger's database migrations (SQLite under PROCERT_HOME, or PROCERT_DATABASE_URL)."""
    settings = core_for(home, with_program=False).settings
    engine = make_engine(settings.ledger_url)  # not core.ledger: that one only checks a PostgreSQL ledger
    try:
        applied = upgrade(engine)
    except Exception as exc:
        fail(t("cli_db_upgrade_failed", settings.lang, error=exc))
    url = engine.url.render_as_string(hide_password=True)
    said = (
        t("cli_db_upgraded", settings.lang, applied=", ".join(applied), url=url)
        if applied
        else t("cli_db_up_to_date", settings.lang, url=url)
    )
    out.print(said, highlight=False)


@contextmanager
def recording(
    home: Path | None, program: str | None, actor: str | None, refused: str = "cli_run_refused"
) -> Iterator[tuple[Procert, dict[str, Any]]]:
    """What every command that records runs needs: the core object and the facts store, with the keyword
    arguments they share; a refused run becomes a clear error (``refused``: its message id) and exit status 1."""
    core = core_for(home, program)
    with facts_of(core) as store:
        shared = {
            "store": store,
            "program": core.program,
            "actor": actor_name(actor),
            "max_worker_drop": core.settings.max_worker_drop,
        }
        try:
            yield core, shared
        except RunRefused as exc:
            fail(t(refused, core.settings.lang, reason=exc.text(core.settings.lang)))


@commands.command("run")
def run_command(
    as_of: AsOfOption = None,
    force: ForceOption = False,
    no_notify: Annotated[bool, typer.Option("--no-notify", help="Queue no notifications for this run.")] = False,
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Evaluate and record one run: values, statuses, transitions and queued notifications, all or nothing."""
    with recording(home, program, actor) as (core, shared), steps() as progress:
        task = progress.add_task(t("step_starting", core.settings.lang), total=None)
        with core.session(write=True) as session:
            outcome = record_run(
                session,
                as_of=parse_as_of(as_of, core.program),
                force=force,
                notify=core.notify_options(enabled=not no_notify),
                progress=lambda message: progress.update(task, description=message.text(core.settings.lang)),
                **shared,
            )
    out.print(outcome.message.text(core.settings.lang))
    choose_featured_today(core, actor_name(actor))


@commands.command("run-due")
def run_due_command(
    actor: ActorOption = None,
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Record the latest scheduled date if it is not recorded yet, then deliver due notifications.
    Safe to call from cron every minute, from several machines at once."""
    with recording(home, program, actor) as (core, shared):
        outcome = run_due(core.ledger, today=core.today(), notify=core.notify_options(), **shared)
    out.print(outcome.message.text(core.settings.lang))
    choose_featured_today(core, actor_name(actor))
    report = send_pending(core.ledger, config=core.smtp, actor=actor_name(actor))
    out.print(t("cli_notifications", core.settings.lang, summary=delivery_summary(report, core.settings.lang)))


@commands.command("backfill")
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
    with recording(home, program, actor, refused="cli_backfill_stopped") as (core, shared):
        backfill(
            core.ledger,
            start=parse_as_of(start, core.program),
            today=core.today(),
            notify=core.notify_options(),
            progress=lambda day, outcome: out.print(f"{day}: {outcome.message.text(core.settings.lang)}"),
            **shared,
        )


@commands.command("schedule")
def schedule_command(
    count: Annotated[int, typer.Option("--count", min=1, max=40, help="How many dates to list.")] = 4,
    home: HomeOption = None,
    program: ProgramOption = None,
    lang: LangOption = None,
) -> None:
    """List the latest and next scheduled evaluation dates, and which are recorded or due."""
    core = core_for(home, program, lang)
    lang_, prog, engine = core.settings.lang, core.program, core.ledger
    title = t("schedule_title", lang_, program=prog.name.get(lang_), tz=prog.timezone)
    table = labelled_table(("col_date", "col_state", "col_run"), lang_, title=title)
    for item in upcoming(engine, program=prog, today=core.today(), count=count):
        state = "schedule_recorded" if item.run_id else ("schedule_due" if item.due else "schedule_scheduled")
        table.add_row(item.as_of.isoformat(), t(state, lang_), f"#{item.run_id}" if item.run_id else "")
    out.print(table)
