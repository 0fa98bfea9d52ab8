"""A worker's public profile, without HTTP: the facts the profile page and API show, the evaluated rating and
whether they are certified now."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

from procert.errors import GoneError, NotFoundError
from procert.facts.reads import WorkerFacts
from procert.i18n import Message
from procert.programs import Program
from procert.web.context import WebContext
from procert.web.schemas import HeldProgram, PublicProfile, ReviewScore
from procert.web.search import fold


def _rounded(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def public_profile(context: WebContext, worker_id: str) -> PublicProfile:
    """The profile of ``worker_id``. Raises NotFoundError for an unknown worker and GoneError for one who left
    the marketplace (nothing of theirs stays public); a suspended worker shows neither texts nor the badge."""
    found = context.profile_facts(worker_id)
    if found is None:
        raise NotFoundError(Message("refused_no_worker", {"worker": worker_id}))
    facts, rating, record = found.facts, found.rating, found.record
    if facts.status == "withdrawn":
        raise GoneError(Message("refused_worker_left", {"worker": worker_id}))
    suspended = facts.status == "suspended"
    card = None if suspended else context.card(worker_id)
    certified, since = (True, card.since) if card is not None else (False, None)
    level = card.level if card is not None else None
    return PublicProfile(
        worker_id=worker_id,
        display_name=facts.display_name,
        division=facts.division,
        profile_text="" if suspended else facts.profile_text,
        self_pr_text="" if suspended else facts.self_pr_text,
        reviews=rating.reviews,
        overall_rating=_rounded(rating.overall),
        communication_rating=_rounded(rating.communication),
        certified=certified,
        certified_since=since.isoformat() if since else None,
        level=level,
        level_name=context.program.level(level).name.model_dump() if level else None,
        other_programs=[] if suspended else held_elsewhere(context, worker_id),
        suspended=suspended,
        skills=[] if suspended else _skills(context.program, facts.division, facts.skills, facts),
        delivered_contracts=record.delivered,
        repeat_client_share=round(record.repeat_share, 3) if record.repeat_share is not None else None,
        median_reply_hours=round(record.median_reply_hours, 1) if record.median_reply_hours is not None else None,
        recent_reviews=[
            ReviewScore(date=at.date().isoformat(), score=round(score, 1)) for at, score in record.recent_reviews
        ],
        marketplace_profile_url=_link(context.core.settings.marketplace_profile_url, worker_id),
        marketplace_scout_url=_link(context.core.settings.marketplace_scout_url, worker_id),
    )


def _link(template: str | None, worker_id: str) -> str | None:
    return template.replace("{worker_id}", quote(worker_id, safe="")) if template else None


def _skills(program: Program, division: str, listed: tuple[str, ...], facts: WorkerFacts) -> list[str]:
    """The skills the worker lists (the export's column), then those of their division the texts name."""
    named = skills_named(program, division, facts.profile_text, facts.self_pr_text)
    return list(dict.fromkeys([*listed, *named]))


def skills_named(program: Program, division: str, *texts: str) -> list[str]:
    """The skills of the worker's division (its vocabulary) that their profile texts name, folded as search folds."""
    found = program.division(division)
    if found is None:
        return []
    text = fold(" ".join(texts)).replace(" ", "")
    return [skill for skill, folded in _folded_skills(tuple(found.skills)) if folded in text]


@lru_cache(maxsize=256)
def _folded_skills(skills: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    # A division's vocabulary is folded once, not on every profile view (the profile is a hot path).
    return tuple((skill, fold(skill).replace(" ", "")) for skill in skills)


def held_elsewhere(context: WebContext, worker_id: str) -> list[HeldProgram]:
    """The other programs recorded in this ledger that certify the worker now (with their level)."""
    held = []
    for program, reader in context.other_programs():
        status, _history = reader.read(worker_id)
        if status.certified:
            name = program.level(status.level).name if program.levels and status.level else None
            held.append(
                HeldProgram(
                    program=program.id,
                    name=program.name.model_dump(),
                    level=status.level,
                    level_name=name.model_dump() if name else None,
                    color=program.level(status.level).color if program.levels and status.level else None,
                )
            )
    return held
