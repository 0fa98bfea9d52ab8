"""The notification outbox: `procert notify send|retry|list`."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import func, select

from procert.cli.common import (
    ActorOption,
    HomeOption,
    actor_name,
    core_for,
    fail,
    labelled_table,
    out,
)
from procert.i18n import t
from procert.ledger import (
    Notification,
    session_scope,
)
from procert.notify import send_pending

notify_app = typer.Typer(help="The notification outbox.", no_args_is_help=True)


@notify_app.command("send")
def notify_send(
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many in one call.")] = 500,
    actor: ActorOption = None,
    home: HomeOption = None,
) -> None:
    """Deliver due notifications over SMTP (PROCERT_SMTP_*); failures are retried later with backoff."""
    core = core_for(home, with_program=False)
    _settings, engine = core.settings, core.ledger
    report = send_pending(engine, config=core.smtp, limit=limit, actor=actor_name(actor))
    out.print(f"{report.sent} sent, {report.retrying} to retry, {report.failed} failed", highlight=False)
    if report.interrupted:
        out.print(
            f"  {report.interrupted} left by an interrupted sender marked failed (not resent: at most once; "
            "see `procert notify list --status failed`, `procert notify retry ID`)",
            highlight=False,
        )
    for error in report.errors[:5]:
        out.print(f"  {error}", highlight=False)
    if report.connect_error:
        fail(f"{report.connect_error}; nothing was sent (the notifications stay queued and are retried later)")


@notify_app.command("retry")
def notify_retry(
    notification_id: Annotated[int, typer.Argument(help="The failed notification's id (`procert notify list`).")],
    actor: ActorOption = None,
    home: HomeOption = None,
) -> None:
    """Queue a failed notification again (for example one whose delivery was interrupted). Audited."""
    from procert.notify import retry_notification

    engine = core_for(home, with_program=False).ledger
    if not retry_notification(engine, notification_id=notification_id, actor=actor_name(actor)):
        fail(f"no failed notification #{notification_id}")
    out.print(f"notification #{notification_id} queued again", highlight=False)


@notify_app.command("list")
def notify_list(
    status: Annotated[
        str | None, typer.Option("--status", help="pending, sent, failed or skipped.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows to show.")] = 20,
    home: HomeOption = None,
) -> None:
    """Show the outbox: counts per status and the latest notifications."""
    core = core_for(home, with_program=False)
    _settings, engine = core.settings, core.ledger
    with session_scope(engine) as session:
        counts = dict(session.execute(select(Notification.status, func.count()).group_by(Notification.status)).all())
        query = select(Notification).order_by(Notification.id.desc()).limit(limit)
        if status:
            query = query.where(Notification.status == status)
        rows = session.scalars(query).all()
    out.print(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "the outbox is empty", highlight=False)
    lang = core.settings.lang
    table = labelled_table(
        ("#", "col_worker", "col_kind", "col_as_of", "col_delivery", "col_attempts", "col_email", "col_last_error"),
        lang,
    )
    for n in rows:
        table.add_row(
            str(n.id),
            n.worker_id,
            t("notify_kind_" + n.kind, lang),
            n.payload.get("as_of", ""),
            t("web_outbox_" + n.status, lang) if n.status != "sending" else n.status,
            str(n.attempts),
            n.email or "",
            (n.last_error or "")[:60],
        )
    out.print(table)
