"""Hardening of mail delivery (issue 11), through a real SMTP server (aiosmtpd): a bad row fails by itself, one
address per mail, internationalised domains, a down server is a non-zero exit, and an interrupted sender never
causes a duplicate (at most once)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from procert.facts import import_export
from procert.ledger import Notification, NotifyOptions, make_engine, record_run, session_scope
from procert.ledger.audit import utcnow
from procert.notify import SmtpConfig, send_pending
from procert.notify.deliver import INTERRUPTED
from tests.conftest import Export
from tests.test_cli_ledger import environment, procert
from tests.test_ledger import pro
from tests.test_notify import free_port

D1 = date(2025, 1, 1)


class Envelopes:
    """Records each accepted mail's envelope recipients; optionally waits before answering DATA."""

    def __init__(self, delay: float = 0.0) -> None:
        self.recipients: list[list[str]] = []
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.recipients.append(list(envelope.rcpt_tos))
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK"


@pytest.fixture
def envelopes():
    handler = Envelopes()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def queue_granted(engine, store, program, tmp_path: Path, workers: tuple[str, ...]) -> None:
    exp = Export()
    for wid in workers:
        pro(exp, wid)
    import_export(store, exp.write(tmp_path / "e"), timezone=program.timezone)
    with session_scope(engine) as session:
        record_run(session, store=store, program=program, as_of=D1, actor="t", notify=NotifyOptions())


def spoil(engine, worker_id: str, **values) -> None:
    """What older data (imported before addresses were checked) can hold."""
    with session_scope(engine, write=True) as session:
        row = session.scalar(select(Notification).where(Notification.worker_id == worker_id))
        for key, value in values.items():
            if key == "display_name":
                row.payload = {**row.payload, "display_name": value}
            else:
                setattr(row, key, value)


def statuses(engine) -> dict[str, tuple[str, int, str | None]]:
    with session_scope(engine) as session:
        return {n.worker_id: (n.status, n.attempts, n.last_error) for n in session.scalars(select(Notification))}


def test_a_bad_row_fails_by_itself_and_the_others_are_delivered(engine, store, program, tmp_path, envelopes):
    controller, handler = envelopes
    queue_granted(engine, store, program, tmp_path, ("A", "B", "C", "D", "E"))
    spoil(engine, "A", display_name="名前\r\nBcc: victim@example.jp")
    spoil(engine, "B", email="b@example.jp, victim@example.jp")
    spoil(engine, "C", email="名前@example.jp")
    spoil(engine, "D", email="d@例え.jp")
    report = send_pending(engine, config=SmtpConfig(port=controller.port))
    assert (report.sent, report.failed, report.retrying) == (2, 3, 0)
    found = statuses(engine)
    assert found["A"][:2] == ("failed", 1) and "cannot build the mail" in found["A"][2]
    assert found["B"][:2] == ("failed", 1) and "not one e-mail address" in found["B"][2]
    assert found["C"][:2] == ("failed", 1) and "plain ASCII" in found["C"][2]
    assert found["D"][0] == found["E"][0] == "sent"
    # One address per mail; the internationalised domain in its IDNA form; nobody else got anything.
    assert sorted(handler.recipients) == [["d@xn--r8jz45g.jp"], ["e@example.jp"]]
    # Sending again finds nothing to do: failed rows are not retried.
    assert send_pending(engine, config=SmtpConfig(port=controller.port)).sent == 0


def test_notify_send_exits_non_zero_when_the_server_is_down(tmp_path: Path):
    env = environment(tmp_path / "home", None, PROCERT_SMTP_PORT=str(free_port()), PROCERT_SMTP_TIMEOUT="2")
    exp = Export()
    pro(exp, "A")
    assert procert(env, "import", str(exp.write(tmp_path / "e"))).returncode == 0
    assert procert(env, "run", "--as-of", "2025-01-01").returncode == 0
    down = procert(env, "notify", "send")
    assert down.returncode == 1 and "cannot reach SMTP server" in down.stderr and "何も送信していません" in down.stderr


def test_a_killed_sender_never_sends_twice(tmp_path: Path):
    handler = Envelopes(delay=3.0)  # the server has the mail, the sender waits for its answer: killed there
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        env = environment(tmp_path / "home", None, PROCERT_SMTP_PORT=str(controller.port))
        exp = Export()
        pro(exp, "A")
        pro(exp, "B")
        assert procert(env, "import", str(exp.write(tmp_path / "e"))).returncode == 0
        assert procert(env, "run", "--as-of", "2025-01-01").returncode == 0
        sender = subprocess.Popen(
            [sys.executable, "-m", "procert.cli", "notify", "send"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not handler.recipients:
            assert time.monotonic() < deadline, "the sender never reached the server"
            time.sleep(0.05)
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=10)
        handler.delay = 0
        engine = make_engine(f"sqlite:///{tmp_path / 'home' / 'ledger.sqlite'}")
        # Long after the lease: the next sender finds the interrupted row and does not send it again.
        report = send_pending(engine, config=SmtpConfig(port=controller.port), now=utcnow() + timedelta(minutes=11))
        assert report.interrupted == 1 and report.sent == 1
        with session_scope(engine) as session:
            rows = list(session.scalars(select(Notification).order_by(Notification.worker_id)))
        interrupted = next(n for n in rows if n.status == "failed")
        assert interrupted.last_error == INTERRUPTED.format(id=interrupted.id)
        first = handler.recipients[0]
        assert handler.recipients.count(first) == 1  # never twice
        # The operator decides: retry sends it once more, on purpose.
        retried = procert(env, "notify", "retry", str(interrupted.id))
        assert retried.returncode == 0, retried.stderr
        assert send_pending(engine, config=SmtpConfig(port=controller.port)).sent == 1
        assert procert(env, "notify", "retry", "999").returncode == 1
    finally:
        controller.stop()


def test_concurrent_senders_claim_each_row_once(engine, store, program, tmp_path, envelopes):
    controller, handler = envelopes
    queue_granted(engine, store, program, tmp_path, tuple(f"W{n}" for n in range(6)))
    with session_scope(engine, write=True) as session:
        session.execute(update(Notification).values(next_attempt_at=utcnow() - timedelta(minutes=1)))
    import threading

    reports = []
    threads = [
        threading.Thread(target=lambda: reports.append(send_pending(engine, config=SmtpConfig(port=controller.port))))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(r.sent for r in reports) == 6
    assert sorted(r[0] for r in handler.recipients) == sorted(f"w{n}@example.jp" for n in range(6))
