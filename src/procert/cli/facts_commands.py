"""The facts: `procert import`, `facts` and `demo-data`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from procert.cli.common import (
    HomeOption,
    ProgramOption,
    core_for,
    err,
    facts_of,
    fail,
    generation_progress,
    labelled_table,
    out,
    parse_day,
    refuse,
    steps,
)
from procert.facts import FactStoreError, ImportFailed
from procert.i18n import t

commands = typer.Typer()


@commands.command("import")
def import_command(
    directory: Annotated[
        Path, typer.Argument(help="Export folder: workers/contracts/reviews/payments/scouts .csv or .parquet.")
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace whole tables instead of upserting by id (needs every table).")
    ] = False,
    encoding: Annotated[
        str,
        typer.Option("--encoding", help="Text encoding of the CSV files: utf-8, or cp932 for Japanese Excel's CSV."),
    ] = "utf-8",
    home: HomeOption = None,
    program: ProgramOption = None,
) -> None:
    """Validate an export completely, then store it (rows with existing ids are replaced). The new facts are
    switched in atomically: a running `procert serve` keeps serving and shows them within
    PROCERT_FACTS_RELOAD_SECONDS."""
    core = core_for(home, program)
    settings, prog = core.settings, core.program
    with steps() as progress:
        task = progress.add_task(t("step_importing", settings.lang), total=None)
        try:
            report = core.import_facts(
                directory,
                replace=replace,
                encoding=encoding,
                progress=lambda msg: progress.update(task, description=msg.text(settings.lang)),
            )
        except ImportFailed as exc:
            progress.stop()
            err.print(exc.report(settings.lang), highlight=False, markup=False)
            raise typer.Exit(1) from None
        except FactStoreError as exc:
            progress.stop()
            refuse(exc)
        with facts_of(core) as store:
            counts = store.counts()
            if settings.facts_url:
                from procert.facts.postgres import load_postgres

                progress.update(task, description=t("step_copying_to_postgres", settings.lang))
                try:
                    load_postgres(
                        store,
                        settings.facts_url,
                        progress=lambda msg: progress.update(task, description=msg.text(settings.lang)),
                    )
                except Exception as exc:  # connection refused, permissions: the embedded import stands; say so
                    progress.stop()
                    fail(t("cli_postgres_copy_failed", settings.lang, error=exc))
    table = labelled_table(
        ("col_table", "col_rows_in_file", "col_rows_stored"),
        settings.lang,
        title=f"imported {directory} ({'replace' if replace else 'upsert'}, {prog.timezone})",
    )
    for name, rows in counts.items():
        table.add_row(name, f"{report.rows[name]:,}" if name in report.rows else "—", f"{rows:,}")
    out.print(table)


@commands.command("facts")
def facts_command(home: HomeOption = None) -> None:
    """Show what the facts store holds: rows per table, the time zone and the latest imports."""
    core = core_for(home, with_program=False)
    settings = core.settings
    if not settings.facts_path.exists():
        fail(t("cli_no_facts", settings.lang, path=settings.facts_path))
    with facts_of(core) as store:
        counts = store.counts()
        imports = store.latest_imports(limit=5)
        said = t("cli_facts_summary", settings.lang, timezone=store.timezone, fingerprint=store.fingerprint())
        out.print(f"{settings.facts_path}: {said}", highlight=False)
    table = labelled_table(("col_table", "col_rows"), settings.lang, title=t("cli_facts_title", settings.lang))
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    out.print(table)
    for import_id, imported_at, mode, source in imports:
        said = t(
            "cli_import_history",
            settings.lang,
            id=import_id,
            at=f"{imported_at:%Y-%m-%d %H:%M}",
            mode=t(f"cli_import_mode_{mode}", settings.lang),
            source=source,
        )
        out.print(said, highlight=False)


@commands.command("demo-data")
def demo_data_command(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the export into.")],
    workers: Annotated[int, typer.Option("--workers", "-n", min=1, help="Number of workers.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same data.")] = 1,
    end: Annotated[
        str | None, typer.Option("--end", help="Last day of generated history (default today).", show_default=False)
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
) -> None:
    """Generate a realistic demo marketplace export in the data contract."""
    if fmt not in ("csv", "parquet"):
        raise typer.BadParameter("use csv or parquet", param_hint="--format")
    end_day = parse_day(end, "--end") if end else None
    summary = _generate(out_dir, workers, seed, end_day, fmt)
    out.print(f"wrote {out_dir}: " + ", ".join(f"{k} {v:,}" for k, v in summary.rows.items()), highlight=False)


def _generate(out_dir: Path, workers: int, seed: int, end: date | None, fmt: str) -> Any:
    from procert.demo import generate  # numpy and the generator: only this command needs them

    with generation_progress() as progress:
        task = progress.add_task("generate", total=workers)
        return generate(
            out_dir,
            workers=workers,
            seed=seed,
            end=end,
            fmt=fmt,
            progress=lambda done, _total: progress.update(task, completed=done),
        )
