"""Jobs: the contract of a job record, validated import (file or API), the premium score with its parts, and the
early-access rule every listing and fetch goes through."""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from procert.errors import ProcertError
from procert.facts import FactStore
from procert.facts.contract import MAX_YEAR, MIN_YEAR
from procert.ledger import audit
from procert.programs import Program

from .models import Job

UNITS = ("project", "hour", "day", "month", "item", "character")
MAX_REPORTED_PROBLEMS = 50
MAX_DESCRIPTION = 20_000
#: A description may break lines and indent; other control characters (NUL, ESC, …) have no place in a page.
_TEXT_CONTROLS = {chr(c) for c in range(0x20) if chr(c) not in "\n\r\t"} | {"\x7f"}
#: A past job counts as ordered when its client started a contract between posting and a week after closing.
ORDER_WINDOW = timedelta(days=7)


class JobIn(BaseModel):
    """One job as the platform sends it. Times need an offset (naive times are read in the program's zone)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    job_id: str = Field(min_length=1, max_length=120)
    client_id: str = Field(min_length=1, max_length=120)
    company_name: str = Field(min_length=1, max_length=300)
    company_tier: str = Field(min_length=1, max_length=40, description="e.g. listed, well_known, other")
    title: str = Field(min_length=1, max_length=500)
    description: str | None = Field(
        default=None, max_length=MAX_DESCRIPTION, description="Markdown; raw HTML is shown as text, never run"
    )
    division: str = Field(min_length=1, max_length=120)
    skills: list[str] = Field(default_factory=list, max_length=50)
    budget_jpy: int = Field(ge=0, le=10**11)
    unit_price_jpy: int = Field(gt=0, le=10**10)
    unit: Literal["project", "hour", "day", "month", "item", "character"]
    order_probability: float | None = Field(default=None, ge=0, le=1)
    posted_at: datetime
    closes_at: datetime

    @field_validator("skills", mode="before")
    @classmethod
    def _skills(cls, value: Any) -> Any:
        # In files: "Python; FastAPI" (semicolons or commas); in JSON: a list.
        if isinstance(value, str):
            value = value.replace(",", ";").split(";")
        if isinstance(value, list):
            return [str(s).strip() for s in value if str(s).strip()]
        return value

    @field_validator("order_probability", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.replace("\r\n", "\n").strip()
            if any(ch in _TEXT_CONTROLS for ch in value):
                raise ValueError("contains a control character other than a line break or tab (such as NUL or ESC)")
            return value or None
        return value

    @field_validator("job_id", "client_id", "company_name", "company_tier", "title", "division")
    @classmethod
    def _one_line(cls, value: str) -> str:
        # Ids go into URLs and databases, names into pages and mails: no NUL, line breaks or ESC.
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
            raise ValueError("contains a control character (such as a line break, tab, NUL or ESC)")
        return value

    @field_validator("posted_at", "closes_at")
    @classmethod
    def _plausible_year(cls, value: datetime) -> datetime:
        # Far years overflow when converted to UTC (9999-12-31T23:59:59-12:00 is in year 10000).
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValueError(f"the year must be from {MIN_YEAR} to {MAX_YEAR}")
        return value

    @model_validator(mode="after")
    def _closes_after_posting(self) -> JobIn:
        if self.closes_at <= self.posted_at:
            raise ValueError("closes_at must be after posted_at")
        return self


@dataclass(frozen=True)
class JobProblem:
    file: str
    row: int  # 1-based data row (the header is row 0); 0 for the file as a whole
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}, row {self.row}, column {self.column}: {self.reason}"


class JobImportFailed(ProcertError, ValueError):
    """Jobs that were not stored (none of them), with every problem found (the first 50)."""

    def __init__(self, problems: list[JobProblem], total: int) -> None:
        self.problems, self.total = problems, total
        super().__init__(f"{total} problem(s); nothing was stored")


def read_job_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a CSV (UTF-8, header row) or Parquet file of jobs."""
    if not path.exists():
        raise JobImportFailed([JobProblem(str(path), 0, "-", "no such file")], 1)
    if path.suffix.lower() == ".parquet":
        rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
        return rows
    if path.suffix.lower() != ".csv":
        raise JobImportFailed([JobProblem(str(path), 0, "-", "use a .csv or .parquet file")], 1)
    with path.open(newline="", encoding="utf-8-sig") as f:
        return [{k: (v if v != "" else None) if k != "skills" else v for k, v in r.items()} for r in csv.DictReader(f)]


def validate_jobs(rows: list[dict[str, Any]], *, program: Program, source: str) -> list[JobIn]:
    """Every row checked; raises :class:`JobImportFailed` naming row, column and reason if any is wrong."""
    problems: list[JobProblem] = []
    tiers = set(program.benefits.premium.tier_points)
    jobs: list[JobIn] = []
    seen: dict[str, int] = {}
    zone = ZoneInfo(program.timezone)
    for number, raw in enumerate(rows, start=1):
        cleaned = {k: v for k, v in raw.items() if v is not None}
        tier = str(cleaned.get("company_tier", "")).strip()
        if tier and tier not in tiers:
            problems.append(JobProblem(source, number, "company_tier", f"{tier!r} is not one of {sorted(tiers)}"))
        try:
            job = JobIn.model_validate(cleaned)
        except ValidationError as exc:
            for error in exc.errors():
                column = ".".join(str(p) for p in error["loc"]) or "-"
                problems.append(JobProblem(source, number, column, error["msg"]))
            continue
        if job.job_id in seen:
            problems.append(JobProblem(source, number, "job_id", f"{job.job_id!r} repeats row {seen[job.job_id]}"))
        seen.setdefault(job.job_id, number)
        jobs.append(
            job.model_copy(update={"posted_at": _utc(job.posted_at, zone), "closes_at": _utc(job.closes_at, zone)})
        )
    if problems:
        raise JobImportFailed(problems[:MAX_REPORTED_PROBLEMS], len(problems))
    return jobs


def _utc(value: datetime, zone: ZoneInfo) -> datetime:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return aware.astimezone(UTC).replace(tzinfo=None)


def store_jobs(session: Session, *, jobs: list[JobIn], actor: str, program_id: str | None = None) -> int:
    """Insert or replace the jobs (by ``job_id``) in the caller's transaction. Audited."""
    now = datetime.now(UTC).replace(tzinfo=None)
    ids = [j.job_id for j in jobs]
    for start in range(0, len(ids), 500):
        session.execute(delete(Job).where(Job.job_id.in_(ids[start : start + 500])))
    rows = [{**j.model_dump(), "imported_at": now} for j in jobs]
    for start in range(0, len(rows), 1000):
        session.execute(insert(Job), rows[start : start + 1000])
    audit(session, actor=actor, action="jobs.imported", program_id=program_id, details={"jobs": len(jobs)})
    return len(jobs)


# ---- premium score ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScorePart:
    name: Literal["company_tier", "unit_price", "order_probability"]
    points: float
    max_points: float
    detail: dict[str, Any]


@dataclass(frozen=True)
class Score:
    total: float
    premium: bool
    parts: list[ScorePart]

    def to_json(self) -> dict[str, Any]:
        return {
            "total": round(self.total, 1),
            "premium": self.premium,
            "parts": [
                {"name": p.name, "points": round(p.points, 1), "max_points": p.max_points, **p.detail}
                for p in self.parts
            ],
        }


def division_medians(session: Session) -> dict[tuple[str, str], float]:
    """The median unit price of every division and unit, over all jobs known (open and past)."""
    prices: dict[tuple[str, str], list[int]] = defaultdict(list)
    for division, unit, price in session.execute(select(Job.division, Job.unit, Job.unit_price_jpy)):
        prices[(division, unit)].append(price)
    return {k: float(statistics.median(v)) for k, v in prices.items()}


def client_order_rates(
    session: Session, store: FactStore, client_ids: set[str], now: datetime
) -> dict[str, tuple[int, int]]:
    """For each client: (past jobs that led to an order, past jobs). An order: the client started a contract
    between the job's posting and a week after it closed (contracts come from the facts)."""
    if not client_ids:
        return {}
    past = defaultdict(list)
    for client, posted, closes in session.execute(
        select(Job.client_id, Job.posted_at, Job.closes_at).where(
            Job.client_id.in_(sorted(client_ids)), Job.closes_at <= now
        )
    ):
        past[client].append((posted, closes))
    if not past:
        return {}
    starts = store.contract_starts(sorted(past))
    rates = {}
    for client, jobs in past.items():
        started = starts.get(client, [])
        ordered = sum(1 for posted, closes in jobs if any(posted <= s <= closes + ORDER_WINDOW for s in started))
        rates[client] = (ordered, len(jobs))
    return rates


def score_jobs(
    session: Session, *, store: FactStore | None, program: Program, jobs: list[Job], now: datetime
) -> dict[str, Score]:
    """The premium score of each job, part by part (see :class:`procert.programs.PremiumScore`)."""
    config = program.benefits.premium
    medians = division_medians(session)
    missing = {j.client_id for j in jobs if j.order_probability is None}
    rates = client_order_rates(session, store, missing, now) if store is not None else {}
    scores = {}
    for job in jobs:
        tier = config.tier_points.get(job.company_tier, 0.0)
        median = medians.get((job.division, job.unit)) or float(job.unit_price_jpy)
        ratio = job.unit_price_jpy / median
        price = config.unit_price_points * min(ratio, 2.0) / 2.0
        if job.order_probability is not None:
            source: dict[str, Any] = {"source": "platform"}
            probability = job.order_probability
        else:
            ordered, posted = rates.get(job.client_id, (0, 0))
            # Laplace's rule: no history gives one half, and every past job moves it.
            probability = (ordered + 1) / (posted + 2)
            source = {"source": "client_history", "ordered": ordered, "past_jobs": posted}
        parts = [
            ScorePart("company_tier", tier, max(config.tier_points.values(), default=0.0), {"tier": job.company_tier}),
            ScorePart(
                "unit_price",
                price,
                config.unit_price_points,
                {
                    "unit_price_jpy": job.unit_price_jpy,
                    "unit": job.unit,
                    "division_median_jpy": round(median),
                    "ratio": round(ratio, 2),
                },
            ),
            ScorePart(
                "order_probability",
                config.probability_points * probability,
                config.probability_points,
                {"probability": round(probability, 3), **source},
            ),
        ]
        total = sum(p.points for p in parts)
        scores[job.job_id] = Score(total, total >= config.threshold - 1e-9, parts)
    return scores


# ---- who may see a job --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who is looking: an admin (the operator's backend) sees everything; a certified worker sees premium jobs
    from the moment they are posted; everyone else after the early-access window."""

    kind: Literal["anonymous", "worker", "admin"] = "anonymous"
    worker_id: str | None = None
    certified: bool = False


@dataclass(frozen=True)
class JobView:
    job: Job
    score: Score
    early_access_until: datetime | None  # UTC; None when the job is not premium
    reasons: list[str] = field(default_factory=list)

    def to_json(self, now: datetime) -> dict[str, Any]:
        j = self.job
        return {
            "job_id": j.job_id,
            "client_id": j.client_id,
            "company_name": j.company_name,
            "company_tier": j.company_tier,
            "title": j.title,
            "description": j.description,
            "division": j.division,
            "skills": j.skills,
            "budget_jpy": j.budget_jpy,
            "unit_price_jpy": j.unit_price_jpy,
            "unit": j.unit,
            "posted_at": j.posted_at.isoformat() + "Z",
            "closes_at": j.closes_at.isoformat() + "Z",
            "premium": self.score.premium,
            "premium_score": self.score.to_json(),
            "early_access_until": self.early_access_until.isoformat() + "Z" if self.early_access_until else None,
            "pro_only_now": self.early_access_until is not None and now < self.early_access_until,
        }


def early_access_until(job: Job, score: Score, program: Program) -> datetime | None:
    if not score.premium:
        return None
    return job.posted_at + timedelta(hours=program.benefits.early_access_hours)


def visible(job: Job, score: Score, *, viewer: Viewer, now: datetime, program: Program) -> bool:
    """The one rule: nobody but admins sees a job before it is posted; a premium job is for certified workers
    alone until its early access ends."""
    if viewer.kind == "admin":
        return True
    if now < job.posted_at:
        return False
    until = early_access_until(job, score, program)
    return until is None or now >= until or (viewer.kind == "worker" and viewer.certified)


def list_jobs(
    session: Session,
    *,
    store: FactStore | None,
    program: Program,
    viewer: Viewer,
    now: datetime,
    division: str | None = None,
    premium_only: bool = False,
    include_closed: bool = False,
    page: int = 1,
    per_page: int = 20,
) -> tuple[int, list[JobView]]:
    """The jobs this viewer may see, newest first: open ones (by default), optionally of a division or premium
    only. ``now`` is a naive UTC instant."""
    query = select(Job)
    if not include_closed:
        query = query.where(Job.closes_at > now)
    if division:
        query = query.where(Job.division == division)
    jobs = list(session.scalars(query.order_by(Job.posted_at.desc(), Job.job_id)).all())
    scores = score_jobs(session, store=store, program=program, jobs=jobs, now=now)
    views = [
        JobView(j, scores[j.job_id], early_access_until(j, scores[j.job_id], program))
        for j in jobs
        if visible(j, scores[j.job_id], viewer=viewer, now=now, program=program)
        and (not premium_only or scores[j.job_id].premium)
    ]
    start = (page - 1) * per_page
    return len(views), views[start : start + per_page]


def get_job(
    session: Session, *, store: FactStore | None, program: Program, job_id: str, viewer: Viewer, now: datetime
) -> JobView:
    """One job, if this viewer may see it. Raises LookupError otherwise: a hidden job looks like no job."""
    job = session.get(Job, job_id)
    if job is None:
        raise LookupError(f"no job {job_id!r}")
    score = score_jobs(session, store=store, program=program, jobs=[job], now=now)[job_id]
    if not visible(job, score, viewer=viewer, now=now, program=program):
        raise LookupError(f"no job {job_id!r}")
    return JobView(job, score, early_access_until(job, score, program))


def count_jobs(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Job)) or 0
