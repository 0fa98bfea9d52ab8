"""The ``procert`` command: a thin layer over the facts, programs, evaluation and ledger packages."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from procert import __version__
from procert.cli.common import (
    AsOfOption,
    HomeOption,
    LangOption,
    ProgramOption,
    app,
    err,
    fail,
    load_program_or_fail,
    load_settings,
    open_store,
    out,
    parse_as_of,
    programs_app,
    steps,
    terminal_safe,
    today_in,
)
from procert.demo import generate
from procert.evaluation import Evaluation, WorkerNotFound, evaluate, explain
from procert.facts import FactStoreError, ImportFailed, atomic_import
from procert.i18n import t
from procert.programs import ProgramError, list_programs, load_program


@app.callback(invoke_without_command=True)
def root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    """procert: Pro worker certification for crowdsourcing marketplaces."""
    if version:
        out.print(f"procert {__version__}")
        raise typer.Exit()


@app.command("import")
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
    settings = load_settings(home, program)
    prog = load_program_or_fail(settings)
    with steps() as progress:
        task = progress.add_task("importing", total=None)
        try:
            report = atomic_import(
                settings.facts_path,
                directory,
                timezone=prog.timezone,
                replace=replace,
                progress=lambda msg: progress.update(task, description=msg),
                memory_limit=settings.duckdb_memory_limit,
                threads=settings.duckdb_threads,
                encoding=encoding,
            )
        except ImportFailed as exc:
            progress.stop()
            err.print(exc.report(), highlight=False, markup=False)
            raise typer.Exit(1) from None
        except FactStoreError as exc:
            progress.stop()
            fail(str(exc))
        with open_store(settings, read_only=True) as store:
            counts = store.counts()
            if settings.facts_url:
                from procert.facts.postgres import load_postgres

                progress.update(task, description="copying the facts to PostgreSQL")
                try:
                    load_postgres(
                        store, settings.facts_url, progress=lambda msg: progress.update(task, description=msg)
                    )
                except Exception as exc:  # connection refused, permissions: the embedded import stands; say so
                    progress.stop()
                    fail(f"the facts are stored here, but copying them to PROCERT_FACTS_URL failed: {exc}")
    table = Table(title=f"imported {directory} ({'replace' if replace else 'upsert'}, {prog.timezone})")
    table.add_column("table")
    table.add_column("rows in file", justify="right")
    table.add_column("rows stored", justify="right")
    for name, rows in counts.items():
        table.add_row(name, f"{report.rows[name]:,}" if name in report.rows else "—", f"{rows:,}")
    out.print(table)


@app.command("facts")
def facts_command(home: HomeOption = None) -> None:
    """Show what the facts store holds: rows per table, the time zone and the latest imports."""
    settings = load_settings(home)
    if not settings.facts_path.exists():
        fail(f"no facts database at {settings.facts_path}: run `procert import DIR` first")
    with open_store(settings, read_only=True) as store:
        counts = store.counts()
        imports = store.query(
            "SELECT import_id, imported_at, mode, source FROM procert_imports ORDER BY import_id DESC LIMIT 5"
        ).fetchall()
        out.print(
            f"{settings.facts_path}: time zone {store.timezone}, fingerprint {store.fingerprint()}", highlight=False
        )
    table = Table(title="facts")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    out.print(table)
    for import_id, imported_at, mode, source in imports:
        out.print(f"import #{import_id} at {imported_at:%Y-%m-%d %H:%M} UTC ({mode}) from {source}", highlight=False)


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
        threshold = str(criterion.threshold).lower()
        if criterion.division_thresholds:
            threshold += " (" + ", ".join(f"{d}: {v}" for d, v in criterion.division_thresholds.items()) + ")"
        table.add_row(
            criterion.label.get(lang), f"{criterion.comparison} {threshold}", f"{summary.passed[criterion.id]:,}"
        )
    out.print(table)
    out.print(
        f"{t('summary_workers', lang)}: {summary.workers:,}  ({t('summary_eligible', lang)}: {summary.eligible:,})"
    )
    out.print(f"[bold]{t('summary_certified', lang)}: {summary.certified:,}[/]", markup=True)
    out.print(f"{t('summary_seconds', lang)}: {evaluation.seconds:.2f} s")


@app.command("evaluate")
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
    settings = load_settings(home, program, lang)
    prog = load_program_or_fail(settings)
    day = parse_as_of(as_of, prog)
    if out_path is not None and out_path.suffix.lower() not in (".csv", ".parquet", ".jsonl"):
        raise typer.BadParameter("use a .csv, .parquet or .jsonl file", param_hint="--out")
    if engine not in ("duckdb", "postgresql", "spark"):
        raise typer.BadParameter("use duckdb, postgresql or spark", param_hint="--engine")
    if engine != "duckdb":
        _evaluate_elsewhere(settings, prog, day, engine, out_path)
        return
    with open_store(settings, read_only=True) as store:
        if store.is_empty():
            fail("the facts store holds no workers: run `procert import DIR` first")
        try:
            with steps() as progress:
                progress.add_task(f"evaluating {prog.label} as of {day}", total=None)
                evaluation = evaluate(store, prog, day)
        except FactStoreError as exc:
            fail(str(exc))
        target = out_path or settings.results_dir / f"{prog.id}_{day.isoformat()}.csv"
        evaluation.write(target)
        print_summary(evaluation, settings.lang)
    out.print(f"→ {target}", highlight=False)


def _evaluate_elsewhere(settings: Any, prog: Any, day: date, engine: str, out_path: Path | None) -> None:
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

                rows = evaluate_postgres(settings.facts_url, prog, day)
            else:
                from procert.evaluation.spark import evaluate_spark, spark_session

                with spark_session(settings.spark_master) as spark:
                    rows = evaluate_spark(spark, settings.home / "parquet", prog, day, store_path=settings.facts_path)
        except FactStoreError as exc:
            fail(str(exc))
    if not rows:
        fail("no workers to evaluate: run `procert import DIR` first")
    target = out_path or settings.results_dir / f"{prog.id}_{day.isoformat()}_{engine}.csv"
    write_rows(rows, output_columns(prog), target)
    certified = sum(1 for r in rows if r["certified"])
    out.print(
        f"{engine}: {len(rows):,} workers, {certified:,} certified, {time.perf_counter() - started:.1f} s → {target}",
        highlight=False,
    )


@app.command("explain")
def explain_command(
    worker_id: Annotated[str, typer.Argument(help="The worker to explain.")],
    as_of: AsOfOption = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    home: HomeOption = None,
    program: ProgramOption = None,
    lang: LangOption = None,
) -> None:
    """Explain one worker's result: values, thresholds, windows, and what it would take."""
    settings = load_settings(home, program, lang)
    prog = load_program_or_fail(settings)
    day = parse_as_of(as_of, prog)
    if fmt not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--format")
    with open_store(settings, read_only=True) as store:
        try:
            explanation = explain(store, prog, day, worker_id, settings.lang)
        except WorkerNotFound as exc:
            fail(str(exc))
        except FactStoreError as exc:
            fail(str(exc))
    if fmt == "json":
        payload = {
            "worker_id": explanation.worker_id,
            "division": explanation.division,
            "status": explanation.status,
            "certified": explanation.certified,
            "program": prog.id,
            "program_version": prog.version,
            "as_of": day.isoformat(),
            "next_evaluation": explanation.next_evaluation.isoformat(),
            "criteria": [
                {
                    "id": c.id,
                    "label": c.label,
                    "value": c.value,
                    "threshold": c.threshold_text,
                    "passed": c.passed,
                    "window": c.window_text,
                    "what_it_would_take": c.takes,
                    "margin": c.margin,
                    "advice": c.advice,
                    "facts": c.facts,
                }
                for c in explanation.criteria
            ],
        }
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    out.print(terminal_safe(explanation.to_text()), highlight=False, markup=False, soft_wrap=True)


@programs_app.command("list")
def programs_list() -> None:
    """List the shipped program presets."""
    table = Table()
    for col in ("id", "version", "name", "time zone", "criteria"):
        table.add_column(col)
    try:
        programs = list_programs()
    except ProgramError as exc:
        fail(str(exc), code=2)
    for p in programs:
        table.add_row(p.id, str(p.version), f"{p.name.ja} / {p.name.en}", p.timezone, str(len(p.criteria)))
    out.print(table)


@programs_app.command("show")
def programs_show(
    ref: Annotated[str, typer.Argument(help="Preset id or path to a program TOML file.")],
    lang: LangOption = None,
) -> None:
    """Validate and show one program: its criteria, thresholds and cadence."""
    settings = load_settings(lang=lang)
    try:
        prog = load_program(ref)
    except ProgramError as exc:
        fail(str(exc), code=2)
    language = settings.lang
    out.print(f"[bold]{escape(prog.name.get(language))}[/] ({prog.label})", markup=True)
    out.print(prog.description.get(language))
    months = ", ".join(f"{m}/{prog.cadence.day}" for m in prog.cadence.months)
    out.print(
        f"time zone: {prog.timezone}; evaluated on {months}; eligible statuses: {', '.join(prog.eligible_statuses)}",
        highlight=False,
    )
    table = Table()
    for col in ("id", "metric", "params", "passes when", "label"):
        table.add_column(col)
    for c in prog.criteria:
        rule = f"{c.comparison} {str(c.threshold).lower()}"
        if c.division_thresholds:
            rule += "; " + ", ".join(f"{d}: {c.comparison} {v}" for d, v in c.division_thresholds.items())
        table.add_row(c.id, c.metric, json.dumps(c.params, ensure_ascii=False), rule, c.label.get(language))
    out.print(table)


@app.command("demo-data")
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
    end_day = _parse_day(end, "--end") if end else None
    summary = _generate(out_dir, workers, seed, end_day, fmt)
    out.print(f"wrote {out_dir}: " + ", ".join(f"{k} {v:,}" for k, v in summary.rows.items()), highlight=False)


def _parse_day(value: str, hint: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form", param_hint=hint) from None


def _generate(out_dir: Path, workers: int, seed: int, end: date | None, fmt: str) -> Any:
    with Progress(
        TextColumn("generating"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} workers"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("generate", total=workers)
        return generate(
            out_dir,
            workers=workers,
            seed=seed,
            end=end,
            fmt=fmt,
            progress=lambda done, _total: progress.update(task, completed=done),
        )


@app.command("demo")
def demo_command(
    workers: Annotated[int, typer.Option("--workers", "-n", min=1, help="Number of workers.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 1,
    explanations: Annotated[int, typer.Option("--explanations", help="How many workers to explain.")] = 3,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the demo site when done (stop with Ctrl+C).")
    ] = True,
    host: Annotated[str, typer.Option("--host", help="Address the demo site listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port of the demo site.")] = 8000,
    home: HomeOption = None,
    program: ProgramOption = None,
    lang: LangOption = None,
) -> None:
    """Generate a demo marketplace, import it, evaluate it as of the latest quarterly date, explain a few, record a
    year of runs in the ledger, then serve the site in demo mode."""
    settings = load_settings(home, program, lang)
    prog = load_program_or_fail(settings)
    today = today_in(prog)
    day = prog.cadence.latest_on_or_before(today)
    export = settings.home / "demo-export"
    out.rule(f"1. demo marketplace: {workers:,} workers (seed {seed}) → {export}")
    summary = _generate(export, workers, seed, today, "csv")
    out.print(", ".join(f"{k} {v:,}" for k, v in summary.rows.items()), highlight=False)
    out.rule("2. import")
    with steps() as progress:
        task = progress.add_task("importing", total=None)
        # --replace: the demo's store holds exactly the generated marketplace, switched in atomically.
        atomic_import(
            settings.facts_path,
            export,
            timezone=prog.timezone,
            replace=True,
            progress=lambda msg: progress.update(task, description=msg),
            memory_limit=settings.duckdb_memory_limit,
            threads=settings.duckdb_threads,
        )
    out.print(f"facts stored in {settings.facts_path}", highlight=False)
    out.rule(f"3. evaluate {prog.label} as of {day}")
    with open_store(settings, read_only=True) as store:
        evaluation = evaluate(store, prog, day)
        target = evaluation.write(settings.results_dir / f"{prog.id}_{day.isoformat()}.csv")
        print_summary(evaluation, settings.lang)
        out.print(f"→ {target}", highlight=False)
        out.rule("4. explanations")
        picks = evaluation.rows("certified", limit=1)
        picks += evaluation.rows(
            f"NOT certified AND status = 'active' AND "
            f"{' + '.join(f'CAST({c.id}_passed AS INTEGER)' for c in prog.criteria)} "
            f">= {len(prog.criteria) - 2}",
            limit=max(explanations - 1, 0),
        )
        for row in picks[:explanations]:
            out.print(
                terminal_safe(explain(store, prog, day, row["worker_id"], settings.lang).to_text()),
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
            out.print()
        out.rule("5. ledger: four quarterly runs, transitions and the notification outbox")
        _demo_ledger(settings, prog, store, day)
        out.rule("6. benefits: premium jobs with pro early access, a newsletter issue")
        _demo_benefits(settings, prog, store, workers)
    out.print(
        f"Try: procert explain {picks[0]['worker_id'] if picks else 'W0000001'} --as-of {day} "
        f"--home {settings.home} --lang en",
        highlight=False,
    )
    password = _demo_admin(settings)
    if serve:
        out.rule("7. the site (demo mode)")
        out.print(
            f"Pro directory: http://{host}:{port}/pros · sign in as a worker: http://{host}:{port}/demo/login · "
            f"admin console: http://{host}:{port}/admin (user demo-admin, password {password}) · "
            f"API: http://{host}:{port}/docs — stop with Ctrl+C",
            highlight=False,
            soft_wrap=True,
        )
        from procert.cli.ledger_commands import serve_site

        serve_site(settings.model_copy(update={"demo": True}), prog, host=host, port=port)


def _demo_ledger(settings: Any, prog: Any, store: Any, day: date) -> None:
    """Backfill the last four scheduled dates into a fresh ledger and show what it recorded."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from procert.cli.ledger_commands import ledger, notify_options
    from procert.ledger import Notification, Transition, backfill, session_scope, worker_history

    for leftover in settings.home.glob("ledger.sqlite*"):
        leftover.unlink()  # the demo's ledger starts empty, like its facts
    first = day
    for _ in range(3):
        first = prog.cadence.latest_on_or_before(first - timedelta(days=1))
    engine = ledger(settings)
    backfill(
        engine,
        store=store,
        program=prog,
        start=first,
        today=day,
        actor="demo",
        max_worker_drop=settings.max_worker_drop,
        notify=notify_options(settings),
        progress=lambda as_of, outcome: out.print(f"{as_of}: {outcome.message}"),
    )
    with session_scope(engine) as session:
        outbox = dict(session.execute(select(Notification.kind, func.count()).group_by(Notification.kind)).all())
        lost = session.scalar(
            select(Transition.worker_id).where(Transition.as_of == day, Transition.kind == "lost").limit(1)
        )
        history = worker_history(session, program_id=prog.id, worker_id=lost) if lost else []
    out.print("outbox: " + ", ".join(f"{kind} {count}" for kind, count in sorted(outbox.items())))
    if lost:
        out.print(
            f"history of {lost}: "
            + "; ".join(
                f"{t.as_of} {t.kind}" + (f" ({', '.join(t.failed)})" if t.failed and t.kind == "lost" else "")
                for t in history
            )
        )
        out.print(
            f"Try: procert status {lost} --home {settings.home} --lang en; procert forecast --home {settings.home}"
        )
    out.print(
        f"Browse it later: PROCERT_DEMO=true procert serve --home {settings.home} → http://127.0.0.1:8000/pros "
        "(sign in as a demo worker at /demo/login)"
    )


def _demo_benefits(settings: Any, prog: Any, store: Any, workers: int) -> None:
    """A stream of generated jobs, three demo subscribers and a newsletter issue composed and queued."""
    from datetime import UTC, datetime

    from procert.benefits import Viewer, list_jobs, read_job_rows, store_jobs, validate_jobs
    from procert.benefits.models import Job, NewsletterIssue, Subscriber
    from procert.benefits.promotion import Candidate, choose_site_features, compose_issue, send_issue
    from procert.cli.ledger_commands import ledger
    from procert.demo import generate_jobs
    from procert.ledger import current_pros, session_scope
    from procert.web.auth import resolve_secret

    engine = ledger(settings)
    now = datetime.now(UTC).replace(tzinfo=None)
    path = generate_jobs(settings.home / "demo-jobs.csv", count=150, clients=max(workers // 2, 10))
    jobs = validate_jobs(read_job_rows(path), program=prog, source=str(path))
    today = today_in(prog)
    with session_scope(engine, write=True) as session:
        for model in (Job, Subscriber):
            session.query(model).delete()
        session.query(NewsletterIssue).filter(NewsletterIssue.issue_date == today).delete()
        store_jobs(session, jobs=jobs, actor="demo", program_id=prog.id)
        for i, (name, locale) in enumerate((("佐藤 花子", "ja"), ("Alex Smith", "en"), ("田中 一郎", "ja")), start=1):
            session.add(Subscriber(email=f"reader{i}@example.jp", name=name, locale=locale, subscribed_at=now))
        session.flush()
        _total, views = list_jobs(session, store=store, program=prog, viewer=Viewer("admin"), now=now, per_page=10_000)
        premium = [v for v in views if v.score.premium]
        early = [v for v in premium if v.early_access_until and now < v.early_access_until]
        pros = [
            Candidate(p.worker_id, p.division, p.since) for p in current_pros(session, program_id=prog.id, on=today)
        ]
        issue = compose_issue(
            session,
            store=store,
            program=prog,
            issue_date=today,
            pros=pros,
            public_url=settings.public_url,
            actor="demo",
        )
        choose_site_features(session, store=store, program=prog, pros=pros, on=today, actor="demo")
        secret = resolve_secret(None, demo=True)
        _sent, queued = send_issue(
            session, program=prog, issue_id=issue.id, secret=secret, public_url=settings.public_url, actor="demo"
        )
        names = ", ".join(f"{f['display_name']} ({f['division']})" for f in issue.content["featured"])
    out.print(
        f"jobs: {len(jobs)} open or recent, {len(premium)} premium, {len(early)} still for pros only (early access)",
        highlight=False,
    )
    out.print(f"newsletter issue #{issue.id} of {today} features {names}; {queued} mail(s) queued", highlight=False)


def _demo_admin(settings: Any) -> str:
    """A console admin for the demo, with a fresh random password (printed, never stored in clear)."""
    import secrets

    from procert.cli.ledger_commands import ledger
    from procert.ledger import create_admin, session_scope, set_admin_password
    from procert.ledger.access import AdminError

    password = secrets.token_urlsafe(12)
    with session_scope(ledger(settings), write=True) as session:
        try:
            create_admin(session, username="demo-admin", password=password, actor="demo")
        except AdminError:
            set_admin_password(session, username="demo-admin", password=password, actor="demo")
    return password


from procert.cli import admin_commands, benefits_commands, ledger_commands  # noqa: E402,F401  (registers their commands)


def main() -> None:
    """The `procert` command: any of procert's own refusals a command did not report itself ends as one clear
    line on standard error and exit status 1, never a traceback."""
    from procert.errors import ProcertError

    try:
        app(prog_name="procert")
    except ProcertError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
