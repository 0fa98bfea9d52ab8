"""Property test: random small marketplaces evaluated by procert and by a slow, obviously correct reference."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procert.evaluation import evaluate
from procert.facts import FactStore, import_export
from procert.programs import Program, parse_program
from procert.programs.loader import _presets_dir
from tests.conftest import Export

JST = ZoneInfo("Asia/Tokyo")
AS_OF_DATES = [date(2024, 2, 29), date(2025, 1, 1), date(2024, 7, 1), date(2025, 3, 31)]

# A variant of the preset with tiny rank cut-offs, so rankings matter in marketplaces of a few workers.
SMALL_RANKS: Program = parse_program(
    (_presets_dir() / "crowdworks-pro.toml")
    .read_text(encoding="utf-8")
    .replace('id = "crowdworks-pro"', 'id = "small-ranks"')
    .replace("threshold = 200", "threshold = 2")
    .replace("division_thresholds = { engineer = 100 }", "division_thresholds = { engineer = 1 }"),
    "small-ranks",
)


# ---- the reference ----------------------------------------------------------------------------------------------


def parse(ts: str) -> datetime:
    value = datetime.fromisoformat(ts)
    return value if value.tzinfo else value.replace(tzinfo=JST)


def year_back(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def reference(exp: Export, as_of: date, program: Program) -> dict[str, dict]:
    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=JST)
    start_day = year_back(as_of)
    start = datetime(start_day.year, start_day.month, start_day.day, tzinfo=JST)
    months = []
    y, m = as_of.year, as_of.month
    for _ in range(12):
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        months.append((y, m))
    workers = {w["worker_id"]: w for w in exp.rows["workers"]}
    monthly: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for p in exp.rows["payments"]:
        local = parse(p["paid_at"]).astimezone(JST)
        if (local.year, local.month) in months:
            monthly[(local.year, local.month)][p["worker_id"]] += int(p["amount_jpy"])
    out = {}
    for wid, w in workers.items():
        closed = [
            c
            for c in exp.rows["contracts"]
            if c["worker_id"] == wid
            and c["kind"] == "fixed"
            and c["status"] in ("delivered", "cancelled")
            and start <= parse(c["closed_at"]) < end
        ]
        completion = Fraction(sum(c["status"] == "delivered" for c in closed), len(closed)) if closed else None
        reviews = [r for r in exp.rows["reviews"] if r["worker_id"] == wid and parse(r["created_at"]) < end]
        overall = (
            (
                sum(
                    Fraction(sum(r[i] for i in ("skill", "quality", "schedule", "communication", "partnership")), 5)
                    for r in reviews
                )
                / len(reviews)
            )
            if reviews
            else None
        )
        communication = Fraction(sum(r["communication"] for r in reviews), len(reviews)) if reviews else None
        ranks = []
        for totals in monthly.values():
            mine = totals.get(wid, 0)
            if mine > 0:
                same = [v for k, v in totals.items() if v > 0 and workers[k]["division"] == w["division"]]
                ranks.append(1 + sum(v > mine for v in same))
        best = min(ranks) if ranks else None
        scouts = sum(
            1
            for s in exp.rows["scouts"]
            if s["worker_id"] == wid and s["kind"] == "direct" and start <= parse(s["sent_at"]) < end
        )
        profile = bool((w["profile_text"] or "").strip()) and bool((w["self_pr_text"] or "").strip())
        cutoff = int(program.criterion("earnings_rank").threshold_for(w["division"]))
        passed = {
            "completion_rate": completion is not None and completion >= Fraction(9, 10),
            "overall_rating": overall is not None and overall >= Fraction(48, 10),
            "earnings_rank": best is not None and best <= cutoff,
            "scouts": scouts >= 5,
            "communication_rating": communication is not None and communication >= Fraction(48, 10),
            "profile": profile,
        }
        out[wid] = {
            "completion_rate": None if completion is None else float(completion),
            "overall_rating": None if overall is None else float(overall),
            "earnings_rank": best,
            "scouts": scouts,
            "communication_rating": None if communication is None else float(communication),
            "profile": profile,
            **{f"{k}_passed": v for k, v in passed.items()},
            "certified": w["status"] == "active" and all(passed.values()),
        }
    return out


# ---- random marketplaces ----------------------------------------------------------------------------------------


@st.composite
def instants(draw, as_of: date) -> str:
    """Timestamps clustered on the edges that matter: D, D - 1 year, month starts; in three notations."""
    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=JST)
    start_day = year_back(as_of)
    anchors = [
        end,
        datetime(start_day.year, start_day.month, start_day.day, tzinfo=JST),
        datetime(as_of.year, as_of.month, 1, tzinfo=JST) - timedelta(days=draw(st.sampled_from([0, 1, 31, 32, 200]))),
    ]
    moment = draw(st.sampled_from(anchors)) + timedelta(seconds=draw(st.sampled_from([-7200, -1, 0, 1, 3600])))
    style = draw(st.sampled_from(["jst", "utc", "naive"]))
    if style == "utc":
        return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
    local = moment.astimezone(JST)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + ("+09:00" if style == "jst" else "")


@st.composite
def payment_instants(draw, as_of: date) -> str:
    """Payments bunch into a few months so that rankings see ties, yet still straddle month and window edges."""
    if draw(st.booleans()):
        return draw(instants(as_of))
    first = datetime(as_of.year, as_of.month, 1, tzinfo=JST)
    previous = (first - timedelta(days=1)).replace(day=1)
    moment = draw(st.sampled_from([first, previous, previous + timedelta(days=14)]))
    moment += timedelta(seconds=draw(st.sampled_from([-1, 0, 7200])))
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


@st.composite
def marketplaces(draw) -> tuple[Export, date]:
    as_of = draw(st.sampled_from(AS_OF_DATES))
    exp = Export()
    n = draw(st.integers(1, 7))
    text = st.sampled_from(["", " ", "\u3000", "a", " b\u3000", None])
    for i in range(n):
        exp.worker(
            f"W{i}",
            division=draw(st.sampled_from(["writer", "writer", "engineer"])),
            status=draw(st.sampled_from(["active", "active", "suspended", "withdrawn"])),
            profile_text=draw(text),
            self_pr_text=draw(text),
        )
    wids = [f"W{i}" for i in range(n)]
    for _ in range(draw(st.integers(0, 12))):
        status = draw(st.sampled_from(["delivered", "delivered", "cancelled", "active"]))
        exp.contract(
            draw(st.sampled_from(wids)),
            None if status == "active" else draw(instants(as_of)),
            status=status,
            kind=draw(st.sampled_from(["fixed", "fixed", "hourly"])),
        )
    item = st.integers(1, 5)
    for _ in range(draw(st.integers(0, 12))):
        exp.review(
            draw(st.sampled_from(wids)),
            tuple(draw(item) if draw(st.booleans()) else 5 for _ in range(5)),
            created_at=draw(instants(as_of)),
        )
    for _ in range(draw(st.integers(0, 25))):
        exp.payment(
            draw(st.sampled_from(wids)),
            draw(payment_instants(as_of)),
            draw(st.sampled_from([-1000, 0, 300, 500, 500, 1000, 2500])),
        )  # ties matter
    for _ in range(draw(st.integers(0, 14))):
        exp.scout(draw(st.sampled_from(wids)), draw(instants(as_of)), kind=draw(st.sampled_from(["direct", "mass"])))
    return exp, as_of


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(marketplaces(), st.sampled_from(["preset", "small"]))
def test_evaluation_matches_the_reference(market, which):
    exp, as_of = market
    from procert.programs import load_program

    program = SMALL_RANKS if which == "small" else load_program("crowdworks-pro")
    with tempfile.TemporaryDirectory() as tmp, FactStore(Path(tmp) / "f.duckdb") as store:
        import_export(store, exp.write(Path(tmp) / "export"), timezone=program.timezone)
        got = {r["worker_id"]: r for r in evaluate(store, program, as_of).rows()}
    expected = reference(exp, as_of, program)
    assert set(got) == set(expected)
    for wid, want in expected.items():
        assert {k: got[wid][k] for k in want} == want, wid
