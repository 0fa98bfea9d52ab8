"""Corrections on SQLite and PostgreSQL: recorded runs recomputed on corrected facts. A decision raised is granted
from its original date and the history keeps both; one that would be lowered is held for an admin; each worker
gets one receipt; everything is audited; a recomputation killed with SIGKILL leaves nothing behind.

G has four 5-star reviews and an unfair 1-star one: a mean of 21/5 = 4.2 fails 総合評価 4.8 on 2025-01-01 and
2025-04-01; once the 1-star review is removed (a dispute), 5.0 passes. F passes on two 5-star reviews that turn out
fake; without them F has none, and the rating is undefined: a fail.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from procert.facts import import_export
from procert.ledger import (
    AuditEntry,
    Correction,
    CorrectionRefused,
    Notification,
    Run,
    Transition,
    list_corrections,
    recompute,
    record_run,
    review_correction,
    session_scope,
    worker_status,
)
from procert.notify.render import render
from procert.programs import load_program
from tests.conftest import Export
from tests.test_cli_ledger import counts, database, environment, procert  # noqa: F401  (database: a fixture)
from tests.test_ledger import pro

PROGRAM = load_program("crowdworks-pro")
D1, D2 = date(2025, 1, 1), date(2025, 4, 1)


def marketplace(*, corrected: bool) -> Export:
    exp = Export()
    pro(exp, "A")
    pro(exp, "G", reviews=4)
    pro(exp, "F", reviews=0)
    if not corrected:
        exp.review("G", 1, review_id="R-UNFAIR")
        exp.review("F", 5, review_id="R-FAKE-1")
        exp.review("F", 5, review_id="R-FAKE-2")
    return exp


def load(store, tmp_path: Path, *, corrected: bool) -> None:
    name = "corrected" if corrected else "recorded"
    import_export(store, marketplace(corrected=corrected).write(tmp_path / name), timezone="Asia/Tokyo", replace=True)


def recorded_twice(engine, store, tmp_path: Path) -> None:
    load(store, tmp_path, corrected=False)
    with session_scope(engine, write=True) as session:
        for day in (D1, D2):
            record_run(session, store=store, program=PROGRAM, as_of=day, actor="scheduler")
    load(store, tmp_path, corrected=True)


def test_a_recomputation_grants_from_the_original_date_and_holds_a_removal(engine, store, tmp_path: Path):
    recorded_twice(engine, store, tmp_path)
    with session_scope(engine, write=True) as session:
        outcome = recompute(session, store=store, program=PROGRAM, since=D1, actor="admin:alice")
    assert (outcome.applied, outcome.held, outcome.notifications) == (2, 2, 2)
    assert [(d, old < new) for d, old, new in outcome.runs] == [(D1, True), (D2, True)]
    with session_scope(engine) as session:
        rows = [(c.worker_id, c.as_of, c.kind, c.status) for c in list_corrections(session, program_id=PROGRAM.id)]
        assert rows == [
            ("F", D1, "removed", "pending"),
            ("G", D1, "granted", "applied"),
            ("F", D2, "removed", "pending"),
            ("G", D2, "granted", "applied"),
        ]
        g = worker_status(session, program_id=PROGRAM.id, worker_id="G", on=D2)
        f = worker_status(session, program_id=PROGRAM.id, worker_id="F", on=D2)
        assert (g.certified, g.since) == (True, D1)  # granted from the original date
        assert (f.certified, f.since) == (True, D1)  # never silently revoked
        # The runs recorded first are kept, superseded; the current ones hold the corrected transitions.
        assert session.scalar(select(func.count()).select_from(Run).where(Run.superseded_by.is_not(None))) == 2
        current = [
            (t.worker_id, t.as_of, t.kind, t.reason)
            for t in session.scalars(
                select(Transition)
                .join(Run, Run.id == Transition.run_id)
                .where(Run.superseded_by.is_(None))
                .order_by(Transition.as_of, Transition.worker_id)
            )
        ]
        assert current == [
            ("A", D1, "granted", "criteria"),
            ("F", D1, "granted", "held"),
            ("G", D1, "granted", "criteria"),
            ("A", D2, "kept", "criteria"),
            ("F", D2, "kept", "held"),
            ("G", D2, "kept", "criteria"),
        ]
        g_first = next(c for c in list_corrections(session, program_id=PROGRAM.id, worker_id="G"))
        assert (g_first.values_before["overall_rating"], g_first.values_after["overall_rating"]) == (4.2, 5.0)
        receipts = {
            n.worker_id: n for n in session.scalars(select(Notification).where(Notification.kind == "correction"))
        }
        assert set(receipts) == {"F", "G"}  # one receipt each, for both dates
        g_mail = render(receipts["G"].payload, "ja").text
        assert "2025-01-01 の判定: 未認定 → 認定中(この日付から認定されたものとして記録しました)" in g_mail
        assert "2025-04-01 の判定" in g_mail and "総合評価(累計): 4.2 → 5" in g_mail
        f_mail = render(receipts["F"].payload, "ja").text  # F reads Japanese (the worker's locale)
        assert "訂正後の実績では 認定中 → 未認定 になりますが、担当者の確認まで 認定中 のままです" in f_mail
        assert "認定が下がる訂正は、自動では反映しません" in f_mail
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "admin:alice")).all()
        assert sorted(actions) == sorted(
            ["correction.pending"] * 2
            + ["correction.applied"] * 2
            + ["runs.recomputed"]
            + ["run.recorded"] * 2
            + ["status.granted"] * 2  # F (held) and G on 2025-01-01; A's grant is unchanged, audited when recorded
        )


def test_an_admin_accepts_or_dismisses_a_held_correction(engine, store, tmp_path: Path):
    recorded_twice(engine, store, tmp_path)
    with session_scope(engine, write=True) as session:
        recompute(session, store=store, program=PROGRAM, since=D2, actor="admin:alice")
        held = list_corrections(session, program_id=PROGRAM.id, status="pending")
        assert [(c.worker_id, c.as_of) for c in held] == [("F", D2)]
        with pytest.raises(CorrectionRefused, match="needs a note"):
            review_correction(
                session,
                program=PROGRAM,
                correction_id=held[0].id,
                accept=True,
                note=" ",
                actor="a",
                today=D2,
                contact=None,
            )
        review_correction(
            session,
            program=PROGRAM,
            correction_id=held[0].id,
            accept=True,
            note="Both reviews came from the worker's own accounts.",
            actor="admin:alice",
            today=date(2025, 4, 2),
            contact=store.worker("F"),
        )
        with pytest.raises(CorrectionRefused, match="is accepted, not pending"):
            review_correction(
                session,
                program=PROGRAM,
                correction_id=held[0].id,
                accept=False,
                note="x",
                actor="a",
                today=D2,
                contact=None,
            )
    with session_scope(engine) as session:
        f = worker_status(session, program_id=PROGRAM.id, worker_id="F", on=date(2025, 4, 2))
        assert f.certified is False and f.override is not None and f.override.expires_on == date(2025, 7, 1)
        mail = session.scalars(
            select(Notification).where(Notification.worker_id == "F", Notification.dedupe_key.like("%correction-%"))
        ).one()
        assert "担当者が確認し、反映しました" in render(mail.payload, "ja").text
        assert (
            session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "correction.accepted")
            )
            == 1
        )


def test_nothing_to_recompute_is_refused(engine, store, tmp_path: Path):
    load(store, tmp_path, corrected=False)
    with session_scope(engine, write=True) as session, pytest.raises(CorrectionRefused, match="nothing to recompute"):
        recompute(session, store=store, program=PROGRAM, since=D1, actor="a")


def test_an_unchanged_marketplace_recomputes_to_no_corrections(engine, store, tmp_path: Path):
    load(store, tmp_path, corrected=False)
    with session_scope(engine, write=True) as session:
        record_run(session, store=store, program=PROGRAM, as_of=D1, actor="scheduler")
        outcome = recompute(session, store=store, program=PROGRAM, since=D1, actor="a")
    assert (outcome.applied, outcome.held, outcome.notifications) == (0, 0, 0)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Correction)) == 0


KILLER = """
import os, signal, subprocess, sys
process = subprocess.Popen(
    [sys.executable, "-m", "procert.cli", "recompute", "--since", "2025-01-01"],
    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
)
for line in process.stdout:
    if "を再計算しています" in line and "2025-04-01" in line:  # the first run is recomputed, not yet committed
        os.kill(process.pid, signal.SIGKILL)
        break
process.wait()
sys.exit(-process.returncode if process.returncode < 0 else 0)
"""


def test_kill_9_during_a_recompute_leaves_nothing_partial(tmp_path: Path, database):  # noqa: F811
    env = environment(tmp_path / "home", database)
    recorded = procert(env, "import", str(marketplace(corrected=False).write(tmp_path / "recorded")))
    assert recorded.returncode == 0, recorded.stderr
    if database:
        assert procert(env, "db", "upgrade").returncode == 0
    for day in ("2025-01-01", "2025-04-01"):
        assert procert(env, "run", "--as-of", day, "--no-notify").returncode == 0
    corrected = procert(env, "import", "--replace", str(marketplace(corrected=True).write(tmp_path / "corrected")))
    assert corrected.returncode == 0, corrected.stderr
    before = counts(tmp_path / "home", database)
    killed = subprocess.run([sys.executable, "-c", KILLER], capture_output=True, text=True, env=env, timeout=300)
    assert killed.returncode == 9, killed.stderr
    assert counts(tmp_path / "home", database) == before  # no run, result, transition or receipt of it
    again = procert(env, "recompute", "--since", "2025-01-01")
    assert again.returncode == 0, again.stderr
    said = "訂正 2 件を反映、2 件を確認待ちとして保留。訂正のお知らせ 2 件をキューに入れました"
    assert said in again.stdout, again.stdout
    listed = procert(env, "corrections", "list")
    assert listed.returncode == 0 and listed.stdout.count("確認待ち") == 2 and "未認定" in listed.stdout


def test_recompute_and_review_in_the_console_and_the_worker_sees_both_decisions(engine, tmp_path: Path):
    from fastapi.testclient import TestClient

    from procert.facts import FactStore
    from procert.ledger import create_admin
    from tests.test_web import SECRET, sign_in
    from tests.test_web_admin import PASSWORD, admin_sign_in, csrf_of
    from tests.web_support import web_app

    with FactStore(tmp_path / "facts.duckdb") as store:
        recorded_twice(engine, store, tmp_path)
    with session_scope(engine, write=True) as session:
        create_admin(session, username="alice", password=PASSWORD, actor="test")
    app = web_app(
        program=PROGRAM, engine=engine, facts_path=tmp_path / "facts.duckdb", secret=SECRET, ledger_refresh_seconds=0
    )
    with TestClient(app, base_url="https://testserver") as client:
        assert client.get("/admin/corrections", follow_redirects=False).status_code == 303  # admins only
        assert admin_sign_in(client).status_code == 303
        page = client.get("/admin/corrections").text
        assert "確認待ちの訂正はありません" in page
        assert client.get("/admin/corrections").status_code == 200  # a GET changes nothing
        bad = client.post("/admin/recompute", data={"csrf": csrf_of(page), "since": "2025-02-30"})
        assert bad.status_code == 400 and "not a date" in bad.text
        done = client.post(
            "/admin/recompute", data={"csrf": csrf_of(page), "since": "2025-01-01"}, follow_redirects=False
        )
        assert done.status_code == 303
        queue = client.get("/admin/corrections").text
        assert queue.count('class="correction pending"') == 2 and queue.count('class="correction applied"') == 2
        correction_id = queue.split('class="correction pending" data-correction="')[1].split('"')[0]
        reviewed = client.post(
            f"/admin/corrections/{correction_id}/review",
            data={"csrf": csrf_of(queue), "decision": "dismiss", "note": "Reviews confirmed genuine after all."},
            follow_redirects=False,
        )
        assert reviewed.status_code == 303
        assert client.get("/admin/corrections").text.count('class="correction dismissed"') == 2

        worker = TestClient(app, base_url="https://testserver")
        sign_in(worker, "G")
        status = worker.get("/api/v1/workers/G/status").json()
        assert (status["certified"], status["since"]) == (True, "2025-01-01")
        assert [(c["as_of"], c["kind"], c["status"]) for c in status["corrections"]] == [
            ("2025-01-01", "granted", "applied"),
            ("2025-04-01", "granted", "applied"),
        ]
        dashboard = worker.get("/dashboard").text
        assert "訂正: 未認定 → 認定中(反映済み)" in dashboard and "4.2 → 5" in dashboard
