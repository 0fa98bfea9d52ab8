"""The program's public page (/program), without HTTP: what it asks, when it evaluates, what it brings, how to
appeal and take leave; generated from the program file in the visitor's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from procert.evaluation import threshold_text
from procert.evaluation.explain import window_text
from procert.i18n import t
from procert.metrics import Period
from procert.programs import Program


@dataclass(frozen=True)
class CriterionLine:
    label: str
    threshold: str
    window: str
    by_division: list[tuple[str, str]]  # (division label, threshold) where a division's threshold differs
    advice: str


@dataclass(frozen=True)
class LevelLine:
    name: str
    description: str
    criteria: list[str]
    color: str


@dataclass(frozen=True)
class ProgramOverview:
    name: str
    description: str
    criteria: list[CriterionLine]
    schedule: str
    next_date: date
    benefits: list[str]
    levels: list[LevelLine]
    leave: str | None


def program_overview(program: Program, lang: str, today: date) -> ProgramOverview:
    next_date = program.cadence.next_after(today)
    period = Period(next_date, program.timezone)
    months = t("mail_list_separator", lang).join(t("program_month", lang, month=m) for m in program.cadence.months)
    lines = [
        CriterionLine(
            label=c.label.get(lang),
            threshold=threshold_text(c, "", lang),
            window=window_text(c.metric_def.window(c.metric_params, period), lang),
            by_division=[
                (program.division_label(d, lang), threshold_text(c, d, lang)) for d in sorted(c.division_thresholds)
            ],
            advice=c.advice.get(lang),
        )
        for c in program.criteria
    ]
    labels = {c.id: c.label.get(lang) for c in program.criteria}
    leave = (
        t("web_leave_rules", lang, max=program.leave.max_days_per_year, notice=program.leave.notice_days)
        if program.leave is not None and program.leave.enabled
        else None
    )
    return ProgramOverview(
        name=program.name.get(lang),
        description=program.description.get(lang),
        criteria=lines,
        schedule=t("program_schedule", lang, months=months, day=program.cadence.day, tz=program.timezone),
        next_date=next_date,
        benefits=[t(key, lang, **values) for key, values in program.benefits_for(program.tiers[-1].id)],
        levels=[
            LevelLine(lv.name.get(lang), lv.description.get(lang), [labels[c] for c in lv.criteria], lv.color)
            for lv in program.levels
        ],
        leave=leave,
    )
