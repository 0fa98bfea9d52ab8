"""Jobs through the web: early access enforced on every path (listing, fetch, pages, recommended pros, feed), the
job API's access rules and validation, the Pro job feed on the API and the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from procert.ledger import create_api_key, session_scope
from tests.test_notify import smtp  # noqa: F401  (the fixture)
from tests.test_web import sign_in, site  # noqa: F401  (the fixture)


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def job(job_id: str, posted: timedelta, **values) -> dict:
    return {
        "job_id": job_id,
        "client_id": "K1",
        "company_name": "Acme 株式会社",
        "company_tier": "listed",
        "title": f"SEO記事 {job_id}",
        "division": "writer",
        "skills": ["SEO", "執筆"],
        "budget_jpy": 10_000,
        "unit_price_jpy": 5_000,
        "unit": "item",
        "order_probability": 0.9,
        "posted_at": iso(-posted),
        "closes_at": iso(timedelta(days=20)),
        **values,
    }


@pytest.fixture
def jobs_site(site):  # noqa: F811
    client, engine = site
    with session_scope(engine, write=True) as session:
        _row, key = create_api_key(session, name="platform", actor="test")
    jobs = [
        job("FRESH", timedelta(hours=1)),  # listed 40 + price 15 + 27 = 82: premium, in early access
        job("OLD", timedelta(hours=30)),  # premium, early access over
        job("PLAIN", timedelta(hours=1), company_tier="other", order_probability=0.1),  # 0 + 15 + 3: not premium
    ]
    response = client.post("/api/v1/jobs", json=jobs, headers={"X-API-Key": key})
    assert response.status_code == 201 and response.json()["stored"] == 3
    return client, key


def ids(response) -> list[str]:
    return sorted(item["job_id"] for item in response.json()["items"])


def test_early_access_on_every_path_for_anonymous_visitors_and_non_pros(jobs_site):
    client, _key = jobs_site
    for who in (None, "C"):  # nobody signed in; a worker who is not certified
        if who:
            sign_in(client, who)
        assert ids(client.get("/api/v1/jobs")) == ["OLD", "PLAIN"], who
        assert client.get("/api/v1/jobs/FRESH").status_code == 404
        assert client.get("/api/v1/jobs/FRESH/recommended-pros").status_code == 404
        teaser = client.get("/jobs/FRESH")  # a teaser: when it opens to everyone, nothing else of the job
        assert teaser.status_code == 200 and "認定ワーカーに先行公開中の案件です" in teaser.text
        assert "一般公開は" in teaser.text and "FRESH" not in teaser.text.split("<main>")[1]
        assert client.get("/jobs/NO-SUCH-JOB").status_code == 404
        assert client.get("/jobs/FRESH/recommended-pros").status_code == 404
        assert 'data-job="FRESH"' not in client.get("/jobs").text
        assert client.get("/api/v1/jobs/OLD").json()["premium"] is True
        old = client.get("/jobs/OLD").text  # the premium score's parts are for pros and admins
        assert 'id="score-parts"' not in old and "円" in old and "Asia/Tokyo の時刻です" in old


def test_pros_and_the_operator_see_premium_jobs_at_once(jobs_site):
    client, key = jobs_site
    assert ids(client.get("/api/v1/jobs", headers={"X-API-Key": key})) == ["FRESH", "OLD", "PLAIN"]
    sign_in(client, "A")
    listed = client.get("/api/v1/jobs?premium=true").json()
    assert sorted(i["job_id"] for i in listed["items"]) == ["FRESH", "OLD"]
    fresh = client.get("/api/v1/jobs/FRESH").json()
    assert fresh["pro_only_now"] is True and fresh["premium_score"]["total"] == 82.0
    assert [p["name"] for p in fresh["premium_score"]["parts"]] == ["company_tier", "unit_price", "order_probability"]
    page = client.get("/jobs").text
    assert 'data-job="FRESH"' in page and 'id="pro-access"' in page
    assert 'id="score-parts"' in client.get("/jobs/FRESH").text


def test_the_feed_is_a_pro_benefit_with_reasons_on_the_api_and_the_dashboard(jobs_site):
    client, _key = jobs_site
    sign_in(client, "A")
    feed = client.get("/api/v1/workers/A/jobs").json()
    assert feed["certified"] is True and [i["job_id"] for i in feed["items"]] == ["FRESH", "OLD"]
    assert feed["items"][0]["reasons"][0] == {"part": "division", "points": 40.0, "division": "writer"}
    assert feed["items"][0]["reasons"][1]["matched"] == ["SEO", "執筆"]  # both in A's profile text
    assert client.get("/api/v1/workers/B/jobs").status_code == 403
    dashboard = client.get("/dashboard").text
    assert 'id="feed"' in dashboard and 'data-job="FRESH"' in dashboard
    sign_in(client, "C")
    assert client.get("/api/v1/workers/C/jobs").json() == {"worker_id": "C", "certified": False, "items": []}


def test_recommended_pros_for_a_job(jobs_site):
    client, _key = jobs_site
    body = client.get("/api/v1/jobs/OLD/recommended-pros").json()
    assert [p["worker_id"] for p in body["items"]] == ["A"]  # the only writer pro; B is an engineer
    assert body["items"][0]["profile_url"] == "/workers/A"
    assert 'data-worker="A"' in client.get("/jobs/OLD/recommended-pros").text


def test_posting_jobs_needs_the_operator_and_valid_jobs_all_or_nothing(jobs_site):
    client, key = jobs_site
    fine = job("NEW1", timedelta(hours=1))
    assert client.post("/api/v1/jobs", json=[fine]).status_code == 401
    bad = client.post(
        "/api/v1/jobs",
        json=[fine, job("NEW2", timedelta(hours=1), unit="week", budget_jpy=-5)],
        headers={"X-API-Key": key},
    )
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert {d["location"] for d in error["details"]} == {"body.1.unit", "body.1.budget_jpy"}
    assert client.get("/api/v1/jobs/NEW1", headers={"X-API-Key": key}).status_code == 404  # nothing stored
    sign_in(client, "A")
    assert client.post("/api/v1/jobs", json=[fine]).status_code == 403


def test_daily_digest_mails_new_fitting_premium_jobs_once(jobs_site, tmp_path, smtp):  # noqa: F811
    from procert.benefits import queue_job_digests
    from procert.facts import FactStore
    from procert.notify import SmtpConfig, send_pending
    from procert.programs import load_program
    from tests.test_notify import parts

    client, _key = jobs_site
    controller, inbox = smtp
    engine = client.app.state.context.engine
    store = client.app.state.context.store
    program = load_program("crowdworks-pro")
    now = datetime.now(UTC).replace(tzinfo=None)
    assert isinstance(store, FactStore)
    with session_scope(engine, write=True) as session:
        queued = queue_job_digests(
            session, store=store, program=program, pro_ids=["A", "B"], now=now, public_url="https://pro.example"
        )
    # A (writer) gets FRESH, posted an hour ago; OLD is 30 hours old; B is an engineer with no matching skill.
    assert queued == 1
    with session_scope(engine, write=True) as session:
        again = queue_job_digests(
            session, store=store, program=program, pro_ids=["A", "B"], now=now, public_url="https://pro.example"
        )
    assert again == 0
    assert send_pending(engine, config=SmtpConfig(port=controller.port, sender="jobs@example.jp")).sent == 1
    (mail,) = inbox.messages
    text, html = parts(mail)
    assert "a@example.jp" in mail["To"] and "1 件" in mail["Subject"]
    assert "SEO記事 FRESH" in text and "SEO記事 OLD" not in text and "同じ職種(ライター)" in text
    assert "https://pro.example/jobs/FRESH" in html


@pytest.mark.parametrize(
    ("values", "column"),
    [
        ({"closes_at": "9999-12-31T23:59:59-12:00"}, "closes_at"),
        ({"posted_at": "0001-01-01T00:00:00+09:00"}, "posted_at"),
        ({"job_id": "JOB\x00X"}, "job_id"),
        ({"title": "title\r\nwith a break"}, "title"),
        ({"description": "line one\n\x1b[31mred"}, "description"),
        ({"description": "x" * 20_001}, "description"),
    ],
)
def test_impossible_dates_and_control_characters_are_a_422_not_a_500(jobs_site, values, column):
    client, key = jobs_site
    bad = {**job("NEW", timedelta(hours=-1)), **values}
    response = client.post("/api/v1/jobs", json=[bad], headers={"X-API-Key": key})
    assert response.status_code == 422, response.text
    assert any(d["location"].endswith(column) for d in response.json()["error"]["details"])


DESCRIPTION = """# 概要

**急募**: 記事の執筆をお願いします。<script>alert("x")</script>

- 構成案の作成
- 執筆(3,000 字)

[会社のサイト](https://example.jp/about) [悪い](javascript:alert(1)) [内部](/admin) <img src=x onerror=alert(1)>
"""


def test_a_job_description_is_markdown_shown_safely_and_kept_as_sent(jobs_site):
    client, key = jobs_site
    stored = client.post(
        "/api/v1/jobs", json=[job("DESC", timedelta(hours=40), description=DESCRIPTION)], headers={"X-API-Key": key}
    )
    assert stored.status_code == 201, stored.text
    api = client.get("/api/v1/jobs/DESC").json()
    assert api["description"] == DESCRIPTION.strip()  # the source, as sent (trimmed), for the platform's own pages
    assert client.get("/api/v1/jobs/OLD").json()["description"] is None
    page = client.get("/jobs/DESC").text
    section = page[page.index('id="description"') : page.index("</section>", page.index('id="description"'))]
    # The description's own heading sits below the page's title and the section's heading.
    assert "<h3>概要</h3>" in section and "<strong>急募</strong>" in section
    assert "<li>構成案の作成</li>" in section
    # Raw HTML is text, never markup; only http(s) links keep their target, and all leave with nofollow.
    assert "<script>" not in section and "&lt;script&gt;" in section
    assert "<img" not in section and "&lt;img src=x onerror=alert(1)&gt;" in section
    assert '<a href="https://example.jp/about" rel="nofollow ugc noopener">会社のサイト</a>' in section
    assert "javascript:" not in section.replace("[悪い](javascript:alert(1))", "")
    assert '<a href="#" rel="nofollow ugc noopener">内部</a>' in section
    # The listing shows the first words, without Markdown.
    listing = client.get("/jobs").text
    assert "概要 急募: 記事の執筆をお願いします。" in listing


def test_a_job_without_description_has_no_empty_section(jobs_site):
    client, _key = jobs_site
    assert 'id="description"' not in client.get("/jobs/OLD").text
