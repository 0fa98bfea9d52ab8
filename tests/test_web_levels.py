"""The web for a program with levels (coconala-rank): the badge in the level's colour and name, the directory
filtered by level or higher, the profile's level, the dashboard's progress to the next level, benefits from a
level, and an override that locks a level from the admin API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from procert.facts import FactStore, import_export
from procert.ledger import NotifyOptions, record_run, session_scope
from procert.programs import load_program
from tests.test_levels_ledger import COCONALA, D1, market
from tests.test_web import SECRET, sign_in
from tests.web_support import web_app


@pytest.fixture
def ranked_site(tmp_path: Path, engine):
    with FactStore(tmp_path / "facts.duckdb") as store:
        import_export(store, market().write(tmp_path / "export"), timezone=COCONALA.timezone)
        with session_scope(engine, write=True) as session:
            record_run(
                session, store=store, program=COCONALA, as_of=D1, actor="test", notify=NotifyOptions(enabled=False)
            )
    app = web_app(
        program=COCONALA,
        engine=engine,
        facts_path=tmp_path / "facts.duckdb",
        secret=SECRET,
        ledger_refresh_seconds=0,
    )
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def test_the_directory_filters_by_level_or_higher_and_refuses_an_unknown_level(ranked_site):
    client = ranked_site
    levels = {i["worker_id"]: i["level"] for i in client.get("/api/v1/pros?per_page=100").json()["items"]}
    assert levels == {
        "PLATINUM": "platinum",
        "PLATINUM_EN": "platinum",
        "GOLD": "gold",
        "REGULAR": "regular",
        "LEAVING": "regular",
    }
    gold_up = {i["worker_id"] for i in client.get("/api/v1/pros?level=gold").json()["items"]}
    assert gold_up == {"PLATINUM", "PLATINUM_EN", "GOLD"}
    assert {i["worker_id"] for i in client.get("/api/v1/pros?level=platinum").json()["items"]} == {
        "PLATINUM",
        "PLATINUM_EN",
    }
    refused = client.get("/api/v1/pros?level=diamond")
    assert refused.status_code == 422 and "diamond" in refused.text
    page = client.get("/pros?level=gold")
    assert page.status_code == 200
    assert re.search(r'<option value="gold" selected>ゴールド以上</option>', page.text)
    assert page.text.count('class="card"') == 3


def test_badge_profile_and_dashboard_show_the_level(ranked_site):
    client = ranked_site
    badge = client.get("/badge/GOLD.svg").text
    assert "ゴールド" in badge and COCONALA.level("gold").color in badge
    assert "プラチナ" in client.get("/badge/PLATINUM.svg").text
    assert "Regular" in client.get("/badge/REGULAR.svg?lang=en").text
    profile = client.get("/api/v1/workers/GOLD/profile").json()
    assert (profile["level"], profile["level_name"]) == ("gold", {"ja": "ゴールド", "en": "Gold"})
    assert 'id="level"' in client.get("/workers/GOLD").text
    sign_in(client, "GOLD")
    status = client.get("/api/v1/workers/GOLD/status").json()
    assert (status["level"], status["level_name"]) == ("gold", "ゴールド")
    # The live preview evaluates today's facts: the December sales are long past, five lifetime sales remain.
    preview = client.get("/api/v1/workers/GOLD/preview").json()
    standing = preview["standing"]
    assert (standing["level"], standing["next_level"], standing["next_level_needs"]) == (
        "regular",
        "bronze",
        ["sales_lifetime_10"],
    )
    dashboard = client.get("/dashboard").text
    levels = dashboard.split('id="levels"')[1].split("</section>")[0]
    assert "今日の実績では レギュラー" in levels and "次のレベル「ブロンズ」まで" in levels
    assert "販売実績(累計10件以上): 集計期間内にあと 5 件必要です(現在 5 件)。" in levels


def test_benefits_start_from_the_level_the_program_names(tmp_path: Path, engine):
    program = load_program("coconala-rank").model_copy(
        update={
            "benefits": load_program("coconala-rank").benefits.model_copy(
                update={"early_access_from": "gold", "promotion_from": "platinum"}
            )
        }
    )
    assert program.gets("early_access", "gold", certified=True)
    assert program.gets("early_access", "platinum", certified=True)
    assert not program.gets("early_access", "silver", certified=True)
    assert not program.gets("early_access", "gold", certified=False)
    assert program.gets("promotion", "platinum", certified=True)
    assert not program.gets("promotion", "gold", certified=True)
    everyone = load_program("crowdworks-pro")
    assert everyone.gets("early_access", None, certified=True)


def test_benefit_levels_must_be_levels_of_the_program():
    from pydantic import ValidationError

    from procert.programs import Program

    data = load_program("coconala-rank").model_dump()
    data["benefits"]["early_access_from"] = "diamond"
    with pytest.raises(ValidationError, match=r"benefits\.early_access_from: 'diamond' is not a level"):
        Program.model_validate(data)


def test_the_profile_names_the_other_programs_that_certify_the_worker(tmp_path: Path, engine):
    """The site serves crowdworks-pro; coconala-rank runs on the same ledger: a seller's profile shows its level."""
    with FactStore(tmp_path / "facts.duckdb") as store:
        import_export(store, market().write(tmp_path / "export"), timezone=COCONALA.timezone)
        with session_scope(engine, write=True) as session:
            record_run(
                session, store=store, program=COCONALA, as_of=D1, actor="test", notify=NotifyOptions(enabled=False)
            )
    app = web_app(
        program=load_program("crowdworks-pro"),
        engine=engine,
        facts_path=tmp_path / "facts.duckdb",
        secret=SECRET,
        ledger_refresh_seconds=0,
    )
    with TestClient(app, base_url="https://testserver") as client:
        profile = client.get("/api/v1/workers/GOLD/profile").json()
        assert profile["certified"] is False  # not a crowdworks pro
        assert profile["other_programs"] == [
            {
                "program": "coconala-rank",
                "name": {"ja": "ココナラ ランク", "en": "Coconala rank"},
                "level": "gold",
                "level_name": {"ja": "ゴールド", "en": "Gold"},
                "color": COCONALA.level("gold").color,
            }
        ]
        page = client.get("/workers/GOLD").text
        assert "ココナラ ランク: ゴールド" in page.split('id="other-programs"')[1].split("</ul>")[0]
        assert client.get("/api/v1/workers/NOBODY/profile").status_code == 404


def test_what_a_status_brings_is_said_in_both_languages_for_every_level():
    from procert.i18n import t

    coconala = load_program("coconala-rank")
    brought = {level.id: [key for key, _ in coconala.benefits_for(level.id)] for level in coconala.levels}
    assert "benefit_early_access" not in brought["silver"] and "benefit_early_access" in brought["gold"]
    assert "benefit_promotion" in brought["platinum"] and "benefit_promotion" not in brought["gold"]
    for program in (coconala, load_program("crowdworks-pro"), load_program("lancers-certified")):
        for key, values in program.benefits_for(program.tiers[-1].id):
            assert t(key, "ja", **values) and t(key, "en", **values) != t(key, "ja", **values)
    assert "24 hours" in t("benefit_early_access", "en", hours=24)
