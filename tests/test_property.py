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


# ---- contract version 2: the new metrics, levels, and the two presets that use them ------------------------------


def months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for last in (31, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=JST)


ITEMS = ("skill", "quality", "schedule", "communication", "partnership")


def reference_v2(exp: Export, as_of: date, program: Program) -> dict[str, dict]:
    """The criteria of lancers-certified and coconala-rank, by the words of docs/programs.md, one worker at a time."""
    end = local_midnight(as_of)
    workers = {w["worker_id"]: w for w in exp.rows["workers"]}

    def since(months: int | None) -> datetime:
        return local_midnight(months_back(as_of, months)) if months else datetime.min.replace(tzinfo=JST)

    def earnings(wid: str, months: int | None) -> int:
        return sum(
            int(p["amount_jpy"])
            for p in exp.rows["payments"]
            if p["worker_id"] == wid and since(months) <= parse(p["paid_at"]) < end
        )

    def share_rank(wid: str) -> Fraction | None:
        division = workers[wid]["division"]
        totals = {w: earnings(w, 12) for w in workers if workers[w]["division"] == division}
        ranked = {w: v for w, v in totals.items() if v > 0}
        if wid not in ranked:
            return None
        return Fraction(1 + sum(v > ranked[wid] for v in ranked.values()), len(ranked))

    def completion(wid: str, months: int) -> Fraction | None:
        closed = [
            c
            for c in exp.rows["contracts"]
            if c["worker_id"] == wid
            and c["kind"] == "fixed"
            and c["status"] in ("delivered", "cancelled")
            and since(months) <= parse(c["closed_at"]) < end
        ]
        return Fraction(sum(c["status"] == "delivered" for c in closed), len(closed)) if closed else None

    def delivered(wid: str, months: int | None) -> int:
        return sum(
            1
            for c in exp.rows["contracts"]
            if c["worker_id"] == wid and c["status"] == "delivered" and since(months) <= parse(c["closed_at"]) < end
        )

    def reviews(wid: str, months: int | None) -> list[dict]:
        return [
            r for r in exp.rows["reviews"] if r["worker_id"] == wid and since(months) <= parse(r["created_at"]) < end
        ]

    def satisfaction(wid: str) -> Fraction | None:
        mine = reviews(wid, 12)
        return Fraction(sum(Fraction(sum(r[i] for i in ITEMS), 5) >= 4 for r in mine), len(mine)) if mine else None

    def rating(wid: str) -> Fraction | None:
        mine = reviews(wid, None)
        return sum(Fraction(sum(r[i] for i in ITEMS), 5) for r in mine) / len(mine) if mine else None

    def response(wid: str) -> Fraction | None:
        latest = end - timedelta(hours=24)
        counted = [
            q for q in exp.rows["inquiries"] if q["worker_id"] == wid and since(12) <= parse(q["received_at"]) <= latest
        ]
        in_time = [
            q
            for q in counted
            if q["replied_at"] and parse(q["replied_at"]) <= parse(q["received_at"]) + timedelta(hours=24)
        ]
        return Fraction(len(in_time), len(counted)) if counted else None

    out = {}
    for wid, w in workers.items():
        login = w.get("last_login_at")
        recent = bool(login) and parse(login) >= local_midnight(as_of - timedelta(days=30))
        verified = (w.get("identity_verified") or "false").lower() == "true"
        profile = bool((w["profile_text"] or "").strip()) and bool((w["self_pr_text"] or "").strip())
        if program.id == "lancers-certified":
            values = {
                "earnings_top_share": share_rank(wid),
                "satisfaction": satisfaction(wid),
                "completion_rate": completion(wid, 12),
                "response_rate": response(wid),
                "recent_login": recent,
                "identity_verified": verified,
                "profile": profile,
            }
            v = values
            passed = {
                "earnings_top_share": v["earnings_top_share"] is not None and v["earnings_top_share"] <= Fraction(1, 5),
                "satisfaction": v["satisfaction"] is not None and v["satisfaction"] >= Fraction(95, 100),
                "completion_rate": v["completion_rate"] is not None and v["completion_rate"] >= Fraction(9, 10),
                "response_rate": v["response_rate"] is None or v["response_rate"] >= Fraction(8, 10),
                "recent_login": recent,
                "identity_verified": verified,
                "profile": profile,
            }
            level = "lancers-certified" if all(passed.values()) else None
        else:
            values = {
                "sales_lifetime_1": delivered(wid, None),
                "sales_lifetime_10": delivered(wid, None),
                "sales_3m_10": delivered(wid, 3),
                "completion_3m_80": completion(wid, 3),
                "completion_3m_90": completion(wid, 3),
                "earnings_3m_50k": earnings(wid, 3),
                "earnings_3m_100k": earnings(wid, 3),
                "rating": rating(wid),
                "identity_verified": verified,
                "recent_login": recent,
            }
            v = values
            passed = {
                "sales_lifetime_1": v["sales_lifetime_1"] >= 1,
                "sales_lifetime_10": v["sales_lifetime_10"] >= 10,
                "sales_3m_10": v["sales_3m_10"] >= 10,
                "completion_3m_80": v["completion_3m_80"] is not None and v["completion_3m_80"] >= Fraction(8, 10),
                "completion_3m_90": v["completion_3m_90"] is not None and v["completion_3m_90"] >= Fraction(9, 10),
                "earnings_3m_50k": v["earnings_3m_50k"] >= 50_000,
                "earnings_3m_100k": v["earnings_3m_100k"] >= 100_000,
                "rating": v["rating"] is not None and v["rating"] >= Fraction(48, 10),
                "identity_verified": verified,
                "recent_login": recent,
            }
            levels = {
                "regular": ["sales_lifetime_1"],
                "bronze": ["sales_lifetime_10"],
                "silver": ["sales_3m_10", "completion_3m_80"],
                "gold": ["earnings_3m_50k", "completion_3m_90", "rating", "identity_verified", "recent_login"],
                "platinum": ["earnings_3m_100k", "completion_3m_90", "rating", "identity_verified", "recent_login"],
            }
            reached = [lv for lv, needs in levels.items() if all(passed[c] for c in needs)]
            level = reached[-1] if reached else None
        if w["status"] != "active":
            level = None
        row = {k: float(x) if isinstance(x, Fraction) else x for k, x in values.items()}
        row |= {f"{k}_passed": x for k, x in passed.items()}
        row["certified"] = level is not None
        if program.levels:
            row["level"] = level
        out[wid] = row
    return out


@st.composite
def instants_v2(draw, as_of: date) -> str:
    """Edges of the new windows: D, D − 24 hours, D − 30 days, D − 3 and 12 months."""
    end = local_midnight(as_of)
    anchors = [
        end,
        end - timedelta(hours=24),
        local_midnight(as_of - timedelta(days=30)),
        local_midnight(months_back(as_of, 3)),
        local_midnight(months_back(as_of, 12)),
    ]
    moment = draw(st.sampled_from(anchors)) + timedelta(seconds=draw(st.sampled_from([-3600, -1, 0, 1, 7200])))
    if draw(st.booleans()):
        return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S+09:00")


@st.composite
def marketplaces_v2(draw) -> tuple[Export, date]:
    exp, as_of = draw(marketplaces())
    wids = [w["worker_id"] for w in exp.rows["workers"]]
    for w in exp.rows["workers"]:
        w["identity_verified"] = draw(st.sampled_from(["true", "false", "TRUE", ""]))
        w["last_login_at"] = draw(st.one_of(st.just(""), instants_v2(as_of)))
    for _ in range(draw(st.integers(0, 12))):
        received = draw(instants_v2(as_of))
        delay = draw(st.sampled_from([None, 0, 3600, 24 * 3600, 24 * 3600 + 1]))
        replied = None
        if delay is not None:
            replied = (parse(received) + timedelta(seconds=delay)).strftime("%Y-%m-%dT%H:%M:%S%z")
        exp.inquiry(draw(st.sampled_from(wids)), received, replied)
    # Contracts and payments on the new windows' edges, big enough for the yen thresholds.
    for _ in range(draw(st.integers(0, 8))):
        exp.contract(
            draw(st.sampled_from(wids)), draw(instants_v2(as_of)), kind=draw(st.sampled_from(["fixed", "hourly"]))
        )
    for _ in range(draw(st.integers(0, 8))):
        exp.payment(
            draw(st.sampled_from(wids)), draw(instants_v2(as_of)), draw(st.sampled_from([50_000, 49_999, -1, 100_000]))
        )
    if len(wids) >= 2 and draw(st.booleans()):  # equal totals: ties share the best rank
        inside = local_midnight(months_back(as_of, 2)).strftime("%Y-%m-%dT%H:%M:%S+09:00")
        start, end = local_midnight(months_back(as_of, 12)), local_midnight(as_of)
        for wid in draw(st.lists(st.sampled_from(wids), min_size=2, max_size=len(wids), unique=True)):
            so_far = sum(
                int(p["amount_jpy"])
                for p in exp.rows["payments"]
                if p["worker_id"] == wid and start <= parse(p["paid_at"]) < end
            )
            exp.payment(wid, inside, 1_000_000 - so_far)  # every one of them at exactly ¥1,000,000
    return exp, as_of


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(marketplaces_v2(), st.sampled_from(["lancers-certified", "coconala-rank"]))
def test_new_metrics_and_levels_match_the_reference(market, which):
    from procert.programs import load_program

    exp, as_of = market
    program = load_program(which)
    with tempfile.TemporaryDirectory() as tmp, FactStore(Path(tmp) / "f.duckdb") as store:
        import_export(store, exp.write(Path(tmp) / "export", tables=None), timezone=program.timezone)
        if not exp.rows["inquiries"]:  # an export with no inquiries at all still supplies the (empty) table
            import_export(store, exp.write(Path(tmp) / "none", tables=("inquiries",)), timezone=program.timezone)
        got = {r["worker_id"]: r for r in evaluate(store, program, as_of).rows()}
    expected = reference_v2(exp, as_of, program)
    assert set(got) == set(expected)
    for wid, want in expected.items():
        assert {k: got[wid][k] for k in want} == want, wid
