"""Shared pieces of the ``procert`` command, in one place: consoles, option types, the core object built from
the options, and small helpers every command group uses. Commands are thin: options → :class:`Procert` → one
service call → a printed outcome."""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from procert.core import Procert, SettingsError
from procert.errors import ProcertError
from procert.facts import FactStore, FactStoreError
from procert.i18n import DEFAULT_LANG, t
from procert.programs import Program, ProgramError
from procert.settings import Settings

if TYPE_CHECKING:
    from rich.progress import Progress

    from procert.notify import DeliveryReport

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
ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor", help="Who is acting, for the audit log (env PROCERT_ACTOR, default the OS user).", show_default=False
    ),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Proceed past the safety checks / record again.")]


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


#: The language of the settings this command loaded (see load_settings): its refusals are said in it.
_command_lang = DEFAULT_LANG


def command_lang() -> str:
    return _command_lang


def refuse(exc: ProcertError, code: int = 1) -> NoReturn:
    """One of procert's refusals, in the command's language, and exit ``code``."""
    fail(exc.text(_command_lang), code)


def load_settings(home: Path | None = None, program: str | None = None, lang: str | None = None) -> Settings:
    overrides: dict[str, Any] = {k: v for k, v in {"home": home, "program": program, "lang": lang}.items() if v}
    global _command_lang
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        # One line per bad setting, named as the operator sets it: the variable (and the option, where there is one).
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "settings"
            option = f" (--{name})" if name in overrides else ""
            problems.append(f"PROCERT_{name.upper()}{option}: {error['msg']} (got {error.get('input')!r})")
        fail("invalid setting: " + "; ".join(problems), code=2)
    except ValueError as exc:
        fail(f"invalid setting: {exc}", code=2)
    _command_lang = settings.lang
    return settings


def core_for(
    home: Path | None = None, program: str | None = None, lang: str | None = None, *, with_program: bool = True
) -> Procert:
    """The core object for the command's options (and ``PROCERT_*``): bad settings or an unknown program exit 2."""
    core = Procert(load_settings(home, program, lang))
    if with_program:
        try:
            core.program  # noqa: B018  (load and validate it now, with the right exit status)
        except ProgramError as exc:
            refuse(exc, code=2)
    return core


def facts_of(core: Procert) -> FactStore:
    """The facts store, read-only with the configured limits; a missing store is a clear error."""
    try:
        return core.open_facts(read_only=True)
    except FactStoreError as exc:
        refuse(exc)


def signing_secret(core: Procert, refusal: str) -> str:
    try:
        return core.secret
    except SettingsError as exc:
        fail(f"{refusal}: {exc}")


def actor_name(actor: str | None) -> str:
    return actor or os.environ.get("PROCERT_ACTOR") or f"cli:{getpass.getuser()}"


_CONTROL = {c: "\ufffd" for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))}


def terminal_safe(text: str) -> str:
    """Text for a terminal: control characters (ESC sequences, NUL, carriage returns) from user data shown as
    U+FFFD, so a name cannot move the cursor, recolour or hide output. Line breaks and tabs stay."""
    return text.translate(_CONTROL)


def parse_as_of(value: str | None, program: Program) -> date:
    if value is None:
        return program.cadence.latest_on_or_before(Procert.today_in(program))
    return parse_day(value, "--as-of")


def parse_day(value: str, hint: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form", param_hint=hint) from None


def generation_progress() -> Progress:
    """A bar for generating a demo marketplace, worker by worker."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # loaded by the commands that show one

    return Progress(
        TextColumn("generating"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} workers"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def steps() -> Progress:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True)


def labelled_table(columns: Sequence[str], lang: str, *, title: str | None = None) -> Table:
    """A table whose column headers are message keys (``col_*``), shown in ``lang`` ("#" stays as it is)."""
    table = Table(title=title)
    for key in columns:
        table.add_column(key if key == "#" else t(key, lang))
    return table


def delivery_summary(report: DeliveryReport, lang: str) -> str:
    """What one sending of notifications did, in words: sent, to retry, failed."""
    return t("cli_notify_sent", lang, sent=report.sent, retrying=report.retrying, failed=report.failed)
