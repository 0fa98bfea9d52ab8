"""Evaluating and explaining: `procert evaluate`, `explain` and `programs list|show`."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from procert.cli.common import (
    AsOfOption,
    HomeOption,
    LangOption,
    ProgramOption,
    core_for,
    facts_of,
    fail,
    labelled_table,
    out,
    parse_as_of,
    refuse,
    steps,
    terminal_safe,
)
from procert.evaluation import (
    AwayByWorker,
    Evaluation,
    WorkerNotFound,
    evaluate,
    explain,
    facts_behind,
    threshold_text,
    worker_period,
)
from procert.facts import FactStoreError
from procert.i18n import t
from procert.metrics import Period
from procert.programs import ProgramError, list_programs, load_program

commands = typer.Typer()
programs_app = typer.Typer(help="List and show certification programs.", no_args_is_help=True)


def print_summary(evaluation: Evaluation, lang: str) -> None:
    summary = evaluation.summary()
    program = evaluation.program
    table = Table(
        title=t(
            "summary_title",
            lang,
            name=program.name.get(lang),
            program=program.label,
            as_of=evaluation.period.as_of.isoformat(),
        )
    )
    table.add_column(t("col_criterion", lang))
    table.add_column(t("col_threshold", lang))
    table.add_column(t("pass", lang), justify="right")
    for criterion in program.criteria:
        threshold = threshold_text(criterion, "", lang)
        if criterion.division_thresholds:
            threshold += (
                " ("
                + ", ".join(f"{d}: {threshold_text(criterion, d, lang)}" for d in criterion.division_thresholds)
                + ")"
            )
        table.add_row(criterion.label.get(lang), threshold, f"{summary.passed[criterion.id]:,}")
    out.print(table)
    if program.levels:
        levels = Table(title=t("level", lang))
        levels.add_column(t("level", lang))
        levels.add_column(t("summary_workers", lang), justify="right")
        for level in reversed(program.levels):
            levels.add_row(level.name.get(lang), f"{summary.levels.get(level.id, 0):,}")
        out.print(levels)
    out.print(
        f"{t('summary_workers', lang)}: {summary.workers:,}  ({t('summary_eligible', lang)}: {summary.eligible:,})"
    )
    out.print(f"[bold]{t('summary_certified', lang)}: {summary.certified:,}[/]", markup=True)
    out.print(f"{t('summary_seconds', lang)}: {evaluation.seconds:.2f} s")


@commands.command("evaluate")
def evaluate_command(
    as_of: AsOfOption = None,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Result file: .csv, .parquet or .jsonl. Default: PROCERT_HOME/results/<program>_<date>.csv.",
            show_default=False,
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine", help="duckdb (embedded), postgresql (PROCERT_FACTS_URL) or spark (PROCERT_SPARK_MASTER)."
        ),
    ] = "duckdb",
    home: HomeOption = None,
    program: ProgramOption = None,
    lang: LangOption = None,
) -> None:
    """Evaluate every worker as of a date; write one row per worker and print a summary."""
    core = core_for(home, program, lang)
    settings, prog = core.settings, core.program
    day = parse_as_of(as_of, prog)
    if out_path is not None and out_path.suffix.lower() not in (".csv", ".parquet", ".jsonl"):
        raise typer.BadParameter("use a .csv, .parquet or .jsonl file", param_hint="--out")
    if engine not in ("duckdb", "postgresql", "spark"):
        raise typer.BadParameter("use duckdb, postgresql or spark", param_hint="--engine")
    if engine != "duckdb":
        _evaluate_elsewhere(settings, prog, day, engine, out_path, core.declared_leave(through=day))
        return
    with facts_of(core) as store:
        if store.is_empty():
            fail(t("cli_no_workers", settings.lang))
        try:
            with steps() as progress:
                progress.add_task(t("step_evaluating", settings.lang, program=prog.label, as_of=day), total=None)
                evaluation = evaluate(store, prog, day, away=core.declared_leave(through=day))
        except FactStoreError as exc:
            refuse(exc)
        target = out_path or settings.results_dir / f"{prog.id}_{day.isoformat()}.csv"
        evaluation.write(target)
        print_summary(evaluation, settings.lang)
    out.print(f"→ {target}", highlight=False)


def _evaluate_elsewhere(
    settings: Any, prog: Any, day: date, engine: str, out_path: Path | None, away: AwayByWorker
) -> None:
    """The same evaluation on PostgreSQL or Spark; the result file has the same columns as the embedded one."""
    import time

    from procert.evaluation import output_columns, write_rows

    started = time.perf_counter()
    with steps() as progress:
        progress.add_task(f"evaluating {prog.label} as of {day} on {engine}", total=None)
        try:
            if engine == "postgresql":
                if not settings.facts_url:
                    fail("set PROCERT_FACTS_URL to the PostgreSQL database that `procert import` copied the facts to")
                from procert.evaluation.postgres import evaluate_postgres

                rows = evaluate_postgres(settings.facts_url, prog, day, away=away)
            else:
                from procert.evaluation.spark import evaluate_spark, spark_session

                with spark_session(settings.spark_master) as spark:
                    rows = evaluate_spark(
                        spark, settings.home / "parquet", prog, day, store_path=settings.facts_path, away=away
                    )
        except FactStoreError as exc:
            refuse(exc)
    if not rows:
        fail(t("cli_no_workers", settings.lang))
    target = out_path or settings.results_dir / f"{prog.id}_{day.isoformat()}_{engine}.csv"
    write_rows(rows, output_columns(prog), target)
    certified = sum(1 for r in rows if r["certified"])
    out.print(
        f"{engine}: {len(rows):,} workers, {certified:,} certified, {time.perf_counter() - started:.1f} s → {target}",
        highlight=False,
    )


@commands.command("explain")
def explain_command(
    worker_id: Annotated[str, typer.Argument(help="The worker to explain.")],
    as_of: AsOfOption = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    facts: Annotated[
        bool, typer.Option("--facts", help="Also list every fact each criterion read: counted or not, and why.")
    ] = False,
    home: HomeOption = None,
    program: ProgramOption = None,
    lang: LangOption = None,
) -> None:
    """Explain one worker's result: values, thresholds, windows, and what it would take (with --facts, the rows
    behind every number)."""
    core = core_for(home, program, lang)
    settings, prog = core.settings, core.program
    day = parse_as_of(as_of, prog)
    if fmt not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--format")
    away = core.declared_leave(through=day).get(worker_id, ())
    with facts_of(core) as store:
        try:
            explanation = explain(store, prog, day, worker_id, settings.lang, away=away)
        except WorkerNotFound as exc:
            refuse(exc)
        except FactStoreError as exc:
            refuse(exc)
        period = worker_period(prog, Period(day, prog.timezone), away)
        behind = facts_behind(store, prog, period, worker_id, settings.lang) if facts else []
    if fmt == "json":
        # The one explanation schema, as the web API and the mails carry it.
        payload = explanation.to_json()
        if facts:
            payload["facts_behind"] = [f.model_dump(mode="json") for f in behind]
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    out.print(terminal_safe(explanation.to_text()), highlight=False, markup=False, soft_wrap=True)
    for found in behind:
        counted = sum(1 for r in found.rows if r.counted)
        out.print()
        heading = t("facts_heading", settings.lang, label=found.label, counted=counted, other=len(found.rows) - counted)
        out.print(terminal_safe(heading), highlight=False, markup=False)
        for r in sorted(found.rows, key=lambda r: not r.counted):
            mark = "+" if r.counted else "-"
            shown = ", ".join(f"{k}={v}" for k, v in r.shown.items())
            line = f"  {mark} {r.table} {r.key} {r.at or ''} {r.reason_text} {shown}".rstrip()
            out.print(terminal_safe(line), highlight=False, markup=False, soft_wrap=True)


@programs_app.command("list")
def programs_list() -> None:
    """List the shipped program presets."""
    lang = core_for(with_program=False).settings.lang
    table = labelled_table(("col_id", "col_version", "col_name", "col_timezone", "col_criteria"), lang)
    try:
        programs = list_programs()
    except ProgramError as exc:
        refuse(exc, code=2)
    for p in programs:
        table.add_row(p.id, str(p.version), f"{p.name.ja} / {p.name.en}", p.timezone, str(len(p.criteria)))
    out.print(table)


@programs_app.command("show")
def programs_show(
    ref: Annotated[str, typer.Argument(help="Preset id or path to a program TOML file.")],
    lang: LangOption = None,
) -> None:
    """Validate and show one program: its criteria, thresholds and cadence."""
    settings = core_for(lang=lang, with_program=False).settings
    try:
        prog = load_program(ref)
    except ProgramError as exc:
        refuse(exc, code=2)
    language = settings.lang
    out.print(f"[bold]{escape(prog.name.get(language))}[/] ({prog.label})", markup=True)
    out.print(prog.description.get(language))
    months = ", ".join(f"{m}/{prog.cadence.day}" for m in prog.cadence.months)
    out.print(
        f"time zone: {prog.timezone}; evaluated on {months}; eligible statuses: {', '.join(prog.eligible_statuses)}",
        highlight=False,
    )
    table = labelled_table(("col_id", "col_metric", "col_params", "col_passes_when", "col_label"), language)
    for c in prog.criteria:
        rule = f"{c.comparison} {str(c.threshold).lower()}"
        if c.division_thresholds:
            rule += "; " + ", ".join(
                f"{prog.division_label(d, language)}: {c.comparison} {v}" for d, v in c.division_thresholds.items()
            )
        table.add_row(c.id, c.metric, json.dumps(c.params, ensure_ascii=False), rule, c.label.get(language))
    out.print(table)
