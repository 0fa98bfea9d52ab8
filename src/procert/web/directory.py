"""The directory of current pros: search, filter, sort and paginate, without HTTP (the web is a thin layer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from procert.errors import ProcertError
from procert.facts import FactStore
from procert.ledger import Pro
from procert.metrics import lifetime_ratings
from procert.programs import Program
from procert.web.search import SearchIndex, fold

SortKey = Literal["rating", "recent", "name"]


@dataclass(frozen=True)
class ProCard:
    worker_id: str
    display_name: str
    division: str
    since: date | None
    overall_rating: float | None
    reviews: int
    profile_text: str
    #: Programs with levels: the level held (None otherwise).
    level: str | None = None
    self_pr_text: str = ""
    display_name_kana: str = ""
    skills: tuple[str, ...] = ()


@dataclass(frozen=True)
class DirectoryPage:
    total: int
    page: int
    per_page: int
    items: list[ProCard]

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


def pro_cards(store: FactStore, program: Program, pros: list[Pro], *, rated_as_of: date) -> list[ProCard]:
    """Join the current pros with their public profile facts (name, profile text) and their lifetime rating as
    evaluated on ``rated_as_of`` (the review_mean metric). Only workers whose account is active now are shown: a
    suspended or withdrawn pro is neither listed nor badged."""
    if not pros:
        return []
    facts = store.workers([p.worker_id for p in pros])
    active = [p for p in pros if p.worker_id in facts and facts[p.worker_id].active]
    ratings = lifetime_ratings(store, [p.worker_id for p in active], as_of=rated_as_of, timezone=program.timezone)
    return [
        ProCard(
            pro.worker_id,
            facts[pro.worker_id].display_name,
            pro.division,
            pro.since,
            ratings[pro.worker_id].overall,
            ratings[pro.worker_id].reviews,
            facts[pro.worker_id].profile_text,
            pro.level if program.levels else None,
            facts[pro.worker_id].self_pr_text,
            facts[pro.worker_id].display_name_kana,
            facts[pro.worker_id].skills,
        )
        for pro in active
    ]


class UnknownLevel(ProcertError, ValueError):
    status = 422


class UnknownDivision(ProcertError, ValueError):
    status = 422


def check_division(
    program: Program | None, division: str | None, present: set[str] | frozenset[str] = frozenset()
) -> None:
    """Refuse a division filter nobody has: not in the program's divisions nor among the workers listed."""
    if not division:
        return
    known = {d.id for d in program.divisions} if program is not None else set()
    if division not in known | set(present):
        names = ", ".join(sorted(known | set(present))) or "none"
        raise UnknownDivision(f"no division {division!r}; divisions: {names}")


class Directory:
    """The current pros, indexed for the directory: sorted once per sort key and with their search text folded
    once, so a request only filters (which keeps the order) and cuts a page."""

    def __init__(self, cards: list[ProCard], program: Program | None = None) -> None:
        self.cards = cards
        #: A level's place in the program's order (1 = lowest), for "this level or higher".
        self._level_rank = {lv.id: i + 1 for i, lv in enumerate(program.levels)} if program is not None else {}
        present = {c.division for c in cards}
        self.program = program
        #: The divisions a filter offers: the program's, in its order, then any others the pros have.
        declared = [d.id for d in program.divisions] if program is not None else []
        self.divisions = declared + sorted(present - set(declared))
        self._position = {c.worker_id: i for i, c in enumerate(cards)}
        self._index = SearchIndex([self._searchable(c) for c in cards])
        self._sorted: dict[str, list[ProCard]] = {
            "rating": sorted(cards, key=lambda c: (-(c.overall_rating or 0), -c.reviews, c.worker_id)),
            "recent": sorted(cards, key=lambda c: (c.since or date.min, c.worker_id), reverse=True),
            # 五十音順: by the reading when the facts give one (folded, so katakana and hiragana sort together),
            # else by the name.
            "name": sorted(cards, key=lambda c: (fold(c.display_name_kana or c.display_name), c.worker_id)),
        }

    def _searchable(self, card: ProCard) -> str:
        """What a search reads of a pro: name, id, profile, self-PR, the division's code and labels."""
        division = self.program.division(card.division) if self.program is not None else None
        labels = f"{division.name.ja} {division.name.en}" if division is not None else ""
        return " ".join(
            (
                card.display_name,
                card.display_name_kana,
                card.worker_id,
                card.profile_text,
                card.self_pr_text,
                " ".join(card.skills),
                card.division,
                labels,
            )
        )

    def search(
        self,
        *,
        q: str | None = None,
        division: str | None = None,
        level: str | None = None,
        sort: SortKey = "rating",
        page: int = 1,
        per_page: int = 20,
    ) -> DirectoryPage:
        """Filter by free text (every word, folded and matched as :mod:`procert.web.search` does: name, id,
        profile, self-PR, division), division and level (that level or a higher one); one page, the most relevant
        first, then in the chosen order: rating (then more reviews), most recently certified, or name. Raises
        ValueError for a level or a division nobody has."""
        selected = self._sorted[sort]
        check_division(self.program, division, set(self.divisions))
        if division:
            selected = [c for c in selected if c.division == division]
        if level:
            if level not in self._level_rank:
                raise UnknownLevel(f"no level {level!r}; levels: {', '.join(self._level_rank) or 'none'}")
            least = self._level_rank[level]
            selected = [c for c in selected if self._level_rank.get(c.level or "", 0) >= least]
        scores = self._index.scores(q or "")
        if scores is not None:
            # Relevance first; among equals the chosen order (a stable sort keeps it).
            matched = [(float(scores[self._position[c.worker_id]]), c) for c in selected]
            ranked = sorted((pair for pair in matched if pair[0] > 0), key=lambda pair: -pair[0])
            selected = [c for _score, c in ranked]
        start = (page - 1) * per_page
        return DirectoryPage(len(selected), page, per_page, selected[start : start + per_page])


def search(cards: list[ProCard], **options: Any) -> DirectoryPage:
    """One search over ``cards`` (builds a :class:`Directory`; keep the Directory to search repeatedly)."""
    return Directory(cards).search(**options)
