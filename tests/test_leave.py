"""Declared leave, at its boundaries: how windows are lengthened (hand-computed), what an evaluation counts with
them on every metric family, the program's rules for declaring (notice, days a year, overlaps), the protection
during leave in recorded runs on SQLite and PostgreSQL, the audit trail, the mail, the verdict, the web and the CLI.

Dates are local (Asia/Tokyo). A window of 12 months ending at D = 2025-01-01 starts on 2024-01-01 (366 days: 2024
is a leap year); a leave of n days before D moves its start n days earlier, and again for leave days that the
move reaches.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from procert.evaluation import evaluate, evaluate_worker, explain, facts_behind, worker_period
from procert.facts import import_export
from procert.ledger import (
    AuditEntry,
    LeaveRefused,
    Notification,
    RunResult,
    Transition,
    away_by_worker,
    cancel_leave,
    declare_leave,
    list_leaves,
    record_run,
    session_scope,
    worker_view,
)
from procert.metrics import Period, merge_away
from procert.metrics.period import lengthened_start
from procert.notify.render import render
from procert.programs import load_program
from tests.conftest import Export
from tests.test_ledger import pro
from tests.test_metrics_v2 import program_of
from tests.test_web import site  # noqa: F401  (the fixture admin_site builds on)
from tests.test_web_admin import admin_site  # noqa: F401

D = date(2025, 1, 1)
D2, D3 = date(2025, 4, 1), date(2025, 7, 1)
PROGRAM = load_program("crowdworks-pro")
TODAY = date(2024, 12, 1)


def days(first: str, last: str) -> tuple[date, date]:
    return (date.fromisoformat(first), date.fromisoformat(last))


# ---- windows ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        ([], "2024-01-01"),
        ([days("2024-05-01", "2024-05-10")], "2023-12-22"),  # 10 days inside the window
        ([days("2025-01-01", "2025-01-10")], "2024-01-01"),  # starts exactly at D: no day before D
        ([days("2024-12-22", "2025-01-01")], "2023-12-22"),  # ends exactly at D: its 10 days before D count
        ([days("2024-12-31", "2024-12-31")], "2023-12-31"),  # the last day of the window
        # Overlapping the window's start: 2024-01-01..05 (5 days) inside; the 5 extra days land in 2023-12-27..31,
        # themselves leave, so the start moves past the whole leave (2023-12-20..) and 5 days further.
        ([days("2023-12-20", "2024-01-05")], "2023-12-15"),
        ([days("2024-03-01", "2024-03-10"), days("2024-08-01", "2024-08-05")], "2023-12-17"),  # two leaves: 15
        ([days("2022-01-01", "2022-12-31")], "2024-01-01"),  # long before the window: nothing
    ],
)
def test_a_window_is_lengthened_by_the_leave_days_it_overlaps(spans, expected):
    assert lengthened_start(date(2024, 1, 1), D, merge_away(spans)) == date.fromisoformat(expected)
    period = Period(D, "Asia/Tokyo").with_away(spans)
    assert period.start_day(12) == date.fromisoformat(expected)
    # However long the leave, the window holds exactly the days the program states, not counting leave days.
    start = period.start_day(12)
    active = sum(
        1 for i in range((D - start).days) if not any(a <= start + timedelta(days=i) <= b for a, b in period.away)
    )
    assert active == 366


def test_day_windows_and_month_windows_are_lengthened_too():
    period = Period(D, "Asia/Tokyo").with_away([days("2024-12-20", "2024-12-25")])  # 6 days
    assert period.days_back(30) == date(2024, 11, 26)  # 30 days before D is 2024-12-02; 6 more
    # A month window's first month is the one its lengthened start falls in: 2024-01 without leave.
    assert Period(D, "Asia/Tokyo").start_month(12) == 2024 * 12
    away = Period(D, "Asia/Tokyo").with_away([days("2024-06-01", "2024-06-10")])
    assert away.start_month(12) == 2023 * 12 + 11  # 2023-12-22: December 2023 joins the window


def test_spans_are_merged_and_must_run_forward():
    assert merge_away([days("2024-05-05", "2024-05-10"), days("2024-05-01", "2024-05-04")]) == (
        days("2024-05-01", "2024-05-10"),
    )
    assert merge_away([days("2024-05-01", "2024-05-10"), days("2024-05-03", "2024-05-04")]) == (
        days("2024-05-01", "2024-05-10"),
    )
    with pytest.raises(ValueError, match="cannot end"):
        merge_away([days("2024-05-10", "2024-05-01")])


# ---- what an evaluation counts ---------------------------------------------------------------------------------

LEAVE = [days("2024-05-01", "2024-05-10")]  # lengthens a 12-month window ending at D to start on 2023-12-22


@pytest.fixture
def away_store(store, tmp_path: Path):
    exp = Export()
    for wid, first_scout in (("IN", "2023-12-22T00:00:00+09:00"), ("OUT", "2023-12-21T23:59:59+09:00")):
        exp.worker(wid, division="writer")
        exp.scout(wid, first_scout)  # counted only in the lengthened window, and only from its first instant
        for month in ("02", "04", "06", "08"):
            exp.scout(wid, f"2024-{month}-15T00:00:00+09:00")
    # Monthly ranks: RANKED earned only in December 2023, which only a lengthened window reaches.
    exp.worker("RANKED", division="writer")
    exp.payment("RANKED", "2023-12-15T12:00:00+09:00", 50_000)
    # A division for shares of the ranking: three others over the program's window, one away worker whose only
    # payment (in December 2023) counts over their lengthened window.
    for wid, amount in (("E1", 300_000), ("E2", 200_000), ("E3", 100_000)):
        exp.worker(wid, division="engineer")
        exp.payment(wid, "2024-03-15T12:00:00+09:00", amount)
    exp.worker("E-AWAY", division="engineer")
    exp.payment("E-AWAY", "2023-12-28T12:00:00+09:00", 250_000)
    import_export(store, exp.write(tmp_path / "export"), timezone="Asia/Tokyo")
    return store


def test_leave_lets_facts_count_that_the_program_window_would_age_out(away_store):
    away = {w: LEAVE for w in ("IN", "OUT", "RANKED")}
    plain = {r["worker_id"]: r for r in evaluate(away_store, PROGRAM, D).rows()}
    lengthened = {r["worker_id"]: r for r in evaluate(away_store, PROGRAM, D, away=away).rows()}
    assert (plain["IN"]["scouts"], plain["OUT"]["scouts"]) == (4, 4)
    assert (lengthened["IN"]["scouts"], lengthened["OUT"]["scouts"]) == (5, 4)  # 00:00 in, a second before out
    assert lengthened["IN"]["scouts_passed"] is True and plain["IN"]["scouts_passed"] is False
    assert plain["RANKED"]["earnings_rank"] is None and lengthened["RANKED"]["earnings_rank"] == 1
    # Everyone else is untouched, and the single-worker form agrees with the full one.
    assert {w: r for w, r in lengthened.items() if w not in away} == {w: r for w, r in plain.items() if w not in away}
    for worker_id in away:
        assert evaluate_worker(away_store, PROGRAM, D, worker_id, away=LEAVE) == lengthened[worker_id]


def test_a_rank_share_compares_the_away_worker_with_the_others_over_the_program_window(away_store):
    share = program_of(
        {
            "id": "top",
            "metric": "earnings_share_rank",
            "params": {"window_months": 12},
            "comparison": "<=",
            "threshold": "0.5",
        }
    )
    plain = {r["worker_id"]: r for r in evaluate(away_store, share, D).rows()}
    away = {r["worker_id"]: r for r in evaluate(away_store, share, D, away={"E-AWAY": LEAVE}).rows()}
    assert plain["E-AWAY"]["top__num"] is None  # nothing in the program's window
    # 250,000 over the lengthened window against 300,000 / 200,000 / 100,000: rank 2 of 4, exactly the threshold.
    assert (away["E-AWAY"]["top__num"], away["E-AWAY"]["top__den"], away["E-AWAY"]["top_passed"]) == (2, 4, True)
    # The others' ranks are those of the program's window: the away worker does not push them down.
    assert [plain[w]["top__num"] for w in ("E1", "E2", "E3")] == [1, 2, 3]
    assert [away[w]["top__num"] for w in ("E1", "E2", "E3")] == [1, 2, 3]
    # Mid-month, the totals come from the payments rather than the monthly totals: the same answer.
    mid = date(2025, 1, 15)
    lengthened = evaluate(away_store, share, mid, away={"E-AWAY": [days("2024-05-01", "2024-05-25")]}).rows()
    assert [(r["top__num"], r["top__den"]) for r in lengthened if r["worker_id"] == "E-AWAY"] == [(2, 4)]


def test_a_leave_starting_at_d_changes_no_window(away_store):
    starting = {"IN": [days("2025-01-01", "2025-01-20")]}
    assert evaluate(away_store, PROGRAM, D, away=starting).rows() == evaluate(away_store, PROGRAM, D).rows()
    assert worker_period(PROGRAM, Period(D, "Asia/Tokyo"), starting["IN"]).away == ()


def test_the_explanation_and_the_facts_use_the_lengthened_window(away_store):
    explained = explain(away_store, PROGRAM, D, "IN", "en", away=LEAVE)
    scouts = next(c for c in explained.criteria if c.id == "scouts")
    assert scouts.passed is True and "2023-12-22" in (scouts.window_text or "")
    period = worker_period(PROGRAM, Period(D, "Asia/Tokyo"), LEAVE)
    traced = next(f for f in facts_behind(away_store, PROGRAM, period, "IN", "en") if f.id == "scouts")
    assert traced.value == 5 and sum(r.counted for r in traced.rows) == 5


# ---- the rules for declaring -----------------------------------------------------------------------------------


def declare(session, first: str, last: str, *, by_worker: bool = True, worker: str = "A", **kwargs):
    return declare_leave(
        session,
        program=PROGRAM,
        worker_id=worker,
        starts_on=date.fromisoformat(first),
        ends_on=date.fromisoformat(last),
        category=kwargs.pop("category", "holiday"),
        actor=f"worker:{worker}" if by_worker else "admin:alice",
        by_worker=by_worker,
        today=kwargs.pop("today", TODAY),
        **kwargs,
    )


def test_the_program_rules_for_declaring_leave(engine):
    with session_scope(engine, write=True) as session:
        # Notice: 7 days. 2024-12-08 is the earliest a worker may start on 2024-12-01; an admin may backdate.
        with pytest.raises(LeaveRefused, match="7 days ahead: the earliest start is 2024-12-08"):
            declare(session, "2024-12-07", "2024-12-10")
        declare(session, "2024-12-08", "2024-12-10")
        declare(session, "2024-11-20", "2024-11-25", by_worker=False, category="illness")
        # Days a year: 90 in 2025, all leaves counted (a leave across new year counts in each year).
        declare(session, "2024-12-30", "2025-01-31")  # 2 days of 2024 and 31 of 2025
        declare(session, "2025-03-01", "2025-04-28")  # 59 more: 90 in 2025
        with pytest.raises(LeaveRefused, match=r"2025 would hold 91 leave days \(90 already declared, 1 in this one\)"):
            declare(session, "2025-06-01", "2025-06-01")
        with pytest.raises(LeaveRefused, match="overlaps leave #"):
            declare(session, "2024-12-10", "2024-12-12", worker="A")
        with pytest.raises(LeaveRefused, match="before it starts"):
            declare(session, "2025-08-02", "2025-08-01", worker="B")
        with pytest.raises(LeaveRefused, match="unknown leave category 'sabbatical'"):
            declare(session, "2025-08-01", "2025-08-02", worker="B", category="sabbatical")
        with pytest.raises(LeaveRefused, match="at most 90 a year"):
            declare(session, "2025-01-01", "2025-04-01", worker="B")  # 91 days in one leave
        declare(session, "2026-01-01", "2026-03-31", worker="B")  # exactly 90 in one leave
        with pytest.raises(LeaveRefused, match="does not take declared leave"):
            declare_leave(
                session,
                program=load_program("lancers-certified"),
                worker_id="A",
                starts_on=date(2025, 1, 1),
                ends_on=date(2025, 1, 2),
                category="holiday",
                actor="worker:A",
                by_worker=True,
                today=TODAY,
            )
    with session_scope(engine) as session:
        assert [
            (x.worker_id, x.starts_on.isoformat(), x.declared_by) for x in list_leaves(session, program_id=PROGRAM.id)
        ] == [
            ("A", "2024-11-20", "admin:alice"),
            ("A", "2024-12-08", "worker:A"),
            ("A", "2024-12-30", "worker:A"),
            ("A", "2025-03-01", "worker:A"),
            ("B", "2026-01-01", "worker:B"),
        ]
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action.like("leave.%"))).all()
        assert [(e.action, e.actor, e.details["days"]) for e in entries][:2] == [
            ("leave.declared", "worker:A", 3),
            ("leave.declared", "admin:alice", 6),
        ]
        assert len(entries) == 5


def test_cancelling_before_it_begins_and_cutting_short_after(engine):
    with session_scope(engine, write=True) as session:
        ahead = declare(session, "2024-12-10", "2024-12-20")
        begun = declare(session, "2024-11-25", "2024-12-05", by_worker=False)
        with pytest.raises(LeaveRefused, match="only the operator can end it early"):
            cancel_leave(session, program=PROGRAM, leave_id=begun.id, actor="worker:A", today=TODAY, worker_id="A")
        with pytest.raises(Exception, match="no leave"):
            cancel_leave(session, program=PROGRAM, leave_id=ahead.id, actor="worker:B", today=TODAY, worker_id="B")
        cancel_leave(session, program=PROGRAM, leave_id=ahead.id, actor="worker:A", today=TODAY, worker_id="A")
        cut = cancel_leave(session, program=PROGRAM, leave_id=begun.id, actor="admin:alice", today=TODAY)
        assert (cut.cancelled_at, cut.ends_on) == (None, date(2024, 11, 30))  # ends yesterday
        with pytest.raises(LeaveRefused, match="cancelled already"):
            cancel_leave(session, program=PROGRAM, leave_id=ahead.id, actor="worker:A", today=TODAY)
    with session_scope(engine) as session:
        assert away_by_worker(session, program_id=PROGRAM.id, through=D) == {"A": (days("2024-11-25", "2024-11-30"),)}
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("leave.%"))).all()
        assert actions == ["leave.declared", "leave.declared", "leave.cancelled", "leave.cut_short"]


# ---- protection in recorded runs -------------------------------------------------------------------------------


def fading_pro(exp: Export, wid: str) -> None:
    """Certified at D; every direct scout leaves the window on 2025-02-15, so D2 fails on scouts (even with a few
    weeks of leave lengthening the window)."""
    pro(exp, wid)
    exp.rows["scouts"] = [s for s in exp.rows["scouts"] if s["worker_id"] != wid]
    for _ in range(5):
        exp.scout(wid, "2024-02-15T00:00:00+09:00")


@pytest.mark.parametrize(
    ("first", "last", "kept"),
    [
        ("2025-03-25", "2025-04-05", True),  # D2 inside the leave
        ("2025-04-01", "2025-04-10", True),  # the leave starts exactly on D2
        ("2025-03-20", "2025-04-01", True),  # the leave ends exactly on D2
        ("2025-03-20", "2025-03-31", False),  # ended the day before D2: the criteria decide
    ],
)
def test_a_pro_on_leave_on_the_run_date_keeps_the_status(engine, store, tmp_path, first, last, kept):
    exp = Export()
    fading_pro(exp, "AWAY")
    import_export(store, exp.write(tmp_path / "e"), timezone="Asia/Tokyo")
    with session_scope(engine, write=True) as session:
        record_run(session, store=store, program=PROGRAM, as_of=D, actor="test")
        declare(session, first, last, worker="AWAY", by_worker=False)
        record_run(session, store=store, program=PROGRAM, as_of=D2, actor="test")
    with session_scope(engine) as session:
        moves = [(t.as_of, t.kind, t.reason) for t in session.scalars(select(Transition).order_by(Transition.id))]
        result = session.scalars(select(RunResult).order_by(RunResult.run_id.desc())).first()
        assert result is not None
        if kept:
            assert moves == [(D, "granted", "criteria"), (D2, "kept", "leave")]
            assert result.certified and not result.evaluated and result.values["scouts"] == 0
            assert result.leave is not None and result.leave["on_leave"] is True
            mail = session.scalars(select(Notification).where(Notification.kind == "kept")).one()
            assert mail.payload["reason"] == "leave"
            assert "休業期間中のため" in render(mail.payload, "ja").text
            assert "fell in your declared leave" in render(mail.payload, "en").text
        else:
            assert moves == [(D, "granted", "criteria"), (D2, "lost", "criteria")]
            assert result.leave == {"on_leave": False, "lengthened": True, "spans": [[first, last]]}


def test_after_leave_the_criteria_decide_again_on_lengthened_windows(engine, store, tmp_path):
    exp = Export()
    fading_pro(exp, "AWAY")
    # SAVED: the same, but one more scout on 2024-06-20: in a window ending at D3 (2024-07-01 on) only when the
    # window is lengthened by at least 11 days; the leave (12 days before D3) does that.
    fading_pro(exp, "SAVED")
    exp.rows["scouts"] = [s for s in exp.rows["scouts"] if s["worker_id"] != "SAVED"]
    for when in ("2024-06-20", "2024-07-05", "2024-08-05", "2024-09-05", "2024-10-05"):
        exp.scout("SAVED", f"{when}T00:00:00+09:00")
    import_export(store, exp.write(tmp_path / "e"), timezone="Asia/Tokyo")
    with session_scope(engine, write=True) as session:
        record_run(session, store=store, program=PROGRAM, as_of=D, actor="test")
        for wid in ("AWAY", "SAVED"):
            declare(session, "2025-03-25", "2025-04-05", worker=wid, by_worker=False)
        record_run(session, store=store, program=PROGRAM, as_of=D2, actor="test")
        record_run(session, store=store, program=PROGRAM, as_of=D3, actor="test")
    with session_scope(engine) as session:
        moves = {
            (t.worker_id, t.as_of): (t.kind, t.reason)
            for t in session.scalars(select(Transition).order_by(Transition.id))
        }
    assert moves[("AWAY", D2)] == ("kept", "leave") and moves[("AWAY", D3)] == ("lost", "criteria")
    assert moves[("SAVED", D3)] == ("kept", "criteria")  # the scout of 2024-06-20 counted thanks to the leave


def test_the_verdict_tells_a_pro_whose_next_date_falls_in_leave(engine, store, tmp_path):
    exp = Export()
    fading_pro(exp, "AWAY")
    import_export(store, exp.write(tmp_path / "e"), timezone="Asia/Tokyo")
    with session_scope(engine, write=True) as session:
        record_run(session, store=store, program=PROGRAM, as_of=D, actor="test")
        before = worker_view(session, store=store, program=PROGRAM, worker_id="AWAY", today=date(2025, 2, 20))
        declare(session, "2025-03-25", "2025-04-05", worker="AWAY", today=date(2025, 2, 20))
        after = worker_view(session, store=store, program=PROGRAM, worker_id="AWAY", today=date(2025, 2, 20))
    assert before.kind == "pro_at_risk"
    assert after.kind == "pro_on_leave" and after.forecast.passed is False  # the criteria still fail: honest
    assert after.headline("ja").startswith("2025-03-25〜2025-04-05 の休業を申請済みです。")
    assert "falls in your declared leave" in after.headline("en")


# ---- the web and the command line ------------------------------------------------------------------------------


def test_leave_through_the_dashboard_and_the_console(admin_site):  # noqa: F811
    """A worker declares leave on the dashboard (within the notice), sees it and cancels it; an admin declares one
    without notice in the console; nothing is written without a session and a CSRF token."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from fastapi.testclient import TestClient

    from tests.test_web import sign_in
    from tests.test_web_admin import admin_sign_in, csrf_of

    client, engine, _key = admin_site
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    anonymous = TestClient(client.app, base_url="https://testserver")
    assert anonymous.post("/dashboard/leave", data={"starts_on": "2030-01-01"}).status_code == 401
    worker = TestClient(client.app, base_url="https://testserver")
    sign_in(worker, "A")
    page = worker.get("/dashboard").text
    assert 'id="leave-form"' in page and "年に 90 日まで" in page
    form = {"csrf": csrf_of(page), "category": "childcare", "note": "育休"}
    early = worker.post(
        "/dashboard/leave",
        data={**form, "starts_on": str(today + timedelta(days=6)), "ends_on": str(today + timedelta(days=9))},
    )
    # The refusal in the worker's language: Japanese, or English for a browser that asks for it.
    assert early.status_code == 400 and "休止は 7 日前までに届け出てください" in early.text
    in_english = worker.post(
        "/dashboard/leave",
        data={**form, "starts_on": str(today + timedelta(days=6)), "ends_on": str(today + timedelta(days=9))},
        headers={"Accept-Language": "en"},
    )
    assert in_english.status_code == 400 and "7 days ahead" in in_english.text
    bad = worker.post("/dashboard/leave", data={**form, "starts_on": "2030-13-01", "ends_on": "2030-12-31"})
    assert bad.status_code == 400 and "最初の日（2030-13-01）が YYYY-MM-DD 形式の日付ではありません" in bad.text
    forged = worker.post(
        "/dashboard/leave", data={**form, "csrf": "x", "starts_on": "2030-01-01", "ends_on": "2030-01-02"}
    )
    assert forged.status_code == 403
    first, last = today + timedelta(days=7), today + timedelta(days=20)
    sent = worker.post(
        "/dashboard/leave", data={**form, "starts_on": str(first), "ends_on": str(last)}, follow_redirects=False
    )
    assert (sent.status_code, sent.headers["location"]) == (303, "/dashboard#leave")
    page = worker.get("/dashboard").text
    assert f"{first} の休業を申請済みです" not in page  # the headline says first〜last
    assert f"{first}〜{last} の休業を申請済みです。" in page and "育児・介護" in page and "予定" in page
    status = worker.get("/api/v1/workers/A/status").json()
    assert [(x["starts_on"], x["days"], x["state"], x["can_cancel"]) for x in status["leaves"]] == [
        (str(first), 14, "ahead", True)
    ]
    leave_id = status["leaves"][0]["id"]
    assert worker.get("/api/v1/workers/B/status").status_code == 403  # another worker's leave stays private
    cancelled = worker.post(f"/dashboard/leave/{leave_id}/cancel", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert cancelled.status_code == 303
    assert worker.get("/api/v1/workers/A/status").json()["leaves"] == []

    assert admin_sign_in(client).status_code == 303
    console = client.get("/admin/leave").text
    declared = client.post(
        "/admin/leave",
        data={
            "csrf": csrf_of(console),
            "worker_id": "B",
            "starts_on": str(today - timedelta(days=3)),
            "ends_on": str(today + timedelta(days=3)),
            "category": "illness",
        },
        follow_redirects=False,
    )
    assert declared.status_code == 303
    console = client.get("/admin/leave").text
    assert "病気・けが" in console and "休業中" in console and "今日で終了する" in console
    unknown = client.post(
        "/admin/leave",
        data={
            "csrf": csrf_of(console),
            "worker_id": "NOPE",
            "starts_on": str(today),
            "ends_on": str(today),
            "category": "other",
        },
    )
    assert unknown.status_code == 404
    with session_scope(engine) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action.like("leave.%")).order_by(AuditEntry.id))
        assert [(e.action, e.actor, e.subject) for e in entries] == [
            ("leave.declared", "worker:A", "worker:A"),
            ("leave.cancelled", "worker:A", "worker:A"),
            ("leave.declared", "admin:alice", "worker:B"),
        ]


def test_leave_from_the_command_line(tmp_path: Path, monkeypatch):
    from typer.testing import CliRunner

    from procert.cli.main import app

    monkeypatch.setenv("PROCERT_HOME", str(tmp_path / "home"))
    exp = Export()
    pro(exp, "A")
    runner = CliRunner()
    assert runner.invoke(app, ["import", str(exp.write(tmp_path / "export"))]).exit_code == 0
    declared = runner.invoke(
        app,
        [
            "leave",
            "declare",
            "A",
            "--from",
            "2020-01-06",
            "--to",
            "2020-01-10",
            "--category",
            "illness",
            "--actor",
            "ops",
        ],
    )
    assert declared.exit_code == 0, declared.output
    assert "休止 #1: A は crowdworks-pro で 2020-01-06 から 2020-01-10 まで休止します" in declared.output
    listed = runner.invoke(app, ["leave", "list"])
    assert (
        listed.exit_code == 0 and "病気・けが" in listed.output and "開始日" in listed.output and "ops" in listed.output
    )
    again = runner.invoke(
        app, ["leave", "declare", "A", "--from", "2020-01-08", "--to", "2020-01-09", "--category", "other"]
    )
    assert again.exit_code == 1 and "休止 #1（2020-01-06 から 2020-01-10 まで）と重なっています" in again.output
    nobody = runner.invoke(
        app, ["leave", "declare", "ZZ", "--from", "2020-01-08", "--to", "2020-01-09", "--category", "other"]
    )
    assert nobody.exit_code == 1 and "ワーカー 'ZZ' はいません" in nobody.output
    bad = runner.invoke(
        app, ["leave", "declare", "A", "--from", "2020-02-30", "--to", "2020-03-01", "--category", "other"]
    )
    assert bad.exit_code == 2 and "--from" in bad.output
    # Outside a run too, `explain` takes the leave into account: the windows name the lengthened start.
    explained = runner.invoke(app, ["explain", "A", "--as-of", "2021-01-01", "--format", "json", "--lang", "en"])
    assert explained.exit_code == 0, explained.output
    assert "2019-12-27" in explained.output  # 2020-01-01 minus the 5 days away
    assert runner.invoke(app, ["leave", "cancel", "1"]).exit_code == 1  # it began long ago and has ended


# ---- the worker hears of what an admin did ----------------------------------------------------------------------


def test_leave_an_admin_records_is_mailed_to_the_worker_and_their_own_is_not(engine):
    """An admin's declaration, cancellation and cut queue one mail each (the worker's address and language from
    the facts), in Japanese or English, saying the dates, the category in words, what it means and what to do;
    what the worker does on the dashboard queues nothing."""
    from procert.facts import WorkerFacts

    people = {
        "A": WorkerFacts("A", "青木 一郎", "writer", "active", "a@example.jp", "ja", "", ""),
        "B": WorkerFacts("B", "Ben Smith", "writer", "active", "b@example.com", "en", "", ""),
    }
    with session_scope(engine, write=True) as session:
        own = declare(session, "2024-12-10", "2024-12-20", contact_of=people.get)  # the worker's own: no mail
        cancel_leave(
            session,
            program=PROGRAM,
            leave_id=own.id,
            actor="worker:A",
            today=TODAY,
            worker_id="A",
            contact_of=people.get,
        )
        ill = declare(session, "2024-11-25", "2024-12-05", by_worker=False, category="illness", contact_of=people.get)
        later = declare(session, "2025-02-01", "2025-02-10", by_worker=False, worker="B", contact_of=people.get)
        cancel_leave(
            session, program=PROGRAM, leave_id=ill.id, actor="admin:alice", today=TODAY, contact_of=people.get
        )  # begun: cut to end yesterday
        cancel_leave(
            session, program=PROGRAM, leave_id=later.id, actor="admin:alice", today=TODAY, contact_of=people.get
        )  # not begun: cancelled
        nobody = declare(session, "2025-03-01", "2025-03-02", by_worker=False, worker="C", contact_of=people.get)
    with session_scope(engine) as session:
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
        sent = [(r.worker_id, r.payload["stage"], r.email, r.locale, r.status) for r in rows]
        assert sent == [
            ("A", "declared", "a@example.jp", "ja", "pending"),
            ("B", "declared", "b@example.com", "en", "pending"),
            ("A", "cut_short", "a@example.jp", "ja", "pending"),
            ("B", "cancelled", "b@example.com", "en", "pending"),
            ("C", "declared", None, "ja", "skipped"),  # no address in the facts: recorded, not sent
        ]
        assert all(r.kind == "leave_recorded" for r in rows)
        assert rows[-1].payload["leave_id"] == nobody.id
        declared_ja = render(rows[0].payload, "ja")
        assert declared_ja.subject == f"【{PROGRAM.name.ja}】運営が 2024-11-25〜2024-12-05 の休止を登録しました"
        assert "青木 一郎 様" in declared_ja.text and "病気・けが" in declared_ja.text
        assert "認定(とレベル)を失うことはありません" in declared_ja.text and "/dashboard/A" in declared_ja.text
        assert "運営にお問い合わせください" in declared_ja.html
        cut_ja = render(rows[2].payload, "ja")
        assert cut_ja.subject == f"【{PROGRAM.name.ja}】休止を 2024-11-30 までに短縮しました"  # ends yesterday
        cancelled_en = render(rows[3].payload, "en")
        assert (
            cancelled_en.subject == f"[{PROGRAM.name.en}] The operator cancelled your leave of 2025-02-01 to 2025-02-10"
        )
        assert "Dear Ben Smith," in cancelled_en.text and "usual windows" in cancelled_en.text
        assert "(Holiday, 2025-02-01 to 2025-02-10)" in cancelled_en.text
