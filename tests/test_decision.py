"""The transition decision as a table: override > keep threshold > grace > criteria, without a database."""

from __future__ import annotations

from datetime import date

import pytest

from procert.ledger import Decision, Lock, Previous, decide, forecast_failures
from procert.programs import load_program

D = date(2025, 4, 1)
SINCE = date(2025, 1, 1)
WAS = Previous(SINCE, 0, "pro")
IN_GRACE = Previous(SINCE, 1, "pro")
ONE = ["pro"]  # a program without levels has one implicit level


def single(certified: bool, reason, kind, since, *, in_grace=False, grace_cycles=0, was=False) -> Decision:
    return Decision(
        certified, reason, kind, since, in_grace, grace_cycles, "pro" if certified else None, "pro" if was else None
    )


# previous, evaluated, keeps_all, near_all, grace cycles allowed, lock → expected decision
CASES = [
    # newcomers: the criteria decide; a lock decides over them
    (None, True, True, True, 1, None, single(True, "criteria", "granted", D)),
    (None, False, False, False, 1, None, single(False, "criteria", None, None)),
    (None, False, False, False, 1, True, single(True, "override", "granted", D)),
    (None, True, True, True, 1, False, single(False, "override", None, None)),
    # a pro who meets the softer keep thresholds keeps the status even when the full criteria fail (hysteresis)
    (WAS, False, True, True, 1, None, single(True, "criteria", "kept", SINCE, was=True)),
    (WAS, True, True, True, 1, None, single(True, "criteria", "kept", SINCE, was=True)),
    # a narrow miss: grace, once per allowed cycle, then the status is lost
    (WAS, False, False, True, 1, None, single(True, "grace", "kept", SINCE, in_grace=True, grace_cycles=1, was=True)),
    (IN_GRACE, False, False, True, 1, None, single(False, "criteria", "lost", None, was=True)),
    (
        IN_GRACE,
        False,
        False,
        True,
        2,
        None,
        single(True, "grace", "kept", SINCE, in_grace=True, grace_cycles=2, was=True),
    ),
    (WAS, False, False, True, 0, None, single(False, "criteria", "lost", None, was=True)),
    # a clear miss: no grace
    (WAS, False, False, False, 1, None, single(False, "criteria", "lost", None, was=True)),
    # a lock beats everything, in both directions
    (WAS, True, True, True, 1, False, single(False, "override", "lost", None, was=True)),
    (WAS, False, False, False, 1, True, single(True, "override", "kept", SINCE, was=True)),
    # back after a grace cycle: meeting the keep thresholds resets grace
    (IN_GRACE, False, True, True, 1, None, single(True, "criteria", "kept", SINCE, was=True)),
]


@pytest.mark.parametrize(("previous", "evaluated", "keeps_all", "near_all", "cycles", "lock", "expected"), CASES)
def test_transition_decision(previous, evaluated, keeps_all, near_all, cycles, lock, expected):
    got = decide(
        as_of=D,
        previous=previous,
        levels=ONE,
        evaluated="pro" if evaluated else None,
        kept={"pro"} if keeps_all else set(),
        near={"pro"} if near_all else set(),
        grace_cycles=cycles,
        lock=None if lock is None else Lock("pro" if lock else None),
    )
    assert got == expected


LEVELS = ["regular", "silver", "gold"]
GOLD, SILVER = Previous(SINCE, 0, "gold"), Previous(SINCE, 0, "silver")

# previous, evaluated level, levels met at keep thresholds, levels within grace, lock → level, kind, reason
LEVEL_CASES = [
    (None, "gold", set(), set(), None, ("gold", "granted", "criteria")),
    (SILVER, "gold", {"gold", "silver"}, set(), None, ("gold", "promoted", "criteria")),
    (GOLD, "gold", {"gold"}, {"gold"}, None, ("gold", "kept", "criteria")),
    (GOLD, "silver", set(), set(), None, ("silver", "demoted", "criteria")),
    # hysteresis keeps the level held when its keep thresholds are met, though the strict criteria say silver
    (GOLD, "silver", {"gold", "silver"}, set(), None, ("gold", "kept", "criteria")),
    # and protects only what is held: silver's keep thresholds do not lift a silver worker to gold
    (SILVER, "regular", {"gold", "silver", "regular"}, set(), None, ("silver", "kept", "criteria")),
    # demoted to the highest level at or below the one held that the keep thresholds still meet
    (GOLD, None, {"silver"}, set(), None, ("silver", "demoted", "criteria")),
    # a narrow miss of the level held: grace keeps it
    (GOLD, "silver", {"silver"}, {"gold"}, None, ("gold", "kept", "grace")),
    (Previous(SINCE, 1, "gold"), "silver", {"silver"}, {"gold"}, None, ("silver", "demoted", "criteria")),
    (GOLD, None, set(), set(), None, (None, "lost", "criteria")),
    # a lock holds its level, up or down
    (GOLD, "gold", {"gold"}, set(), Lock("silver"), ("silver", "demoted", "override")),
    (SILVER, None, set(), set(), Lock("gold"), ("gold", "promoted", "override")),
    (GOLD, "gold", {"gold"}, set(), Lock(None), (None, "lost", "override")),
]


@pytest.mark.parametrize(("previous", "evaluated", "kept", "near", "lock", "expected"), LEVEL_CASES)
def test_level_decision(previous, evaluated, kept, near, lock, expected):
    got = decide(
        as_of=D,
        previous=previous,
        levels=LEVELS,
        evaluated=evaluated,
        kept=kept,
        near=near,
        grace_cycles=1,
        lock=lock,
    )
    assert (got.level, got.kind, got.reason) == expected
    assert got.certified is (expected[0] is not None)
    assert got.previous_level == (previous.level if previous else None)
    if got.kind == "granted":
        assert got.since == D
    elif got.kind != "lost":
        assert got.since == SINCE  # certified since: a move between levels keeps it


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


@pytest.fixture(scope="module")
def demo_rows(tmp_path_factory) -> dict[str, list[dict]]:
    """Evaluation rows of a demo marketplace under each preset: real rows, every status and level among them."""
    from procert.demo import generate
    from procert.evaluation import evaluate
    from procert.facts import FactStore, import_export

    directory = tmp_path_factory.mktemp("decision-demo")
    export = generate(directory / "export", workers=1500, seed=3, end=date(2026, 10, 31)).directory
    with FactStore(directory / "facts.duckdb") as store:
        import_export(store, export, timezone="Asia/Tokyo")
        return {
            preset: evaluate(store, load_program(preset), date(2026, 10, 1)).rows()
            for preset in ("crowdworks-pro", "lancers-certified", "coconala-rank")
        }


@pytest.mark.parametrize("preset", ["crowdworks-pro", "lancers-certified", "coconala-rank"])
def test_a_worker_who_held_nothing_is_decided_by_the_level_reached_alone(demo_rows, preset):
    """What a run's fast path relies on: without a level held and without a lock, the keep and grace margins
    (and leave) change nothing, so the decision from the level reached alone is the full decision."""
    from procert.ledger.decision import level_flags, reached_level

    program = load_program(preset)
    levels = [level.id for level in program.tiers]
    rows = demo_rows[preset]
    assert any(reached_level(program, r) for r in rows) and any(not reached_level(program, r) for r in rows)
    for row in rows:
        evaluated, kept, near = level_flags(program, row)
        assert reached_level(program, row) == evaluated
        for away in (False, True):
            full = decide(
                as_of=D,
                previous=None,
                levels=levels,
                evaluated=evaluated,
                kept=kept,
                near=near,
                grace_cycles=2,
                lock=None,
                on_leave=away,
            )
            fast = decide(
                as_of=D,
                previous=None,
                levels=levels,
                evaluated=evaluated,
                kept=set(),
                near=set(),
                grace_cycles=2,
                lock=None,
                on_leave=away,
            )
            assert fast == full
