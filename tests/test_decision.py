"""The transition decision as a table: override > keep threshold > grace > criteria, without a database."""

from __future__ import annotations

from datetime import date

import pytest

from procert.ledger import Decision, Previous, decide, forecast_failures
from procert.programs import load_program

D = date(2025, 4, 1)
SINCE = date(2025, 1, 1)
WAS = Previous(SINCE, 0)
IN_GRACE = Previous(SINCE, 1)

# previous, evaluated, keeps_all, near_all, grace cycles allowed, lock → expected decision
CASES = [
    # newcomers: the criteria decide; a lock decides over them
    (None, True, True, True, 1, None, Decision(True, "criteria", "granted", D)),
    (None, False, False, False, 1, None, Decision(False, "criteria", None, None)),
    (None, False, False, False, 1, True, Decision(True, "override", "granted", D)),
    (None, True, True, True, 1, False, Decision(False, "override", None, None)),
    # a pro who meets the softer keep thresholds keeps the status even when the full criteria fail (hysteresis)
    (WAS, False, True, True, 1, None, Decision(True, "criteria", "kept", SINCE)),
    (WAS, True, True, True, 1, None, Decision(True, "criteria", "kept", SINCE)),
    # a narrow miss: grace, once per allowed cycle, then the status is lost
    (WAS, False, False, True, 1, None, Decision(True, "grace", "kept", SINCE, in_grace=True, grace_cycles=1)),
    (IN_GRACE, False, False, True, 1, None, Decision(False, "criteria", "lost", None)),
    (IN_GRACE, False, False, True, 2, None, Decision(True, "grace", "kept", SINCE, in_grace=True, grace_cycles=2)),
    (WAS, False, False, True, 0, None, Decision(False, "criteria", "lost", None)),
    # a clear miss: no grace
    (WAS, False, False, False, 1, None, Decision(False, "criteria", "lost", None)),
    # a lock beats everything, in both directions
    (WAS, True, True, True, 1, False, Decision(False, "override", "lost", None)),
    (WAS, False, False, False, 1, True, Decision(True, "override", "kept", SINCE)),
    # back after a grace cycle: meeting the keep thresholds resets grace
    (IN_GRACE, False, True, True, 1, None, Decision(True, "criteria", "kept", SINCE)),
]


@pytest.mark.parametrize(("previous", "evaluated", "keeps_all", "near_all", "cycles", "lock", "expected"), CASES)
def test_transition_decision(previous, evaluated, keeps_all, near_all, cycles, lock, expected):
    got = decide(
        as_of=D,
        previous=previous,
        evaluated=evaluated,
        keeps_all=keeps_all,
        near_all=near_all,
        grace_cycles=cycles,
        lock=lock,
    )
    assert got == expected


def test_at_risk_counts_the_account_status_as_well_as_the_criteria():
    program = load_program("crowdworks-pro")
    # An evaluation row: each criterion's pass flag and keep flag (the keep threshold's result).
    passing: dict[str, object] = {"status": "active"}
    for c in program.criteria:
        passing[f"{c.id}_passed"] = True
        passing[f"{c.id}__keep"] = True
    assert forecast_failures(program, passing) == []
    assert forecast_failures(program, {**passing, "status": "suspended"}) == ["status"]
    first, second = program.criteria[0], program.criteria[1]
    flag = f"{first.id}__keep" if first.keep_threshold is not None else f"{first.id}_passed"
    assert forecast_failures(program, {**passing, flag: False}) == [first.id]
    flag2 = f"{second.id}__keep" if second.keep_threshold is not None else f"{second.id}_passed"
    assert forecast_failures(program, {**passing, flag: False, flag2: False, "status": "paused"}) == [
        first.id,
        second.id,
        "status",
    ]
    assert forecast_failures(program, None) == []
