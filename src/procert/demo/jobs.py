"""Demo jobs: a stream of job postings in the job contract (see docs/benefits.md), some of them premium and
still in pro early access, from the same clients as the demo marketplace."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from procert.demo.generator import DIVISION_PRICE, DIVISIONS

COMPANIES = (
    ("株式会社みらいメディア", "listed"),
    ("さくらテック株式会社", "listed"),
    ("合同会社ひかりデザイン", "well_known"),
    ("東京クラウド株式会社", "well_known"),
    ("株式会社ことば舎", "well_known"),
    ("個人事業主 山田", "other"),
    ("株式会社スモールスタート", "other"),
    ("Acme Japan K.K.", "listed"),
    ("有限会社まちの工房", "other"),
    ("株式会社ローカルネット", "other"),
)
# Most jobs come from small clients: listed companies post about one job in eight.
COMPANY_WEIGHTS = (0.06, 0.05, 0.08, 0.08, 0.09, 0.2, 0.2, 0.04, 0.1, 0.1)
SKILLS = {
    "writer": ("SEO", "取材", "執筆", "校正", "翻訳"),
    "designer": ("Figma", "バナー", "ロゴ", "UI/UX", "コーディング"),
    "business": ("データ入力", "リサーチ", "営業資料", "Excel", "カスタマーサポート"),
    "engineer": ("Python", "TypeScript", "React", "AWS", "FastAPI"),
}
TITLES = {
    "writer": ("SEO記事の執筆({n}本)", "インタビュー記事の取材・執筆", "英日翻訳(技術文書)"),
    "designer": ("コーポレートサイトのUIデザイン", "バナー制作(月{n}点)", "ロゴデザイン"),
    "business": ("営業リストの作成", "市場調査レポート", "カスタマーサポート(チャット)"),
    "engineer": ("業務システムのAPI開発", "React フロントエンドの改修", "AWS 移行支援"),
}
UNITS = {"writer": "item", "designer": "project", "business": "hour", "engineer": "hour"}


def generate_jobs(
    path: Path, *, count: int = 120, seed: int = 1, now: datetime | None = None, clients: int = 200
) -> Path:
    """Write ``count`` jobs posted over the 20 days before ``now`` (a tenth within the last day, so some premium
    jobs are still in early access), to ``path`` as CSV."""
    rng = np.random.default_rng(seed)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    rows = []
    for i in range(count):
        d = int(rng.choice(len(DIVISIONS), p=(0.42, 0.25, 0.20, 0.13)))
        division = DIVISIONS[d]
        company, tier = COMPANIES[int(rng.choice(len(COMPANIES), p=COMPANY_WEIGHTS))]
        unit = UNITS[division]
        base = {"item": 8_000, "project": DIVISION_PRICE[d], "hour": 1_500 if division == "business" else 5_000}[unit]
        unit_price = int(round(base * float(rng.lognormal(0, 0.35)), -2)) or 100
        quantity = {"item": int(rng.integers(3, 20)), "project": 1, "hour": int(rng.integers(20, 160))}[unit]
        skills = list(rng.choice(SKILLS[division], size=int(rng.integers(1, 4)), replace=False))
        recent = i % 10 == 0
        posted = now - timedelta(hours=float(rng.uniform(0.5, 20)) if recent else float(rng.uniform(24, 20 * 24)))
        closes = posted + timedelta(days=float(rng.uniform(7, 30)))
        title = TITLES[division][int(rng.integers(3))].format(n=quantity)
        probability = "" if rng.random() < 0.25 else f"{float(rng.beta(2, 3)):.2f}"
        rows.append(
            {
                "job_id": f"JOB{i + 1:05d}",
                "client_id": f"K{int(rng.zipf(1.6)) % clients + 1:06d}",
                "company_name": company,
                "company_tier": tier,
                "title": title,
                "division": division,
                "skills": "; ".join(skills),
                "budget_jpy": unit_price * quantity,
                "unit_price_jpy": unit_price,
                "unit": unit,
                "order_probability": probability,
                "posted_at": posted.isoformat(timespec="seconds"),
                "closes_at": closes.isoformat(timespec="seconds"),
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path
