"""A worker's standing: `procert status`, `forecast` and `history`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from procert.cli.common import (
    HomeOption,
    LangOption,
    ProgramOption,
    core_for,
    facts_of,
    fail,
    out,
)
from procert.evaluation import explain_rows
from procert.i18n import format_value, t
from procert.ledger import (
    forecast_at_risk,
    session_scope,
    worker_history,
    worker_view,
)
from procert.metrics import Period

commands = typer.Typer()


@commands.command("status")
def status_command(
    worker_id: Annotated[str, typer.Argument(help="The worker.")],
    home: HomeOption = None,
    program: ProgramOption = None,
    lang: LangOption = None,
) -> None:
    """A worker's current status: certified since when, at risk, overrides, and the last run's values."""
    core = core_for(home, program, lang)
    settings, prog, engine = core.settings, core.program, core.ledger
    with facts_of(core) as store, session_scope(engine) as session:
        view = worker_view(session, store=store, program=prog, worker_id=worker_id, today=core.today())
    status = view.status
    if status.run_id is None:
        fail(t("cli_no_run_yet", settings.lang, program=prog.id))
    lang_ = settings.lang
    head = t(
        "status_certified" if status.certified else "status_not_certified",
        lang_,
        since=status.since.isoformat() if status.since else "—",
    )
    if prog.levels and status.certified:
        head = t("level_current", lang_, level=prog.level_label(status.level, lang_)) + " · " + head
    out.print(f"{prog.name.get(lang_)} ({prog.label}) — {worker_id}: {head}", highlight=False)
    if status.override is not None:
        o = status.override
        out.print(
            t(
                "status_override",
                lang_,
                state="certified" if o.certified else "not certified",
                reason=o.reason,
                by=o.created_by,
                until=o.expires_on.isoformat() if o.expires_on else "—",
            ),
            highlight=False,
        )
    if status.in_grace:
        out.print(t("status_grace", lang_), highlight=False)
    out.print(view.headline(lang_), highlight=False)
    clocks = Table(show_header=False, box=None)
    for label, clock in (
        (t("web_clock_official", lang_, date=view.official.as_of or "—"), view.official),
        (t("web_clock_live", lang_, date=view.live.as_of), view.live),
        (t("web_clock_forecast", lang_, date=view.forecast.as_of), view.forecast),
    ):
        said = t("web_clock_passes", lang_) if clock.passed else view.labels(clock.failing, lang_) or "—"
        clocks.add_row(label, said)
    out.print(clocks)
    if status.values is not None and status.passed is not None:
        table = Table(title=t("status_last_run", lang_, run=status.run_id, as_of=status.as_of))
        for col in ("col_criterion", "col_value", "col_result"):
            table.add_column(t(col, lang_))
        for c in prog.criteria:
            table.add_row(
                c.label.get(lang_),
                format_value(status.values.get(c.id), lang_, display=c.display),
                t("pass" if status.passed.get(c.id) else "fail", lang_),
            )
        out.print(table)


@commands.command("forecast")
def forecast_command(
    worker_id: Annotated[str | None, typer.Argument(help="Only this worker (with what it would take).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At-risk workers to list.")] = 30,
    home: HomeOption = None,
    program: ProgramOption = None,
    lang: LangOption = None,
) -> None:
    """Which certified workers would fail at the next scheduled date if nothing new happened, and why."""
    core = core_for(home, program, lang)
    settings, prog, engine = core.settings, core.program, core.ledger
    today = core.today()
    with facts_of(core) as store, session_scope(engine) as session:
        try:
            result = forecast_at_risk(session, store=store, program=prog, today=today, worker_id=worker_id)
        except LookupError as exc:
            fail(str(exc))
        lang_ = settings.lang
        if worker_id is None:
            head = t(
                "forecast_head",
                lang_,
                date=result.as_of,
                today=today,
                at_risk=len(result.at_risk),
                certified=result.certified,
            )
            out.print(head, highlight=False)
        else:
            # One view for one worker (an unknown worker is refused), the same the dashboard shows.
            view = worker_view(session, store=store, program=prog, worker_id=worker_id, today=today)
            out.print(view.headline(lang_), highlight=False)
            if not result.at_risk:
                return
            row = result.at_risk[0]
            period = Period(result.as_of, prog.timezone, today)
            explanation = explain_rows(store, prog, period, [row], {worker_id: lang_})[worker_id]
            for c in explanation.criteria:
                if not c.passed:
                    out.print(
                        f"[{t('fail', lang_)}] {c.label}: {c.value_text} ({c.threshold_text})",
                        highlight=False,
                        markup=False,
                    )
                    if c.takes:
                        out.print(f"    {t('takes', lang_)}: {c.takes}", highlight=False, markup=False)
            return
    table = Table()
    for col in ("col_worker", "col_division", "col_at_risk"):
        table.add_column(t(col, lang_))
    for row in result.at_risk[:limit]:
        risky = ", ".join(
            t("col_status", lang_)
            if c == "status"
            else f"{prog.criterion(c).label.get(lang_)} = "
            f"{format_value(row[c], lang_, display=prog.criterion(c).display)}"
            for c in row["at_risk"]
        )
        table.add_row(row["worker_id"], prog.division_label(row["division"], lang_), risky)
    out.print(table)


@commands.command("history")
def history_command(
    worker_id: Annotated[str, typer.Argument(help="The worker.")],
    home: HomeOption = None,
    program: ProgramOption = None,
    lang: LangOption = None,
) -> None:
    """A worker's timeline: every grant, promotion, renewal, demotion and loss with its reason and failed
    criteria (and the levels, in a program with levels)."""
    core = core_for(home, program, lang)
    settings, prog, engine = core.settings, core.program, core.ledger
    lang_ = settings.lang
    with session_scope(engine) as session:
        items = worker_history(session, program_id=prog.id, worker_id=worker_id)
    if not items:
        out.print(t("history_none", lang_, worker=worker_id, program=prog.id), highlight=False)
        return
    table = Table(title=f"{worker_id} — {prog.name.get(lang_)} ({prog.label})")
    columns = [
        "col_as_of",
        "col_transition",
        *(["level"] if prog.levels else []),
        "col_reason",
        "col_failed",
        "col_run",
    ]
    for col in columns:
        table.add_column(t(col, lang_))
    labels = {c.id: c.label.get(lang_) for c in prog.criteria} | {"status": t("col_status", lang_)}
    for item in items:
        moved = (
            [f"{prog.level_label(item.from_level, lang_)} → {prog.level_label(item.to_level, lang_)}"]
            if prog.levels
            else []
        )
        table.add_row(
            item.as_of.isoformat(),
            t("web_kind_" + item.kind, lang_),
            *moved,
            t("web_reason_" + item.reason, lang_),
            ", ".join(labels.get(f, f) for f in item.failed),
            f"#{item.run_id}",
        )
    out.print(table)
