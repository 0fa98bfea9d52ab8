"""Notifications through a real SMTP server (aiosmtpd, started by the test): content, languages, retries."""

from __future__ import annotations

import socket
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from procert.facts import import_export
from procert.ledger import Notification, NotifyOptions, record_run, session_scope
from procert.ledger.audit import utcnow
from procert.notify import SmtpConfig, send_pending
from tests.conftest import Export
from tests.test_ledger import pro

D1, D2 = date(2025, 1, 1), date(2025, 4, 1)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def record(engine, store, program, as_of):
    with session_scope(engine) as session:
        return record_run(
            session,
            store=store,
            program=program,
            as_of=as_of,
            actor="test",
            notify=NotifyOptions(public_url="https://pro.example.jp", at_risk_days=14),
        )


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_granted_mail_in_japanese_and_english(engine, store, program, tmp_path: Path, smtp):
    controller, inbox = smtp
    exp = Export()
    pro(exp, "JA")
    pro(exp, "EN")
    exp.rows["workers"][1]["locale"] = "en"
    import_export(store, exp.write(tmp_path / "e"), timezone="Asia/Tokyo")
    record(engine, store, program, D1)
    report = send_pending(engine, config=SmtpConfig(port=controller.port, sender="pro@example.jp"))
    assert (report.sent, report.retrying) == (2, 0)
    by_to = {m["To"].addresses[0].addr_spec: m for m in inbox.messages}
    ja = by_to["ja@example.jp"]
    assert ja["Subject"] == "【プロクラウドワーカー】認定されました(2025-01-01 判定)"
    assert ja["Message-ID"] == "<crowdworks-pro.2025-01-01.JA.granted@procert>"
    assert ja["From"] == "pro@example.jp"
    text, html = parts(ja)
    assert "2025-01-01 の判定で、プロクラウドワーカー の条件をすべて満たし、認定されました" in text
    assert "[達成] 総合評価(累計): 5 (1 件の評価) (4.8 以上)" in text
    assert "[達成] スカウト数(過去1年・個別): 10 (5 件以上)" in text
    assert "次回の判定日: 2025-04-01" in text
    assert "https://pro.example.jp/dashboard/JA" in text
    assert '<a href="https://pro.example.jp/dashboard/JA">' in html and "<table" in html
    en = by_to["en@example.jp"]
    assert en["Subject"].strip() == "[Pro Crowd Worker] You are certified (2025-01-01 evaluation)"
    text, _ = parts(en)
    assert "[pass] Direct scouts (past year): 10 (5 or more)" in text
    assert "Next evaluation: 2025-04-01" in text
    with session_scope(engine) as session:
        assert {n.status for n in session.scalars(select(Notification))} == {"sent"}
    # Delivered once: sending again finds nothing.
    assert send_pending(engine, config=SmtpConfig(port=controller.port)).sent == 0
    assert len(inbox.messages) == 2


def test_lost_mail_names_the_failed_criteria_and_what_it_would_take(engine, store, program, tmp_path, smtp):
    controller, inbox = smtp
    exp = Export()
    pro(exp, "L")
    exp.rows["workers"][0]["locale"] = "en"
    import_export(store, exp.write(tmp_path / "1"), timezone="Asia/Tokyo")
    record(engine, store, program, D1)
    more = Export()
    more.worker("L", email="l@example.jp", locale="en")
    more.review("L", 1)  # overall (25 + 5) / 10 = 3.0
    import_export(store, more.write(tmp_path / "2", tables=("workers", "contracts", "reviews")), timezone="Asia/Tokyo")
    record(engine, store, program, D2)
    send_pending(engine, config=SmtpConfig(port=controller.port))
    lost = next(m for m in inbox.messages if "ended" in m["Subject"])
    # A long subject is folded on the wire; unfolded it reads as written.
    assert lost["Subject"].strip() == "[Pro Crowd Worker] Your certification has ended (2025-04-01 evaluation)"
    text, _ = parts(lost)
    assert "these criteria were not met" in text
    assert "Overall rating (lifetime), Communication rating (lifetime)" in text
    assert "[fail] Overall rating (lifetime): 3 (2 reviews) (4.8 or more) (needs attention)" in text
    # (30 + 25k) / (10 + 5k) >= 4.8  <=>  k >= 18
    assert "18 more top-mark (5-star) review(s) would bring the average to 4.8" in text
    assert "Next evaluation: 2025-07-01" in text


def test_smtp_outage_keeps_notifications_pending_until_the_server_is_back(engine, store, program, tmp_path):
    exp = Export()
    pro(exp, "P")
    import_export(store, exp.write(tmp_path / "e"), timezone="Asia/Tokyo")
    record(engine, store, program, D1)
    port = free_port()  # nothing listens here yet
    now = utcnow()
    down = send_pending(engine, config=SmtpConfig(port=port, timeout=2), now=now)
    assert (down.sent, down.retrying) == (0, 1)
    assert "cannot reach SMTP server" in down.errors[0]
    with session_scope(engine) as session:
        n = session.scalar(select(Notification))
        assert (n.status, n.attempts) == ("pending", 1)
        assert n.next_attempt_at == now + timedelta(minutes=1)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        # Not yet due: the backoff holds it back.
        assert send_pending(engine, config=SmtpConfig(port=port), now=now + timedelta(seconds=30)).sent == 0
        back = send_pending(engine, config=SmtpConfig(port=port), now=now + timedelta(minutes=2))
        assert back.sent == 1
        assert send_pending(engine, config=SmtpConfig(port=port), now=now + timedelta(hours=1)).sent == 0
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    with session_scope(engine) as session:
        n = session.scalar(select(Notification))
        assert (n.status, n.attempts, n.last_error) == ("sent", 2, None)
