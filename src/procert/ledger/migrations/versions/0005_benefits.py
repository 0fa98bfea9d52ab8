"""Benefits: jobs, newsletter subscribers, issues and features; notifications not tied to a run (digests,
newsletters).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(length=120), nullable=False),
        sa.Column("client_id", sa.String(length=120), nullable=False),
        sa.Column("company_name", sa.String(length=300), nullable=False),
        sa.Column("company_tier", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("division", sa.String(length=120), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("budget_jpy", sa.BigInteger(), nullable=False),
        sa.Column("unit_price_jpy", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("order_probability", sa.Float(), nullable=True),
        sa.Column("posted_at", sa.DateTime(), nullable=False),
        sa.Column("closes_at", sa.DateTime(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.create_index("ix_jobs_open", "jobs", ["closes_at", "posted_at"])
    op.create_index("ix_jobs_client", "jobs", ["client_id", "posted_at"])
    op.create_table(
        "newsletter_subscribers",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("subscribed_at", sa.DateTime(), nullable=False),
        sa.Column("unsubscribed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "newsletter_issues",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("program_id", sa.String(length=60), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("composed_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_newsletter_issue_date", "newsletter_issues", ["program_id", "issue_date"], unique=True)
    op.create_table(
        "features",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("program_id", sa.String(length=60), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("issue_id", BigId, sa.ForeignKey("newsletter_issues.id"), nullable=True),
        sa.Column("worker_id", sa.String(length=120), nullable=False),
        sa.Column("division", sa.String(length=120), nullable=False),
        sa.Column("featured_on", sa.Date(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_features_rotation", "features", ["program_id", "channel", "division", "worker_id"])
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("run_id", existing_type=BigId, nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("run_id", existing_type=BigId, nullable=False)
    op.drop_index("ix_features_rotation", "features")
    op.drop_table("features")
    op.drop_index("uq_newsletter_issue_date", "newsletter_issues")
    op.drop_table("newsletter_issues")
    op.drop_table("newsletter_subscribers")
    op.drop_index("ix_jobs_client", "jobs")
    op.drop_index("ix_jobs_open", "jobs")
    op.drop_table("jobs")
