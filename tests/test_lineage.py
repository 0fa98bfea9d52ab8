"""The facts behind every number: the rows a metric counted reproduce the evaluation's value exactly, for every
metric of the three presets, on dates whose windows are whole months and on dates whose windows are not."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

from procert.demo import generate
from procert.evaluation import evaluate
from procert.facts import FactStore, import_export
from procert.metrics import METRICS, Period
from procert.metrics.lineage import LINEAGES, REASONS, lineage
from procert.programs import load_program

PRESETS = [load_program(p) for p in ("crowdworks-pro", "lancers-certified", "coconala-rank")]


@pytest.fixture(scope="module")
def facts(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lineage")
    generate(root / "demo", workers=600, seed=3, end=date(2026, 11, 29))
    with FactStore(root / "facts.duckdb") as store:
        import_export(store, root / "demo", timezone="Asia/Tokyo")
    return root / "facts.duckdb"


def test_every_metric_has_a_lineage():
    assert set(LINEAGES) == set(METRICS)


@pytest.mark.parametrize("as_of", [date(2026, 10, 1), date(2026, 9, 15)])
@pytest.mark.parametrize("program", PRESETS, ids=[p.id for p in PRESETS])
def test_the_counted_rows_reproduce_every_value(facts: Path, program, as_of: date):
    with FactStore(facts, read_only=True) as store:
        rows = {r["worker_id"]: r for r in evaluate(store, program, as_of).rows()}
        period = Period(as_of, program.timezone)
        picked = random.Random(7).sample(sorted(rows), 60)
        checked = 0
        for worker_id in picked:
            for criterion in program.criteria:
                found = lineage(store, criterion.metric, criterion.metric_params, period, worker_id)
                want = rows[worker_id][criterion.id]
                if criterion.metric == "earnings_share_rank":
                    # The worker's own total over the window, as the ranking reads it: positive exactly when ranked.
                    total = found.value()
                    assert (want is not None) == (total > 0), worker_id
                    continue
                if criterion.metric_def.missing_value is not None and want is None:
                    want = criterion.metric_def.missing_value
                assert found.value() == want, (worker_id, criterion.id, found.value(), want)
                assert {r.reason for r in found.rows} <= REASONS
                checked += 1
        assert checked > 200


def test_rows_that_did_not_count_say_why(facts: Path):
    program = load_program("crowdworks-pro")
    with FactStore(facts, read_only=True) as store:
        period = Period(date(2026, 10, 1), program.timezone)
        busiest = store.query(
            "SELECT worker_id FROM contracts GROUP BY worker_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        completion = lineage(
            store, "completion_rate", program.criterion("completion_rate").metric_params, period, busiest
        )
        reasons = {r.reason for r in completion.rows if not r.counted}
        assert {"kind_hourly", "before_window"} <= reasons
        scouts = lineage(store, "scout_count", program.criterion("scouts").metric_params, period, busiest)
        assert "kind_mass" in {r.reason for r in scouts.rows if not r.counted}
