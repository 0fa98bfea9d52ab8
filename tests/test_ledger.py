"""The ledger on SQLite and PostgreSQL: runs, transitions, statuses, overrides, safety, schedule and backfill."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from procert.evaluation import evaluate
from procert.facts import FactStore, import_export
from procert.i18n import Message
from procert.ledger import (
    AuditEntry,
    LedgerNotReady,
    Notification,
    NotifyOptions,
    Run,
    RunRefused,
    RunResult,
    Transition,
    backfill,
    clear_override,
    make_engine,
    record_run,
    require_current,
    run_due,
    session_scope,
    set_override,
    worker_history,
    worker_status,
)
from procert.programs import Program, parse_program
from procert.programs.loader import _presets_dir
from tests.conftest import Export

D1, D2, D3 = date(2025, 1, 1), date(2025, 4, 1), date(2025, 7, 1)
PRESET_TEXT = (_presets_dir() / "crowdworks-pro.toml").read_text(encoding="utf-8")


def pro(exp: Export, wid: str, *, email: str | None = None, reviews: int = 1, **worker) -> str:
    """A worker passing every criterion from 2024-07-01 to well after 2025-07-01."""
    exp.worker(wid, email=email or f"{wid.lower()}@example.jp", locale="ja", **worker)
    for month in ("2024-06-01", "2024-12-01", "2025-03-01", "2025-06-01"):
        exp.contract(wid, f"{month}T00:00:00+09:00")
        exp.payment(wid, f"{month}T12:00:00+09:00", 100_000)
        for _ in range(5):
            exp.scout(wid, f"{month}T00:00:00+09:00")
    for _ in range(reviews):
        exp.review(wid, 5)
    return wid


def load(store: FactStore, exp: Export, tmp_path: Path, name: str = "e") -> None:
    import_export(store, exp.write(tmp_path / name), timezone="Asia/Tokyo")


def run(engine: Engine, store: FactStore, program: Program, as_of: date, **kwargs):
    with session_scope(engine) as session:
        return record_run(session, store=store, program=program, as_of=as_of, actor="test", **kwargs)


def transitions(engine: Engine, program_id: str = "crowdworks-pro") -> list[tuple]:
    with session_scope(engine) as session:
        return [
            (t.as_of, t.worker_id, t.kind, t.reason)
            for t in session.scalars(
                select(Transition)
                .join(Run, Run.id == Transition.run_id)
                .where(Transition.program_id == program_id, Run.superseded_by.is_(None))
                .order_by(Transition.as_of, Transition.worker_id)
            )
        ]


def test_schema_must_be_upgraded_first(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    with pytest.raises(LedgerNotReady, match="procert db upgrade"):
        require_current(engine)


def test_run_records_results_transitions_and_status(engine, store, program, tmp_path):
    exp = Export()
    pro(exp, "A")
    exp.worker("B", email="b@example.jp")
    load(store, exp, tmp_path)
    outcome = run(engine, store, program, D1)
    assert outcome.status == "recorded"
    assert outcome.transitions == {"granted": 1}
    with session_scope(engine) as session:
        recorded = session.get(Run, outcome.run_id)
        assert (recorded.program_id, recorded.program_version, recorded.as_of) == ("crowdworks-pro", 2, D1)
        assert recorded.workers == 2 and recorded.certified == 1
        assert recorded.facts_fingerprint == store.fingerprint()
        a = session.get(RunResult, (outcome.run_id, "A"))
        assert a.certified and a.certified_since == D1 and a.passed["scouts"] is True
        assert a.values["overall_rating"] == 5.0
        status = worker_status(session, program_id="crowdworks-pro", worker_id="A", on=D1)
        assert status.certified and status.since == D1
        assert not worker_status(session, program_id="crowdworks-pro", worker_id="B", on=D1).certified
    assert transitions(engine) == [(D1, "A", "granted", "criteria")]


def test_consecutive_runs_derive_granted_kept_and_lost(engine, store, program, tmp_path):
    exp = Export()
    pro(exp, "A")
    pro(exp, "B", profile_text="")
    load(store, exp, tmp_path, "1")
    run(engine, store, program, D1)
    fixed = Export()
    fixed.worker("B", profile_text="now filled in", email="b@example.jp")
    fixed.review("A", 1)  # (25 + 5) / 10 = 3.0: A loses both rating criteria
    import_export(store, fixed.write(tmp_path / "2", tables=("workers", "contracts", "reviews")), timezone="Asia/Tokyo")
    outcome = run(engine, store, program, D2)
    assert outcome.transitions == {"granted": 1, "lost": 1}
    assert transitions(engine) == [
        (D1, "A", "granted", "criteria"),
        (D2, "A", "lost", "criteria"),
        (D2, "B", "granted", "criteria"),
    ]
    with session_scope(engine) as session:
        lost = session.scalar(select(Transition).where(Transition.kind == "lost"))
        assert lost.failed == ["overall_rating", "communication_rating"]
        assert lost.values["overall_rating"] == 3.0
        history = worker_history(session, program_id="crowdworks-pro", worker_id="A")
        assert [(t.as_of, t.kind) for t in history] == [(D1, "granted"), (D2, "lost")]
    run(engine, store, program, D3)
    assert transitions(engine)[-1] == (D3, "B", "kept", "criteria")


def test_rerun_is_a_no_op_and_force_supersedes_without_resending(engine, store, program, tmp_path):
    exp = Export()
    pro(exp, "A")
    load(store, exp, tmp_path)
    first = run(engine, store, program, D1)
    again = run(engine, store, program, D1)
    assert again.status == "skipped" and "already recorded as run" in again.message.text("en")
    forced = run(engine, store, program, D1, force=True)
    assert forced.status == "recorded" and forced.run_id != first.run_id
    assert forced.notifications == 0  # the granted mail of D1 is already in the outbox
    with session_scope(engine) as session:
        old = session.get(Run, first.run_id)
        assert old.superseded_by == forced.run_id
        assert session.scalar(select(func.count()).select_from(Notification)) == first.notifications
    assert transitions(engine) == [(D1, "A", "granted", "criteria")]


def test_safety_checks(engine, store, program, tmp_path):
    with pytest.raises(RunRefused, match="empty source"):
        run(engine, store, program, D1)
    exp = Export()
    for i in range(10):
        exp.worker(f"W{i}")
    load(store, exp, tmp_path, "1")
    run(engine, store, program, D1)
    with store.transaction():
        store.query("DELETE FROM workers WHERE worker_id IN ('W1', 'W2', 'W3')")
    with pytest.raises(RunRefused, match=r"fell from 10 .* to 7, a drop of 30%"):
        run(engine, store, program, D2)
    assert run(engine, store, program, D2, force=True).status == "recorded"
    with pytest.raises(RunRefused, match="runs move forward in time"):
        run(engine, store, program, date(2024, 10, 1))
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 2


def test_override_survives_later_runs_and_expires(engine, store, program, tmp_path):
    exp = Export()
    pro(exp, "A")
    exp.worker("B")
    load(store, exp, tmp_path)
    run(engine, store, program, D1)
    with session_scope(engine) as session:
        set_override(
            session,
            program_id="crowdworks-pro",
            worker_id="A",
            certified=False,
            reason="fraud investigation",
            actor="admin",
        )
        set_override(
            session,
            program_id="crowdworks-pro",
            worker_id="B",
            certified=True,
            reason="partner programme",
            actor="admin",
            expires_on=D3,
        )
        assert worker_status(session, program_id="crowdworks-pro", worker_id="A").certified is False
    run(engine, store, program, D2)
    assert transitions(engine)[-2:] == [(D2, "A", "lost", "override"), (D2, "B", "granted", "override")]
    run(engine, store, program, D3)  # A still locked out; B's lock expired on D3
    with session_scope(engine) as session:
        latest = session.scalar(select(Run).where(Run.as_of == D3))
        assert session.get(RunResult, (latest.id, "A")).certified is False
        assert session.get(RunResult, (latest.id, "B")).certified is False
        assert clear_override(session, program_id="crowdworks-pro", worker_id="A", actor="admin") == 1
    assert (D3, "B", "lost", "criteria") in transitions(engine)
    with session_scope(engine) as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert actions.count("override.set") == 2 and "override.cleared" in actions and "run.recorded" in actions
    # Each change of status is audited: A granted (D1) and lost (D2), B granted (D2) and lost (D3).
    assert actions.count("status.granted") == 2 and actions.count("status.lost") == 2


def test_programs_never_touch_each_others_statuses(engine, store, program, tmp_path):
    exp = Export()
    pro(exp, "A")
    load(store, exp, tmp_path)
    strict = parse_program(
        PRESET_TEXT.replace('id = "crowdworks-pro"', 'id = "strict"').replace("threshold = 5\n", "threshold = 50\n"),
        "strict",
    )
    run(engine, store, program, D1)
    run(engine, store, strict, D1)
    with session_scope(engine) as session:
        set_override(session, program_id="strict", worker_id="A", certified=True, reason="x", actor="admin")
        assert worker_status(session, program_id="crowdworks-pro", worker_id="A").override is None
    assert transitions(engine, "strict") == []
    assert transitions(engine, "crowdworks-pro") == [(D1, "A", "granted", "criteria")]


def test_notifications_are_queued_with_the_transition(engine, store, program, tmp_path):
    exp = Export()
    pro(exp, "A")
    pro(exp, "NOMAIL")
    load(store, exp, tmp_path)
    with store.transaction():
        store.query("UPDATE workers SET email = NULL WHERE worker_id = 'NOMAIL'")
    outcome = run(engine, store, program, D1, notify=NotifyOptions(public_url="https://pro.example.jp"))
    with session_scope(engine) as session:
        rows = session.scalars(select(Notification).order_by(Notification.worker_id, Notification.kind)).all()
        assert [(n.worker_id, n.kind, n.status) for n in rows] == [
            ("A", "granted", "pending"),
            ("NOMAIL", "granted", "skipped"),
        ]
        payload = rows[0].payload
        assert payload["dashboard_url"] == "https://pro.example.jp/dashboard/A"
        assert payload["next_evaluation"] == "2025-04-01"
        assert rows[0].message_id == "<crowdworks-pro.2025-01-01.A.granted@procert>"
        assert outcome.notifications == 2


def test_at_risk_forecast_matches_the_next_evaluation_on_unchanged_facts(engine, store, program, tmp_path):
    # Facts stop at D1: the forecast for D2 must equal an actual evaluation as of D2.
    exp = Export()
    exp.worker("R", email="r@example.jp")
    for _ in range(5):
        exp.scout("R", "2024-02-15T00:00:00+09:00")  # leave the window on 2025-02-15: at risk for D2
    exp.contract("R", "2024-06-01T00:00:00+09:00")
    exp.payment("R", "2024-06-01T12:00:00+09:00", 1000)
    exp.review("R", 5)
    pro(exp, "SAFE")
    for wid in ("SAFE",):  # drop SAFE's facts after D1 so "unchanged facts" holds for everyone
        exp.rows["contracts"] = [
            c for c in exp.rows["contracts"] if not (c["worker_id"] == wid and c["closed_at"] > "2025-01")
        ]
        exp.rows["payments"] = [
            p for p in exp.rows["payments"] if not (p["worker_id"] == wid and p["paid_at"] > "2025-01")
        ]
        exp.rows["scouts"] = [s for s in exp.rows["scouts"] if not (s["worker_id"] == wid and s["sent_at"] > "2025-01")]
    load(store, exp, tmp_path)
    outcome = run(engine, store, program, D1)
    actual = {r["worker_id"]: r for r in evaluate(store, program, D2).rows()}
    with session_scope(engine) as session:
        results = {r.worker_id: r for r in session.scalars(select(RunResult).where(RunResult.run_id == outcome.run_id))}
        kinds = sorted((n.worker_id, n.kind) for n in session.scalars(select(Notification)))
    for wid, result in results.items():
        assert result.forecast["as_of"] == "2025-04-01"
        assert result.forecast["values"] == {c.id: actual[wid][c.id] for c in program.criteria}, wid
        assert result.forecast["at_risk"] == [c.id for c in program.criteria if not actual[wid][f"{c.id}_passed"]]
    assert results["R"].certified and results["R"].at_risk
    assert results["R"].forecast["at_risk"] == ["scouts"]
    assert not results["SAFE"].at_risk
    assert ("R", "at_risk") in kinds and ("SAFE", "at_risk") not in kinds


def test_grace_and_keep_threshold(engine, store, tmp_path):
    lenient = parse_program(
        PRESET_TEXT.replace('id = "crowdworks-pro"', 'id = "lenient"').replace(
            'threshold = "4.8"\nlabel = { ja = "総合評価',
            'threshold = "4.8"\nkeep_threshold = "4.6"\nlabel = { ja = "総合評価',
        )
        + "\n[grace]\ncycles = 1\nmargins = { scouts = 2 }\n",
        "lenient",
    )
    assert lenient.criterion("overall_rating").keep_threshold is not None
    exp = Export()
    pro(exp, "K", reviews=4)
    load(store, exp, tmp_path, "1")
    run(engine, store, lenient, D1)
    # One more review scoring 15 of 25: overall (100 + 15) / 25 = 4.6, below the entry threshold 4.8 but at the
    # keep threshold 4.6; its communication item is 5, so communication stays at 5.0.
    more = Export()
    more.worker("K", email="k@example.jp", locale="ja")
    more.review("K", (3, 3, 3, 5, 1))
    import_export(store, more.write(tmp_path / "2", tables=("workers", "contracts", "reviews")), timezone="Asia/Tokyo")
    with store.transaction():  # scouts: 3 in the window at D2 (2 short of 5, within the grace margin)
        store.query("DELETE FROM scouts WHERE worker_id = 'K' AND sent_at < TIMESTAMP '2024-11-30 00:00:00'")
        store.query("DELETE FROM scouts WHERE worker_id = 'K' AND sent_at > TIMESTAMP '2025-01-01 00:00:00'")
        store.query("DELETE FROM scouts WHERE scout_id IN (SELECT scout_id FROM scouts WHERE worker_id = 'K' LIMIT 2)")
    run(engine, store, lenient, D2)
    with session_scope(engine) as session:
        d2 = session.scalar(select(Run).where(Run.program_id == "lenient", Run.as_of == D2))
        k = session.get(RunResult, (d2.id, "K"))
        assert k.values["overall_rating"] == pytest.approx(4.6)
        assert not k.evaluated  # fails entry thresholds
        assert k.certified and k.grace_cycles == 1 and k.at_risk
    assert transitions(engine, "lenient")[-1] == (D2, "K", "kept", "grace")
    run(engine, store, lenient, D3)  # still short: the one grace cycle is used up
    assert transitions(engine, "lenient")[-1] == (D3, "K", "lost", "criteria")


def test_run_due_and_backfill(engine, store, program, tmp_path):
    from procert.demo import generate

    generate(tmp_path / "demo", workers=400, seed=5, end=date(2026, 11, 29))
    import_export(store, tmp_path / "demo", timezone="Asia/Tokyo")
    outcomes = backfill(
        engine,
        store=store,
        program=program,
        start=date(2024, 11, 29),
        today=date(2026, 11, 29),
        actor="test",
        max_worker_drop=0.2,
        notify=NotifyOptions(),
    )
    assert [o.status for o in outcomes] == ["recorded"] * 8  # 2025-01-01 ... 2026-10-01
    with session_scope(engine) as session:
        runs = session.scalars(select(Run).order_by(Run.as_of)).all()
        assert runs[0].as_of == date(2025, 1, 1) and runs[-1].as_of == date(2026, 10, 1)
        assert [r.backfill for r in runs] == [True] * 7 + [False]
        # Consistent history: each run's certified count follows from the previous one and its transitions.
        previous = 0
        for r in runs:
            moves = r.counts["transitions"]
            assert r.certified == previous + moves.get("granted", 0) - moves.get("lost", 0)
            assert moves.get("kept", 0) + moves.get("granted", 0) == r.certified
            previous = r.certified
        # Only the latest date mails anyone.
        notified_runs = set(session.scalars(select(Notification.run_id)).all())
        assert notified_runs <= {runs[-1].id}
    again = run_due(
        engine,
        store=store,
        program=program,
        today=date(2026, 11, 29),
        actor="cron",
        max_worker_drop=0.2,
        notify=NotifyOptions(),
    )
    assert again.status == "skipped"


def test_an_import_and_a_run_report_each_step_and_the_outcome_in_the_readers_language(engine, store, program, tmp_path):
    exp = Export()
    pro(exp, "A")
    seen: list[Message] = []
    import_export(store, exp.write(tmp_path / "e"), timezone="Asia/Tokyo", progress=seen.append)
    with session_scope(engine) as session:
        outcome = record_run(session, store=store, program=program, as_of=D1, actor="test", progress=seen.append)
    keys = [m.key for m in seen]
    assert keys[:2] == ["step_reading_file", "step_parsing_file"]
    assert {"step_storing_table", "step_summing_earnings", "step_evaluating", "step_writing_results"} <= set(keys)
    texts = {m.key: (m.text("ja"), m.text("en")) for m in reversed(seen)}  # each key's first message
    assert texts["step_reading_file"] == ("workers.csv を読み込んでいます", "reading workers.csv")
    assert texts["step_evaluating"] == (
        f"{program.label} を 2025-01-01 時点で判定しています",
        f"evaluating {program.label} as of 2025-01-01",
    )
    assert texts["step_writing_results"] == ("1 件の結果を書き込んでいます", "writing 1 results")
    assert (
        str(outcome.message)
        == outcome.message.text("ja")
        == (
            f"実行 #{outcome.run_id} を記録しました: {program.label}、2025-01-01 時点、ワーカー 1 人、認定 1 人。"
            "新規認定 1、継続 0、失効 0。通知 1 件をキューに入れました"
        )
    )
    assert outcome.message.text("en").startswith(f"recorded run #{outcome.run_id}: {program.label} as of 2025-01-01")
