"""One verdict from three clocks: the headline rule as a full table, and the worker view on real facts and
ledgers (SQLite and PostgreSQL): a pro on track, a pro whose live facts now fail, a worker who never was certified
but passes today, a lost worker told why and that they pass again, and unknown workers refused."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import pytest

from procert.evaluation import WorkerNotFound
from procert.facts import import_export
from procert.ledger import StatusReader, headline_kind, record_run, session_scope, set_override, worker_view
from tests.conftest import Export
from tests.test_ledger import pro

D1, D2 = date(2025, 1, 1), date(2025, 4, 1)


def expected_kind(official: bool, live: bool, forecast: bool, lock: bool | None) -> str:
    """The rule in words: a lock decides; a pro is on track when the next date keeps them, at risk otherwise
    (told whether today's facts still pass); anyone else is told they will be certified, that they pass today
    but not next time, or how many criteria remain."""
    if lock is not None:
        return "locked_in" if lock else "locked_out"
    if official:
        return "pro_on_track" if forecast else ("pro_window_risk" if live else "pro_at_risk")
    if forecast:
        return "will_be_certified"
    return "meets_today_not_next" if live else "to_go"


@pytest.mark.parametrize(
    ("official", "live", "forecast", "lock"),
    list(itertools.product([True, False], [True, False], [True, False], [None, True, False])),
)
def test_the_headline_rule_for_every_combination(official, live, forecast, lock):
    got = headline_kind(official=official, live=live, forecast=forecast, lock=lock)
    assert got == expected_kind(official, live, forecast, lock)


def record(engine, store, program, as_of: date) -> None:
    with session_scope(engine, write=True) as session:
        record_run(session, store=store, program=program, as_of=as_of, actor="test")


def view(engine, store, program, worker_id: str, today: date):
    with session_scope(engine) as session:
        return worker_view(session, store=store, program=program, worker_id=worker_id, today=today)


def test_three_clocks_and_one_headline(engine, store, program, tmp_path: Path):
    exp = Export()
    pro(exp, "ON_TRACK")
    pro(exp, "SLIPPING")
    import_export(store, exp.write(tmp_path / "1"), timezone="Asia/Tokyo")
    record(engine, store, program, D1)
    exp.review("SLIPPING", 1)  # after the run: the lifetime ratings fall to (25 + 5) / 10 = 3.0
    pro(exp, "NEWCOMER")  # not in the run at all, passes today
    import_export(store, exp.write(tmp_path / "2"), timezone="Asia/Tokyo")
    today = date(2025, 2, 15)

    on_track = view(engine, store, program, "ON_TRACK", today)
    assert (on_track.official.as_of, on_track.official.passed) == (D1, True)
    assert (on_track.live.as_of, on_track.live.passed) == (today, True)
    assert (on_track.forecast.as_of, on_track.forecast.passed) == (D2, True)
    assert on_track.kind == "pro_on_track"
    assert on_track.headline("ja") == (
        "2025-01-01 から認定中です。このままなら次回 2025-04-01 の判定でも継続の見込みです。"
    )

    slipping = view(engine, store, program, "SLIPPING", today)
    assert slipping.official.passed and not slipping.live.passed and not slipping.forecast.passed
    assert slipping.live.failing == ["overall_rating", "communication_rating"]
    assert slipping.kind == "pro_at_risk"
    assert "総合評価(累計)、コミュニケーション評価(累計)" in slipping.headline("ja")

    newcomer = view(engine, store, program, "NEWCOMER", today)
    assert (newcomer.official.as_of, newcomer.official.passed) == (D1, False)
    assert newcomer.kind == "will_be_certified"
    assert (
        newcomer.headline("en") == "You meet every criterion today; if this holds you will be certified on 2025-04-01."
    )

    with pytest.raises(WorkerNotFound):
        view(engine, store, program, "W9999999", today)


def test_a_lost_worker_is_told_when_and_why_and_that_they_pass_again(engine, store, program, tmp_path: Path):
    exp = Export()
    pro(exp, "BACK")
    import_export(store, exp.write(tmp_path / "1"), timezone="Asia/Tokyo")
    record(engine, store, program, D1)
    # A profile emptied before the next run loses the status; filled in again afterwards.
    emptied = Export()
    emptied.worker("BACK", profile_text="", email="back@example.jp", locale="ja")
    import_export(store, emptied.write(tmp_path / "2", tables=("workers",)), timezone="Asia/Tokyo")
    record(engine, store, program, D2)
    filled = Export()
    filled.worker("BACK", profile_text="filled in again", email="back@example.jp", locale="ja")
    import_export(store, filled.write(tmp_path / "3", tables=("workers",)), timezone="Asia/Tokyo")
    back = view(engine, store, program, "BACK", date(2025, 4, 20))
    assert back.loss is not None and back.loss.as_of == D2 and back.loss.failed == ["profile"]
    # The server passes the history it read with the status: the same loss is found in it.
    reader = StatusReader(engine, program_id=program.id, today=lambda: date(2025, 4, 20))
    _status, history = reader.read("BACK")
    with session_scope(engine) as session:
        given = worker_view(
            session, store=store, program=program, worker_id="BACK", today=date(2025, 4, 20), history=history
        )
    assert given.loss == back.loss and given.headline("en") == back.headline("en")
    assert back.kind == "will_be_certified"
    assert back.headline("en") == (
        "You lost the status on 2025-04-01 because Profile and self-PR filled in was no against filled in. "
        "You meet every criterion today; if this holds you will be certified on 2025-07-01."
    )


def test_an_override_decides_the_headline(engine, store, program, tmp_path: Path):
    exp = Export()
    exp.worker("LOCKED")
    import_export(store, exp.write(tmp_path / "1"), timezone="Asia/Tokyo")
    record(engine, store, program, D1)
    with session_scope(engine, write=True) as session:
        set_override(
            session, program_id=program.id, worker_id="LOCKED", certified=True, reason="partner", actor="admin"
        )
    locked = view(engine, store, program, "LOCKED", date(2025, 2, 1))
    assert locked.official.passed and not locked.live.passed
    assert locked.kind == "locked_in"
    assert locked.headline("ja") == "運営の判断により認定されています(理由: partner)。自動判定では変わりません。"


def test_the_status_api_and_the_dashboard_tell_the_same_verdict(tmp_path: Path, engine):
    """Through the web: the three clocks labelled with their dates, the headline the dashboard shows, every
    evaluated run; unknown workers are a 404."""
    from fastapi.testclient import TestClient

    from procert.ledger import NotifyOptions
    from procert.programs import load_program
    from tests.test_web import SECRET, sign_in
    from tests.web_support import web_app

    program = load_program("crowdworks-pro")
    exp = Export()
    pro(exp, "A")
    exp.worker("C")
    from procert.facts import FactStore

    with FactStore(tmp_path / "facts.duckdb") as store:
        import_export(store, exp.write(tmp_path / "e"), timezone=program.timezone)
        with session_scope(engine, write=True) as session:
            record_run(session, store=store, program=program, as_of=D1, actor="t", notify=NotifyOptions(enabled=False))
    app = web_app(
        program=program, engine=engine, facts_path=tmp_path / "facts.duckdb", secret=SECRET, ledger_refresh_seconds=0
    )
    with TestClient(app, base_url="https://testserver") as client:
        sign_in(client, "A")
        status = client.get("/api/v1/workers/A/status").json()
        verdict = status["verdict"]
        # A's facts end in 2025: certified by the run of 2025-01-01, failing today and at the next date.
        assert verdict["official"] == {"as_of": "2025-01-01", "passed": True, "failing": [], "level": None}
        assert verdict["live"]["passed"] is False and verdict["forecast"]["passed"] is False
        assert verdict["live"]["as_of"] < verdict["forecast"]["as_of"] == status["next_evaluation"]
        assert verdict["kind"] == "pro_at_risk"
        assert status["at_risk"] == verdict["forecast"]["failing"]
        assert [r["as_of"] for r in status["runs"]] == ["2025-01-01"]
        scouts = next(tr for tr in status["trends"] if tr["criterion"] == "scouts")
        assert scouts["threshold"] == 5 and [p["live"] for p in scouts["points"]] == [False, True]
        assert scouts["points"][0] == {"as_of": "2025-01-01", "value": 10.0, "live": False}
        page = client.get("/dashboard").text
        assert verdict["headline"] in page.split('id="headline">')[1].split("</p>")[0]
        assert "公式の判定(2025-01-01)" in page and f"次回の見込み({status['next_evaluation']})" in page
        assert 'id="runs"' in page
        assert page.count('<svg class="trend"') == len(program.criteria)
        assert client.get("/api/v1/workers/NOBODY/status").status_code in (403, 404)
        facts = client.get("/api/v1/workers/A/facts?lang=en").json()
        scouts_facts = next(c for c in facts["criteria"] if c["id"] == "scouts")
        # pro() sends 5 scouts a month in 2024-06 and 2024-12 and 2025-03 and 2025-06: none within today's window.
        assert scouts_facts["value"] == 0 and len(scouts_facts["rows"]) == 20
        assert {r["reason_text"] for r in scouts_facts["rows"]} == {"before the window"}
        assert client.get("/api/v1/workers/C/facts").status_code == 403  # someone else's
        download = client.get("/dashboard/facts.csv")
        assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
        assert download.content.startswith("\ufeff".encode()) and "集計期間より前" in download.text
        assert download.text.count("\n") == 1 + sum(len(c["rows"]) for c in facts["criteria"])
        # Views are reused while nothing changes, and never outlive a change of the ledger.
        assert client.get("/api/v1/workers/A/status").json()["verdict"] == verdict
        with session_scope(engine, write=True) as session:
            set_override(session, program_id=program.id, worker_id="A", certified=False, reason="x", actor="admin")
        assert client.get("/api/v1/workers/A/status").json()["verdict"]["kind"] == "locked_out"


def test_trends_draw_every_run_and_today_with_the_threshold_and_better_always_up():
    import re

    from procert.programs import load_program
    from procert.web.trends import trend_of

    program = load_program("crowdworks-pro")
    rank = program.criterion("earnings_rank")  # <= 200: lower is better
    trend = trend_of(rank, "writer", [(D1, 50), (D2, 250)], (date(2025, 5, 1), None), "ja")
    assert [(p.as_of, p.value, p.live) for p in trend.points] == [
        (D1, 50.0, False),
        (D2, 250.0, False),
        (date(2025, 5, 1), None, True),
    ]
    svg = trend.svg("ランキング", "200 位以内")
    threshold_y = float(re.search(r'class="threshold"[^>]*y1="([\d.]+)"', svg).group(1))
    ys = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', svg)]
    assert ys[0] < threshold_y < ys[1]  # rank 50 drawn above the line, rank 250 below it
    assert 'aria-label="ランキング: 2025-01-01 50, 2025-04-01 250, 2025-05-01 —"' in svg
    rating = trend_of(program.criterion("overall_rating"), "writer", [(D1, 4.9)], (D2, 4.7), "ja")
    drawn = rating.svg("総合評価", "4.8 以上")
    limit = float(re.search(r'class="threshold"[^>]*y1="([\d.]+)"', drawn).group(1))
    above, below = (float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', drawn))
    assert above < limit < below and 'class="live"' in drawn
