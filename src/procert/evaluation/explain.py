"""Explain one worker's evaluation: each criterion's value, threshold, window, and what it would take."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any

from procert.errors import NotFoundError
from procert.evaluation.engine import AwayByWorker, evaluate_worker, leave_periods
from procert.evaluation.explanation import CriterionExplanation, CriterionFacts, Explanation, FactRow, LevelStanding
from procert.facts import FactStore
from procert.facts.store import sql_literal
from procert.i18n import format_value, has_message, t, yen
from procert.metrics import Away, Period, Window, month_label
from procert.metrics.catalog import (
    PROFILE_FIELDS,
    EarningsBestRank,
    EarningsBestRankParams,
    EarningsShareRank,
    EarningsShareRankParams,
    ProfileCompleteParams,
    ReviewMeanParams,
    window_totals_sql,
)
from procert.metrics.lineage import lineage
from procert.programs import Criterion, Program

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}
SEARCH_LIMIT = 10_000_000


class WorkerNotFound(NotFoundError, LookupError):
    pass


def min_steps(predicate: Callable[[int], bool], limit: int = SEARCH_LIMIT) -> int | None:
    """The least k in [0, limit] with predicate(k) true, for a predicate that stays true once true."""
    if not predicate(limit):
        return None
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi) // 2
        if predicate(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _yen(amount: int) -> str:
    return f"{amount:,}"


def progress(criterion: Criterion, value: Any, division: str) -> float:
    """How far along a criterion the worker is, 0..1 (for progress bars)."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    threshold = float(criterion.threshold_for(division))
    if criterion.comparison in ("<=", "<"):
        return min(threshold / value, 1.0) if value > 0 else 0.0
    return min(float(value) / threshold, 1.0) if threshold > 0 else 1.0


_OP_NAMES = {">=": "ge", ">": "gt", "<=": "le", "<": "lt", "==": "eq"}


#: Where the threshold sits on a progress bar (0..1): room to show a fail's distance and a pass's margin.
BAR_MARK = 0.8


def bar_position(criterion: Criterion, value: Any, division: str, passed: bool) -> float:
    """The value on a bar with the threshold at :data:`BAR_MARK` (capped at 1)."""
    if value is None:
        return BAR_MARK if passed else 0.0  # undefined that passes (when_undefined = "pass") sits at the mark
    if isinstance(value, bool):
        return 1.0 if passed else 0.0
    threshold = float(criterion.threshold_for(division))
    if criterion.comparison in ("<=", "<"):
        ratio = threshold / value if value > 0 else 1.0
    else:
        ratio = float(value) / threshold if threshold > 0 else 1.0
    return max(0.0, min(ratio * BAR_MARK, 1.0))


def threshold_text(criterion: Criterion, division: str, lang: str = "ja") -> str:
    """A threshold in words, as people say it: "90% 以上", "5 件以上", "200 位以内", "上位 20% 以内", "入力済み"."""
    threshold = criterion.threshold_for(division)
    if isinstance(threshold, bool):
        word = f"threshold_{criterion.metric}_{'true' if threshold else 'false'}"
        return t(word, lang) if has_message(word) else format_value(threshold, lang)
    if criterion.display == "percent":
        shown = f"{(threshold * 100).normalize():f}%"
    elif criterion.display == "yen":
        shown = yen(int(threshold))
    else:
        shown = f"{threshold.normalize():f}"
    key = f"threshold_{_OP_NAMES[criterion.comparison]}_{criterion.metric_def.threshold_style}"
    return t(key if has_message(key) else f"threshold_{_OP_NAMES[criterion.comparison]}_plain", lang, v=shown)


def format_login(instant: datetime, period: Period) -> str:
    """A stored (naive UTC) instant as the program's local date and time."""
    return instant.replace(tzinfo=UTC).astimezone(period.zone).strftime("%Y-%m-%d %H:%M")


def window_text(window: Window, lang: str) -> str:
    if window.kind == "range":
        return t("window_range", lang, start=window.start, end=window.end)
    if window.kind == "lifetime":
        return t("window_lifetime", lang, end=window.end)
    if window.kind == "months":
        return t("window_months", lang, first=window.first_month, last=window.last_month)
    if window.kind == "received":
        return t("window_received", lang, start=window.start, end=window.end, hours=window.hours)
    return t("window_current", lang)


def _ratio_gaps(
    criterion: Criterion, row: dict[str, Any], target: Fraction, lang: str, passed: bool
) -> tuple[str | None, str | None]:
    cmp = _OPS[criterion.comparison]
    num, den = row[f"{criterion.id}__num"], row[f"{criterion.id}__den"]
    if criterion.metric == "completion_rate":
        if passed:
            return None, None
        if not den:
            return t("gap_no_contracts", lang), None
        k = min_steps(lambda k: cmp(Fraction(num + k, den + k), target))
        if k is None:
            return t("gap_unreachable_rate", lang), None
        return t("gap_more_deliveries", lang, k=k, num=num, den=den), None
    if criterion.metric == "review_mean":
        params = criterion.metric_params
        assert isinstance(params, ReviewMeanParams)
        items = len(params.items)
        reviews = (den or 0) // items
        if passed:
            # Lifetime averages make one bad review costly: say how many one-star reviews it would take.
            k = min_steps(lambda k: not cmp(Fraction(num + items * k, den + items * k), target))
            return None, (t("margin_one_star", lang, k=k) if k is not None else None)
        if not den:
            return t("gap_no_reviews", lang), None
        k = min_steps(lambda k: cmp(Fraction(num + 5 * items * k, den + items * k), target))
        if k is None:
            return t("gap_unreachable_rating", lang), None
        value = f"{num / den:.4f}".rstrip("0").rstrip(".")
        return t(
            "gap_more_perfect_reviews",
            lang,
            k=k,
            target=f"{target.numerator / target.denominator:g}",
            n=reviews,
            value=value,
        ), None
    if criterion.metric in ("review_share", "response_rate"):
        return _share_gaps(criterion, num, den, target, lang, passed)
    return (None if passed else t("gap_unknown", lang)), None


def _share_gaps(
    criterion: Criterion, num: int | None, den: int | None, target: Fraction, lang: str, passed: bool
) -> tuple[str | None, str | None]:
    """Shares of good events (satisfied reviews, timely replies): how many more good ones it takes, or how many
    bad ones it would take to fall below."""
    cmp = _OPS[criterion.comparison]
    what = "reviews" if criterion.metric == "review_share" else "replies"
    if not den:
        if passed:  # when_undefined = "pass"
            return None, t("share_none_margin_" + what, lang)
        return t("share_none_gap_" + what, lang), None
    assert num is not None
    if passed:
        k = min_steps(lambda k: not cmp(Fraction(num, den + k), target))
        return None, (t("share_margin_" + what, lang, k=k) if k is not None else None)
    k = min_steps(lambda k: cmp(Fraction(num + k, den + k), target))
    if k is None:
        return t("gap_unreachable_rate", lang), None
    return t("share_gap_" + what, lang, k=k, num=num, den=den), None


def _yen_gaps(
    criterion: Criterion, value: int, target: Fraction, lang: str, passed: bool
) -> tuple[str | None, str | None]:
    if criterion.comparison not in (">=", ">"):
        return (None if passed else t("gap_unknown", lang)), None
    need = math.floor(target) + 1 if criterion.comparison == ">" else math.ceil(target)
    if passed:
        room = value - need
        return None, (t("margin_yen", lang, amount=yen(room)) if room > 0 else t("margin_yen_exact", lang))
    return t("gap_more_yen", lang, amount=yen(need - value), value=yen(value)), None


def _share_rank_gaps(
    criterion: Criterion,
    division: str,
    num: int | None,
    den: int | None,
    detail: dict[str, Any] | None,
    lang: str,
    passed: bool,
) -> tuple[str | None, str | None, dict[str, Any]]:
    """A rank as a share of the division: the best rank that passes, and the earnings that would reach it."""
    if criterion.comparison not in ("<=", "<"):
        return (None if passed else t("gap_unknown", lang)), None, {}
    threshold = criterion.threshold_fraction(division)
    facts: dict[str, Any] = {"rank": num, "ranked": den}
    if detail is not None:
        facts |= detail
    if num is not None and den:
        cutoff = share_cutoff(criterion, den, division)
        facts["cutoff_rank"] = cutoff
        if passed:
            return None, t("margin_share_rank", lang, rank=num, ranked=den, cutoff=cutoff), facts
        needed = detail.get("cutoff_total") if detail else None
        if needed is not None and detail is not None:
            short = yen(max(needed - (detail.get("own") or 0), 1))
            return t("gap_share_rank_yen", lang, rank=num, ranked=den, cutoff=cutoff, short=short), None, facts
        return t("gap_share_rank", lang, rank=num, ranked=den, cutoff=cutoff), None, facts
    # Not ranked: no positive earnings in the window. Once ranked, the division has one more worker.
    ranked = (detail or {}).get("ranked") or 0
    cutoff = share_cutoff(criterion, ranked + 1, division)
    facts["cutoff_rank"] = cutoff
    if cutoff < 1:
        return t("gap_unreachable_rate", lang), None, facts
    needed = (detail or {}).get("cutoff_total")
    amount = yen(needed if needed is not None else 1)
    return (
        t(
            "gap_share_rank_unranked",
            lang,
            ranked=ranked,
            cutoff=cutoff,
            amount=amount,
            pct=f"{float(threshold) * 100:g}%",
        ),
        None,
        facts,
    )


def share_cutoff(criterion: Criterion, ranked: int, division: str | None) -> int:
    """The worst rank that passes a share threshold among ``ranked`` workers: rank / ranked <= 0.2 at 10 -> 2."""
    threshold = criterion.threshold_fraction(division)
    if criterion.comparison == "<=":
        return math.floor(threshold * ranked)
    return math.ceil(threshold * ranked) - 1


def _count_gaps(
    criterion: Criterion, value: int, target: Fraction, lang: str, passed: bool
) -> tuple[str | None, str | None]:
    cmp = _OPS[criterion.comparison]
    if criterion.comparison in (">=", ">"):
        if passed:
            k = min_steps(lambda k: not cmp(Fraction(value - k), target), limit=value + 1)
            if not k:
                return None, None
            return None, (t("margin_count", lang, k=k - 1) if k > 1 else t("margin_count_exact", lang))
        k = min_steps(lambda k: cmp(Fraction(value + k), target))
        return t("gap_more_count", lang, k=k, value=value), None
    return (None if passed else t("gap_unknown", lang)), None


def rank_cutoff(criterion: Criterion, division: str) -> int | None:
    """The worst rank that still passes for a division ("<= 200" -> 200, "< 200" -> 199), or None."""
    if criterion.comparison not in ("<=", "<"):
        return None
    threshold = criterion.threshold_fraction(division)
    cutoff = math.floor(threshold) if criterion.comparison == "<=" else math.ceil(threshold) - 1
    return cutoff if cutoff >= 1 else None


def _rank_details(
    store: FactStore, criterion: Criterion, period: Period, worker_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Month-by-month ranking details for many workers in one query."""
    metric = criterion.metric_def
    params = criterion.metric_params
    assert isinstance(metric, EarningsBestRank) and isinstance(params, EarningsBestRankParams)

    def cutoff_for(division_column: str) -> str:
        branches = " ".join(
            f"WHEN {division_column} = '{d.replace(chr(39), chr(39) * 2)}' THEN {rank_cutoff(criterion, d) or 0}"
            for d in sorted(criterion.division_thresholds)
        )
        default = rank_cutoff(criterion, "") or 0
        return f"(CASE {branches} ELSE {default} END)" if branches else str(default)

    details: dict[str, list[dict[str, Any]]] = {w: [] for w in worker_ids}
    rows = store.query(
        metric.rank_details_sql(params, period, cutoff_for),
        [worker_ids],
    ).fetchall()
    for worker_id, month, own, rank, ranked, cut in rows:
        details[worker_id].append(
            {"month": month_label(month), "own": own, "own_rank": rank, "ranked": ranked, "cutoff_total": cut}
        )
    return details


def _rank_gaps(
    criterion: Criterion,
    detail_rows: list[dict[str, Any]],
    division: str,
    value: int | None,
    lang: str,
    passed: bool,
    next_window: tuple[str, str] | None = None,
) -> tuple[str | None, str | None, dict[str, Any]]:
    """``next_window``: the first month of the next evaluation's window and its date, to warn when every month
    that qualifies now leaves the window by then."""
    cutoff = rank_cutoff(criterion, division)
    if cutoff is None:
        return (None if passed else t("gap_unknown", lang)), None, {}
    facts = {"cutoff_rank": cutoff, "months": detail_rows}
    if passed:
        best = min((r for r in detail_rows if r["own_rank"] is not None), key=lambda r: r["own_rank"])
        margin = t("margin_rank", lang, month=best["month"], rank=best["own_rank"], cutoff=cutoff)
        if next_window is not None:
            first, next_date = next_window
            staying = [r for r in detail_rows if r["month"] >= first and r["own_rank"] and r["own_rank"] <= cutoff]
            if not staying:
                margin += " " + t("margin_rank_leaves", lang, month=best["month"], next=next_date)
        return None, margin, facts
    if not detail_rows:
        detail = t("rank_no_data", lang)
    else:

        def shortfall(r: dict[str, Any]) -> int:
            needed = max(r["cutoff_total"] or 1, 1)
            return max(needed - (r["own"] or 0), 0)

        closest = min(detail_rows, key=lambda r: (shortfall(r), r["month"]))
        if closest["cutoff_total"] is None:
            detail = t("rank_open", lang, month=closest["month"], ranked=closest["ranked"], cutoff=cutoff)
        else:
            detail = t(
                "rank_closest",
                lang,
                month=closest["month"],
                cutoff=cutoff,
                cutoff_total=_yen(closest["cutoff_total"]),
                own=_yen(closest["own"] or 0),
                short=_yen(shortfall(closest)),
            )
        facts["closest_month"] = closest
    if value is None:
        return t("gap_never_ranked", lang, detail=detail), None, facts
    return t("gap_rank", lang, rank=value, detail=detail), None, facts


def explain(
    store: FactStore, program: Program, as_of: date, worker_id: str, lang: str = "ja", *, away: Sequence[Away] = ()
) -> Explanation:
    """Explain ``worker_id``'s evaluation as of ``as_of`` (``away``: their declared leave). Raises
    :class:`WorkerNotFound`."""
    row = evaluate_worker(store, program, as_of, worker_id, away=away)
    if row is None:
        raise WorkerNotFound(f"no worker {worker_id!r} in the facts")
    return explain_rows(store, program, Period(as_of, program.timezone), [row], {worker_id: lang}, {worker_id: away})[
        worker_id
    ]


def explain_rows(
    store: FactStore,
    program: Program,
    period: Period,
    rows: list[dict[str, Any]],
    langs: dict[str, str],
    away: AwayByWorker | None = None,
) -> dict[str, Explanation]:
    """Explain evaluation rows already computed (by a full run, say), each in its worker's language; workers on
    leave (``away``) on their lengthened windows, as they were evaluated.

    Everything not in the rows (names, profile flags, ranking details) is fetched once for all of them.
    """
    own = leave_periods(program, period, away)
    if own:
        found = _explain_rows(store, program, period, [r for r in rows if r["worker_id"] not in own], langs)
        for r in rows:
            if r["worker_id"] in own:
                found |= _explain_rows(store, program, own[r["worker_id"]], [r], langs)
        return found
    return _explain_rows(store, program, period, rows, langs)


def _explain_rows(
    store: FactStore, program: Program, period: Period, rows: list[dict[str, Any]], langs: dict[str, str]
) -> dict[str, Explanation]:
    ids = [r["worker_id"] for r in rows]
    if not ids:
        return {}
    workers = {
        w: _Worker(name, profile, self_pr, login)
        for w, name, profile, self_pr, login in store.query(
            "SELECT worker_id, display_name, has_profile_text, has_self_pr_text, last_login_at FROM workers "
            "WHERE worker_id IN (SELECT unnest(?))",
            [ids],
        ).fetchall()
    }
    ranks = {c.id: _rank_details(store, c, period, ids) for c in program.criteria if c.metric == "earnings_best_rank"}
    shares = {
        c.id: _share_rank_details(store, c, period, rows) for c in program.criteria if c.metric == "earnings_share_rank"
    }
    return {
        r["worker_id"]: _explain_one(
            program,
            period,
            r,
            workers.get(r["worker_id"], _Worker(None, False, False, None)),
            {cid: d[r["worker_id"]] for cid, d in ranks.items()},
            {cid: d.get(r["worker_id"]) for cid, d in shares.items()},
            langs.get(r["worker_id"], "ja"),
        )
        for r in rows
    }


@dataclass(frozen=True)
class _Worker:
    name: str | None
    has_profile_text: bool
    has_self_pr_text: bool
    last_login_at: datetime | None


def _share_rank_details(
    store: FactStore, criterion: Criterion, period: Period, rows: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """For each worker: their total in the window, how many are ranked in their division, and the total another
    worker holds at the worst passing rank (what the worker's total must reach, ties sharing the rank). One pass
    over the window's totals per division."""
    metric = criterion.metric_def
    params = criterion.metric_params
    assert isinstance(metric, EarningsShareRank) and isinstance(params, EarningsShareRankParams)
    by_division: dict[str, list[str]] = {}
    for r in rows:
        by_division.setdefault(r["division"], []).append(r["worker_id"])
    details: dict[str, dict[str, Any]] = {}

    def totals_of(ids: list[str], within: Period) -> dict[str, int]:
        found = store.query(
            f"""SELECT worker_id, total FROM ({window_totals_sql(params.window_months, within)}) t
                WHERE worker_id IN (SELECT unnest(?))""",
            [ids],
        ).fetchall()
        return {str(w): int(total) for w, total in found}

    for division, ids in by_division.items():
        # The ranking is over the program's window (nobody else's window moves); a worker on leave (only ever
        # alone in ``rows`` with a lengthened ``period``) brings their own total over theirs.
        totals = window_totals_sql(params.window_months, period.without_away, division_is=sql_literal(division))
        ranked_totals: list[int] = [
            int(v)
            for (v,) in store.query(f"SELECT total FROM ({totals}) t WHERE total > 0 ORDER BY total DESC").fetchall()
        ]
        standard = totals_of(ids, period.without_away)
        own_totals = totals_of(ids, period) if period.away else standard
        for worker_id in ids:
            own = own_totals.get(worker_id)
            others = list(ranked_totals)
            counted = standard.get(worker_id)
            if counted is not None and counted > 0:
                others.remove(counted)  # one occurrence: the worker's own
            # Among the others: the worst passing rank counts the worker in (one more if not ranked yet). A total
            # equal to the cutoff-th highest of the others ties with it, and ties share the better rank.
            cutoff = share_cutoff(criterion, len(others) + 1, division)
            needed = (others[cutoff - 1] if len(others) >= cutoff else 1) if cutoff >= 1 else None
            ranked = len(others) + (1 if own is not None and own > 0 else 0)
            details[worker_id] = {"own": own, "ranked": ranked, "cutoff_total": needed}
    return details


def _explain_one(
    program: Program,
    period: Period,
    row: dict[str, Any],
    worker: _Worker,
    rank_details: dict[str, list[dict[str, Any]]],
    share_details: dict[str, dict[str, Any] | None],
    lang: str,
) -> Explanation:
    worker_id = row["worker_id"]
    as_of = period.as_of
    division = row["division"]
    items: list[CriterionExplanation] = []
    for criterion in program.criteria:
        value, passed = row[criterion.id], bool(row[f"{criterion.id}_passed"])
        kind = criterion.metric_def.value_type
        facts: dict[str, Any] = {}
        takes: str | None
        margin: str | None
        if criterion.metric == "earnings_share_rank":
            num, den = row[f"{criterion.id}__num"], row[f"{criterion.id}__den"]
            value_text = format_value(value, lang, display=criterion.display)
            takes, margin, facts = _share_rank_gaps(
                criterion, division, num, den, share_details.get(criterion.id), lang, passed
            )
            facts |= {"numerator": num, "denominator": den}
        elif kind == "ratio":
            num, den = row[f"{criterion.id}__num"], row[f"{criterion.id}__den"]
            facts = {"numerator": num, "denominator": den}
            value_text = format_value(value, lang, display=criterion.display)
            takes, margin = _ratio_gaps(criterion, row, criterion.threshold_fraction(division), lang, passed)
        elif criterion.metric == "earnings_total":
            value_text = format_value(value or 0, lang, display="yen")
            takes, margin = _yen_gaps(criterion, value or 0, criterion.threshold_fraction(division), lang, passed)
        elif criterion.metric == "earnings_best_rank":
            value_text = format_value(value, lang, display=criterion.display)
            params = criterion.metric_params
            assert isinstance(params, EarningsBestRankParams)
            next_date = program.cadence.next_after(as_of)
            first_next = month_label(Period(next_date, program.timezone, away=period.away).start_month(params.months))
            takes, margin, facts = _rank_gaps(
                criterion,
                rank_details[criterion.id],
                division,
                value,
                lang,
                passed,
                (first_next, next_date.isoformat()),
            )
        elif kind == "integer":
            value_text = format_value(value, lang, display=criterion.display)
            takes, margin = _count_gaps(criterion, value or 0, criterion.threshold_fraction(division), lang, passed)
        else:
            value_text = format_value(value, lang, display=criterion.display)
            margin = None
            takes = None
            if not passed and criterion.metric == "recent_login":
                last = worker.last_login_at
                takes = t("gap_login", lang, last=format_login(last, period) if last else t("never", lang))
                facts = {"last_login_at": last.isoformat() if last else None}
            if not passed and criterion.metric == "identity_verified":
                takes = t("gap_identity", lang)
            if not passed and criterion.metric == "profile_complete":
                flags = {"profile_text": worker.has_profile_text, "self_pr_text": worker.has_self_pr_text}
                profile = criterion.metric_params
                assert isinstance(profile, ProfileCompleteParams)
                blank = [f for f in profile.fields if not flags[f]]
                assert set(blank) <= set(PROFILE_FIELDS)
                takes = t("gap_profile", lang, fields=", ".join(t(f"field_{f}", lang) for f in blank))
                facts = {"blank_fields": blank}
        items.append(
            CriterionExplanation(
                count_text=_count_text(criterion, row, lang),
                id=criterion.id,
                label=criterion.label.get(lang),
                value=value,
                value_text=value_text,
                threshold_text=threshold_text(criterion, division, lang),
                passed=passed,
                window_text=window_text(criterion.metric_def.window(criterion.metric_params, period), lang),
                takes=takes,
                margin=margin,
                advice=criterion.advice.get(lang),
                progress=1.0 if passed and value is None else progress(criterion, value, division),
                bar=bar_position(criterion, value, division, passed),
                facts=facts,
            )
        )
    return Explanation(
        standing=_standing(program, row, lang),
        worker_id=worker_id,
        display_name=worker.name,
        division=division,
        status=row["status"],
        certified=bool(row["certified"]),
        program_id=program.id,
        program_version=program.version,
        program=program,
        as_of=as_of,
        next_evaluation=program.cadence.next_after(as_of),
        lang=lang,
        criteria=items,
    )


def _standing(program: Program, row: dict[str, Any], lang: str) -> LevelStanding | None:
    if not program.levels:
        return None
    current = row.get("level")
    rank = program.level_rank(current)
    above = program.tiers[rank] if rank < len(program.tiers) else None
    return LevelStanding(
        level=current,
        level_name=program.level(current).name.get(lang) if current else None,
        keeps=list(program.level(current).criteria) if current else [],
        next_level=above.id if above else None,
        next_level_name=above.name.get(lang) if above else None,
        next_level_needs=[c for c in above.criteria if not row[f"{c}_passed"]] if above else [],
    )


def _count_text(criterion: Criterion, row: dict[str, Any], lang: str) -> str | None:
    """The counts behind a ratio, in the unit people count: reviews for an average of ratings, ranks for a
    share of a ranking, cases otherwise."""
    if criterion.metric_def.value_type != "ratio":
        return None
    num, den = row[f"{criterion.id}__num"], row[f"{criterion.id}__den"]
    if not den:
        return None
    if criterion.metric == "review_mean":
        params = criterion.metric_params
        assert isinstance(params, ReviewMeanParams)
        return t("count_reviews", lang, n=den // len(params.items))
    if criterion.metric == "earnings_share_rank":
        return t("count_rank_of", lang, num=num, den=den)
    return t("count_of", lang, num=num, den=den)


def facts_behind(store: FactStore, program: Program, period: Period, worker_id: str, lang: str) -> list[CriterionFacts]:
    """For each criterion, every row it read, counted or not and why (the lineage), in ``lang``."""
    found = []
    for criterion in program.criteria:
        traced = lineage(store, criterion.metric, criterion.metric_params, period, worker_id)
        rows = [
            FactRow(
                table=r.table,
                key=r.key,
                at=format_login(r.at, period) if r.at is not None else None,
                counted=r.counted,
                reason=r.reason,
                reason_text=t("lineage_" + r.reason, lang),
                adds={k: v for k, v in r.adds.items() if k != "client"},
                shown={k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.shown.items()},
            )
            for r in traced.rows
        ]
        value = traced.value()
        found.append(CriterionFacts(id=criterion.id, label=criterion.label.get(lang), value=value, rows=rows))
    return found
