"""The ``procert`` command: one Typer app with every command group registered here, explicitly, in the order
of the flow (facts → evaluation → ledger → notify → benefits → web). Each group lives in its own module; the
shared options and helpers are in :mod:`procert.cli.common`.

A command loads only its own module: ``procert evaluate`` never imports the ledger, the mail or the web, so it
starts in a fraction of the time (see bench/bench_startup.py). ``procert --help`` and an unknown name load them
all, so the help lists every command and Typer's "no such command" names them."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer
from rich.markup import escape

from procert import __version__
from procert.cli.common import command_lang, err, out
from procert.errors import ProcertError

#: Top-level commands by the module that defines them (its ``commands`` app), in the flow's order.
COMMANDS: dict[str, tuple[str, ...]] = {
    "facts_commands": ("import", "facts", "demo-data"),
    "evaluation_commands": ("evaluate", "explain"),
    "run_commands": ("run", "run-due", "backfill", "schedule"),
    "status_commands": ("status", "forecast", "history"),
    "override_commands": ("audit",),
    "correction_commands": ("recompute",),
    "web_commands": ("serve", "login-link"),
    "demo_command": ("demo",),
}
#: Command groups, ``procert <group> <command>``: the module and the Typer app of each.
GROUPS: dict[str, tuple[str, str]] = {
    "programs": ("evaluation_commands", "programs_app"),
    "db": ("run_commands", "db_app"),
    "override": ("override_commands", "override_app"),
    "appeals": ("override_commands", "appeals_app"),
    "leave": ("leave_commands", "leave_app"),
    "corrections": ("correction_commands", "corrections_app"),
    "notify": ("notify_commands", "notify_app"),
    "jobs": ("benefits_commands", "jobs_app"),
    "newsletter": ("benefits_commands", "newsletter_app"),
    "subscribers": ("benefits_commands", "subscribers_app"),
    "featured": ("benefits_commands", "featured_app"),
    "secret": ("web_commands", "secret_app"),
    "api-key": ("web_commands", "api_key_app"),
    "admin": ("admin_commands", "admin_app"),
}


def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    """procert: Pro worker certification for crowdsourcing marketplaces."""
    if version:
        out.print(f"procert {__version__}")
        raise typer.Exit()


def build_app(only: str | None = None) -> typer.Typer:
    """The command, with every command and group, or only the module that defines ``only``."""
    app = typer.Typer(
        name="procert",
        help="Run a Pro worker certification program: import marketplace facts, evaluate, explain.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.callback(invoke_without_command=True)(_root)
    for module_name, names in COMMANDS.items():
        if only is None or only in names:
            app.add_typer(importlib.import_module(f"procert.cli.{module_name}").commands)
    for group, (module_name, attribute) in GROUPS.items():
        if only is None or only == group:
            module = importlib.import_module(f"procert.cli.{module_name}")
            app.add_typer(getattr(module, attribute), name=group)
    return app


def _invoked(argv: list[str]) -> str | None:
    """The command or group named on the command line, when it is one of ours (None: load everything)."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    known = {name for names in COMMANDS.values() for name in names} | set(GROUPS)
    return first if first in known else None


def __getattr__(name: str) -> typer.Typer:
    # ``from procert.cli.main import app``: the whole command (tests, docs).
    if name == "app":
        return build_app()
    raise AttributeError(name)


def main() -> None:
    """The `procert` command: any of procert's own refusals a command did not report itself ends as one clear
    line on standard error and exit status 1, never a traceback."""
    try:
        build_app(_invoked(sys.argv[1:]))(prog_name="procert")
    except ProcertError as exc:
        err.print(f"[bold red]error:[/] {escape(exc.text(command_lang()))}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
