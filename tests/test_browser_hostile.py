"""Hostile names and profiles in a real browser (Debian's Chromium): every page shows them as text, nothing they
carry runs (issue 11 keeps the attacker's 47 pages as a test)."""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from procert.facts import FactStore, import_export
from procert.ledger import NotifyOptions, make_engine, record_run, session_scope, upgrade
from procert.programs import load_program
from tests.browser_support import active_worker, ensure_chromium, serve
from tests.conftest import Export
from tests.test_notify import free_port
from tests.web_support import web_app

playwright_api = pytest.importorskip("playwright.sync_api")

HOSTILE = [
    "<script>window.__pwned = 1</script>",
    '"><img src=x onerror="window.__pwned = 2">',
    '<svg onload="window.__pwned = 3"></svg>',
    "{{ 7 * 7 }} {% raw %}",
    "javascript:window.__pwned = 4",
    "</textarea><iframe src=javascript:parent.__pwned=5>",
]


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    program = load_program("crowdworks-pro")
    today = datetime.now(ZoneInfo(program.timezone)).date()
    directory: Path = tmp_path_factory.mktemp("hostile")
    exp = Export()
    for n, text in enumerate(HOSTILE, start=1):
        active_worker(exp, f"H{n}", today, display_name=f"名前{n} {text}", profile_text=text, self_pr_text=text)
    facts = directory / "facts.duckdb"
    engine = make_engine(f"sqlite:///{directory / 'ledger.sqlite'}")
    upgrade(engine)
    with FactStore(facts) as store:
        import_export(store, exp.write(directory / "export"), timezone=program.timezone)
        with session_scope(engine, write=True) as session:
            record_run(
                session,
                store=store,
                program=program,
                as_of=program.cadence.latest_on_or_before(today),
                actor="t",
                notify=NotifyOptions(enabled=False),
            )
    app = web_app(program=program, engine=engine, facts_path=facts, secret=secrets.token_urlsafe(32), demo=True)
    with serve(app, free_port()) as base_url:
        yield base_url
    engine.dispose()


def test_hostile_texts_render_as_text_and_never_run(hostile_site):
    executable = ensure_chromium()
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(base_url=hostile_site)
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pages = ["/pros", "/pros?lang=en", "/pros?q=%3Cscript%3E", "/pros?q=名前", "/api/v1/pros"]
        pages += [f"/workers/H{n}" for n in range(1, len(HOSTILE) + 1)]
        pages += [f"/badge/H{n}.svg" for n in range(1, len(HOSTILE) + 1)]
        for path in pages:
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            assert page.evaluate("window.__pwned") is None, path
            assert page.locator("iframe, img[src='x']").count() == 0, path
        # The dashboard of a hostile worker, signed in through the demo page.
        page.goto("/demo/login")
        page.click('a[data-worker="H2"]')
        page.click("#login-button")
        page.wait_for_url("**/dashboard")
        assert page.evaluate("window.__pwned") is None
        assert HOSTILE[1] in page.inner_text("body")  # shown, as text
        page.goto("/workers/H1")
        assert HOSTILE[0] in page.inner_text("body")
        assert dialogs == []
        browser.close()
