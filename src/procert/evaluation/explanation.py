"""The explanation of one worker's evaluation, as one pydantic schema: what the CLI's ``--json`` prints, the web
API and the dashboard show and the notification mails carry. Its JSON names (``threshold``, ``window``,
``what_it_would_take``) are the serialisation aliases of the fields; values are formatted once, by
:func:`procert.i18n.format_value`."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from procert.i18n import t
from procert.programs import Program

Value = bool | int | float | None


class CriterionExplanation(BaseModel):
    """One criterion for one worker: the value, the rule, the window, and what it would take."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    id: str
    label: str
    value: Value = Field(description="The measured value (a ratio as a float; None without data).")
    value_text: str = Field(description="The value for people: percentages, yes/no, a dash for no data.")
    threshold_text: str = Field(
        serialization_alias="threshold", validation_alias=AliasChoices("threshold_text", "threshold")
    )
    passed: bool | None = Field(description="Whether the criterion is met (None: not measured for this worker).")
    window_text: str | None = Field(
        None, serialization_alias="window", validation_alias=AliasChoices("window_text", "window")
    )
    takes: str | None = Field(
        None,
        serialization_alias="what_it_would_take",
        validation_alias=AliasChoices("takes", "what_it_would_take"),
        description="What it would take to pass (None when passed or not computable).",
    )
    margin: str | None = Field(None, description="How much room there is above the threshold, when passed.")
    advice: str | None = None
    progress: float | None = Field(None, ge=0, le=1, description="How far along the threshold, 0 to 1.")
    bar: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Where the value sits on a bar whose threshold mark is at 0.8: a pass exactly at the threshold "
        "is at the mark, a fail shows how far below it, a comfortable pass goes beyond.",
    )
    facts: dict[str, Any] = Field(default_factory=dict, description="The counts behind the value.")
    count_text: str | None = Field(
        None, description="The counts behind the value in words: '19/20 件', '27 件の評価', '2/10 位'."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_earlier_payloads(cls, data: Any) -> Any:
        # Mails queued before this schema carried the formatted value as "value" and no value_text.
        if isinstance(data, dict) and "value_text" not in data and isinstance(data.get("value"), str):
            data = {**data, "value_text": data["value"], "value": None}
        return data

    @property
    def exact_text(self) -> str:
        """The value with the counts behind it, e.g. ``95% (19/20 件)``, ``4.87 (27 件の評価)``."""
        if self.count_text:
            return f"{self.value_text} ({self.count_text})"
        num, den = self.facts.get("numerator"), self.facts.get("denominator")  # payloads queued before count_text
        return f"{self.value_text} ({num}/{den})" if num is not None and den is not None else self.value_text


class LevelStanding(BaseModel):
    """Where a worker stands in a program with levels: the level reached, what it rests on, and the next one."""

    level: str | None = Field(description="The highest level reached (None: none).")
    level_name: str | None
    keeps: list[str] = Field(default_factory=list, description="The criteria the current level rests on.")
    next_level: str | None = Field(None, description="The level above the current one (None: at the top).")
    next_level_name: str | None = None
    next_level_needs: list[str] = Field(
        default_factory=list, description="The next level's criteria not met yet (their explanations say how)."
    )


class Explanation(BaseModel):
    """A worker's evaluation as of a date, criterion by criterion."""

    model_config = ConfigDict(serialize_by_alias=True)

    worker_id: str
    display_name: str | None
    division: str
    status: str
    certified: bool
    program_id: str
    program_version: int
    as_of: date
    next_evaluation: date
    lang: str
    criteria: list[CriterionExplanation]
    standing: LevelStanding | None = Field(None, description="Programs with levels: the worker's level.")
    program: Program = Field(exclude=True)

    @property
    def by_id(self) -> dict[str, CriterionExplanation]:
        return {c.id: c for c in self.criteria}

    @property
    def headline(self) -> str:
        return t(
            "header",
            self.lang,
            name=self.program.name.get(self.lang),
            program=self.program.label,
            worker=self.worker_id,
            division=self.program.division_label(self.division, self.lang),
            as_of=self.as_of.isoformat(),
            tz=self.program.timezone,
        )

    @property
    def verdict(self) -> str:
        if self.status not in self.program.eligible_statuses:
            return t(
                "ineligible_status", self.lang, status=self.status, eligible=", ".join(self.program.eligible_statuses)
            )
        if self.standing is not None:
            name = self.standing.level_name or t("level_none", self.lang)
            return t("level_current", self.lang, level=name)
        return t("certified" if self.certified else "not_certified", self.lang)

    def standing_lines(self) -> list[str]:
        """The level, what keeps it and what the next one takes, in words (programs with levels)."""
        standing = self.standing
        if standing is None:
            return []
        labels = self.by_id
        lines = []
        if standing.level_name is not None:
            keeps = ", ".join(labels[c].label for c in standing.keeps)
            lines.append(t("level_keeps", self.lang, level=standing.level_name, criteria=keeps))
        if standing.next_level_name is None:
            lines.append(t("level_top", self.lang))
        elif standing.next_level_needs:
            needs = ", ".join(labels[c].label for c in standing.next_level_needs)
            lines.append(t("level_next", self.lang, level=standing.next_level_name, criteria=needs))
        else:
            lines.append(t("level_next_ready", self.lang, level=standing.next_level_name))
        return lines

    def to_text(self) -> str:
        lines = [self.headline, self.verdict, *self.standing_lines(), ""]
        for c in self.criteria:
            mark = t("pass" if c.passed else "fail", self.lang)
            lines.append(f"[{mark}] {c.label}: {c.exact_text} ({c.threshold_text})")
            lines.append(f"    {t('col_window', self.lang)}: {c.window_text}")
            if c.takes:
                lines.append(f"    {t('takes', self.lang)}: {c.takes}")
            if c.margin:
                lines.append(f"    {t('margin', self.lang)}: {c.margin}")
            lines.append(f"    {t('advice', self.lang)}: {c.advice}")
        lines += ["", t("next_evaluation", self.lang, date=self.next_evaluation.isoformat())]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class FactRow(BaseModel):
    """One row of the facts a criterion read: whether it counted, why, and what it added."""

    table: str
    key: str
    at: str | None = Field(description="The fact's time in the program's time zone (None for profile columns).")
    counted: bool
    reason: str = Field(description="A code: counted, refund, before_window, after_as_of, kind_hourly, kind_mass …")
    reason_text: str
    adds: dict[str, Any] = Field(default_factory=dict)
    shown: dict[str, Any] = Field(default_factory=dict)


class CriterionFacts(BaseModel):
    """The facts behind one criterion's value, which the counted rows reproduce."""

    id: str
    label: str
    value: Value = Field(description="Recomputed from the counted rows (a rank: the worker's own total or rank).")
    rows: list[FactRow]
