"""The public web: directory, profiles, badges and their JSON API, through FastAPI's test client and a real
server process."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from procert.facts import FactStore, import_export
from procert.ledger import NotifyOptions, record_run, session_scope, set_override
from procert.programs import load_program
from tests.conftest import Export
from tests.test_ledger import pro
from tests.test_notify import free_port
from tests.web_support import web_app

D1 = date(2025, 1, 1)
SECRET = secrets.token_urlsafe(32)


@pytest.fixture
def site(tmp_path: Path, engine):
    exp = Export()
    pro(exp, "A", display_name="佐藤 さくら", profile_text="SEO記事の執筆が得意です")
    pro(exp, "B", display_name="Ken Engineer", division="engineer", profile_text="Python backend", reviews=3)
    exp.review("B", (4, 4, 4, 5, 5))  # B: (75 + 22) / 20 = 4.85
    exp.worker("C", display_name="Not Yet")
    program = load_program("crowdworks-pro")
    with FactStore(tmp_path / "facts.duckdb") as store:
        import_export(store, exp.write(tmp_path / "export"), timezone=program.timezone)
        with session_scope(engine, write=True) as session:
            record_run(
                session, store=store, program=program, as_of=D1, actor="test", notify=NotifyOptions(enabled=False)
            )
    app = web_app(
        program=program, engine=engine, facts_path=tmp_path / "facts.duckdb", secret=SECRET, ledger_refresh_seconds=0
    )
    # https: the session cookie is Secure outside demo mode.
    with TestClient(app, base_url="https://testserver") as client:
        yield client, engine


def test_directory_api_lists_current_pros_with_search_filter_sort_and_pages(site):
    client, _ = site
    body = client.get("/api/v1/pros").json()
    assert body["total"] == 2
    assert [i["worker_id"] for i in body["items"]] == ["A", "B"]  # rating 5.0 before 4.85
    assert body["items"][0] == {
        "worker_id": "A",
        "display_name": "佐藤 さくら",
        "division": "writer",
        "division_label": "ライター",
        "certified_since": "2025-01-01",
        "overall_rating": 5.0,
        "reviews": 1,
        "level": None,
        "profile_url": "http://127.0.0.1:8000/workers/A",  # absolute, as in /featured-pros
    }
    assert client.get("/api/v1/pros?lang=en").json()["items"][0]["division_label"] == "Writer"
    unknown = client.get("/api/v1/pros?division=astronaut")
    assert unknown.status_code == 422 and "no division 'astronaut'" in unknown.text
    assert client.get("/api/v1/jobs?division=astronaut").status_code == 422
    assert [i["worker_id"] for i in client.get("/api/v1/pros?division=engineer").json()["items"]] == ["B"]
    assert [i["worker_id"] for i in client.get("/api/v1/pros", params={"q": "seo 執筆"}).json()["items"]] == ["A"]
    assert [i["worker_id"] for i in client.get("/api/v1/pros?sort=name").json()["items"]] == ["B", "A"]
    second = client.get("/api/v1/pros?per_page=1&page=2").json()
    assert (second["total"], [i["worker_id"] for i in second["items"]]) == (2, ["B"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("page=0", "page"),
        ("sort=price", "sort"),
        ("page=x", "page"),
    ],
)
def test_invalid_parameters_get_422_with_the_reason(site, query, field):
    client, _ = site
    response = client.get(f"/api/v1/pros?{query}")
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (422, "invalid_parameters")
    assert error["details"][0]["location"] == f"query.{field}"
    assert error["message"].startswith(f"query.{field}: ")


def test_override_removes_a_pro_from_the_directory_at_once(site):
    client, engine = site
    with session_scope(engine, write=True) as session:
        set_override(session, program_id="crowdworks-pro", worker_id="B", certified=False, reason="x", actor="admin")
    assert [i["worker_id"] for i in client.get("/api/v1/pros").json()["items"]] == ["A"]
    assert client.get("/api/v1/workers/B/profile").json()["certified"] is False


def test_badge_svg_for_pros_and_others_with_etag(site):
    client, _ = site
    pro_badge = client.get("/badge/A.svg")
    assert pro_badge.status_code == 200 and pro_badge.headers["content-type"].startswith("image/svg+xml")
    assert "認定" in pro_badge.text and "#c8102e" in pro_badge.text
    assert "max-age" in pro_badge.headers["cache-control"]
    again = client.get("/badge/A.svg", headers={"If-None-Match": pro_badge.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert "佐藤 さくら" in pro_badge.text  # whose badge it is
    weak = client.get("/badge/A.svg", headers={"If-None-Match": f'"x", W/{pro_badge.headers["etag"]}'})
    assert weak.status_code == 304  # a list of tags, weak ones too
    head = client.head("/badge/A.svg")
    assert head.status_code == 200 and head.headers["etag"] == pro_badge.headers["etag"] and head.content == b""
    other = client.get("/badge/C.svg")  # never certified: an empty image, no Pro text at all
    assert other.status_code == 200 and "<text" not in other.text and "プロ" not in other.text
    assert 'width="1"' in other.text and "#c8102e" not in other.text
    assert client.get("/badge/A.svg", headers={"Accept-Language": "en-US"}).text.count("certified") >= 1


def test_profile_pages_show_the_badge_only_while_certified(site):
    client, _ = site
    a = client.get("/workers/A")
    assert a.status_code == 200 and 'id="pro-badge"' in a.text and "佐藤 さくら" in a.text
    assert "2025-01-01 から認定" in a.text
    assert 'id="embed-html"' in a.text and "/badge/A.svg" in a.text and "[![" in a.text  # the embed snippets
    assert "&lt;a href=&#34;http://127.0.0.1:8000/workers/A&#34;&gt;" in a.text or "/workers/A&#34;" in a.text
    c = client.get("/workers/C")
    assert c.status_code == 200 and 'id="pro-badge"' not in c.text and 'id="embed"' not in c.text
    assert client.get("/workers/NOPE").status_code == 404
    assert client.get("/api/v1/workers/NOPE/profile").status_code == 404


def test_directory_page_in_both_languages(site):
    client, _ = site
    ja = client.get("/pros")
    assert "認定ワーカー一覧" in ja.text and "2 人" in ja.text
    en = client.get("/pros?lang=en&division=engineer")
    assert "Certified workers" in en.text and "1 workers" in en.text and "Ken Engineer" in en.text
    assert en.cookies.get("lang") == "en"
    assert "/static/style.css" in ja.text and client.get("/static/style.css").status_code == 200


def test_openapi_lists_the_api(site):
    client, _ = site
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/pros", "/api/v1/workers/{worker_id}/profile", "/badge/{worker_id}.svg"} <= set(paths)


@pytest.mark.parametrize("processes", [1, 2])
def test_serve_runs_a_real_server(tmp_path: Path, processes: int):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCERT_")}
    env["PROCERT_HOME"] = str(tmp_path / "home")
    refused = subprocess.run([sys.executable, "-m", "procert.cli", "serve"], env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and "PROCERT_SECRET_KEY is missing" in refused.stderr
    env["PROCERT_SECRET_KEY"] = SECRET
    exp = Export()
    pro(exp, "A")
    subprocess.run(
        [sys.executable, "-m", "procert.cli", "import", str(exp.write(tmp_path / "e"))],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, "-m", "procert.cli", "run", "--as-of", "2025-01-01"], env=env, check=True, capture_output=True
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "procert.cli", "serve", "--port", str(port), "--workers", str(processes)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/api/v1/pros", timeout=2).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
        assert body["total"] == 1 and body["items"][0]["worker_id"] == "A"
        badge = httpx.get(f"http://127.0.0.1:{port}/badge/A.svg", timeout=5)
        assert badge.status_code == 200 and badge.headers["content-type"] == "image/svg+xml"
    finally:
        server.terminate()
        server.wait(timeout=20)


# ---- signing in and the worker's own dashboard ---------------------------------------------------------------


def use_login_link(client, link: str):
    """What a person does with a login link: open it (a page with a button, nothing used yet), press the button."""
    page = client.get(link)
    assert page.status_code == 200 and 'id="login-form"' in page.text, page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"token": token, "csrf": csrf}, follow_redirects=False)


def sign_in(client: TestClient, worker_id: str) -> None:
    from procert.web.auth import login_token

    response = use_login_link(client, f"/login?token={login_token(SECRET, worker_id)}")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie


def test_a_worker_sees_only_their_own_dashboard_and_status(site):
    client, _ = site
    assert client.get("/api/v1/workers/A/status").status_code == 401
    assert client.get("/dashboard").status_code == 401
    sign_in(client, "A")
    page = client.get("/dashboard")
    assert page.status_code == 200 and 'id="status"' in page.text and "認定中(2025-01-01 から)" in page.text
    assert 'role="progressbar"' in page.text and "SEO" not in page.text.split('id="history"')[1]
    assert "5 (達成)" in page.text  # the last run's overall rating, formatted
    assert "はい (達成)" in page.text  # true/false values are words, not Python's True
    status = client.get("/api/v1/workers/A/status").json()
    assert status["certified"] is True and status["since"] == "2025-01-01"
    scouts = next(c for c in status["criteria"] if c["id"] == "scouts")
    assert (scouts["value"], scouts["passed"], scouts["threshold"]) == (10, True, "5 件以上")
    assert status["history"] == [
        {
            "as_of": "2025-01-01",
            "kind": "granted",
            "reason": "criteria",
            "failed": [],
            "failed_labels": [],
            "from_level": None,
            "to_level": None,
        }
    ]
    completion = next(c for c in status["criteria"] if c["id"] == "completion_rate")
    assert completion["value_text"] == "100%"  # a percentage criterion reads as one
    # Changing the id in the URL never shows another worker's data.
    assert client.get("/api/v1/workers/B/status").status_code == 403
    assert client.get("/api/v1/workers/B/preview").status_code == 403
    preview = client.get("/api/v1/workers/A/preview").json()
    live_scouts = next(c for c in preview["criteria"] if c["id"] == "scouts")
    assert preview["worker_id"] == "A" and live_scouts["threshold"] == "5 件以上" and 0 <= live_scouts["progress"] <= 1
    other = client.get("/dashboard/B")
    assert other.status_code == 403 and "Ken Engineer" not in other.text
    assert client.get("/dashboard/A").status_code == 200


def test_forged_or_expired_login_links_are_refused(site):
    from procert.web.auth import LoginError, login_token, read_login_token

    client, _ = site
    forged = login_token("another-secret-" + "y" * 40, "A")
    assert client.get(f"/login?token={forged}").status_code == 400
    tampered = login_token(SECRET, "A")[:-3] + "abc"
    assert client.get(f"/login?token={tampered}").status_code == 400
    assert client.get("/api/v1/workers/A/status").status_code == 401
    with pytest.raises(LoginError, match="expired"):
        read_login_token(SECRET, login_token(SECRET, "A"), max_age_seconds=-1)


def test_sign_out_needs_the_csrf_token(site):
    client, _ = site
    sign_in(client, "A")
    assert client.post("/logout", data={"csrf": "wrong"}).status_code == 403
    assert client.get("/api/v1/workers/A/status").status_code == 200  # still signed in
    page = client.get("/dashboard").text
    token = page.split('name="csrf" value="')[1].split('"')[0]
    assert client.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert client.get("/api/v1/workers/A/status").status_code == 401


def test_demo_sign_in_page_only_in_demo_mode(site):
    client, _ = site
    assert client.get("/demo/login").status_code == 404


def test_values_are_formatted_for_people():
    from procert.i18n import format_value

    assert [format_value(v, "en") for v in (None, True, False, 4.918032786885246, 0.9, 12)] == [
        "—",
        "yes",
        "no",
        "4.918",
        "0.9",
        "12",
    ]
    assert format_value(True, "ja") == "はい"
    assert [format_value(v, display="percent") for v in (0.9, 2 / 3, 1, 0.12345)] == ["90%", "66.67%", "100%", "12.35%"]


def test_admin_api_key_reads_any_status_until_revoked(site):
    from sqlalchemy import select

    from procert.ledger import AuditEntry, create_api_key, revoke_api_key

    client, engine = site
    with session_scope(engine, write=True) as session:
        row, key = create_api_key(session, name="platform backend", actor="admin")
    assert key.startswith("pck_") and key not in row.key_digest
    for worker in ("A", "B", "C"):
        response = client.get(f"/api/v1/workers/{worker}/status", headers={"X-API-Key": key})
        assert response.status_code == 200 and response.json()["worker_id"] == worker
    assert client.get("/api/v1/workers/A/status", headers={"X-API-Key": "pck_wrong"}).status_code == 401
    assert client.get("/api/v1/workers/NOPE/status", headers={"X-API-Key": key}).status_code == 404
    with session_scope(engine, write=True) as session:
        assert revoke_api_key(session, key_id=row.id, actor="admin") is True
        actions = list(session.scalars(select(AuditEntry.action)))
    assert client.get("/api/v1/workers/A/status", headers={"X-API-Key": key}).status_code == 401
    assert {"api_key.created", "api_key.revoked"} <= set(actions)


def test_health_check_answers_without_credentials(site):
    client, _ = site
    context = client.app.state.context
    assert context.profiles.wait(context.profile_key(), timeout=60)  # started when the server started
    assert context.clocks.wait(context.clock_key(), timeout=60)
    assert client.get("/healthz").json() == {
        "status": "ok",
        "program": "crowdworks-pro",
        "profiles_ready": True,
        "clocks_ready": True,
    }


def test_every_api_route_is_in_the_openapi_description_and_documented(site):
    client, _ = site
    spec_paths = set(client.get("/openapi.json").json()["paths"])
    doc = (Path(__file__).resolve().parents[1] / "docs" / "web.md").read_text(encoding="utf-8")
    api_routes = {r.path for r in client.app.routes if getattr(r, "path", "").startswith("/api/v1/")}
    assert len(api_routes) >= 13
    for path in api_routes:
        assert path in spec_paths, path
        # Documented with any parameter name: /api/v1/runs/{id} documents /api/v1/runs/{run_id}.
        pattern = re.escape(path).replace(r"\{", "{").replace(r"\}", "}")
        pattern = re.sub(r"{[a-z_]+}", r"{[a-z_]+}", pattern) + r"[?` ]"
        assert re.search(pattern, doc), f"{path} is not documented in docs/web.md"


def test_ledger_changes_from_elsewhere_show_after_the_refresh_interval(tmp_path, engine):
    """The server's snapshot of the ledger is re-read every `ledger_refresh_seconds`; its own changes at once."""
    from procert.ledger import StatusReader

    exp = Export()
    pro(exp, "A")
    program = load_program("crowdworks-pro")
    with FactStore(tmp_path / "facts.duckdb") as store:
        import_export(store, exp.write(tmp_path / "export"), timezone=program.timezone)
        with session_scope(engine, write=True) as session:
            record_run(session, store=store, program=program, as_of=D1, actor="t", notify=NotifyOptions(enabled=False))
    reader = StatusReader(engine, program_id=program.id, today=lambda: D1, refresh_seconds=3600)
    assert reader.read("A")[0].certified is True
    with session_scope(engine, write=True) as session:
        set_override(session, program_id=program.id, worker_id="A", certified=False, reason="r", actor="t")
    assert reader.read("A")[0].certified is True  # another process's change: not yet
    reader.invalidate()
    status, history = reader.read("A")
    assert status.certified is False and status.override.reason == "r"
    assert [(h.as_of, h.kind) for h in history] == [(D1, "granted")]
    assert reader.read("NOBODY")[0].certified is False


def test_the_program_page_tells_the_rules_in_both_languages(site):
    client, _ = site
    page = client.get("/program")
    assert page.status_code == 200
    text = page.text
    assert "認定の条件" in text and "納品完了率" in text and "90% 以上" in text
    assert "エンジニア: 100 位以内" in text  # a division's own threshold, by its label
    assert "毎年 1月、4月、7月、10月 の 1 日" in text and "次回の判定日は" in text
    assert "年に 90 日まで" in text and "異議を申し立てられます" in text
    assert '<meta name="description"' in text and 'property="og:title"' in text
    english = client.get("/program?lang=en").text
    assert "What it takes" in english and "Engineer: rank 100 or better" in english
    assert 'href="/program"' in client.get("/pros").text  # linked from every page
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 200 and favicon.headers["content-type"].startswith("image/svg+xml")


def test_the_language_switch_keeps_the_search_and_the_page(site):
    client, _ = site
    page = client.get("/pros", params={"q": "SEO", "division": "writer", "page": 1}).text
    switch = re.search(r'<a href="([^"]+)" class="lang"', page)
    assert switch is not None
    link = switch.group(1).replace("&amp;", "&")
    assert link.startswith("/pros?") and "q=SEO" in link and "division=writer" in link and "lang=en" in link


def test_error_pages_speak_to_people_and_the_api_keeps_its_body(site):
    client, _ = site
    page = client.get("/pros?sort=price")
    assert page.status_code == 422
    assert "指定された条件を読み取れませんでした" in page.text and "条件を選び直してください" in page.text
    assert "query.sort" not in page.text and "Input should be" not in page.text  # no developer text
    assert "/demo/login" not in page.text  # not in demo mode
    english = client.get("/pros?sort=price&lang=en")
    assert "The page could not understand that request" in english.text
    missing = client.get("/no-such-page?lang=ja")  # the English choice above is remembered: switch back
    assert missing.status_code == 404 and "ページが見つかりません" in missing.text
    api = client.get("/api/v1/pros?sort=price")
    assert api.status_code == 422 and api.json()["error"]["code"] == "invalid_parameters"
    assert "query.sort" in api.json()["error"]["details"][0]["location"]


def test_docs_work_offline_and_pages_are_compressed(site):
    client, _ = site
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/swagger/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower() and "<script>" not in docs.text  # local files, no inline script (CSP)
    bundle = client.get("/static/swagger/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    assert client.get("/static/docs-init.js").status_code == 200
    page = client.get("/pros", headers={"Accept-Encoding": "gzip"})
    assert page.headers.get("content-encoding") == "gzip"
    api = client.get("/api/v1/pros", headers={"Accept-Encoding": "gzip"})
    assert api.headers.get("content-encoding") == "gzip" or len(api.content) < 1000


def test_a_profile_worth_hiring_from(tmp_path: Path, engine):
    """Skills named in the texts, delivered contracts, repeat clients, reply time, the latest reviews, and the
    marketplace's own buttons (hiring happens there), from a hand-made record."""
    exp = Export()
    pro(exp, "H", display_name="佐藤 花子", profile_text="SEO記事と取材が得意", self_pr_text="インタビュー記事も")
    # Before the run of 2025-01-01, K1 has four delivered contracts (pro()'s of 2024-06 and 2024-12, and one
    # behind each of the two reviews), K2 two and K3 one: 7 delivered, 2 of 3 clients came back.
    for month in ("2024-08-01", "2024-09-01"):
        exp.contract("H", f"{month}T00:00:00+09:00", client_id="K2")
    exp.contract("H", "2024-10-01T00:00:00+09:00", client_id="K3")
    exp.inquiry("H", "2024-10-01T09:00:00+09:00", "2024-10-01T11:00:00+09:00")  # 2 hours
    exp.inquiry("H", "2024-10-02T09:00:00+09:00", "2024-10-02T13:00:00+09:00")  # 4 hours
    exp.inquiry("H", "2024-10-03T09:00:00+09:00", "2024-10-03T21:00:00+09:00")  # 12 hours: the median is 4
    exp.review("H", (4, 4, 4, 4, 5), created_at="2024-11-01T00:00:00+09:00")
    program = load_program("crowdworks-pro")
    with FactStore(tmp_path / "facts.duckdb") as store:
        import_export(store, exp.write(tmp_path / "export"), timezone=program.timezone)
        with session_scope(engine, write=True) as session:
            record_run(session, store=store, program=program, as_of=D1, actor="t", notify=NotifyOptions(enabled=False))
    app = web_app(
        program=program,
        engine=engine,
        facts_path=tmp_path / "facts.duckdb",
        secret=SECRET,
        ledger_refresh_seconds=0,
        marketplace_profile_url="https://market.example.jp/workers/{worker_id}",
        marketplace_scout_url="https://market.example.jp/scout?to={worker_id}",
    )
    with TestClient(app, base_url="https://testserver") as client:
        body = client.get("/api/v1/workers/H/profile").json()
        assert (body["delivered_contracts"], body["repeat_client_share"]) == (7, 0.667)
        assert body["median_reply_hours"] == 4.0
        assert body["recent_reviews"][0] == {"date": "2024-10-31", "score": 4.2}  # 00:00 JST is the 31st in UTC
        assert body["skills"] == ["SEO", "取材", "インタビュー"]
        assert body["marketplace_scout_url"] == "https://market.example.jp/scout?to=H"
        page = client.get("/workers/H").text
        assert "スカウトする" in page and "https://market.example.jp/workers/H" in page
        assert "返信までの時間(中央値)" in page and "4 時間" in page and "リピートしたクライアント" in page
