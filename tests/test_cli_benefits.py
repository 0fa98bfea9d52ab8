"""The benefit commands end to end in subprocesses: jobs import (bad and good files), newsletter compose/send
and subscribers import, on the embedded default."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import Export
from tests.test_cli_ledger import environment, procert
from tests.test_ledger import pro

HEADER = (
    "job_id,client_id,company_name,company_tier,title,division,skills,budget_jpy,unit_price_jpy,unit,"
    "order_probability,posted_at,closes_at"
)


def test_jobs_import_reports_problems_and_stores_nothing_then_stores_a_good_file(tmp_path: Path):
    env = environment(tmp_path / "home", None)
    posted = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    closes = (datetime.now(UTC) + timedelta(days=9)).isoformat()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"{HEADER}\nJ1,K1,Acme,listed,t,writer,SEO,1000,500,item,0.9,{posted},{closes}\n"
        f"J2,K1,Acme,listed,t,writer,SEO,1000,0,item,0.9,{posted},{closes}\n",
        encoding="utf-8",
    )
    failed = procert(env, "jobs", "import", str(bad))
    assert failed.returncode == 1
    assert "bad.csv, row 2, column unit_price_jpy" in failed.stderr and "何も保存していません" in failed.stderr
    assert "公開中の案件 0 件" in procert(env, "jobs", "list").stdout
    good = tmp_path / "good.csv"
    good.write_text(
        f"{HEADER}\nJ1,K1,Acme,listed,SEO記事,writer,SEO,1000,500,item,0.9,{posted},{closes}\n", encoding="utf-8"
    )
    stored = procert(env, "jobs", "import", str(good))
    assert stored.returncode == 0 and "案件を 1 件保存しました" in stored.stdout
    listed = procert(env, "jobs", "list", "--premium").stdout
    assert "J1" in listed and "公開中の案件 1 件" in listed and "はい" in listed  # 40 + 15 + 27 = 82: premium
    assert procert(env, "jobs", "import", str(tmp_path / "missing.csv")).returncode == 1


def test_newsletter_compose_and_send_from_the_command_line(tmp_path: Path):
    env = environment(tmp_path / "home", None, PROCERT_SECRET_KEY=secrets.token_urlsafe(32))
    exp = Export()
    pro(exp, "A", display_name="Pro A")
    assert procert(env, "import", str(exp.write(tmp_path / "e"))).returncode == 0
    assert procert(env, "run", "--as-of", "2025-01-01").returncode == 0
    subs = tmp_path / "subs.csv"
    subs.write_text("email,name,locale\na@example.jp,A,ja\n", encoding="utf-8")
    assert "追加 1 件" in procert(env, "subscribers", "import", str(subs)).stdout
    composed = procert(env, "newsletter", "compose", "--date", "2025-01-06")
    assert composed.returncode == 0 and "Pro A (ライター)" in composed.stdout
    again = procert(env, "newsletter", "compose", "--date", "2025-01-06")
    assert again.returncode == 1 and "already composed" in again.stderr
    sent = procert(env, "newsletter", "send")
    assert sent.returncode == 0 and "メール 1 通をキューに入れました" in sent.stdout
    assert "メール 0 通をキューに入れました" in procert(env, "newsletter", "send").stdout  # never twice
    assert "2025-01-06" in procert(env, "newsletter", "list").stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("email,name,locale\nnope,A,ja\n", encoding="utf-8")
    refused = procert(env, "subscribers", "import", str(bad))
    assert refused.returncode == 1 and "row 1, column email" in refused.stderr
