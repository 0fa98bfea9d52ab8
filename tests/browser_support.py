"""Browser tests' set-up: Debian's Chromium (installed with apt-get when missing, never a browser download), a
small marketplace with a year of activity up to today, and the web app served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
import uvicorn

from procert.core import Procert
from procert.demo import scenario
from procert.facts import FactStore, import_export
from procert.ledger import NotifyOptions, make_engine, record_run, session_scope, upgrade
from procert.metrics import shift_months
from procert.programs import Program
from procert.settings import Settings
from tests.conftest import Export

CHROMIUM = Path("/usr/bin/chromium")
APT_PACKAGES = ("chromium", "fonts-noto-cjk")  # the fonts: Japanese text in screenshots
ADMIN_PASSWORD = "browser-test-password"


def _apt_install() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES]
    if subprocess.run(command, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        subprocess.run(command, env=env, capture_output=True)


AXE_VERSION = "4.14.1"
AXE_HOME = Path(os.environ.get("PROCERT_AXE_HOME", "/tmp/procert-axe"))


def ensure_axe() -> Path:
    """axe-core's browser script, installed from the npm registry at a pinned version on first use (one installer
    at a time across test processes). Fails in CI, skips elsewhere, when npm cannot install it."""
    script = AXE_HOME / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists() and shutil.which("npm"):
        AXE_HOME.mkdir(parents=True, exist_ok=True)
        with open("/tmp/procert-npm.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not script.exists():
                subprocess.run(
                    ["npm", "install", "--silent", "--no-audit", "--no-fund", f"axe-core@{AXE_VERSION}"],
                    cwd=AXE_HOME,
                    capture_output=True,
                    timeout=300,
                )
    if not script.exists():
        message = f"axe-core {AXE_VERSION} is not installed and npm could not install it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return script


def ensure_chromium() -> str:
    """The path of Debian's Chromium, installing it first when missing (one installer at a time across test
    processes). Fails in CI, skips elsewhere, when it cannot be installed."""
    if not CHROMIUM.exists() and shutil.which("apt-get"):
        with open("/tmp/procert-apt.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not CHROMIUM.exists():
                _apt_install()
    if not CHROMIUM.exists():
        message = "Debian's chromium is not installed and apt-get could not install it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(CHROMIUM)


def months_ago(today: date, months: int, day: int = 10) -> str:
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    return f"{date(year, month + 1, day).isoformat()}T12:00:00+09:00"


def active_worker(
    exp: Export,
    wid: str,
    today: date,
    *,
    scouts_per_quarter: int = 2,
    cancel_recent: int = 0,
    reviews: tuple[int, ...] = (5, 5, 5),
    **worker: str,
) -> None:
    """A worker active over the past two years: a delivery, a payment of ¥300,000 each quarter; reviews; scouts."""
    exp.worker(wid, email=f"{wid.lower()}@example.jp", locale="ja", **worker)
    for months in range(1, 24, 3):
        at = months_ago(today, months)
        contract = exp.contract(wid, at)
        exp.payment(wid, at, 300_000, contract_id=contract)
        for _ in range(scouts_per_quarter):
            exp.scout(wid, at)
    for months in range(cancel_recent):
        exp.contract(wid, months_ago(today, months % 3 + 1, day=20), status="cancelled")
    for score in reviews:
        exp.review(wid, score)


def build_marketplace(directory: Path, program: Program, today: date) -> tuple[Path, str, list[date]]:
    """Facts and a ledger with two scheduled runs: four pros (P4 cancelled work after the latest run), one worker
    who lost the status at the latest run, one who is one scout short. Returns the facts path, the ledger URL and
    the run dates."""
    exp = Export()
    active_worker(
        exp, "P1", today, display_name="佐藤 さくら", profile_text="SEO記事の執筆が得意です。取材もお任せください。"
    )
    active_worker(
        exp, "P2", today, division="engineer", display_name="Ken Tanaka", profile_text="Python / FastAPI backend"
    )
    active_worker(
        exp, "P3", today, division="designer", display_name="高橋 美咲", profile_text="ロゴとバナーのデザイン"
    )
    active_worker(
        exp, "P4", today, display_name="鈴木 一郎", profile_text="インタビュー記事と書籍の編集", reviews=(5, 5, 5, 5, 4)
    )
    active_worker(exp, "N1", today, display_name="山田 太郎", profile_text="Webライター", scouts_per_quarter=1)
    active_worker(exp, "L1", today, display_name="伊藤 花子", profile_text="翻訳(英日)", cancel_recent=3)
    # N2: one scout short at every run; a fifth scout yesterday makes today's facts pass (never certified yet).
    active_worker(exp, "N2", today, display_name="小松 奈々", profile_text="取材ライター", scouts_per_quarter=1)
    # P5: every direct scout was sent just inside today's 12-month window, which the next date's leaves behind.
    active_worker(
        exp, "P5", today, division="designer", display_name="中村 健", profile_text="UIデザイン", scouts_per_quarter=0
    )
    for _ in range(5):
        exp.scout("P5", f"{(shift_months(today, -12) + timedelta(days=1)).isoformat()}T12:00:00+09:00")
    facts = directory / "facts.duckdb"
    latest = program.cadence.latest_on_or_before(today)
    previous = program.cadence.latest_on_or_before(latest - timedelta(days=1))
    ledger_url = f"sqlite:///{directory / 'ledger.sqlite'}"
    engine = make_engine(ledger_url)
    upgrade(engine)
    with FactStore(facts) as store:
        # First the facts as they were at the previous run (L1's cancellations came later), then today's.
        before = Export(rows={t: [r for r in rows if r.get("status") != "cancelled"] for t, rows in exp.rows.items()})
        import_export(store, before.write(directory / "before"), timezone=program.timezone)
        with session_scope(engine, write=True) as session:
            record_run(
                session, store=store, program=program, as_of=previous, actor="test", notify=NotifyOptions(enabled=False)
            )
        import_export(store, exp.write(directory / "now"), timezone=program.timezone)
        with session_scope(engine, write=True) as session:
            record_run(
                session, store=store, program=program, as_of=latest, actor="test", notify=NotifyOptions(enabled=False)
            )
        # After the latest run P4 cancels a contract (yesterday): still certified, but today's facts fail them.
        exp.contract("P4", f"{(today - timedelta(days=1)).isoformat()}T12:00:00+09:00", status="cancelled")
        exp.contract("P4", f"{(today - timedelta(days=1)).isoformat()}T13:00:00+09:00", status="cancelled")
        exp.scout("N2", f"{(today - timedelta(days=1)).isoformat()}T12:00:00+09:00")
        import_export(store, exp.write(directory / "after"), timezone=program.timezone)
        # The demo scenario's steps on a core object over this folder (demo mode: the key the site serves with).
        core = Procert(Settings(home=directory, demo=True), program=program, engine=engine)
        scenario.ensure_admin(core, username="admin", password=ADMIN_PASSWORD)
        add_benefits(core, store, today)
    engine.dispose()
    return facts, ledger_url, [previous, latest]


@contextmanager
def serve(app, port: int) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app on http://127.0.0.1:port in a background thread, until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def add_benefits(core: Procert, store: FactStore, today: date) -> None:
    """Jobs (a premium writer job still in pro early access, an older premium one, a plain one), one subscriber
    and a newsletter issue composed and sent: the demo scenario's step, with this marketplace's jobs."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)

    def job(job_id: str, title: str, hours_ago: float, **values: object) -> dict[str, object]:
        return {
            "job_id": job_id,
            "client_id": "K1",
            "company_name": "株式会社みらいメディア",
            "company_tier": "listed",
            "title": title,
            "division": "writer",
            "skills": "SEO; 取材",
            "budget_jpy": 300_000,
            "unit_price_jpy": 30_000,
            "unit": "item",
            "order_probability": 0.8,
            "posted_at": (now - timedelta(hours=hours_ago)).isoformat(),
            "closes_at": (now + timedelta(days=14)).isoformat(),
            **values,
        }

    jobs = [
        job(
            "EARLY",
            "SEO記事の取材・執筆(10本)",
            2,
            description="## 概要\n\n株式会社みらいメディアは、暮らしの情報サイトを運営しています。\n\n"
            "## お願いしたいこと\n\n- 取材(オンライン・1時間)\n- **3,000 字**前後の記事を 10 本\n\n"
            "## 求めるスキル\n\n- SEO\n- 取材",
        ),
        job(
            "OPEN",
            "インタビュー記事の執筆",
            48,
            description="## 概要\n\n経営者への**インタビュー記事**をお願いします。\n\n- 取材(オンライン)\n- 執筆\n\n"
            "[会社のサイト](https://example.jp/)",
        ),
        job(
            "PLAIN",
            "データ入力",
            5,
            company_tier="other",
            division="business",
            unit_price_jpy=1_000,
            order_probability=0.1,
            skills="Excel",
            budget_jpy=20_000,
            unit="hour",
        ),
    ]
    scenario.add_benefits(
        core,
        store,
        jobs=jobs,
        subscribers=[("reader@example.jp", "読者", "ja")],
        today=today,
        now=now.replace(tzinfo=None),
    )
