"""Levels in the ledger, on SQLite and PostgreSQL: runs of coconala-rank give promoted / kept / demoted / lost
with the criteria behind them, overrides lock a level, and the mails say where the worker moved and why."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from procert.facts import FactStore, import_export
from procert.ledger import (
    Notification,
    RunResult,
    Transition,
    record_run,
    session_scope,
    set_override,
    worker_status,
)
from procert.ledger.overrides import OverrideRefused
from procert.notify.render import render
from procert.programs import load_program
from tests.conftest import Export

COCONALA = load_program("coconala-rank")
D1, D2 = date(2025, 1, 1), date(2025, 2, 1)
LEVELS = [level.id for level in COCONALA.levels]


def seller(exp: Export, wid: str, payments: list[tuple[str, int]], **worker: str) -> None:
    """A seller verified, signed in lately, with 5 fixed contracts delivered in December (completion 100 %, a
    5.0 rating over 5 reviews) and the given payments."""
    exp.worker(
        wid, identity_verified="true", last_login_at="2025-01-20T10:00:00+09:00", email=f"{wid}@example.jp", **worker
    )
    for _ in range(5):
        exp.review(wid, 5, contract_id=exp.contract(wid, "2024-12-05T12:00:00+09:00"))
    for paid_at, amount in payments:
        exp.payment(wid, paid_at, amount)


def market() -> Export:
    exp = Export()
    # ¥18,000 in October counts as of D1 only ([2024-10-01, 2025-01-01)); ¥82,000 in December for both dates.
    seller(exp, "PLATINUM", [("2024-10-15T12:00:00+09:00", 18_000), ("2024-12-10T12:00:00+09:00", 82_000)])
    # The same in English: mails are written in the worker's language.
    seller(
        exp, "PLATINUM_EN", [("2024-10-15T12:00:00+09:00", 18_000), ("2024-12-10T12:00:00+09:00", 82_000)], locale="en"
    )
    # ¥60,000 in December: gold as of D1; with ¥50,000 in January, platinum as of D2.
    seller(exp, "GOLD", [("2024-12-01T12:00:00+09:00", 60_000), ("2025-01-10T12:00:00+09:00", 50_000)])
    exp.worker("REGULAR")
    exp.contract("REGULAR", "2024-06-01T12:00:00+09:00")
    exp.worker("LEAVING")
    exp.contract("LEAVING", "2024-06-01T12:00:00+09:00")
    return exp


def recorded(engine, store: FactStore, as_of: date):
    with session_scope(engine, write=True) as session:
        return record_run(session, store=store, program=COCONALA, as_of=as_of, actor="test")


def test_runs_record_levels_and_promotions_demotions_with_the_criteria_behind_them(engine, store, tmp_path: Path):
    exp = market()
    import_export(store, exp.write(tmp_path / "1"), timezone="Asia/Tokyo")
    first = recorded(engine, store, D1)
    assert first.transitions == {"granted": 5}
    exp.rows["workers"][4]["status"] = "suspended"  # LEAVING
    import_export(store, exp.write(tmp_path / "2", tables=("workers",)), timezone="Asia/Tokyo")
    second = recorded(engine, store, D2)
    assert second.transitions == {"promoted": 1, "demoted": 2, "kept": 1, "lost": 1}
    assert "promoted 1, demoted 2" in second.message.text("en")
    with session_scope(engine) as session:
        levels = {
            r.worker_id: r.level for r in session.scalars(select(RunResult).where(RunResult.run_id == first.run_id))
        }
        assert levels == {
            "PLATINUM": "platinum",
            "PLATINUM_EN": "platinum",
            "GOLD": "gold",
            "REGULAR": "regular",
            "LEAVING": "regular",
        }
        moves = {
            t.worker_id: (t.kind, t.from_level, t.to_level, t.failed)
            for t in session.scalars(select(Transition).where(Transition.run_id == second.run_id))
        }
        assert moves == {
            "PLATINUM": ("demoted", "platinum", "gold", ["earnings_3m_100k"]),
            "PLATINUM_EN": ("demoted", "platinum", "gold", ["earnings_3m_100k"]),
            "GOLD": ("promoted", "gold", "platinum", []),
            "REGULAR": ("kept", "regular", "regular", []),
            "LEAVING": ("lost", "regular", None, ["status"]),
        }
        status = worker_status(session, program_id=COCONALA.id, worker_id="PLATINUM", on=D2)
        assert (status.certified, status.level, status.since) == (True, "gold", D1)  # certified since D1 still
        mails = {
            n.worker_id: n.payload
            for n in session.scalars(select(Notification).where(Notification.run_id == second.run_id))
            if n.kind in ("promoted", "demoted")
        }
        warnings = {
            n.worker_id: n.payload
            for n in session.scalars(select(Notification).where(Notification.run_id == second.run_id))
            if n.kind == "at_risk"
        }
    # The last sign-in (20 January) is more than 30 days before 1 March: the level held is at risk.
    warning = render(warnings["GOLD"], "ja")
    assert warning.subject == "【ココナラ ランク】次回 2025-03-01 の判定で プラチナ を保てないおそれがあります"
    assert "プラチナ を保つ次の条件を満たさなくなる見込みです: 最近のログイン(30日以内)" in warning.text
    demoted_ja = render(mails["PLATINUM"], "ja")
    assert demoted_ja.subject == "【ココナラ ランク】プラチナ から ゴールド に変わりました(2025-02-01 判定)"
    assert "理由: 売上(過去3か月で10万円以上)が ¥82,000(基準 ¥100,000 以上)" in demoted_ja.text
    demoted_en = render(mails["PLATINUM_EN"], "en")
    assert (
        "you moved from Platinum to Gold because Earnings (¥100,000 or more in the past 3 months) was ¥82,000 "
        "against ¥100,000 or more" in demoted_en.text
    )
    assert render(mails["GOLD"], "ja").subject == "【ココナラ ランク】プラチナ に昇格しました(2025-02-01 判定)"


def test_an_override_locks_a_level_and_automation_keeps_it(engine, store, tmp_path: Path):
    import_export(store, market().write(tmp_path / "1"), timezone="Asia/Tokyo")
    recorded(engine, store, D1)
    with session_scope(engine, write=True) as session:
        with pytest.raises(OverrideRefused, match="name the level"):
            set_override(
                session,
                program_id=COCONALA.id,
                worker_id="REGULAR",
                certified=True,
                reason="x",
                actor="a",
                levels=LEVELS,
            )
        with pytest.raises(OverrideRefused, match="name the level"):
            set_override(
                session,
                program_id=COCONALA.id,
                worker_id="REGULAR",
                certified=True,
                reason="x",
                actor="a",
                level="diamond",
                levels=LEVELS,
            )
        set_override(
            session,
            program_id=COCONALA.id,
            worker_id="REGULAR",
            certified=True,
            reason="partner",
            actor="a",
            level="gold",
            levels=LEVELS,
        )
        set_override(
            session,
            program_id=COCONALA.id,
            worker_id="PLATINUM",
            certified=False,
            reason="review",
            actor="a",
        )
    with session_scope(engine) as session:
        # Before the next run the status readers already apply the lock.
        assert worker_status(session, program_id=COCONALA.id, worker_id="REGULAR", on=D1).level == "gold"
    second = recorded(engine, store, D2)
    with session_scope(engine) as session:
        moves = {
            t.worker_id: (t.kind, t.reason, t.to_level)
            for t in session.scalars(select(Transition).where(Transition.run_id == second.run_id))
        }
    assert moves["REGULAR"] == ("promoted", "override", "gold")
    assert moves["PLATINUM"] == ("lost", "override", None)
