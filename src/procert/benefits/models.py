"""The benefits' tables, in the ledger's database (one schema, one migration chain): jobs, newsletter subscribers,
issues and who each issue featured."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from procert.ledger.models import Base, BigId


class Job(Base):
    """A job posted on the marketplace, as the operator sent it (times in UTC)."""

    __tablename__ = "jobs"
    job_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(120))
    company_name: Mapped[str] = mapped_column(String(300))
    company_tier: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(500))
    #: Markdown as sent; pages render it with raw HTML disabled.
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    division: Mapped[str] = mapped_column(String(120))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    budget_jpy: Mapped[int] = mapped_column(BigInteger)
    unit_price_jpy: Mapped[int] = mapped_column(BigInteger)
    unit: Mapped[str] = mapped_column(String(40))
    #: As sent by the platform; None: derived from the client's history when scored.
    order_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    posted_at: Mapped[datetime] = mapped_column(DateTime)
    closes_at: Mapped[datetime] = mapped_column(DateTime)
    imported_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_jobs_open", "closes_at", "posted_at"),
        Index("ix_jobs_client", "client_id", "posted_at"),
    )


class Subscriber(Base):
    __tablename__ = "newsletter_subscribers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    locale: Mapped[str] = mapped_column(String(5), default="ja")
    subscribed_at: Mapped[datetime] = mapped_column(DateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class NewsletterIssue(Base):
    __tablename__ = "newsletter_issues"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    program_id: Mapped[str] = mapped_column(String(60))
    issue_date: Mapped[date] = mapped_column(Date)
    composed_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: What the issue shows, frozen at composition: the featured pros' cards and the premium jobs.
    content: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("uq_newsletter_issue_date", "program_id", "issue_date", unique=True),)


class Feature(Base):
    """One appearance of a pro: in a newsletter issue (``issue_id``) or on the site (``channel`` = site)."""

    __tablename__ = "features"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    program_id: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(20))  # newsletter | site
    issue_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("newsletter_issues.id"), nullable=True)
    worker_id: Mapped[str] = mapped_column(String(120))
    division: Mapped[str] = mapped_column(String(120))
    featured_on: Mapped[date] = mapped_column(Date)
    position: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_features_rotation", "program_id", "channel", "division", "worker_id"),)
