"""The pages in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser).

Each test saves screenshots; set PROCERT_SCREENSHOTS=docs/screenshots to refresh the ones the README shows.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from procert.ledger import make_engine
from procert.programs import load_program
from tests.browser_support import ADMIN_PASSWORD, build_marketplace, ensure_chromium, serve
from tests.test_notify import free_port
from tests.web_support import web_app

playwright_api = pytest.importorskip("playwright.sync_api")
SECRET = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    program = load_program("crowdworks-pro")
    today = datetime.now(ZoneInfo(program.timezone)).date()
    directory = tmp_path_factory.mktemp("browser-site")
    facts, ledger_url, run_dates = build_marketplace(directory, program, today)
    engine = make_engine(ledger_url)
    # Demo mode: plain http on 127.0.0.1, so the session cookie is not marked Secure.
    app = web_app(
        program=program,
        engine=engine,
        facts_path=facts,
        secret=SECRET,
        demo=True,
        marketplace_profile_url="https://market.example.jp/workers/{worker_id}",
        marketplace_scout_url="https://market.example.jp/scout/{worker_id}",
    )
    with serve(app, free_port()) as base_url:
        yield base_url, run_dates
    engine.dispose()


@pytest.fixture(scope="module")
def browser():
    executable = ensure_chromium()
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, site):
    base_url, _dates = site
    context = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900}, locale="ja-JP")
    yield context.new_page()
    context.close()


@pytest.fixture
def shots(tmp_path):
    target = Path(os.environ.get("PROCERT_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)

    def shoot(page, name: str) -> Path:
        path = target / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000  # a rendered page, not a blank one
        return path

    return shoot


def card_names(page) -> list[str]:
    return page.locator("ul.cards li.card strong").all_inner_texts()


def test_directory_search_filter_and_sort(page, shots):
    page.goto("/pros")
    assert page.locator("h1").inner_text() == "認定ワーカー一覧"
    assert page.locator("#total").inner_text() == "5 人"
    # Rating first: P1-P3 and P5 at 5.0 (ties by id), P4 at exactly 4.8; N1, N2 and L1 (not certified) never appear.
    assert card_names(page) == ["佐藤 さくら", "Ken Tanaka", "高橋 美咲", "中村 健", "鈴木 一郎"]
    assert page.locator("ul.cards img.badge").count() == 5
    shots(page, "directory")

    page.fill("#q", "SEO 取材")
    page.click("form.search button")
    assert card_names(page) == ["佐藤 さくら"] and page.locator("#total").inner_text() == "1 人"

    page.fill("#q", "")
    page.select_option("#division", "writer")
    page.select_option("#sort", "name")
    page.click("form.search button")
    assert re.search(r"division=writer", page.url) and re.search(r"sort=name", page.url)
    assert card_names(page) == ["佐藤 さくら", "鈴木 一郎"]  # by name: さ before す

    page.goto("/pros?lang=en")
    assert page.locator("h1").inner_text() == "Certified workers" and page.locator("html").get_attribute("lang") == "en"
    page.goto("/pros")  # the choice is remembered
    assert page.locator("html").get_attribute("lang") == "en"
    shots(page, "directory-en")


def test_badge_on_a_certified_profile_and_not_on_others(page, shots):
    page.goto("/workers/P1")
    badge = page.locator("h1 img.badge")
    assert badge.count() == 1 and badge.get_attribute("src").startswith("/badge/P1.svg")
    assert badge.evaluate("img => img.complete && img.naturalWidth > 0")  # the SVG really loads
    shots(page, "profile-pro")
    for other in ("L1", "N1"):  # lost at the latest run; never certified
        page.goto(f"/workers/{other}")
        assert page.locator("h1 img.badge").count() == 0, other
    shots(page, "profile-not-pro")
    assert page.goto("/workers/NOPE").status == 404


def test_dashboard_progress_bars_and_history(page, site, shots):
    _base, (previous, latest) = site
    page.goto("/demo/login")
    page.click('a[data-worker="L1"]')
    page.click("#login-button")
    page.wait_for_url("**/dashboard")
    assert "未認定" in page.locator("#status").inner_text()
    bars = page.locator('[role="progressbar"]')
    assert bars.count() == 6
    completion = page.locator('tr[data-criterion="completion_rate"]')
    assert "fail" in completion.get_attribute("class")
    # 4 deliveries and 3 cancellations in the past year as of today: 4/7 = 57.1 % of 90 % → 63 % of the bar.
    assert completion.locator('[role="progressbar"]').get_attribute("aria-valuenow") == "63"
    assert completion.locator(".takes").count() == 1  # what it would take
    scouts = page.locator('tr[data-criterion="scouts"]')
    assert "pass" in scouts.get_attribute("class")
    assert scouts.locator('[role="progressbar"]').get_attribute("aria-valuenow") == "100"
    history = page.locator("#history li").all_inner_texts()
    assert history[0].startswith(previous.isoformat()) and "認定" in history[0]
    assert history[1].startswith(latest.isoformat()) and "解除" in history[1]
    shots(page, "dashboard")
    # Another worker's dashboard stays closed, whatever the URL says.
    assert page.goto("/dashboard/P1").status == 403


def test_admin_signs_in_and_applies_an_override_end_to_end(page, shots):
    page.goto("/admin")
    page.wait_for_url("**/admin/login?next=/admin")
    shots(page, "admin-login")
    page.fill("#username", "admin")
    page.fill("#password", "wrong password here")
    page.click("form.stack button")
    assert page.locator("#login-error").is_visible()
    page.fill("#username", "admin")
    page.fill("#password", ADMIN_PASSWORD)
    page.click("form.stack button")
    page.wait_for_url("**/admin")
    rows = page.locator("#runs tbody tr")
    assert rows.count() == 2
    shots(page, "admin-runs")
    rows.first.locator("a").click()  # the latest run: L1 lost the status
    lost = page.locator("table#lost").inner_text()
    assert "L1" in lost and "納品完了率(過去1年)" in lost  # the failed criterion by its name
    shots(page, "admin-run")

    page.goto("/admin/workers?q=P2")
    page.check("#lock-out")
    page.fill("#reason", "本人確認の再審査中")
    page.click("#override-form button")
    page.wait_for_url("**/admin/workers?q=P2")
    assert "本人確認の再審査中" in page.locator("#locked").inner_text()
    shots(page, "admin-worker")
    page.goto("/pros")
    assert "Ken Tanaka" not in card_names(page)
    page.goto("/workers/P2")
    assert page.locator("h1 img.badge").count() == 0
    page.goto("/admin/audit")
    assert "手動設定" in page.locator("#audit").inner_text()  # the action by its label

    page.goto("/admin/workers?q=P2")
    page.click("#clear-form button")
    page.goto("/pros")
    assert "Ken Tanaka" in card_names(page)


def test_job_feed_early_access_and_recommended_pros(page, shots):
    page.goto("/jobs")
    listed = page.locator("ul.jobs li.job").evaluate_all("items => items.map(i => i.dataset.job)")
    assert "EARLY" not in listed and "OPEN" in listed  # anonymous: the fresh premium job is for pros only
    assert page.goto("/jobs/EARLY").status == 200  # a teaser: when it opens to everyone, nothing else
    assert "認定ワーカーに先行公開中の案件です" in page.locator("h1").inner_text()
    assert page.locator("#score-parts").count() == 0 and page.locator("#description").count() == 0
    shots(page, "job-teaser")
    page.goto("/demo/login")
    page.click('a[data-worker="P1"]')
    page.click("#login-button")
    page.wait_for_url("**/dashboard")
    feed = page.locator("#feed")
    assert feed.locator('li[data-job="EARLY"]').count() == 1
    assert "同じ職種(ライター)" in feed.inner_text() and "SEO, 取材" in feed.inner_text()
    shots(page, "dashboard-feed")
    page.goto("/jobs")
    assert page.locator('li[data-job="EARLY"] .tag.pro-only').count() == 1
    shots(page, "jobs")
    page.click('li[data-job="EARLY"] a')
    # listed 40 + 30 × (30,000 ÷ the writers' median 30,000) ÷ 2 = 15 + 30 × 0.8 = 24 → 79
    assert page.locator("#score-total").inner_text() == "79.0"
    description = page.locator("#description")
    assert description.locator("h3").all_inner_texts() == ["概要", "お願いしたいこと", "求めるスキル"]
    assert description.locator("strong").inner_text() == "3,000 字"
    shots(page, "job")
    page.click("#recommended-link")
    names = page.locator("#recommended li").evaluate_all("items => items.map(i => i.dataset.worker)")
    assert names[0] == "P1" and "L1" not in names and "N1" not in names
    shots(page, "recommended-pros")


def test_newsletter_archive(page, shots):
    page.goto("/newsletter")
    issue = page.locator("#issues li").first
    assert issue.count() == 1
    issue.locator("a").click()
    featured = page.locator("#featured li").evaluate_all("items => items.map(i => i.dataset.worker)")
    assert sorted(featured) == ["P1", "P2", "P3", "P4", "P5"]  # every pro; never L1 (lost), N1 or N2
    shots(page, "newsletter-issue")


def test_the_dashboard_on_a_phone_leads_with_one_verdict(browser, site, shots):
    """At 390 px: the headline and the three clocks first, nothing wider than the screen, dates on one line, and
    each criterion's trend chart behind a disclosure."""
    base_url, (_previous, latest) = site
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844}, locale="ja-JP")
    page = context.new_page()
    page.goto("/demo/login")
    page.click('a[data-worker="L1"]')
    page.click("#login-button")
    page.wait_for_url("**/dashboard")
    headline = page.locator("#headline").inner_text()
    assert f"{latest.isoformat()} の判定で認定が外れました" in headline  # L1 lost it at the latest run
    clocks = page.locator("#clocks dt").all_inner_texts()
    assert clocks[0] == f"公式の判定({latest.isoformat()})" and clocks[1].startswith("今日の実績(")
    assert page.locator("#benefits h2").inner_text() == f"{latest.isoformat()} の判定で終了した特典"
    assert "注目案件を公開から 24 時間" in page.locator("#benefits").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Every date is laid out on a single line (no "2026-/10-01").
    assert page.evaluate("[...document.querySelectorAll('time')].every(t => t.getClientRects().length === 1)")
    page.locator("details.trend summary").first.click()
    assert page.locator("details.trend[open] svg.trend line.threshold").count() == 1
    shots(page, "dashboard-phone")
    context.close()


@pytest.mark.parametrize(
    ("worker", "kind", "says"),
    [
        ("P1", "pro_on_track", "継続の見込みです"),  # a pro on track
        ("P4", "pro_at_risk", "次の条件を満たさない見込みです: 納品完了率(過去1年)"),  # live facts now fail
        ("N1", "to_go", "認定まであと 1 条件です: スカウト数(過去1年・個別)"),  # never certified, one short
        ("N2", "will_be_certified", "今日の実績ですべての条件を満たしています。このままなら"),  # never certified
        ("P5", "pro_window_risk", "今日はすべての条件を満たしていますが"),  # passes today, not at the next date
    ],
)
def test_every_dashboard_leads_with_its_verdict(page, worker, kind, says):
    page.goto("/demo/login")
    page.click(f'a[data-worker="{worker}"]')
    page.click("#login-button")
    page.wait_for_url("**/dashboard")
    headline = page.locator("#headline")
    assert kind in headline.get_attribute("class")
    assert says in headline.inner_text()
    if worker == "P4":
        row = page.locator('tr[data-criterion="completion_rate"]')
        assert "fail" in row.get_attribute("class")  # today's facts
        assert "達成" in row.locator("td.official").inner_text()  # what the last run said


def test_an_appeal_filed_on_the_dashboard_and_answered_in_the_console(browser, site, shots):
    base_url, _dates = site
    worker = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900}, locale="ja-JP").new_page()
    worker.goto("/demo/login")
    worker.click('a[data-worker="L1"]')
    worker.click("#login-button")
    worker.wait_for_url("**/dashboard")
    worker.locator("#appeals summary").click()
    worker.select_option('#appeal-form select[name="criterion"]', "completion_rate")
    worker.fill('#appeal-form textarea[name="text"]', "3件のキャンセルはクライアント都合です。")
    worker.click("#appeal-form button")
    worker.wait_for_url("**/dashboard#appeals")
    assert "回答待ち" in worker.locator("#appeals").inner_text()

    admin = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900}, locale="ja-JP").new_page()
    admin.goto("/admin/appeals")
    admin.wait_for_url("**/admin/login?next=/admin/appeals")
    admin.fill("#username", "admin")
    admin.fill("#password", ADMIN_PASSWORD)
    admin.click("form.stack button")
    admin.wait_for_url("**/admin/appeals")
    assert admin.locator('nav.admin a[href="/admin/appeals"]').count() == 1  # inside the console
    item = admin.locator("#appeal-queue li.open").first
    assert "クライアント都合" in item.inner_text() and "納品完了率" in item.inner_text()
    item.locator("textarea").fill("確認しました。次回の判定までに記録を訂正します。")
    item.locator("button").click()
    admin.wait_for_url("**/admin/appeals")
    shots(admin, "admin-appeals")

    worker.goto("/dashboard")
    appeals = worker.locator("#appeals").inner_text()
    assert "回答済み" in appeals and "記録を訂正します" in appeals
    shots(worker, "dashboard-appeal")


def test_leave_declared_on_the_dashboard_and_in_the_console(browser, site, shots):
    """A pro declares leave on the dashboard and withdraws it; an admin declares leave for a pro whose next date
    would fail them, and that pro's dashboard says the status is kept; the leave is withdrawn again afterwards."""
    from datetime import timedelta

    base_url, _dates = site
    program = load_program("crowdworks-pro")
    today = datetime.now(ZoneInfo(program.timezone)).date()
    next_date = program.cadence.next_after(today)
    worker = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900}, locale="ja-JP").new_page()
    worker.goto("/demo/login")
    worker.click('a[data-worker="P2"]')
    worker.click("#login-button")
    worker.wait_for_url("**/dashboard")
    worker.locator("#leave summary").click()
    first, last = today + timedelta(days=7), today + timedelta(days=20)
    worker.fill('#leave-form input[name="starts_on"]', first.isoformat())
    worker.fill('#leave-form input[name="ends_on"]', last.isoformat())
    worker.select_option('#leave-form select[name="category"]', "childcare")
    worker.click("#leave-form button")
    worker.wait_for_url("**/dashboard#leave")
    assert f"{first.isoformat()}〜{last.isoformat()} の休業を申請済みです。" in worker.locator("#headline").inner_text()
    listed = worker.locator("#leave-list").inner_text()
    assert "育児・介護" in listed and "予定" in listed and "14 日" in listed
    shots(worker, "dashboard-leave")
    worker.locator("#leave-list button").click()
    worker.wait_for_url("**/dashboard#leave")
    assert worker.locator("#leave-list").count() == 0

    admin = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900}, locale="ja-JP").new_page()
    admin.goto("/admin/leave")
    admin.wait_for_url("**/admin/login?next=/admin/leave")
    admin.fill("#username", "admin")
    admin.fill("#password", ADMIN_PASSWORD)
    admin.click("form.stack button")
    admin.wait_for_url("**/admin/leave")
    admin.fill('#admin-leave-form input[name="worker_id"]', "P4")
    admin.fill('#admin-leave-form input[name="starts_on"]', today.isoformat())
    admin.fill('#admin-leave-form input[name="ends_on"]', (next_date + timedelta(days=3)).isoformat())
    admin.select_option('#admin-leave-form select[name="category"]', "illness")
    admin.click("#admin-leave-form button")
    admin.wait_for_url("**/admin/leave")
    row = admin.locator("#leave-table tr.leave.now")
    assert "P4" in row.inner_text() and "病気・けが" in row.inner_text()
    shots(admin, "admin-leave")

    away = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900}, locale="ja-JP").new_page()
    away.goto("/demo/login")
    away.click('a[data-worker="P4"]')
    away.click("#login-button")
    away.wait_for_url("**/dashboard")
    headline = away.locator("#headline")
    assert "pro_on_leave" in headline.get_attribute("class")
    assert (
        "休業中です" in headline.inner_text()
        and f"次回 {next_date.isoformat()} はご申請の休業期間中" in headline.inner_text()
    )
    shots(away, "dashboard-on-leave")
    # Withdrawn (it began today, so the admin cancels it whole): P4 is told they are at risk again.
    admin.locator("#leave-table tr.leave.now button").click()
    admin.wait_for_url("**/admin/leave")
    away.goto("/dashboard")
    assert "pro_at_risk" in away.locator("#headline").get_attribute("class")


def test_the_api_docs_render_from_local_files(page):
    """Swagger UI from the installed package: it renders with no network but the site's own (CSP 'self')."""
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "procert" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock").count() > 10  # the operations, from /openapi.json
    assert failed == []


AXE_PAGES = [
    "/pros",
    "/workers/P1",
    "/program",
    "/jobs",
    "/jobs/OPEN",
    "/jobs/EARLY",
    "/pros?sort=price",
    "/newsletter",
]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_pages_have_no_accessibility_violation_of_moderate_impact_or_worse(browser, site, lang):
    """axe-core (from the npm package) on the public pages, an error page, a job teaser and a dashboard."""
    from tests.browser_support import ensure_axe

    axe = ensure_axe()
    base_url, _dates = site
    # The site's CSP forbids inline scripts; the test injects axe's, so this context alone bypasses it.
    context = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900}, bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def check(path: str) -> None:
        page.goto(path + ("&" if "?" in path else "?") + f"lang={lang}")
        page.add_script_tag(path=str(axe))
        violations = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => ['moderate', 'serious', 'critical'].includes(v.impact))"
            ".map(v => v.id + ': ' + v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(' | '))"
        )
        if violations:
            found[path] = violations

    for path in AXE_PAGES:
        check(path)
    page.goto("/demo/login")
    page.click('a[data-worker="P1"]')
    page.click("#login-button")
    page.wait_for_url("**/dashboard")
    check("/dashboard")
    context.close()
    assert found == {}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_japanese_search_a_profile_to_hire_from_and_the_program_page(page, lang):
    page.goto(f"/pros?lang={lang}")
    page.fill("#q", "デザイン")  # the designers' profiles say デザイン in two ways
    page.click("form.search button")
    assert sorted(card_names(page)) == sorted(["高橋 美咲", "中村 健"])
    page.fill("#q", "ｐｙｔｈｏｎ")  # full-width Latin letters
    page.click("form.search button")
    assert card_names(page) == ["Ken Tanaka"]
    options = page.locator("#division option").all_inner_texts()
    assert ("ライター" in options) if lang == "ja" else ("Writer" in options)  # labels, never codes
    page.goto("/workers/P3")
    scout = page.locator("#hire a").first
    assert scout.get_attribute("href") == "https://market.example.jp/scout/P3"
    assert scout.inner_text() == ("スカウトする" if lang == "ja" else "Scout")
    assert page.locator("#delivered").inner_text() != ""
    page.goto("/program")
    assert page.locator("#criteria tbody tr").count() == 6
    assert ("認定の条件" if lang == "ja" else "What it takes") in page.locator("#criteria h2").inner_text()
