"""The transition decision, pure: what a run makes of one worker, from what the last run said, this run's
evaluation and any lock. No database here, so every case is a row of a table test (tests/test_decision.py).

The order is the rule: an override (a lock automation never overrides) > declared leave (a pro away on the run's
date keeps what they hold) > the keep threshold (hysteresis: a pro keeps the status on the softer keep
thresholds) > grace (a pro who misses narrowly keeps it for a few cycles) > the criteria. With levels, each level
is a status of its own under the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from procert.evaluation import keeps, near_miss
from procert.programs import Program

Kind = Literal["granted", "promoted", "kept", "demoted", "lost"]
Reason = Literal["override", "criteria", "grace", "leave", "held", "missing"]
#: How a recomputation on corrected facts changes a recorded decision: up (applied) or down (held for review).
CorrectionKind = Literal["granted", "raised", "removed", "lowered"]


@dataclass(frozen=True)
class Previous:
    """What the latest earlier run said of a certified worker."""

    since: date | None
    grace_used: int = 0  # consecutive grace cycles already used
    level: str | None = None  # the level held (programs without levels: their one implicit level)


@dataclass(frozen=True)
class Lock:
    """An override in force: the level it holds the worker at, or None to keep them out."""

    level: str | None


@dataclass(frozen=True)
class Decision:
    certified: bool
    reason: Reason
    kind: Kind | None  # None: not certified before and not now
    since: date | None
    in_grace: bool = False
    grace_cycles: int = 0  # consecutive grace cycles used, this one included
    level: str | None = None
    previous_level: str | None = None


def decide(
    *,
    as_of: date,
    previous: Previous | None,
    levels: list[str],
    evaluated: str | None,
    kept: set[str],
    near: set[str],
    grace_cycles: int,
    lock: Lock | None,
    on_leave: bool = False,
) -> Decision:
    """One worker's outcome of a run as of ``as_of``, in a program whose levels are ``levels`` (lowest first; a
    program without levels has one).

    ``previous``: the earlier run's record when it held the worker certified, else None; ``evaluated``: the
    highest level whose criteria pass now (None: none); ``kept`` / ``near``: the levels all of whose criteria the
    worker meets at the keep thresholds / within the grace margins (empty when their account is not eligible);
    ``grace_cycles``: how many cycles of grace the program allows; ``lock``: an override in force; ``on_leave``:
    the run's date is a day of declared leave (and the account is eligible).

    Hysteresis protects what is held: a worker keeps the highest level at or below their previous one that they
    meet at the keep thresholds. Grace keeps the previous level itself, for a narrow miss, a few cycles. Leave
    keeps it whatever the criteria say (it never lifts: a promotion earned while away is granted), and uses no
    grace cycle."""
    rank = {level: i + 1 for i, level in enumerate(levels)}

    def rank_of(level: str | None) -> int:
        return 0 if level is None else rank[level]

    held = previous.level if previous is not None else None
    in_grace, cycles = False, 0
    level: str | None
    reason: Reason
    if lock is not None:
        level, reason = lock.level, "override"
    else:
        level, reason = evaluated, "criteria"
        if held is not None:
            protected = [lv for lv in kept if rank_of(lv) <= rank_of(held)]
            kept_best = max(protected, key=rank_of, default=None)
            if rank_of(kept_best) > rank_of(level):
                level = kept_best
            if on_leave and rank_of(held) > rank_of(level):
                level, reason = held, "leave"
            elif (
                rank_of(held) > rank_of(level)
                and held in near
                and previous is not None
                and previous.grace_used < grace_cycles
            ):
                level, reason, in_grace, cycles = held, "grace", True, previous.grace_used + 1
    kind: Kind | None
    since: date | None
    if level is not None and held is None:
        kind, since = "granted", as_of
    elif level is not None:
        step = rank_of(level) - rank_of(held)
        kind = "promoted" if step > 0 else "demoted" if step < 0 else "kept"
        since = previous.since if previous is not None else None
    elif held is not None:
        kind, since = "lost", None
    else:
        kind, since = None, None
    return Decision(level is not None, reason, kind, since, in_grace, cycles, level, held)


def held_level(program: Program, certified: bool, level: str | None) -> str | None:
    """A recorded status as the decision takes levels: the level held (a program without levels: its one
    implicit level), or None when not certified."""
    if not certified:
        return None
    if not program.levels:
        return program.id
    return level if level in {lv.id for lv in program.tiers} else program.tiers[0].id


def correction_kind(program: Program, recorded: str | None, corrected: str | None) -> CorrectionKind | None:
    """What a recomputation makes of a recorded decision: the level recorded against the level the corrected
    facts give (both as :func:`held_level` gives them). Up is applied; down never silently: it is held for an
    admin to review. None: the same."""
    rank = {level.id: i + 1 for i, level in enumerate(program.tiers)}
    before, after = rank.get(recorded or "", 0), rank.get(corrected or "", 0)
    if after > before:
        return "granted" if before == 0 else "raised"
    if after < before:
        return "removed" if after == 0 else "lowered"
    return None


def level_flags(program: Program, row: dict[str, Any]) -> tuple[str | None, set[str], set[str]]:
    """From an evaluation row: the level reached, and the levels met at the keep thresholds and within grace
    (none when the account is not eligible). Programs without levels have their one implicit level."""
    if row["status"] not in program.eligible_statuses:
        return None, set(), set()
    tiers = program.tiers
    kept = {lv.id for lv in tiers if all(keeps(row, program.criterion(c)) for c in lv.criteria)}
    near = {lv.id for lv in tiers if all(near_miss(row, program.criterion(c), program) for c in lv.criteria)}
    return reached_level(program, row), kept, near


def reached_level(program: Program, row: dict[str, Any]) -> str | None:
    """The level an evaluation row reaches (None: none, or an account that is not eligible); the first of
    :func:`level_flags`, alone: a worker who held nothing needs no more to be decided."""
    if row["status"] not in program.eligible_statuses:
        return None
    return row["level"] if program.levels else (program.id if row["certified"] else None)


def failing_criteria(program: Program, row: dict[str, Any], level: str | None = None) -> list[str]:
    """The criteria an evaluation row fails (only those of ``level``, when given in a program with levels), and
    ``status`` when the account is not eligible: what a transition names and what a verdict lists."""
    needed = set(program.level(level).criteria) if program.levels and level else {c.id for c in program.criteria}
    failed = [c.id for c in program.criteria if c.id in needed and not row[f"{c.id}_passed"]]
    if row["status"] not in program.eligible_statuses:
        failed.append("status")
    return failed


def forecast_failures(program: Program, row: dict[str, Any] | None, level: str | None = None) -> list[str]:
    """What a certified worker would fail at the next evaluation if nothing new happened (the forecast's row):
    each criterion of the level they hold (``level``; every criterion in a program without levels) whose keep
    threshold it misses, and ``status`` when the account would not be eligible. The one "at risk" rule, for runs
    and on-demand forecasts alike."""
    if row is None:
        return []
    needed = set(program.level(level).criteria) if program.levels and level else {c.id for c in program.criteria}
    failing = [c.id for c in program.criteria if c.id in needed and not keeps(row, c)]
    if row["status"] not in program.eligible_statuses:
        failing.append("status")
    return failing
