"""Appeals on SQLite and PostgreSQL: a worker contests a decision, an admin answers with a reason, the worker's
mail is queued with the answer, every step is audited, and bad appeals are refused with the reason."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from procert.facts import import_export
from procert.ledger import (
    AppealRefused,
    AuditEntry,
    Notification,
    answer_appeal,
    file_appeal,
    list_appeals,
    record_run,
    session_scope,
)
from procert.notify.render import render
from tests.conftest import Export
from tests.test_ledger import pro
from tests.test_web import site  # noqa: F401  (the fixture admin_site builds on)
from tests.test_web_admin import admin_site  # noqa: F401

D1 = date(2025, 1, 1)
NOW = datetime(2025, 1, 5, 9, 0)


@pytest.fixture
def recorded(engine, store, program, tmp_path: Path):
    exp = Export()
    pro(exp, "A")
    exp.worker("B", email="b@example.jp", locale="en")
    import_export(store, exp.write(tmp_path / "e"), timezone="Asia/Tokyo")
    with session_scope(engine, write=True) as session:
        outcome = record_run(session, store=store, program=program, as_of=D1, actor="test")
    return outcome.run_id


def test_an_appeal_is_answered_and_the_worker_told(engine, store, program, recorded):
    with session_scope(engine, write=True) as session:
        appeal = file_appeal(
            session,
            program=program,
            worker_id="B",
            run_id=recorded,
            criterion="scouts",
            text="  Two scouts were sent to my old account.  ",
            now=NOW,
            target_hours=72,
        )
        assert (appeal.status, appeal.text, appeal.due_at) == (
            "open",
            "Two scouts were sent to my old account.",
            NOW + timedelta(hours=72),
        )
        appeal_id = appeal.id
    with session_scope(engine, write=True) as session:
        assert [a.id for a in list_appeals(session, program_id=program.id, status="open")] == [appeal_id]
        answered = answer_appeal(
            session,
            program=program,
            appeal_id=appeal_id,
            answer="We checked: both were mass invitations, which do not count.",
            actor="admin:ops",
            contact=store.worker("B"),
            public_url="https://pro.example.jp",
            now=NOW + timedelta(hours=5),
        )
        assert (answered.status, answered.answered_by) == ("answered", "admin:ops")
    with session_scope(engine) as session:
        mail = session.scalars(select(Notification).where(Notification.kind == "appeal_answered")).one()
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert (mail.worker_id, mail.email, mail.locale) == ("B", "b@example.jp", "en")
    assert actions[-2:] == ["appeal.filed", "appeal.answered"]
    rendered = render(mail.payload, "en")
    assert (
        rendered.subject
        == f"[Pro Crowd Worker] Your appeal (#{appeal_id}) of the 2025-01-01 evaluation has been answered"
    )
    assert "Criterion: Direct scouts (past year)" in rendered.text
    assert "both were mass invitations" in rendered.text and "https://pro.example.jp/dashboard/B" in rendered.text
    with session_scope(engine, write=True) as session, pytest.raises(AppealRefused, match="answered already"):
        answer_appeal(session, program=program, appeal_id=appeal_id, answer="again", actor="admin", contact=None)


@pytest.mark.parametrize(
    ("worker", "run", "criterion", "text", "reason"),
    [
        ("B", None, None, "why", "no current run #999"),
        ("NOBODY", "run", None, "why", "did not evaluate worker 'NOBODY'"),
        ("B", "run", "shoe_size", "why", "has no criterion 'shoe_size'"),
        ("B", "run", None, "   ", "must not be empty"),
        ("B", "run", None, "x" * 4001, "at most 4,000"),
    ],
)
def test_bad_appeals_are_refused_with_the_reason(engine, program, recorded, worker, run, criterion, text, reason):
    with session_scope(engine, write=True) as session, pytest.raises(AppealRefused, match=reason):
        file_appeal(
            session,
            program=program,
            worker_id=worker,
            run_id=recorded if run else 999,
            criterion=criterion,
            text=text,
        )


def test_one_open_appeal_per_decision(engine, program, recorded):
    with session_scope(engine, write=True) as session:
        file_appeal(session, program=program, worker_id="B", run_id=recorded, text="first")
        with pytest.raises(AppealRefused, match="still open"):
            file_appeal(session, program=program, worker_id="B", run_id=recorded, text="second")
        file_appeal(session, program=program, worker_id="B", run_id=recorded, criterion="profile", text="other")


def test_the_appeal_flow_through_the_web(admin_site):  # noqa: F811
    """A signed-in worker appeals from the dashboard, the admin answers in the queue, the worker reads it."""
    from fastapi.testclient import TestClient

    from tests.test_web import sign_in
    from tests.test_web_admin import admin_sign_in, csrf_of

    client, engine, _key = admin_site
    worker = TestClient(client.app, base_url="https://testserver")
    sign_in(worker, "A")
    page = worker.get("/dashboard").text
    run_id = page.split('<select name="run_id"><option value="')[1].split('"')[0]
    sent = worker.post(
        "/dashboard/appeals",
        data={"csrf": csrf_of(page), "run_id": run_id, "criterion": "scouts", "text": "My scouts were miscounted."},
        follow_redirects=False,
    )
    assert (sent.status_code, sent.headers["location"]) == (303, "/dashboard#appeals")
    empty = worker.post("/dashboard/appeals", data={"csrf": csrf_of(page), "run_id": run_id, "text": " "})
    assert empty.status_code == 400 and "異議申し立ての内容を書いてください" in empty.text
    forged = worker.post("/dashboard/appeals", data={"csrf": "x", "run_id": run_id, "text": "again"})
    assert forged.status_code == 403
    assert "回答待ち" in worker.get("/dashboard").text

    assert admin_sign_in(client).status_code == 303
    queue = client.get("/admin/appeals").text
    assert "My scouts were miscounted." in queue and "経過 0 時間" in queue
    appeal_id = queue.split('data-appeal="')[1].split('"')[0]
    answered = client.post(
        f"/admin/appeals/{appeal_id}/answer",
        data={"csrf": csrf_of(queue), "answer": "Checked: 10 direct scouts counted, all of them yours."},
        follow_redirects=False,
    )
    assert answered.status_code == 303
    assert "Checked: 10 direct scouts counted" in worker.get("/dashboard").text
    with session_scope(engine) as session:
        kinds = session.scalars(select(Notification.kind).where(Notification.worker_id == "A")).all()
    assert "appeal_answered" in kinds
    assert worker.post(
        f"/admin/appeals/{appeal_id}/answer", data={"answer": "x"}, follow_redirects=False
    ).status_code in (
        303,
        401,
        403,
    )
