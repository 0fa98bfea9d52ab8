"""A run's results written set-based (one query on the store, streamed to the ledger; only the workers a rule
decides go through Python) are what deciding every worker one by one stores: for every worker of a demo
marketplace, on SQLite and PostgreSQL, with levels, keep thresholds and grace, locks and leave, the same status and
the same JSON text as the ledger's serialiser writes for the evaluation's own rows."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from procert.demo import generate
from procert.evaluation import evaluate, leave_periods
from procert.facts import FactStore, import_export
from procert.ledger import NotifyOptions, declare_leave, record_run, session_scope, set_override
from procert.ledger.db import dumps_json
from procert.ledger.decision import decide, forecast_failures, level_flags
from procert.ledger.leave import away_by_worker, on_leave
from procert.ledger.models import Run, RunResult, Transition
from procert.ledger.record import _leave_record, lock_of
from procert.ledger.status import active_overrides
from procert.programs import Program, load_program, parse_program
from procert.programs.loader import _presets_dir

DATES = (date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1))


def lenient() -> Program:
    """crowdworks-pro with a keep threshold and a grace cycle, so hysteresis and grace decide some workers."""
    preset = (_presets_dir() / "crowdworks-pro.toml").read_text(encoding="utf-8")
    toml = preset.replace('id = "crowdworks-pro"', 'id = "lenient"').replace(
        'threshold = "4.8"\nlabel = { ja = "総合評価',
        'threshold = "4.8"\nkeep_threshold = "4.5"\nlabel = { ja = "総合評価',
    )
    return parse_program(toml + "\n[grace]\ncycles = 1\nmargins = { scouts = 3 }\n", "lenient")


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("record-bulk")
    export = generate(root / "export", workers=600, seed=5, end=date(2025, 3, 31)).directory
    store = FactStore(root / "facts.duckdb")
    import_export(store, export, timezone="Asia/Tokyo")
    yield store
    store.close()


def one_by_one(session, store: FactStore, program: Program, as_of: date, previous_run: int | None) -> dict[str, dict]:
    """Every worker decided in Python, as record_run once did for all of them: the oracle."""
    levels = [lv.id for lv in program.tiers]
    next_date = program.cadence.next_after(as_of)
    away = away_by_worker(session, program_id=program.id, through=next_date)
    evaluation = evaluate(store, program, as_of, away=away)
    lengthened = leave_periods(program, evaluation.period, away)
    rows = evaluation.rows()
    predicted = {
        r["worker_id"]: r
        for r in evaluate(store, program, next_date, observed_until=as_of, table="oracle_forecast", away=away).rows()
    }
    previous = {}
    if previous_run is not None:
        from procert.ledger.decision import Previous

        for r in session.scalars(select(RunResult).where(RunResult.run_id == previous_run, RunResult.certified)):
            previous[r.worker_id] = Previous(r.certified_since, r.grace_cycles, r.level or program.tiers[0].id)
    locks = active_overrides(session, program_id=program.id, on=as_of)
    expected = {}
    for row in rows:
        w = row["worker_id"]
        spans = away.get(w, ())
        away_today = bool(spans) and on_leave(spans, as_of) and row["status"] in program.eligible_statuses
        evaluated, kept, near = level_flags(program, row)
        decision = decide(
            as_of=as_of,
            previous=previous.get(w),
            levels=levels,
            evaluated=evaluated,
            kept=kept,
            near=near,
            grace_cycles=program.grace.cycles if program.grace else 0,
            lock=lock_of(program, locks.get(w)),
            on_leave=away_today,
        )
        forecast = predicted.get(w)
        at_risk = forecast_failures(program, forecast, decision.level) if decision.certified else []
        expected[w] = {
            "division": row["division"],
            "status": row["status"],
            "evaluated": bool(row["certified"]),
            "certified": decision.certified,
            "certified_since": decision.since,
            "level": decision.level if program.levels else None,
            "grace_cycles": decision.grace_cycles,
            "at_risk": decision.certified and (decision.in_grace or bool(at_risk)),
            "values": {c.id: row[c.id] for c in program.criteria},
            "passed": {c.id: bool(row[f"{c.id}_passed"]) for c in program.criteria},
            "forecast": {
                "as_of": next_date.isoformat(),
                "at_risk": at_risk,
                "values": {c.id: forecast[c.id] for c in program.criteria} if forecast else None,
            },
            "leave": _leave_record(spans, as_of, away_today, lengthened.get(w) is not None),
        }
    return expected


@pytest.mark.parametrize("program_id", ["crowdworks-pro", "coconala-rank", "lenient"])
def test_results_written_set_based_are_those_of_deciding_every_worker(engine, demo_store: FactStore, program_id):
    program = lenient() if program_id == "lenient" else load_program(program_id)
    previous_run = None
    seen = {"certified": 0, "in_grace": 0, "levels": set(), "leave": 0, "locked": 0}
    for number, as_of in enumerate(DATES):
        with session_scope(engine, write=True) as session:
            if number == 1:
                # Locks and leave, set after the first run: certified workers kept out, others held in, leave.
                pros = session.scalars(
                    select(RunResult.worker_id)
                    .where(RunResult.run_id == previous_run, RunResult.certified)
                    .order_by(RunResult.worker_id)
                ).all()
                others = session.scalars(
                    select(RunResult.worker_id)
                    .where(RunResult.run_id == previous_run, RunResult.certified.is_(False))
                    .order_by(RunResult.worker_id)
                    .limit(3)
                ).all()
                assert len(pros) >= 4
                for w, certified in ((pros[0], False), (others[0], True), (others[1], True)):
                    top = program.tiers[-1].id if program.levels else None
                    set_override(
                        session,
                        program_id=program.id,
                        worker_id=w,
                        certified=certified,
                        reason="test",
                        actor="admin:t",
                        level=top if certified else None,
                        levels=[lv.id for lv in program.tiers] if program.levels else None,
                    )
                    seen["locked"] += 1
                if program.takes_leave:
                    # Two pros, and a worker who holds nothing (their leave is recorded all the same).
                    for w in (*pros[1:3], others[2]):
                        declare_leave(
                            session,
                            program=program,
                            worker_id=w,
                            starts_on=as_of - timedelta(days=5),
                            ends_on=as_of + timedelta(days=40),
                            category="illness",
                            actor="admin:t",
                            by_worker=False,
                            today=as_of - timedelta(days=5),
                        )
            expected = one_by_one(session, demo_store, program, as_of, previous_run)
            outcome = record_run(
                session, store=demo_store, program=program, as_of=as_of, actor="t", notify=NotifyOptions()
            )
        previous_run = outcome.run_id
        with session_scope(engine) as session:
            stored = {
                r.worker_id: r for r in session.scalars(select(RunResult).where(RunResult.run_id == outcome.run_id))
            }
            raw = {
                w: tuple(columns)
                for w, *columns in session.execute(
                    text(
                        'SELECT worker_id, CAST("values" AS TEXT), CAST(passed AS TEXT), CAST(forecast AS TEXT), '
                        'CAST("leave" AS TEXT) FROM run_results WHERE run_id = :run'
                    ),
                    {"run": outcome.run_id},
                )
            }
            run = session.get(Run, outcome.run_id)
            granted = set(
                session.scalars(
                    select(Transition.worker_id).where(
                        Transition.run_id == outcome.run_id, Transition.kind == "granted"
                    )
                )
            )
        assert set(stored) == set(expected) and len(stored) == 600
        for w, want in expected.items():
            got = {name: getattr(stored[w], name) for name in want}
            assert got == want, (as_of, w)
            # The stored JSON is the ledger serialiser's text of the evaluation's own values, byte for byte.
            assert raw[w] == tuple(dumps_json(want[c]) for c in ("values", "passed", "forecast", "leave")), w
            seen["certified"] += want["certified"]
            seen["in_grace"] += want["grace_cycles"] > 0
            seen["leave"] += want["leave"] is not None
            if want["level"]:
                seen["levels"].add(want["level"])
        assert run is not None
        assert run.workers == 600
        assert run.certified == sum(e["certified"] for e in expected.values())
        assert run.counts["at_risk"] == sum(e["at_risk"] for e in expected.values())
        assert granted == {
            w for w, e in expected.items() if e["certified"] and (number == 0 or e["certified_since"] == as_of)
        }
    # The comparison covered what it claims to: certified workers, and each program's own rules at work.
    assert seen["certified"] > 30 and seen["locked"] == 3
    if program.takes_leave:
        assert seen["leave"] >= 3 * 2  # three workers on leave, in the second and third runs
    if program.levels:
        assert len(seen["levels"]) >= 2
    if program.grace:
        assert seen["in_grace"] > 0


def test_a_store_without_workers_certified_writes_every_result_from_the_store(engine, tmp_path: Path):
    """No worker reaches the status and none held it: every result comes from the one query, none from Python."""
    export = generate(tmp_path / "export", workers=30, seed=2, end=date(2025, 3, 31)).directory
    with FactStore(tmp_path / "facts.duckdb") as store:
        import_export(store, export, timezone="Asia/Tokyo")
        program = load_program("crowdworks-pro")
        store.query("UPDATE workers SET status = 'suspended'")  # no account is eligible
        with session_scope(engine, write=True) as session:
            outcome = record_run(session, store=store, program=program, as_of=DATES[0], actor="t")
        with session_scope(engine) as session:
            stored = session.scalars(select(RunResult).where(RunResult.run_id == outcome.run_id)).all()
    assert len(stored) == 30
    assert {(r.certified, r.level, r.certified_since, r.grace_cycles, r.at_risk, r.leave) for r in stored} == {
        (False, None, None, 0, False, None)
    }
    assert all(r.forecast["at_risk"] == [] and r.forecast["as_of"] == "2025-04-01" for r in stored)
    assert outcome.transitions == {}
