"""Ledger commands as operators run them: real processes, kill -9 mid-run, two schedulers at once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from procert.ledger import Notification, Run, RunResult, Transition, make_engine, session_scope
from tests.conftest import Export
from tests.ledger_support import ledger_url
from tests.test_ledger import pro
from tests.test_notify import Inbox, free_port


def environment(home: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCERT_")}
    env.update({"PROCERT_HOME": str(home), "COLUMNS": "200", "PROCERT_ACTOR": "ops", **extra})
    if database_url:
        env["PROCERT_DATABASE_URL"] = database_url
    return env


def procert(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "procert.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path: Path):
    """None for the embedded SQLite default, or the URL of a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield None
        return
    yield from ledger_url("postgresql", tmp_path)


def ledger_engine(home: Path, database_url: str | None):
    return make_engine(database_url or f"sqlite:///{home / 'ledger.sqlite'}")


def counts(home: Path, database_url: str | None) -> dict[str, int]:
    engine = ledger_engine(home, database_url)
    with session_scope(engine) as session:
        result = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Run, RunResult, Transition, Notification)
        }
    engine.dispose()
    return result


def imported_home(tmp_path: Path, env: dict[str, str]) -> None:
    exp = Export()
    pro(exp, "A")
    exp.worker("B", email="b@example.jp")
    result = procert(env, "import", str(exp.write(tmp_path / "export")))
    assert result.returncode == 0, result.stderr


def test_operator_flow(tmp_path: Path, database):
    smtp_port = free_port()
    env = environment(
        tmp_path / "home", database, PROCERT_SMTP_PORT=str(smtp_port), PROCERT_PUBLIC_URL="https://pro.example.jp"
    )
    imported_home(tmp_path, env)
    if database:
        refused = procert(env, "run", "--as-of", "2025-01-01")
        assert refused.returncode == 1 and "procert db upgrade" in refused.stderr
        upgraded = procert(env, "db", "upgrade")
        assert upgraded.returncode == 0 and " に 0001, " in upgraded.stdout and "を適用しました" in upgraded.stdout
    first = procert(env, "run", "--as-of", "2025-01-01")
    assert first.returncode == 0, first.stderr
    # The outcome in the operator's language (Japanese unless PROCERT_LANG says otherwise).
    assert "実行 #1 を記録しました" in first.stdout and "新規認定 1、継続 0、失効 0" in first.stdout, first.stdout
    again = procert({**env, "PROCERT_LANG": "en"}, "run", "--as-of", "2025-01-01")
    assert again.returncode == 0 and "is already recorded as run #1" in again.stdout, again.stdout
    status = procert(env, "status", "A")
    assert "認定中(2025-01-01 から)" in status.stdout
    # A's facts end in mid-2025, long before the next scheduled date after today: A is at risk.
    forecast = procert(env, "forecast", "--lang", "en")
    assert forecast.returncode == 0, forecast.stderr
    assert "1 of 1 certified workers at risk" in forecast.stdout
    one = procert(env, "forecast", "A", "--lang", "en")
    assert one.stdout.startswith("Certified since 2025-01-01, but as things stand you would not meet these")
    assert "[fail] Direct scouts (past year): 0 (5 or more)" in one.stdout
    assert "5 more needed within the window (now 0)." in one.stdout
    nobody = procert(env, "forecast", "W9999999", "--lang", "en")
    assert nobody.returncode == 1 and "no worker 'W9999999'" in nobody.stderr
    assert procert(env, "status", "W9999999").returncode == 1
    history = procert(env, "history", "A", "--program", "crowdworks-pro")
    assert "2025-01-01" in history.stdout and "認定" in history.stdout and "条件による判定" in history.stdout
    locked = procert(env, "override", "set", "B", "--certified", "--reason", "partner programme")
    assert locked.returncode == 0 and "locked as certified" in locked.stdout
    assert "partner programme" in procert(env, "status", "B", "--lang", "en").stdout
    assert "partner programme" in procert(env, "override", "list").stdout
    no_reason = procert(env, "override", "set", "B", "--not-certified", "--reason", "  ")
    assert no_reason.returncode == 2 and "needs a reason" in no_reason.stderr
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        sent = procert(env, "notify", "send")
    finally:
        controller.stop()
    assert sent.returncode == 0 and "送信 1 件" in sent.stdout, sent.stdout
    assert len(inbox.messages) == 1 and inbox.messages[0]["To"].addresses[0].addr_spec == "a@example.jp"
    audit = procert(env, "audit")
    for action in ("実行を記録", "手動設定", "通知を送信"):  # labels, not codes
        assert action in audit.stdout, audit.stdout
    assert "ops" in audit.stdout
    assert "送信済み 1" in procert(env, "notify", "list").stdout
    created = procert(env, "api-key", "create", "platform backend")
    assert created.returncode == 0 and "pck_" in created.stdout
    listed = procert(env, "api-key", "list")
    assert "platform backend" in listed.stdout and "pck_" not in listed.stdout
    assert procert(env, "api-key", "revoke", "1").returncode == 0
    assert procert(env, "api-key", "revoke", "1").returncode == 1


def test_schedule_lists_dates_with_their_state(tmp_path: Path):
    env = environment(tmp_path / "home", None)
    imported_home(tmp_path, env)
    result = procert(env, "schedule", "--count", "3")
    assert result.returncode == 0, result.stderr
    # Nothing recorded yet: the latest scheduled date is due, the next two are scheduled.
    lines = [line for line in result.stdout.splitlines() if line.count("-") >= 2 and "│" in line]
    states = [line.split("│")[2].strip() for line in lines]
    assert states == ["実行待ち", "予定", "予定"], result.stdout  # Japanese by default
    english = procert(env, "schedule", "--count", "3", "--lang", "en")
    assert "│ due" in english.stdout and "Date" in english.stdout and "Pro Crowd Worker schedule" in english.stdout
    refused = procert(env, "schedule", "--lang", "fr")
    assert (
        refused.returncode == 2 and refused.stderr.count("\n") == 1 and "Input should be 'ja' or 'en'" in refused.stderr
    )


KILLER = textwrap.dedent("""
    import os, signal, sys
    import procert.ledger.record as service

    def die(*args, **kwargs):
        # Everything else of the run is written by now, inside its transaction: die before the commit.
        os.kill(os.getpid(), signal.SIGKILL)

    service._queue_notifications = die
    from procert.cli.main import app
    app(["run", "--as-of", "2025-01-01"], prog_name="procert")
""")


def test_kill_9_mid_run_leaves_nothing_and_the_next_run_starts_clean(tmp_path: Path, database):
    env = environment(tmp_path / "home", database)
    imported_home(tmp_path, env)
    if database:
        assert procert(env, "db", "upgrade").returncode == 0
    killed = subprocess.run([sys.executable, "-c", KILLER], capture_output=True, text=True, env=env, timeout=300)
    assert killed.returncode == -9
    assert counts(tmp_path / "home", database) == {"runs": 0, "run_results": 0, "transitions": 0, "notifications": 0}
    retried = procert(env, "run", "--as-of", "2025-01-01")
    assert retried.returncode == 0 and " を記録しました: " in retried.stdout, retried.stdout
    assert counts(tmp_path / "home", database) == {"runs": 1, "run_results": 2, "transitions": 1, "notifications": 1}


def test_two_run_due_processes_record_one_run(tmp_path: Path, database):
    env = environment(tmp_path / "home", database, PROCERT_SMTP_PORT=str(free_port()), PROCERT_SMTP_TIMEOUT="1")
    demo = procert(env, "demo-data", str(tmp_path / "demo"), "--workers", "3000", "--seed", "2")
    assert demo.returncode == 0, demo.stderr
    assert procert(env, "import", str(tmp_path / "demo")).returncode == 0
    if database:
        assert procert(env, "db", "upgrade").returncode == 0
    command = [sys.executable, "-m", "procert.cli", "run-due"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    said = " ".join(out for out, _ in outputs)
    assert said.count("を記録しました: ") == 1, said
    assert "として記録済みです" in said or "別のプロセスが記録しました" in said, said
    engine = ledger_engine(tmp_path / "home", database)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 1
    engine.dispose()
