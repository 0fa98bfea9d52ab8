"""The house's rules, each written once: the lifetime rating shown anywhere is the review_mean metric as of the
same date, and every API route describes its response body in the OpenAPI description."""

from __future__ import annotations

import secrets
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from procert.benefits.matching import rating_date, worker_profiles
from procert.evaluation import evaluate
from procert.facts import FactStore, import_export
from procert.ledger import NotifyOptions, record_run, session_scope
from procert.metrics import lifetime_ratings
from procert.programs import load_program
from tests.conftest import Export
from tests.test_ledger import pro
from tests.web_support import web_app

D1 = date(2025, 1, 1)
SECRET = secrets.token_urlsafe(32)


@pytest.fixture
def rated_site(tmp_path: Path, engine):
    exp = Export()
    pro(exp, "A", reviews=2)  # two reviews of 5 on every item (2022)
    exp.review("A", (5, 5, 5, 5, 4), created_at="2024-12-31T23:59:59+09:00")  # the last second before the as-of
    exp.review("A", (1, 1, 1, 1, 1), created_at="2025-01-01T00:00:00+09:00")  # at the as-of instant: not counted
    exp.review("A", (2, 2, 2, 2, 2), created_at="2025-01-15T10:00:00+09:00")  # after it: not counted
    program = load_program("crowdworks-pro")
    path = tmp_path / "facts.duckdb"
    with FactStore(path) as store:
        import_export(store, exp.write(tmp_path / "export"), timezone=program.timezone)
        with session_scope(engine, write=True) as session:
            record_run(session, store=store, program=program, as_of=D1, actor="t", notify=NotifyOptions(enabled=False))
        evaluated = next(r for r in evaluate(store, program, D1).rows() if r["worker_id"] == "A")
    app = web_app(program=program, engine=engine, facts_path=path, secret=SECRET, ledger_refresh_seconds=0)
    with TestClient(app, base_url="https://testserver") as client:
        yield client, engine, program, evaluated


def test_the_rating_shown_anywhere_is_the_review_mean_the_run_evaluated(rated_site):
    client, engine, program, evaluated = rated_site
    # By hand: (25 + 25 + 24) / (5 × 3) = 74/15; the review at the as-of instant and the later one are not counted.
    assert Fraction(evaluated["overall_rating"]).limit_denominator(1000) == Fraction(74, 15)
    expected = round(74 / 15, 2)  # 4.93 (with the two later reviews it would be 3.56)
    assert evaluated["certified"]

    listed = client.get("/api/v1/pros").json()["items"]
    assert [(p["worker_id"], p["overall_rating"], p["reviews"]) for p in listed] == [("A", expected, 3)]

    profile = client.get("/api/v1/workers/A/profile").json()
    assert (profile["overall_rating"], profile["reviews"]) == (expected, 3)
    assert profile["communication_rating"] == 5.0  # communication: 5, 5, 5 (the later 1 and 2 not counted)

    store = client.app.state.context.store
    with session_scope(engine) as session:
        as_of = rating_date(session, program=program)
    assert as_of == D1  # the benefits rate as of the latest run
    matched = worker_profiles(store, ["A"], program=program, rated_as_of=as_of)["A"]
    assert (round(matched.rating, 2), matched.reviews) == (expected, 3)

    # One rule: the same numbers from the rating function itself, and a later date counts the later reviews.
    assert lifetime_ratings(store, ["A"], as_of=D1, timezone=program.timezone)["A"].overall == pytest.approx(74 / 15)
    later = lifetime_ratings(store, ["A", "nobody"], as_of=date(2025, 2, 1), timezone=program.timezone)
    assert later["A"].reviews == 5 and later["A"].overall == pytest.approx((74 + 5 + 10) / 25)
    assert later["nobody"].overall is None and later["nobody"].reviews == 0


def test_every_api_route_describes_its_response_body(rated_site):
    client, *_ = rated_site
    spec = client.get("/openapi.json").json()
    operations = [
        (method, path, op)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method, op in item.items()
    ]
    assert len(operations) >= 20
    undescribed = []
    for method, path, op in operations:
        ok = [r for code, r in op["responses"].items() if code.startswith("2")]
        schema = ok[0].get("content", {}).get("application/json", {}).get("schema", {}) if ok else {}
        # A named model ($ref) or an array of them; never the empty schema FastAPI writes for dict[str, Any].
        described = "$ref" in schema or "$ref" in schema.get("items", {})
        if not described:
            undescribed.append(f"{method.upper()} {path}")
    assert undescribed == []
    # The models name their fields: the status's criteria carry the explanation's fields under their JSON names.
    criterion = spec["components"]["schemas"]["CriterionExplanation"]["properties"]
    assert {"value", "value_text", "threshold", "window", "what_it_would_take", "advice"} <= set(criterion)


def test_the_core_objects_documented_example_runs():
    import doctest

    import procert.core

    result = doctest.testmod(procert.core)
    assert result.attempted >= 3 and result.failed == 0


def test_the_core_object_builds_each_stage_from_the_settings_once(tmp_path: Path):
    from procert import Procert
    from procert.core import SettingsError
    from procert.settings import Settings

    core = Procert(
        Settings(home=tmp_path, at_risk_days=7, public_url="https://pro.example", smtp_port=2525, duckdb_threads=1)
    )
    assert core.notify_options().at_risk_days == 7 and core.notify_options(enabled=False).enabled is False
    assert core.notify_options().public_url == "https://pro.example" and core.smtp.port == 2525
    assert core.program.id == "crowdworks-pro" and core.today() == Procert.today_in(core.program)
    with pytest.raises(SettingsError, match="PROCERT_SECRET_KEY is missing"):
        core.secret  # noqa: B018
    assert Procert(Settings(home=tmp_path, secret_key="x" * 50)).settings  # a weak key is refused when used:
    with pytest.raises(SettingsError, match="too weak"):
        Procert(Settings(home=tmp_path, secret_key="x" * 50)).secret  # noqa: B018
    # The embedded ledger is migrated on first use; the facts store opens with the configured limits.
    from procert.ledger.db import current_revision, head_revision

    assert current_revision(core.ledger) == head_revision()
    with FactStore(tmp_path / "facts.duckdb"):
        pass
    with core.open_facts() as store:
        assert store.reader().execute("SELECT current_setting('threads')").fetchone() == (1,)
    core.close()
