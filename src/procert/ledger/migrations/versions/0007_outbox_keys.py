"""One dedupe-key rule for the whole outbox: job digests and newsletters queued before it get keys of the form
``program:occasion:recipient:kind`` (what procert.ledger.outbox.dedupe_key writes), so queuing again after an
upgrade still finds them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

notifications = sa.table(
    "notifications",
    sa.column("id", sa.BigInteger),
    sa.column("dedupe_key", sa.String),
    sa.column("program_id", sa.String),
)


def _new_key(key: str, program_id: str) -> str | None:
    parts = key.split(":")
    if parts[0] == "job_digest" and len(parts) == 4:  # job_digest:PROGRAM:DAY:WORKER
        _kind, program, day, worker = parts
        return f"{program}:{day}:{worker}:job_digest"
    if parts[0] == "newsletter" and len(parts) == 3:  # newsletter:ISSUE:SUBSCRIBER
        _kind, issue, subscriber = parts
        return f"{program_id}:newsletter-{issue}:subscriber:{subscriber}:newsletter"
    return None


def _rewrite(convert: bool) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(notifications.c.id, notifications.c.dedupe_key, notifications.c.program_id).where(
            sa.or_(
                notifications.c.dedupe_key.like("job_digest:%" if convert else "%:job_digest"),
                notifications.c.dedupe_key.like("newsletter:%" if convert else "%:newsletter"),
            )
        )
    ).all()
    for row_id, key, program_id in rows:
        new = _new_key(key, program_id) if convert else _old_key(key)
        if new is not None:
            bind.execute(notifications.update().where(notifications.c.id == row_id).values(dedupe_key=new))


def _old_key(key: str) -> str | None:
    parts = key.split(":")
    if parts[-1] == "job_digest" and len(parts) == 4:
        program, day, worker, _kind = parts
        return f"job_digest:{program}:{day}:{worker}"
    if parts[-1] == "newsletter" and len(parts) == 5 and parts[1].startswith("newsletter-"):
        _program, occasion, _subscriber, number, _kind = parts
        return f"newsletter:{occasion.removeprefix('newsletter-')}:{number}"
    return None


def upgrade() -> None:
    _rewrite(convert=True)


def downgrade() -> None:
    _rewrite(convert=False)
