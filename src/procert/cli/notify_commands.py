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
    delivery_summary,
    fail,
    labelled_table,
    out,
)
from procert.i18n import label, t
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
    lang, engine = core.settings.lang, core.ledger
    report = send_pending(engine, config=core.smtp, limit=limit, actor=actor_name(actor))
    out.print(delivery_summary(report, lang), highlight=False)
    if report.interrupted:
        out.print("  " + t("cli_notify_interrupted", lang, count=report.interrupted), highlight=False)
    for error in report.errors[:5]:
        out.print(f"  {error}", highlight=False)
    if report.connect_error:
        fail(t("cli_notify_not_connected", lang, error=report.connect_error))


@notify_app.command("retry")
def notify_retry(
    notification_id: Annotated[int, typer.Argument(help="The failed notification's id (`procert notify list`).")],
    actor: ActorOption = None,
    home: HomeOption = None,
) -> None:
    """Queue a failed notification again (for example one whose delivery was interrupted). Audited."""
    from procert.notify import retry_notification

    core = core_for(home, with_program=False)
    lang = core.settings.lang
    if not retry_notification(core.ledger, notification_id=notification_id, actor=actor_name(actor)):
        fail(t("cli_notify_no_failed", lang, id=notification_id))
    out.print(t("cli_notify_queued_again", lang, id=notification_id), highlight=False)


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
    lang = core.settings.lang
    tally = ", ".join(f"{label('web_outbox_', k, lang)} {v:,}" for k, v in sorted(counts.items()))
    out.print(tally or t("cli_outbox_empty", lang), highlight=False)
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
            label("web_outbox_", n.status, lang),
            str(n.attempts),
            n.email or "",
            (n.last_error or "")[:60],
        )
    out.print(table)
