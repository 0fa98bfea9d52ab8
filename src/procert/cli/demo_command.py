"""`procert demo`: the demo scenario (:mod:`procert.demo.scenario`) run step by step and narrated, then the
site served in demo mode."""

from __future__ import annotations

from typing import Annotated

import typer

from procert.cli.common import (
    HomeOption,
    LangOption,
    ProgramOption,
    core_for,
    facts_of,
    generation_progress,
    out,
    steps,
    terminal_safe,
)
from procert.cli.evaluation_commands import print_summary
from procert.core import Procert
from procert.demo import scenario
from procert.evaluation import evaluate, explain
from procert.i18n import label, t
from procert.settings import Settings

commands = typer.Typer()


@commands.command("demo")
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
    given = core_for(home, program, lang)
    # Demo mode from the start: its key (random, this process only) signs the newsletter's links and the site.
    core = Procert(Settings.model_validate({**given.settings.model_dump(), "demo": True}), program=given.program)
    settings, prog = core.settings, core.program
    today = core.today()
    day = prog.cadence.latest_on_or_before(today)
    lang = settings.lang
    out.rule(t("demo_step_marketplace", lang, workers=workers, seed=seed, path=settings.home / "demo-export"))
    with generation_progress() as bar:
        task = bar.add_task(t("step_generating", lang), total=workers)
        export, summary = scenario.generate_marketplace(
            core, workers=workers, seed=seed, end=today, progress=lambda done, _total: bar.update(task, completed=done)
        )
    out.print(", ".join(f"{k} {v:,}" for k, v in summary.rows.items()), highlight=False)
    out.rule(t("demo_step_import", lang))
    with steps() as progress:
        task = progress.add_task(t("step_importing", settings.lang), total=None)
        # --replace: the demo's store holds exactly the generated marketplace, switched in atomically.
        core.import_facts(
            export, replace=True, progress=lambda msg: progress.update(task, description=msg.text(settings.lang))
        )
    out.print(t("demo_facts_stored", lang, path=settings.facts_path), highlight=False)
    out.rule(t("demo_step_evaluate", lang, program=prog.label, as_of=day))
    with facts_of(core) as store:
        evaluation = evaluate(store, prog, day)
        target = evaluation.write(settings.results_dir / f"{prog.id}_{day.isoformat()}.csv")
        print_summary(evaluation, settings.lang)
        out.print(f"→ {target}", highlight=False)
        out.rule(t("demo_step_explanations", lang))
        picks = evaluation.rows("certified", limit=1)
        picks += evaluation.rows(
            f"NOT certified AND status = 'active' AND "
            f"{' + '.join(f'CAST({c.id}_passed AS INTEGER)' for c in prog.criteria)} "
            f">= {len(prog.criteria) - 2}",
            limit=max(explanations - 1, 0),
        )
        for row in picks[:explanations]:
            text = explain(store, prog, day, row["worker_id"], settings.lang).to_text()
            out.print(terminal_safe(text), highlight=False, markup=False, soft_wrap=True)
            out.print()
        out.rule(t("demo_step_ledger", lang))
        ledger = scenario.record_year(
            core,
            store,
            day=day,
            progress=lambda as_of, outcome: out.print(f"{as_of}: {outcome.message.text(settings.lang)}"),
        )
        outbox = ", ".join(f"{label('notify_kind_', kind, lang)} {n:,}" for kind, n in sorted(ledger.outbox.items()))
        out.print(t("demo_outbox", lang, counts=outbox), highlight=False)
        if ledger.lost:
            timeline = "; ".join(
                f"{move.as_of} {label('notify_kind_', move.kind, lang)}"
                + (
                    f" ({', '.join(prog.criterion(c).label.get(lang) for c in move.failed)})"
                    if move.failed and move.kind == "lost"
                    else ""
                )
                for move in ledger.history
            )
            out.print(t("demo_history", lang, worker=ledger.lost, timeline=timeline), highlight=False)
            out.print(t("demo_try_status", lang, worker=ledger.lost, home=settings.home), highlight=False)
        away = scenario.declare_demo_leave(core, store, today=today)
        if away:
            out.print(t("demo_leave_declared", lang, workers=", ".join(away), home=settings.home), highlight=False)
        out.print(t("demo_browse_later", lang, home=settings.home), highlight=False)
        out.rule(t("demo_step_presets", lang))
        for side in scenario.record_side_programs(core, store, day=day):
            latest = side.outcomes[-1].message.text(lang) if side.outcomes else t("demo_no_scheduled_date", lang)
            out.print(latest, highlight=False)
            if side.program.levels:
                counts = ", ".join(
                    f"{lv.name.get(settings.lang)} {side.levels.get(lv.id, 0):,}"
                    for lv in reversed(side.program.levels)
                )
                out.print(f"  {side.program.name.get(settings.lang)}: {counts}", highlight=False)
        out.rule(t("demo_step_benefits", lang))
        benefits = scenario.add_benefits(core, store, jobs=scenario.demo_jobs(core, workers=workers), today=today)
    out.print(t("demo_jobs", lang, jobs=benefits.jobs, premium=benefits.premium, early=benefits.early), highlight=False)
    out.print(
        t(
            "demo_newsletter",
            lang,
            id=benefits.issue_id,
            day=today,
            featured=", ".join(benefits.featured),
            queued=benefits.queued,
        ),
        highlight=False,
    )
    worker = picks[0]["worker_id"] if picks else "W0000001"
    out.print(t("demo_try_explain", lang, worker=worker, day=day, home=settings.home), highlight=False)
    password = scenario.ensure_admin(core)
    if serve:
        out.rule(t("demo_step_site", lang))
        out.print(
            t("demo_site", lang, base=f"http://{host}:{port}", user=scenario.DEMO_ADMIN, password=password),
            highlight=False,
            soft_wrap=True,
        )
        from procert.cli.web_commands import serve_site

        serve_site(core, host=host, port=port)
