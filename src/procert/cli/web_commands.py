"""The web and its credentials: `procert serve`, `login-link`, `secret generate`, `api-key …`."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from procert.cli.common import (
    ActorOption,
    HomeOption,
    ProgramOption,
    actor_name,
    core_for,
    fail,
    labelled_table,
    out,
    signing_secret,
)
from procert.core import Procert
from procert.i18n import t
from procert.ledger import (
    create_api_key,
    list_api_keys,
    revoke_api_key,
    session_scope,
)

commands = typer.Typer()
secret_app = typer.Typer(help="The key that signs sessions and links.", no_args_is_help=True)
api_key_app = typer.Typer(help="Admin API keys for the operator's backend.", no_args_is_help=True)


@commands.command("serve")
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
    core = core_for(home, program)
    if workers is not None:
        core = Procert(core.settings.model_copy(update={"web_workers": workers}), program=core.program)
    settings = core.settings
    lang = settings.lang
    mode = t("cli_serving_demo", lang) if settings.demo else ""
    processes = t("cli_serving_processes", lang, count=settings.web_workers) if settings.web_workers > 1 else ""
    url = f"http://{host}:{port}/pros"
    said = t("cli_serving", lang, program=core.program.label, url=url, mode=mode, processes=processes)
    out.print(said, highlight=False)
    serve_site(core, host=host, port=port)


def serve_site(core: Procert, *, host: str, port: int) -> None:
    """Run the web app with uvicorn until interrupted (several processes with ``PROCERT_WEB_WORKERS``)."""
    import uvicorn

    from procert.web.app import create_app

    settings = core.settings
    signing_secret(core, "refusing to start")  # refuse before anything starts
    if settings.demo:
        if not is_loopback(host):
            fail(t("cli_demo_loopback_only", settings.lang, host=host))
        if settings.web_workers > 1:
            fail(t("cli_demo_one_process", settings.lang))
    core.ledger  # noqa: B018  (migrated (SQLite) or checked (PostgreSQL) before anything starts)
    if not settings.facts_path.exists():
        fail(t("cli_no_facts", settings.lang, path=settings.facts_path))
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
    uvicorn.run(create_app(core), host=host, port=port, **server_options)


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@secret_app.command("generate")
def secret_generate() -> None:
    """Print a new random key (48 random bytes) for PROCERT_SECRET_KEY. Changing the key signs everyone out."""
    from procert.web.auth import generate_secret

    out.print(generate_secret(), soft_wrap=True, highlight=False)


@commands.command("login-link")
def login_link_command(
    worker_id: Annotated[str, typer.Argument(help="The worker to sign in.")],
    home: HomeOption = None,
) -> None:
    """Print a short-lived login link for a worker (what the operator's platform hands its signed-in users)."""
    from procert.web.auth import login_url

    core = core_for(home, with_program=False)
    secret = signing_secret(core, "cannot sign a login link")
    out.print(login_url(core.settings.public_url, secret, worker_id), soft_wrap=True)


@api_key_app.command("create")
def api_key_create(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'platform backend'.")],
    actor: ActorOption = None,
    home: HomeOption = None,
) -> None:
    """Create an admin API key; it is printed once and stored only as a digest. Audited."""
    core = core_for(home, with_program=False)
    try:
        with session_scope(core.ledger, write=True) as session:
            row, key = create_api_key(session, name=name, actor=actor_name(actor))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="NAME") from None
    out.print(t("cli_api_key_created", core.settings.lang, id=row.id, name=row.name), highlight=False)
    out.print(key, soft_wrap=True)


@api_key_app.command("list")
def api_key_list(home: HomeOption = None) -> None:
    """List API keys (never the keys themselves)."""
    core = core_for(home, with_program=False)
    with session_scope(core.ledger) as session:
        keys = list_api_keys(session)
    table = labelled_table(("#", "col_name", "col_created_by", "col_created", "col_revoked"), core.settings.lang)
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
    core = core_for(home, with_program=False)
    with session_scope(core.ledger, write=True) as session:
        revoked = revoke_api_key(session, key_id=key_id, actor=actor_name(actor))
    if not revoked:
        fail(t("cli_api_key_none", core.settings.lang, id=key_id))
    out.print(t("cli_api_key_revoked", core.settings.lang, id=key_id), highlight=False)
