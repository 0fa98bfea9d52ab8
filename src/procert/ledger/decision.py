"""The transition decision, pure: what a run makes of one worker, from what the last run said, this run's
evaluation and any lock. No database here, so every case is a row of a table test (tests/test_decision.py).

The order is the rule: an override (a lock automation never overrides) > the keep threshold (hysteresis: a pro
keeps the status on the softer keep thresholds) > grace (a pro who misses narrowly keeps it for a few cycles)
> the criteria.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from procert.evaluation import keeps
from procert.programs import Program

Kind = Literal["granted", "kept", "lost"]
Reason = Literal["override", "criteria", "grace", "missing"]


@dataclass(frozen=True)
class Previous:
    """What the latest earlier run said of a certified worker."""

    since: date | None
    grace_used: int = 0  # consecutive grace cycles already used


@dataclass(frozen=True)
class Decision:
    certified: bool
    reason: Reason
    kind: Kind | None  # None: not certified before and not now
    since: date | None
    in_grace: bool = False
    grace_cycles: int = 0  # consecutive grace cycles used, this one included


def decide(
    *,
    as_of: date,
    previous: Previous | None,
    evaluated: bool,
    keeps_all: bool,
    near_all: bool,
    grace_cycles: int,
    lock: bool | None,
) -> Decision:
    """One worker's outcome of a run as of ``as_of``.

    ``previous``: the earlier run's record when it held the worker certified, else None; ``evaluated``: whether
    they meet the criteria now; ``keeps_all`` / ``near_all``: whether they meet every keep threshold / are within
    every criterion's grace margin (both false when their account is not eligible); ``grace_cycles``: how many
    cycles of grace the program allows; ``lock``: an override in force (True keeps certified, False keeps out)."""
    was = previous is not None
    in_grace, cycles = False, 0
    certified: bool
    reason: Reason
    if lock is not None:
        certified, reason = lock, "override"
    elif was and keeps_all:
        certified, reason = True, "criteria"
    elif was and near_all and previous is not None and previous.grace_used < grace_cycles:
        certified, reason, in_grace, cycles = True, "grace", True, previous.grace_used + 1
    else:
        certified, reason = evaluated, "criteria"
    kind: Kind | None
    since: date | None
    if certified and not was:
        kind, since = "granted", as_of
    elif certified:
        kind, since = "kept", previous.since if previous is not None else None
    elif was:
        kind, since = "lost", None
    else:
        kind, since = None, None
    return Decision(certified, reason, kind, since, in_grace, cycles)


def forecast_failures(program: Program, row: dict[str, Any] | None) -> list[str]:
    """What a certified worker would fail at the next evaluation if nothing new happened (the forecast's row):
    each criterion whose keep threshold it misses, and ``status`` when the account would not be eligible. The one
    "at risk" rule, for runs and on-demand forecasts alike."""
    if row is None:
        return []
    failing = [c.id for c in program.criteria if not keeps(row, c)]
    if row["status"] not in program.eligible_statuses:
        failing.append("status")
    return failing
