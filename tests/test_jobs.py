"""Premium jobs: validated import, the premium score against hand-computed cases, early access enforced at its
edges, the Pro job feed and recommended pros."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from procert.benefits import (
    Job,
    JobImportFailed,
    Viewer,
    get_job,
    list_jobs,
    pro_feed,
    read_job_rows,
    recommended_pros,
    score_jobs,
    store_jobs,
    validate_jobs,
)
from procert.facts import FactStore, import_export
from procert.ledger import session_scope
from procert.programs import load_program
from tests.conftest import Export

PROGRAM = load_program("crowdworks-pro")
T = datetime(2026, 11, 20, 1, 0)  # naive UTC: 10:00 in Tokyo
ANONYMOUS = Viewer()
PRO = Viewer("worker", "W1", certified=True)
NOT_PRO = Viewer("worker", "W2", certified=False)
ADMIN = Viewer("admin")


def job(job_id: str, **values) -> dict:
    row = {
        "job_id": job_id,
        "client_id": "K1",
        "company_name": "株式会社テスト",
        "company_tier": "other",
        "title": f"Job {job_id}",
        "division": "engineer",
        "skills": "Python; FastAPI",
        "budget_jpy": 200_000,
        "unit_price_jpy": 5_000,
        "unit": "hour",
        "order_probability": 0.5,
        "posted_at": "2026-11-20T10:00:00+09:00",
        "closes_at": "2026-12-20T10:00:00+09:00",
    }
    row.update(values)
    return row


# Engineer/hour unit prices 3,000 5,000 5,000 8,000 20,000: the median is 5,000.
JOBS = [
    # listed 40 + price 30×min(8000/5000, 2)/2 = 24 + probability 30×0.5 = 15 → 79, premium
    job("J1", company_tier="listed", unit_price_jpy=8_000),
    # other 0 + 15 + 30×0.9 = 27 → 42
    job("J2", order_probability=0.9),
    # well_known 30 + 30×0.6/2 = 9 + client history of K3 (1 ordered of 2 past: (1+1)/(2+2) = 0.5) 15 → 54
    job("J3", company_tier="well_known", unit_price_jpy=3_000, order_probability="", client_id="K3"),
    # exactly the threshold: well_known 30 + 15 + 15 = 60 → premium
    job("J4", company_tier="well_known"),
    # the price part is capped at twice the median: 0 + 30 + 0 → 30
    job("J5", unit_price_jpy=20_000, order_probability=0),
    # K3's past jobs (writer/item, closed): the first led to an order, the second did not.
    job(
        "P1",
        client_id="K3",
        division="writer",
        unit="item",
        unit_price_jpy=10_000,
        posted_at="2026-01-01T00:00:00+09:00",
        closes_at="2026-01-31T00:00:00+09:00",
    ),
    job(
        "P2",
        client_id="K3",
        division="writer",
        unit="item",
        unit_price_jpy=10_000,
        posted_at="2026-05-01T00:00:00+09:00",
        closes_at="2026-05-31T00:00:00+09:00",
    ),
    # a premium writer job, for the feed: listed 40 + 30×(30000/10000 capped 2)/2 = 30 + 30×0.5 → 85
    job("J6", company_tier="listed", division="writer", unit="item", unit_price_jpy=30_000, skills="SEO"),
]


@pytest.fixture
def market(tmp_path: Path, engine):
    exp = Export()
    exp.worker("W1", division="engineer", display_name="Ken", profile_text="Python と FastAPI のバックエンド")
    for amount in (100_000, 200_000, 300_000, 400_000):
        exp.contract("W1", "2026-06-01T00:00:00+09:00", amount_jpy=amount)
    exp.review("W1", 5)
    exp.worker("W2", division="engineer", display_name="Aya", profile_text="Go engineer")
    exp.contract("W2", "2026-06-01T00:00:00+09:00", amount_jpy=50_000)
    exp.review("W2", 5)
    exp.worker("W3", division="engineer", display_name="Ryo", profile_text="python only")
    exp.contract("W3", "2026-06-01T00:00:00+09:00", amount_jpy=200_000)
    exp.review("W3", 4)
    # K3 ordered once: a contract started during P1.
    exp.contract("W2", "2026-01-20T00:00:00+09:00", client_id="K3", started_at="2026-01-10T00:00:00+09:00")
    store = FactStore(tmp_path / "facts.duckdb")
    import_export(store, exp.write(tmp_path / "export"), timezone="Asia/Tokyo")
    jobs = validate_jobs(JOBS, program=PROGRAM, source="api")
    with session_scope(engine, write=True) as session:
        store_jobs(session, jobs=jobs, actor="test")
    yield engine, store
    store.close()


def test_premium_scores_match_the_hand_computed_parts(market):
    engine, store = market
    with session_scope(engine) as session:
        jobs = list(session.scalars(select(Job)).all())
        scores = score_jobs(session, store=store, program=PROGRAM, jobs=jobs, now=T)
    totals = {k: round(v.total, 6) for k, v in scores.items() if k.startswith("J")}
    assert totals == {"J1": 79, "J2": 42, "J3": 54, "J4": 60, "J5": 30, "J6": 85}
    assert {k for k, v in scores.items() if v.premium and k.startswith("J")} == {"J1", "J4", "J6"}
    parts = {p.name: p for p in scores["J1"].parts}
    assert parts["unit_price"].detail == {
        "unit_price_jpy": 8000,
        "unit": "hour",
        "division_median_jpy": 5000,
        "ratio": 1.6,
    }
    assert parts["company_tier"].points == 40 and parts["order_probability"].detail["source"] == "platform"
    history = {p.name: p for p in scores["J3"].parts}["order_probability"].detail
    assert history == {"probability": 0.5, "source": "client_history", "ordered": 1, "past_jobs": 2}


def test_early_access_holds_until_the_window_ends_on_every_path(market):
    engine, store = market
    until = T + timedelta(hours=24)

    def listed(viewer, now):
        with session_scope(engine) as session:
            return {
                v.job.job_id
                for v in list_jobs(session, store=store, program=PROGRAM, viewer=viewer, now=now, per_page=100)[1]
            }

    def fetch(viewer, now):
        with session_scope(engine) as session:
            return get_job(session, store=store, program=PROGRAM, job_id="J1", viewer=viewer, now=now).job.job_id

    for now in (T, T + timedelta(hours=1), until - timedelta(seconds=1)):
        for viewer in (ANONYMOUS, NOT_PRO):
            assert "J1" not in listed(viewer, now) and "J2" in listed(viewer, now)
            with pytest.raises(LookupError, match="no job 'J1'"):
                fetch(viewer, now)
        assert "J1" in listed(PRO, now) and fetch(PRO, now) == "J1"
    for viewer in (ANONYMOUS, NOT_PRO, PRO):  # at the very end of the window, everyone
        assert "J1" in listed(viewer, until) and fetch(viewer, until) == "J1"
    # Before posting nobody sees it but the operator; closed jobs leave the listing.
    before = T - timedelta(minutes=1)
    assert "J1" not in listed(PRO, before) and fetch(ADMIN, before) == "J1"
    assert "J1" not in listed(ANONYMOUS, datetime(2026, 12, 21))


def test_the_feed_ranks_open_premium_jobs_by_fit_and_score_with_reasons(market):
    engine, store = market
    with session_scope(engine) as session:
        feed = pro_feed(session, store=store, program=PROGRAM, worker_id="W1", certified=True, now=T)
        assert pro_feed(session, store=store, program=PROGRAM, worker_id="W2", certified=False, now=T) == []
    assert [i.view.job.job_id for i in feed] == ["J1", "J4", "J6"]
    first = feed[0]
    # Fit: division 40 + both skills 30 + budget 200,000 within W1's usual range → 100. The range: quartiles of
    # 10,000 (the reviewed contract), 100,000, 200,000, 300,000, 400,000 → 100,000–300,000.
    assert first.fit.points == 100 and round(first.rank, 6) == round(0.6 * 100 + 0.4 * 79, 6)
    assert [r["part"] for r in first.fit.reasons] == ["division", "skills", "price"]
    assert first.fit.reasons[1]["matched"] == ["Python", "FastAPI"]
    assert first.fit.reasons[2]["usual_jpy"] == [100000, 300000]
    # J6 is a writer job needing SEO: only the price part fits (30); its high score (85) keeps it in the feed:
    # 0.6 × 30 + 0.4 × 85 = 52, below J4's 0.6 × 100 + 0.4 × 60 = 84.
    assert [r["part"] for r in feed[2].fit.reasons] == ["price"]
    assert (feed[2].fit.points, round(feed[2].rank, 6), round(feed[1].rank, 6)) == (30, 52, 84)


def test_recommended_pros_for_a_job_by_fit_then_rating(market):
    engine, store = market
    with session_scope(engine) as session:
        view = get_job(session, store=store, program=PROGRAM, job_id="J1", viewer=ADMIN, now=T)
    ranked = recommended_pros(
        store=store,
        program=PROGRAM,
        view=view,
        pro_ids_by_division={"engineer": ["W1", "W2", "W3"]},
        rated_as_of=T.date(),
    )
    assert [r.profile.worker_id for r in ranked] == ["W1", "W3", "W2"]
    assert ranked[0].to_json()["reasons"][0] == {"part": "division", "points": 40.0, "division": "engineer"}


def test_bad_job_files_are_reported_by_row_and_column_and_nothing_is_stored(tmp_path: Path, engine):
    path = tmp_path / "jobs.csv"
    header = (
        "job_id,client_id,company_name,company_tier,title,division,skills,budget_jpy,unit_price_jpy,unit,"
        "order_probability,posted_at,closes_at"
    )
    path.write_text(
        "\n".join(
            [
                header,
                "A1,K1,Acme,listed,ok,engineer,Python,100000,5000,hour,0.5,2026-11-20T10:00:00+09:00,2026-12-01T00:00:00+09:00",
                "A2,K1,Acme,famous,t,engineer,,100000,5000,hour,1.5,2026-11-20T10:00:00+09:00,2026-12-01T00:00:00+09:00",
                "A3,K1,Acme,other,t,engineer,,-1,5000,week,,2026-11-20T10:00:00,2026-11-19T00:00:00",
                "A1,K1,Acme,other,t,engineer,,1,5000,hour,,2026-11-20T10:00:00,2026-12-01T00:00:00",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(JobImportFailed) as failure:
        validate_jobs(read_job_rows(path), program=PROGRAM, source=path.name)
    problems = {(p.row, p.column) for p in failure.value.problems}
    assert problems == {
        (2, "order_probability"),
        (2, "company_tier"),
        (3, "budget_jpy"),
        (3, "unit"),
        (4, "job_id"),
    }
    assert "jobs.csv, row 2, column company_tier: 'famous' is not one of ['listed', 'other', 'well_known']" in {
        str(p) for p in failure.value.problems
    }
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_naive_times_are_read_in_the_program_zone_and_closing_must_follow_posting():
    (one,) = validate_jobs(
        [job("N1", posted_at="2026-11-20T10:00:00", closes_at="2026-11-21T10:00:00")], program=PROGRAM, source="api"
    )
    assert one.posted_at == datetime(2026, 11, 20, 1, 0)  # 10:00 in Tokyo is 01:00 UTC
    with pytest.raises(JobImportFailed, match="1 problem"):
        validate_jobs([job("N2", closes_at="2026-11-20T10:00:00+09:00")], program=PROGRAM, source="api")
