"""A certification program: versioned rules as data (a TOML file), validated before use."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cached_property
from importlib import resources
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from procert.metrics import METRICS, Metric, MetricRequest, get_metric

Comparison = Literal[">=", ">", "<=", "<", "=="]
RESERVED_COLUMNS = {"worker_id", "certified", "level", "division", "status"}


class Texts(BaseModel):
    """The same text in Japanese and English."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    ja: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.ja


class Cadence(BaseModel):
    """Evaluation dates: the given day of the given months (the reference program: 1 Jan/Apr/Jul/Oct)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    months: list[int] = Field(min_length=1)
    day: int = Field(1, ge=1, le=28)

    @field_validator("months")
    @classmethod
    def _months(cls, months: list[int]) -> list[int]:
        if any(not 1 <= m <= 12 for m in months):
            raise ValueError("months must be between 1 and 12")
        if len(set(months)) != len(months):
            raise ValueError("months must not repeat")
        return sorted(months)

    def latest_on_or_before(self, day: date) -> date:
        """The most recent scheduled date not after ``day``."""
        for year in (day.year, day.year - 1):
            for month in reversed(self.months):
                candidate = date(year, month, self.day)
                if candidate <= day:
                    return candidate
        raise AssertionError("unreachable: every year has a scheduled date")

    def dates_between(self, start: date, end: date) -> list[date]:
        """Every scheduled date in [start, end], in order."""
        found = []
        for year in range(start.year, end.year + 1):
            for month in self.months:
                candidate = date(year, month, self.day)
                if start <= candidate <= end:
                    found.append(candidate)
        return found

    def next_after(self, day: date) -> date:
        """The first scheduled date strictly after ``day``."""
        for year in (day.year, day.year + 1):
            for month in self.months:
                candidate = date(year, month, self.day)
                if candidate > day:
                    return candidate
        raise AssertionError("unreachable: every year has a scheduled date")


Threshold = Decimal | bool


def _parse_threshold(value: Any) -> Threshold:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        # TOML floats arrive as binary doubles; their shortest repr is what the author wrote (4.8, not 4.79999...).
        value = repr(value)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"threshold must be a number or true/false, got {value!r}") from None
    if not number.is_finite():
        raise ValueError("threshold must be finite")
    return number


class Criterion(BaseModel):
    """One requirement: a metric compared with a threshold (optionally a different one per division)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    metric: str
    params: dict[str, Any] = Field(default_factory=dict)
    comparison: Comparison = ">="
    threshold: Threshold
    division_thresholds: dict[str, Threshold] = Field(default_factory=dict)
    #: Hysteresis: a worker already certified keeps passing at this (laxer) threshold. None: the threshold.
    keep_threshold: Threshold | None = None
    display: Literal["number", "percent", "yen"] = "number"
    #: What an undefined value (no reviews, no inquiries, not ranked) means: fail (the default) or pass ("a
    #: response rate of at least 80 %, if anyone wrote to you").
    when_undefined: Literal["fail", "pass"] = "fail"
    label: Texts
    advice: Texts

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold(cls, value: Any) -> Threshold:
        return _parse_threshold(value)

    @field_validator("keep_threshold", mode="before")
    @classmethod
    def _keep_threshold(cls, value: Any) -> Threshold | None:
        return None if value is None else _parse_threshold(value)

    @field_validator("division_thresholds", mode="before")
    @classmethod
    def _division_thresholds(cls, value: Any) -> dict[str, Threshold]:
        if not isinstance(value, dict):
            raise ValueError("division_thresholds must be a table of division = threshold")
        return {str(k): _parse_threshold(v) for k, v in value.items()}

    @field_validator("metric")
    @classmethod
    def _metric(cls, name: str) -> str:
        if name not in METRICS:
            raise ValueError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}")
        return name

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if value in RESERVED_COLUMNS or value.endswith("_passed") or "__" in value:
            raise ValueError(f"criterion id {value!r} is reserved (it would clash with an output column)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Criterion:
        metric = get_metric(self.metric)
        # Validate (and normalise) the metric's parameters; errors name the parameter.
        object.__setattr__(self, "params", metric.Params(**self.params).model_dump())
        thresholds = [self.threshold, *self.division_thresholds.values()]
        if self.keep_threshold is not None:
            thresholds.append(self.keep_threshold)
            if self.division_thresholds:
                raise ValueError("keep_threshold cannot be combined with division_thresholds")
        if metric.value_type == "boolean":
            if any(not isinstance(t, bool) for t in thresholds) or self.comparison != "==":
                raise ValueError(f"metric {self.metric} is true/false: use comparison '==' and threshold true/false")
        elif any(isinstance(t, bool) for t in thresholds):
            raise ValueError(f"metric {self.metric} is numeric: threshold must be a number")
        return self

    @property
    def metric_def(self) -> Metric[Any]:
        return get_metric(self.metric)

    @property
    def metric_params(self) -> BaseModel:
        params: BaseModel = self.metric_def.Params(**self.params)
        return params

    def request(self) -> MetricRequest:
        return MetricRequest(column=self.id, metric=self.metric_def, params=self.metric_params)

    def threshold_for(self, division: str | None) -> Threshold:
        if division is not None and division in self.division_thresholds:
            return self.division_thresholds[division]
        return self.threshold

    def threshold_fraction(self, division: str | None) -> Fraction:
        value = self.threshold_for(division)
        assert not isinstance(value, bool)
        return Fraction(value)


class Grace(BaseModel):
    """A certified worker who fails only by a small margin keeps the status for ``cycles`` more evaluations,
    flagged at risk. ``margins`` maps a criterion id to how far below (or above, for ``<=``) its threshold
    still counts as a near miss; criteria without a margin get no grace."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    cycles: int = Field(1, ge=1, le=4)
    margins: dict[str, Decimal] = Field(min_length=1)

    @field_validator("margins", mode="before")
    @classmethod
    def _margins(cls, value: Any) -> dict[str, Decimal]:
        if not isinstance(value, dict):
            raise ValueError("margins must be a table of criterion = margin")
        parsed = {str(k): _parse_threshold(v) for k, v in value.items()}
        margins = {k: v for k, v in parsed.items() if not isinstance(v, bool)}
        if len(margins) < len(parsed) or any(v <= 0 for v in margins.values()):
            raise ValueError("margins must be positive numbers")
        return margins


class Division(BaseModel):
    """A division (職種) of the marketplace: its labels and the skills vocabulary recognised in its profiles."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", max_length=120)
    name: Texts
    skills: list[str] = Field(default_factory=list)


@functools.cache
def default_divisions() -> tuple[Division, ...]:
    """The divisions shipped with procert (``divisions.toml``), for programs that declare none."""
    text = (resources.files("procert.programs") / "divisions.toml").read_text(encoding="utf-8")
    return tuple(Division.model_validate(d) for d in tomllib.loads(text)["divisions"])


#: Why a worker is away, as a declaration names it (labels in the catalogues: leave_category_<id>).
LEAVE_CATEGORIES = ("illness", "childcare", "holiday", "other")


class LeavePolicy(BaseModel):
    """Declared leave (``[leave]``): while away a worker cannot lose the status, and every window is lengthened by
    the leave days it overlaps. How much leave a year and how much notice a worker must give (an admin may
    declare leave at any time, e.g. after an illness)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    max_days_per_year: int = Field(90, ge=1, le=366, description="Leave days per calendar year, all leaves counted.")
    notice_days: int = Field(7, ge=0, le=365, description="A worker declares leave at least this many days ahead.")
    categories: list[str] = Field(default_factory=lambda: list(LEAVE_CATEGORIES), min_length=1)

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, categories: list[str]) -> list[str]:
        unknown = sorted(set(categories) - set(LEAVE_CATEGORIES))
        if unknown:
            raise ValueError(f"unknown leave categories {unknown}; known: {list(LEAVE_CATEGORIES)}")
        return categories


class PremiumScore(BaseModel):
    """How a job's premium score (0–100) is made, part by part, and the score that makes it premium.

    score = tier points (by ``company_tier``)
          + ``unit_price_points`` × min(unit price ÷ the division's median unit price for that unit, 2) ÷ 2
          + ``probability_points`` × order probability
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    tier_points: dict[str, float] = Field(
        default_factory=lambda: {"listed": 40.0, "well_known": 30.0, "other": 0.0},
        description="Points per company tier; tiers not named get 0.",
    )
    unit_price_points: float = Field(30.0, ge=0, le=100)
    probability_points: float = Field(30.0, ge=0, le=100)
    threshold: float = Field(60.0, ge=0, le=100, description="A job with at least this score is premium.")

    @model_validator(mode="after")
    def _at_most_100(self) -> PremiumScore:
        top = max(self.tier_points.values(), default=0) + self.unit_price_points + self.probability_points
        if top > 100 + 1e-9:
            raise ValueError(f"the parts of the premium score add up to {top:g}; at most 100")
        if any(v < 0 for v in self.tier_points.values()):
            raise ValueError("tier points must not be negative")
        return self


class Benefits(BaseModel):
    """What certification brings: early access to premium jobs, promotion in the newsletter and on the site."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    early_access_hours: int = Field(24, ge=0, le=24 * 14, description="Premium jobs are for pros alone this long.")
    premium: PremiumScore = Field(default_factory=PremiumScore)
    newsletter_features: int = Field(6, ge=1, le=100, description="Pros featured in each newsletter issue.")
    featured_on_site: int = Field(4, ge=1, le=100, description="Pros featured on the operator's home page.")
    #: Programs with levels: the lowest level that gets early access to premium jobs (and the job digest), and
    #: the lowest that is featured in the newsletter and on the site. None: every level.
    early_access_from: str | None = None
    promotion_from: str | None = None


class Level(BaseModel):
    """One tier of a program (レギュラー, ゴールド…): reached when every criterion it lists passes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=40)
    name: Texts
    description: Texts
    criteria: list[str] = Field(min_length=1)
    #: The badge's colour, ``#rrggbb``.
    color: str = Field("#1a7f37", pattern=r"^#[0-9a-fA-F]{6}$")


class Program(BaseModel):
    """A certification program. ``version`` must change whenever the rules change."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=60)
    version: int = Field(ge=1)
    name: Texts
    description: Texts
    timezone: str = "Asia/Tokyo"
    cadence: Cadence
    eligible_statuses: list[str] = Field(default_factory=lambda: ["active"], min_length=1)
    criteria: list[Criterion] = Field(min_length=1)
    grace: Grace | None = None
    #: Ordered tiers, lowest first. None declared: one implicit level holding every criterion (a plain status).
    levels: list[Level] = Field(default_factory=list)
    benefits: Benefits = Field(default_factory=Benefits)
    #: Declared leave; None (no ``[leave]`` table): the program takes no leave.
    leave: LeavePolicy | None = None
    #: The marketplace's divisions with their labels; none declared: procert's (``divisions.toml``).
    divisions: list[Division] = Field(default_factory=lambda: list(default_divisions()))

    def division(self, division_id: str) -> Division | None:
        return next((d for d in self.divisions if d.id == division_id), None)

    def division_label(self, division_id: str | None, lang: str) -> str:
        """A division as people read it (ライター), never its code; an id no list names is shown as it is."""
        if not division_id:
            return "—"
        found = self.division(division_id)
        return found.name.get(lang) if found is not None else division_id

    @property
    def takes_leave(self) -> bool:
        return self.leave is not None and self.leave.enabled

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Tokyo)") from None
        return value

    @field_validator("criteria")
    @classmethod
    def _unique(cls, criteria: list[Criterion]) -> list[Criterion]:
        seen: set[str] = set()
        for c in criteria:
            if c.id in seen:
                raise ValueError(f"criterion id {c.id!r} appears twice")
            seen.add(c.id)
        return criteria

    @model_validator(mode="after")
    def _grace_names_criteria(self) -> Program:
        if self.grace is not None:
            ids = {c.id for c in self.criteria}
            unknown = sorted(set(self.grace.margins) - ids)
            if unknown:
                raise ValueError(f"grace.margins names unknown criteria {unknown}")
            for cid in self.grace.margins:
                if self.criterion(cid).metric_def.value_type == "boolean":
                    raise ValueError(f"grace.margins: {cid} is true/false; a margin means nothing there")
        return self

    @model_validator(mode="after")
    def _levels_name_criteria(self) -> Program:
        ids = [c.id for c in self.criteria]
        seen: set[str] = set()
        for level in self.levels:
            if level.id in seen:
                raise ValueError(f"level id {level.id!r} appears twice")
            seen.add(level.id)
            unknown = [c for c in level.criteria if c not in ids]
            if unknown:
                raise ValueError(f"level {level.id} names unknown criteria {unknown}")
            if len(set(level.criteria)) != len(level.criteria):
                raise ValueError(f"level {level.id} lists a criterion twice")
        if self.levels:
            unused = [c for c in ids if not any(c in level.criteria for level in self.levels)]
            if unused:
                raise ValueError(f"criteria {unused} belong to no level: list each in the levels that need it")
        return self

    @cached_property
    def tiers(self) -> list[Level]:
        """The levels, lowest first; a program without levels has one implicit level of every criterion."""
        if self.levels:
            return self.levels
        return [Level(id=self.id, name=self.name, description=self.description, criteria=[c.id for c in self.criteria])]

    def level(self, level_id: str) -> Level:
        for level in self.tiers:
            if level.id == level_id:
                return level
        raise KeyError(level_id)

    @model_validator(mode="after")
    def _benefit_levels(self) -> Program:
        for name in ("early_access_from", "promotion_from"):
            wanted = getattr(self.benefits, name)
            if wanted is not None and wanted not in {level.id for level in self.levels}:
                raise ValueError(f"benefits.{name}: {wanted!r} is not a level of this program")
        return self

    def gets(self, benefit: Literal["early_access", "promotion"], level: str | None, *, certified: bool) -> bool:
        """Whether a worker holding ``level`` (certified or not) gets ``benefit``: the one rule for every benefit
        that names the lowest level it starts from."""
        if not certified:
            return False
        lowest = self.benefits.early_access_from if benefit == "early_access" else self.benefits.promotion_from
        return lowest is None or self.level_rank(level) >= self.level_rank(lowest)

    def benefits_for(self, level: str | None) -> list[tuple[str, dict[str, Any]]]:
        """What the status brings a worker holding ``level`` (every level, for a program without levels): message
        keys of the catalogues with their values, in the order a page lists them."""
        found: list[tuple[str, dict[str, Any]]] = [("benefit_badge", {}), ("benefit_directory", {})]
        if self.gets("early_access", level, certified=True):
            found.append(("benefit_early_access", {"hours": self.benefits.early_access_hours}))
        if self.gets("promotion", level, certified=True):
            found.append(("benefit_promotion", {}))
        return found

    def level_label(self, level_id: str | None, lang: str) -> str:
        """A level's name for people (a level the program no longer has by its id; no level as a dash)."""
        if level_id is None:
            return "—"
        try:
            return self.level(level_id).name.get(lang)
        except KeyError:
            return level_id

    def level_rank(self, level_id: str | None) -> int:
        """0 for no level, 1 for the lowest, and so on (levels compare by it)."""
        if level_id is None:
            return 0
        return 1 + [level.id for level in self.tiers].index(level_id)

    def missing_facts(self, provided: set[str]) -> list[str]:
        """Why the program cannot be evaluated on a store holding the optional facts ``provided``: one sentence
        per criterion whose metric needs a fact no import has supplied (empty when it can)."""
        problems = []
        for c in self.criteria:
            for fact in sorted(c.metric_def.requires - provided):
                where = f"the column {fact}" if "." in fact else f"the table {fact}"
                problems.append(f"criterion {c.id} ({c.metric}) needs {where}, which no import has supplied")
        return problems

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Program:
        """A copy, without the cached lookups (``update`` may change what they derive from)."""
        copied = super().model_copy(update=update, deep=deep)
        for cached in ("tiers", "_criteria_by_id"):
            copied.__dict__.pop(cached, None)
        return copied

    @cached_property
    def _criteria_by_id(self) -> dict[str, Criterion]:
        return {c.id: c for c in self.criteria}

    def criterion(self, criterion_id: str) -> Criterion:
        return self._criteria_by_id[criterion_id]

    @property
    def label(self) -> str:
        return f"{self.id} v{self.version}"
