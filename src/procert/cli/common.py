"""Shared pieces of the ``procert`` command: the Typer apps, consoles, option types and helpers."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from procert.facts import FactStore, FactStoreError
from procert.programs import Program, ProgramError, load_program
from procert.settings import Settings

app = typer.Typer(
    name="procert",
    help="Run a Pro worker certification program: import marketplace facts, evaluate, explain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
programs_app = typer.Typer(help="List and show certification programs.", no_args_is_help=True)
app.add_typer(programs_app, name="programs")

out = Console(markup=False, highlight=False)  # user data may contain [brackets]; opt in per call
err = Console(stderr=True)

HomeOption = Annotated[
    Path | None, typer.Option("--home", help="State folder (env PROCERT_HOME, default ~/.procert).", show_default=False)
]
ProgramOption = Annotated[
    str | None,
    typer.Option(
        "--program",
        "-p",
        help="Program preset id or TOML path (env PROCERT_PROGRAM, default crowdworks-pro).",
        show_default=False,
    ),
]
LangOption = Annotated[
    str | None, typer.Option("--lang", help="Language: ja or en (env PROCERT_LANG, default ja).", show_default=False)
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Evaluation date YYYY-MM-DD (00:00 in the program's time zone). "
        "Default: the latest scheduled date on or before today.",
        show_default=False,
    ),
]


def load_settings(home: Path | None = None, program: str | None = None, lang: str | None = None) -> Settings:
    overrides: dict[str, Any] = {k: v for k, v in {"home": home, "program": program, "lang": lang}.items() if v}
    try:
        return Settings(**overrides)
    except ValueError as exc:
        fail(f"invalid setting: {exc}", code=2)


_CONTROL = {c: "\ufffd" for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))}


def terminal_safe(text: str) -> str:
    """Text for a terminal: control characters (ESC sequences, NUL, carriage returns) from user data shown as
    U+FFFD, so a name cannot move the cursor, recolour or hide output. Line breaks and tabs stay."""
    return text.translate(_CONTROL)


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def load_program_or_fail(settings: Settings) -> Program:
    try:
        return load_program(settings.program)
    except ProgramError as exc:
        fail(str(exc), code=2)


def today_in(program: Program) -> date:
    """Today's date in the program's time zone (1 January starts in Tokyo while it is still 31 December in UTC)."""
    return datetime.now(ZoneInfo(program.timezone)).date()


def parse_as_of(value: str | None, program: Program) -> date:
    if value is None:
        return program.cadence.latest_on_or_before(today_in(program))
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form", param_hint="--as-of") from None


def open_store(settings: Settings, *, read_only: bool) -> FactStore:
    try:
        return FactStore(
            settings.facts_path,
            memory_limit=settings.duckdb_memory_limit,
            threads=settings.duckdb_threads,
            read_only=read_only,
        )
    except FactStoreError as exc:
        fail(str(exc))


def steps() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True)
