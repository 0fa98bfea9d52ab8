"""The ``procert`` command: one Typer app with every command group registered here, explicitly, in the order
of the flow (facts → evaluation → ledger → notify → benefits → web). Each group lives in its own module; the
shared options and helpers are in :mod:`procert.cli.common`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from procert import __version__
from procert.cli import (
    admin_commands,
    benefits_commands,
    correction_commands,
    demo_command,
    evaluation_commands,
    facts_commands,
    leave_commands,
    notify_commands,
    override_commands,
    run_commands,
    status_commands,
    web_commands,
)
from procert.cli.common import err, out
from procert.errors import ProcertError

app = typer.Typer(
    name="procert",
    help="Run a Pro worker certification program: import marketplace facts, evaluate, explain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback(invoke_without_command=True)
def root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    """procert: Pro worker certification for crowdsourcing marketplaces."""
    if version:
        out.print(f"procert {__version__}")
        raise typer.Exit()


# Top-level commands, group by group.
for commands in (
    facts_commands.commands,
    evaluation_commands.commands,
    run_commands.commands,
    status_commands.commands,
    override_commands.commands,
    correction_commands.commands,
    web_commands.commands,
    demo_command.commands,
):
    app.add_typer(commands)
# Command groups: `procert <group> <command>`.
app.add_typer(evaluation_commands.programs_app, name="programs")
app.add_typer(run_commands.db_app, name="db")
app.add_typer(override_commands.override_app, name="override")
app.add_typer(override_commands.appeals_app, name="appeals")
app.add_typer(leave_commands.leave_app, name="leave")
app.add_typer(correction_commands.corrections_app, name="corrections")
app.add_typer(notify_commands.notify_app, name="notify")
app.add_typer(benefits_commands.jobs_app, name="jobs")
app.add_typer(benefits_commands.newsletter_app, name="newsletter")
app.add_typer(benefits_commands.subscribers_app, name="subscribers")
app.add_typer(benefits_commands.featured_app, name="featured")
app.add_typer(web_commands.secret_app, name="secret")
app.add_typer(web_commands.api_key_app, name="api-key")
app.add_typer(admin_commands.admin_app, name="admin")


def main() -> None:
    """The `procert` command: any of procert's own refusals a command did not report itself ends as one clear
    line on standard error and exit status 1, never a traceback."""
    try:
        app(prog_name="procert")
    except ProcertError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
