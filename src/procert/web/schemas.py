"""The API's response bodies as pydantic models: every ``/api/v1`` route declares one, so ``/openapi.json``
describes what each returns (tests/test_openapi.py walks it). Instants are ISO 8601 strings in UTC ending in
``Z``; dates are ``YYYY-MM-DD``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from procert.evaluation import CriterionExplanation, CriterionFacts, LevelStanding
from procert.ledger import CorrectionItem


class Health(BaseModel):
    status: Literal["ok"]
    program: str
    #: Whether profiles are answered from the server's snapshot (False while it is built: they are read live).
    profiles_ready: bool
    #: Whether statuses take the live and forecast clocks from the server's snapshot (False: evaluated live).
    clocks_ready: bool


# ---- directory and profiles ----------------------------------------------------------------------------------


class DirectoryItem(BaseModel):
    worker_id: str
    display_name: str
    division: str
    division_label: str = Field(description="The division as people read it, in the language asked for.")
    certified_since: str | None
    overall_rating: float | None = Field(description="The review_mean metric as of the latest run, 2 decimals.")
    reviews: int
    level: str | None = Field(None, description="Programs with levels: the level held.")
    profile_url: str


class DirectoryPage(BaseModel):
    total: int = Field(description="Every match, across pages.")
    page: int
    per_page: int
    items: list[DirectoryItem]


class HeldProgram(BaseModel):
    """Another program run on the same ledger that certifies the worker now."""

    program: str
    name: dict[str, str] = Field(description="The program's name, {ja, en}.")
    level: str | None = None
    level_name: dict[str, str] | None = None
    color: str | None = None


class ReviewScore(BaseModel):
    date: str
    score: float = Field(description="The mean of the review's five items.")


class PublicProfile(BaseModel):
    worker_id: str
    display_name: str
    division: str
    profile_text: str
    self_pr_text: str
    reviews: int
    overall_rating: float | None = Field(description="The review_mean metric as of the latest run, 2 decimals.")
    communication_rating: float | None
    certified: bool
    certified_since: str | None
    level: str | None = Field(None, description="Programs with levels: the level held now.")
    level_name: dict[str, str] | None = Field(None, description="The level's name, {ja, en}.")
    other_programs: list[HeldProgram] = Field(
        default_factory=list, description="Other programs on this ledger that certify the worker now."
    )
    suspended: bool
    skills: list[str] = Field(default_factory=list, description="The division's skills the profile texts name.")
    delivered_contracts: int = 0
    repeat_client_share: float | None = Field(None, description="Clients who hired the worker twice or more, 0-1.")
    median_reply_hours: float | None = Field(None, description="Median reply time to inquiries, when imported.")
    recent_reviews: list[ReviewScore] = Field(default_factory=list, description="The three latest, newest first.")
    marketplace_profile_url: str | None = Field(None, description="The worker's page on the marketplace.")
    marketplace_scout_url: str | None = Field(None, description="Where a client scouts the worker.")


# ---- a worker's status and preview ---------------------------------------------------------------------------


class RunRef(BaseModel):
    id: int | None
    as_of: str | None


class OverrideInForce(BaseModel):
    certified: bool
    level: str | None = None
    reason: str
    expires_on: str | None


class HistoryEntry(BaseModel):
    as_of: str
    kind: str = Field(description="granted, promoted, kept, demoted or lost.")
    reason: str
    failed: list[str]
    failed_labels: list[str]
    from_level: str | None = Field(None, description="Programs with levels: the level before.")
    to_level: str | None = Field(None, description="Programs with levels: the level after.")


class ClockOut(BaseModel):
    """One of the three clocks of a verdict."""

    as_of: str | None = Field(description="The date this clock tells of (None: no run recorded yet).")
    passed: bool = Field(description="Whether the worker is (official) or would be (live, forecast) certified.")
    failing: list[str] = Field(description="Criteria not met (``status`` for an ineligible account).")
    level: str | None = None


class VerdictOut(BaseModel):
    """The three clocks, never mixed, and the headline derived from them by one rule."""

    kind: str = Field(
        description="locked_in, locked_out, pro_on_track, pro_window_risk, pro_at_risk, will_be_certified, "
        "meets_today_not_next or to_go."
    )
    headline: str = Field(description="The verdict and the next step, in the requested language.")
    official: ClockOut = Field(description="The latest recorded run, with an override in force on top.")
    live: ClockOut = Field(description="Today's facts, evaluated now.")
    forecast: ClockOut = Field(description="The next scheduled date, from today's facts (nothing new assumed).")


class EvaluatedRun(BaseModel):
    """A run the worker was evaluated in, whether or not it changed the status."""

    run_id: int
    as_of: str
    certified: bool = Field(description="The status the run gave (overrides and grace included).")
    evaluated: bool = Field(description="Whether the criteria alone were met.")
    level: str | None = None
    passed: dict[str, bool]
    values: dict[str, Any]
    on_leave: bool = Field(False, description="The run's date was a day of the worker's declared leave.")
    leave_lengthened: bool = Field(False, description="Declared leave lengthened the run's windows for the worker.")


class CorrectionOut(CorrectionItem):
    """A recorded decision the corrected facts changed (or would lower: held for review)."""

    id: int
    status: str = Field(description="applied, pending (held for review), accepted or dismissed.")
    status_label: str


class LeaveOut(BaseModel):
    """A declared leave: days away, both ends included, in the program's time zone."""

    id: int
    starts_on: str
    ends_on: str
    days: int
    category: str
    category_label: str
    state: str = Field(description="ahead, now, past or cancelled.")
    state_label: str
    declared_by: str
    can_cancel: bool = Field(description="Whether the worker may still cancel it (it has not begun).")


class TrendPoint(BaseModel):
    as_of: str
    value: float | None = Field(description="The value (true/false as 1/0; None without data).")
    live: bool = Field(description="Today's value rather than a recorded run's.")


class TrendOut(BaseModel):
    """A criterion's value at every recorded run and today, with its threshold."""

    criterion: str
    threshold: float
    better_is_lower: bool
    points: list[TrendPoint]


class StatusOut(BaseModel):
    worker_id: str
    program: str
    program_version: int
    certified: bool
    level: str | None = Field(None, description="Programs with levels: the effective level (none: no level).")
    level_name: str | None = None
    since: str | None
    last_run: RunRef
    override: OverrideInForce | None
    in_grace: bool
    verdict: VerdictOut
    at_risk: list[str] = Field(description="What the worker would fail at the next evaluation (while certified).")
    forecast_as_of: str | None
    next_evaluation: str
    criteria: list[CriterionExplanation] = Field(description="Each criterion as the last run measured it.")
    history: list[HistoryEntry]
    runs: list[EvaluatedRun] = Field(description="Every recorded run that evaluated the worker, oldest first.")
    trends: list[TrendOut] = Field(description="Each criterion's value at every run and today.")
    leaves: list[LeaveOut] = Field(default_factory=list, description="Declared leave, earliest first.")
    corrections: list[CorrectionOut] = Field(
        default_factory=list, description="Past decisions recomputed on corrected facts, oldest first."
    )


class PreviewOut(BaseModel):
    worker_id: str
    as_of: str
    certified: bool
    criteria: list[CriterionExplanation] = Field(description="Each criterion measured live, as of today.")
    standing: LevelStanding | None = Field(None, description="Programs with levels: the level reached live.")


# ---- the admin API -------------------------------------------------------------------------------------------


class RunOut(BaseModel):
    id: int
    program_id: str
    program_version: int
    as_of: str
    started_at: str
    finished_at: str
    duration_seconds: float
    evaluation_seconds: float
    workers: int
    certified: int
    transitions: dict[str, int]
    notifications: int
    at_risk: int
    forced: bool
    backfill: bool
    actor: str
    superseded_by: int | None
    facts_fingerprint: str


class RunPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[RunOut]


class TransitionOut(BaseModel):
    id: int
    run_id: int
    worker_id: str
    as_of: str
    kind: str
    reason: str
    failed: list[str]
    values: dict[str, Any]
    from_level: str | None = None
    to_level: str | None = None


class TransitionPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[TransitionOut]


class OverrideOut(BaseModel):
    id: int
    worker_id: str
    certified: bool
    level: str | None = None
    reason: str
    expires_on: str | None
    created_by: str
    created_at: str
    revoked_by: str | None
    revoked_at: str | None


class OverrideList(BaseModel):
    total: int
    items: list[OverrideOut]


class OverrideCleared(BaseModel):
    worker_id: str
    cleared: int


class NotificationOut(BaseModel):
    id: int
    worker_id: str
    run_id: int | None
    kind: str
    email: str | None
    locale: str
    status: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    created_at: str
    sent_at: str | None


class NotificationPage(BaseModel):
    by_status: dict[str, int]
    total: int
    items: list[NotificationOut]


class AuditOut(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    program_id: str | None
    subject: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    page: int
    items: list[AuditOut]


# ---- jobs ----------------------------------------------------------------------------------------------------


class ScorePartOut(BaseModel):
    """One part of the premium score; the part's own figures (tier, prices, rates) come with it."""

    model_config = ConfigDict(extra="allow")

    name: Literal["company_tier", "unit_price", "order_probability"]
    points: float
    max_points: float


class PremiumScoreOut(BaseModel):
    total: float
    premium: bool
    parts: list[ScorePartOut]


class JobOut(BaseModel):
    job_id: str
    client_id: str
    company_name: str
    company_tier: str
    title: str
    description: str | None = Field(description="Markdown, as the operator sent it.")
    division: str
    skills: list[str]
    budget_jpy: int | None
    unit_price_jpy: int
    unit: str
    posted_at: str
    closes_at: str
    premium: bool
    premium_score: PremiumScoreOut
    early_access_until: str | None
    pro_only_now: bool = Field(description="Whether only certified workers may see it now.")


class JobPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[JobOut]


class JobsStored(BaseModel):
    stored: int
    job_ids: list[str]


class Reason(BaseModel):
    """Why a job and a worker fit: a part (division, skills, price), its points and its figures."""

    model_config = ConfigDict(extra="allow")

    part: Literal["division", "skills", "price"]
    points: float


class FeedItemOut(JobOut):
    fit: float
    rank: float
    reasons: list[Reason]


class FeedOut(BaseModel):
    worker_id: str
    certified: bool
    items: list[FeedItemOut]


class RecommendationOut(BaseModel):
    worker_id: str
    display_name: str
    division: str
    overall_rating: float | None
    reviews: int
    fit: float
    rank: float
    reasons: list[Reason]
    profile_url: str


class RecommendationList(BaseModel):
    job_id: str
    items: list[RecommendationOut]


# ---- promotion -----------------------------------------------------------------------------------------------


class FeaturedCard(BaseModel):
    worker_id: str
    display_name: str
    division: str
    since: str | None
    overall_rating: float | None
    reviews: int
    profile_text: str
    profile_url: str
    badge_url: str


class FeaturedPros(BaseModel):
    date: str
    chosen_on: str | None = Field(description="The day the shown choice was made (None before any).")
    items: list[FeaturedCard]


class FactsOut(BaseModel):
    """The facts behind every number of a worker's live evaluation: each criterion's rows, counted or not and why."""

    worker_id: str
    as_of: str
    criteria: list[CriterionFacts]
