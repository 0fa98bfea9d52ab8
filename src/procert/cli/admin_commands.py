"""`procert admin …`: the operators who sign in to the admin console (passwords stored as Argon2id hashes)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from procert.cli.common import ActorOption, HomeOption, actor_name, core_for, labelled_table, out, refuse
from procert.i18n import t
from procert.ledger import AdminError, create_admin, disable_admin, list_admins, session_scope, set_admin_password

admin_app = typer.Typer(help="Admin users of the web console.", no_args_is_help=True)

UsernameArgument = Annotated[str, typer.Argument(help="The admin's user name.")]
PasswordStdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input instead of prompting."
    ),
]


def read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin (for scripts), else a hidden prompt asked twice."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@admin_app.command("create")
def admin_create(
    username: UsernameArgument,
    password_stdin: PasswordStdinOption = False,
    actor: ActorOption = None,
    home: HomeOption = None,
) -> None:
    """Create an admin who can sign in at /admin. The password (12+ characters) is stored as an Argon2id hash."""
    core = core_for(home, with_program=False)
    engine, lang = core.ledger, core.settings.lang
    password = read_password(password_stdin)
    try:
        with session_scope(engine, write=True) as session:
            create_admin(session, username=username, password=password, actor=actor_name(actor))
    except AdminError as exc:
        refuse(exc)
    out.print(t("cli_admin_created", lang, name=username), highlight=False)


@admin_app.command("password")
def admin_password(
    username: UsernameArgument,
    password_stdin: PasswordStdinOption = False,
    actor: ActorOption = None,
    home: HomeOption = None,
) -> None:
    """Set a new password for an admin. Audited."""
    core = core_for(home, with_program=False)
    engine, lang = core.ledger, core.settings.lang
    password = read_password(password_stdin)
    try:
        with session_scope(engine, write=True) as session:
            set_admin_password(session, username=username, password=password, actor=actor_name(actor))
    except AdminError as exc:
        refuse(exc)
    out.print(t("cli_admin_password_changed", lang, name=username), highlight=False)


@admin_app.command("disable")
def admin_disable(username: UsernameArgument, actor: ActorOption = None, home: HomeOption = None) -> None:
    """Stop an admin from signing in (existing console sessions end at their next request). Audited."""
    core = core_for(home, with_program=False)
    engine, lang = core.ledger, core.settings.lang
    try:
        with session_scope(engine, write=True) as session:
            disable_admin(session, username=username, actor=actor_name(actor))
    except AdminError as exc:
        refuse(exc)
    out.print(t("cli_admin_disabled", lang, name=username), highlight=False)


@admin_app.command("unlock")
def admin_unlock(username: UsernameArgument, actor: ActorOption = None, home: HomeOption = None) -> None:
    """Unlock an admin locked after repeated wrong passwords (the lock also ends by itself). Audited."""
    from procert.ledger import unlock_admin

    core = core_for(home, with_program=False)
    engine, lang = core.ledger, core.settings.lang
    try:
        with session_scope(engine, write=True) as session:
            unlock_admin(session, username=username, actor=actor_name(actor))
    except AdminError as exc:
        refuse(exc)
    out.print(t("cli_admin_unlocked", lang, name=username), highlight=False)


@admin_app.command("sign-out")
def admin_sign_out(
    subject: Annotated[str, typer.Argument(help="The admin user name or worker id whose sessions end.")],
    worker: Annotated[bool, typer.Option("--worker", help="SUBJECT is a worker id, not an admin.")] = False,
    actor: ActorOption = None,
    home: HomeOption = None,
) -> None:
    """End every session of an admin (or, with --worker, of a worker) at once, on every server. Audited."""
    from procert.ledger import end_sessions

    core = core_for(home, with_program=False)
    engine, lang = core.ledger, core.settings.lang
    with session_scope(engine, write=True) as session:
        count = end_sessions(session, kind="worker" if worker else "admin", subject=subject, actor=actor_name(actor))
    out.print(t("cli_sessions_ended", lang, count=count, subject=subject), highlight=False)


@admin_app.command("list")
def admin_list(home: HomeOption = None) -> None:
    """List admins (never their passwords)."""
    core = core_for(home, with_program=False)
    with session_scope(core.ledger) as session:
        admins = list_admins(session)
    table = labelled_table(("col_user", "col_created", "col_last_sign_in", "col_disabled"), core.settings.lang)
    for a in admins:
        table.add_row(
            a.username,
            f"{a.created_at:%Y-%m-%d %H:%M}",
            f"{a.last_sign_in_at:%Y-%m-%d %H:%M}" if a.last_sign_in_at else "",
            f"{a.disabled_at:%Y-%m-%d %H:%M}" if a.disabled_at else "",
        )
    out.print(table)
