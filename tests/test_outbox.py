"""The outbox is written in one place: one dedupe rule, typed payloads, and keys of earlier versions migrated."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from alembic import command
from pydantic import ValidationError
from sqlalchemy import select, text

from procert.ledger import (
    JobDigest,
    Notification,
    OutboxItem,
    dedupe_key,
    enqueue,
    make_engine,
    parse_payload,
    session_scope,
)
from procert.ledger.db import _alembic_config

NOW = datetime(2026, 12, 1, 3, 0)


def digest(worker: str = "W1") -> JobDigest:
    return JobDigest(
        kind="job_digest",
        worker_id=worker,
        display_name="佐藤",
        program_name={"ja": "プロ", "en": "Pro"},
        date=date(2026, 12, 1),
        dashboard_url=f"https://pro.example/dashboard/{worker}",
        jobs=[],
    )


def test_one_dedupe_rule_queues_each_notification_once(engine):
    item = OutboxItem(
        program_id="crowdworks-pro",
        occasion="2026-12-01",
        recipient="W1",
        payload=digest(),
        email="a@example.jp",
        locale="ja",
    )
    assert item.key == dedupe_key(program_id="crowdworks-pro", occasion="2026-12-01", recipient="W1", kind="job_digest")
    assert item.key == "crowdworks-pro:2026-12-01:W1:job_digest"
    no_mail = OutboxItem(
        program_id="crowdworks-pro",
        occasion="2026-12-01",
        recipient="W2",
        payload=digest("W2"),
        email=None,
        locale="en",
    )
    with session_scope(engine, write=True) as session:
        assert enqueue(session, [item, item, no_mail], now=NOW) == 2  # the same item twice in one call: once
    with session_scope(engine, write=True) as session:
        assert enqueue(session, [item, no_mail], now=NOW) == 0  # and never again later
        rows = session.scalars(select(Notification).order_by(Notification.worker_id)).all()
        assert [(r.worker_id, r.status, r.last_error) for r in rows] == [
            ("W1", "pending", None),
            ("W2", "skipped", "no email address in the facts"),
        ]
        assert rows[0].message_id == "<crowdworks-pro.2026-12-01.W1.job_digest@procert>"
        # What was written reads back as the same typed payload.
        assert parse_payload(rows[0].payload) == digest()


def test_a_payload_of_no_known_kind_or_shape_is_refused():
    with pytest.raises(ValidationError):
        parse_payload({"kind": "telegram", "worker_id": "W1"})
    with pytest.raises(ValidationError):
        parse_payload({**digest().model_dump(mode="json"), "jobs": "not a list"})


def test_keys_written_by_earlier_versions_are_migrated(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    insert = text(
        "INSERT INTO notifications (dedupe_key, program_id, worker_id, run_id, kind, email, locale, payload, status, "
        "attempts, not_before, next_attempt_at, message_id, created_at) VALUES (:key, 'crowdworks-pro', :worker, "
        "NULL, :kind, NULL, 'ja', '{}', 'sent', 1, :at, :at, :mid, :at)"
    )
    old = [
        ("job_digest:crowdworks-pro:2026-11-30:W1", "W1", "job_digest"),
        ("newsletter:3:17", "subscriber:17", "newsletter"),
        ("crowdworks-pro:2026-10-01:W1:granted", "W1", "granted"),  # run mails kept their form
    ]
    with engine.begin() as connection:
        for i, (key, worker, kind) in enumerate(old):
            connection.execute(insert, {"key": key, "worker": worker, "kind": kind, "at": NOW, "mid": f"<{i}@x>"})
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with engine.connect() as connection:
        keys = [k for (k,) in connection.execute(text("SELECT dedupe_key FROM notifications ORDER BY id"))]
    assert keys == [
        "crowdworks-pro:2026-11-30:W1:job_digest",
        "crowdworks-pro:newsletter-3:subscriber:17:newsletter",
        "crowdworks-pro:2026-10-01:W1:granted",
    ]
    # The rule finds them: the digest of that day is not queued again.
    item = OutboxItem(
        program_id="crowdworks-pro",
        occasion="2026-11-30",
        recipient="W1",
        payload=digest(),
        email="a@example.jp",
        locale="ja",
    )
    with session_scope(engine, write=True) as session:
        assert enqueue(session, [item], now=NOW) == 0
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    with engine.connect() as connection:
        keys = [k for (k,) in connection.execute(text("SELECT dedupe_key FROM notifications ORDER BY id"))]
    assert keys == [k for k, _w, _kind in old]
    engine.dispose()
