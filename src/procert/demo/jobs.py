"""Demo jobs: a stream of job postings in the job contract (see docs/benefits.md), some of them premium and
still in pro early access, from the same clients as the demo marketplace.

Every client is one company (its name, tier and industry drawn from the client's own seed, so it stays the same
company in every job it posts), and every job's title and description are composed from its division's tasks
and its client's industry, so two job pages rarely read alike."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from procert.demo.generator import DIVISION_PRICE, DIVISIONS


@dataclass(frozen=True)
class Industry:
    name: str  # 〜業界
    business: str  # what the company does: 〜を手がける
    topics: tuple[str, ...]  # what articles, research and campaigns are about
    products: tuple[str, ...]  # what it sells or runs
    systems: tuple[str, ...]  # the software it needs built


INDUSTRIES = (
    Industry(
        "不動産",
        "賃貸物件の仲介と管理",
        ("住まい選び", "一人暮らし", "住宅ローン"),
        ("賃貸検索サイト", "内見予約"),
        ("物件管理システム", "内見予約アプリ"),
    ),
    Industry(
        "食品",
        "地域の食材を使った加工食品の製造・販売",
        ("食育", "地産地消", "ギフト選び"),
        ("オンラインショップ", "定期便"),
        ("受注管理システム", "EC サイト"),
    ),
    Industry(
        "旅行",
        "国内ツアーの企画と宿泊予約",
        ("週末旅行", "温泉", "インバウンド"),
        ("ツアー予約サイト", "旅のしおりアプリ"),
        ("予約管理システム", "在庫連携 API"),
    ),
    Industry(
        "教育",
        "オンライン学習サービスの運営",
        ("学び直し", "プログラミング教育", "受験"),
        ("オンライン講座", "学習アプリ"),
        ("学習管理システム", "動画配信基盤"),
    ),
    Industry(
        "医療・ヘルスケア",
        "クリニック向けの予約・問診サービス",
        ("健康管理", "睡眠", "予防医療"),
        ("予約サービス", "問診アプリ"),
        ("問診システム", "予約 API"),
    ),
    Industry(
        "物流",
        "中小企業向けの配送と倉庫管理",
        ("EC 物流", "ラストワンマイル", "在庫管理"),
        ("配送サービス", "倉庫管理サービス"),
        ("配送追跡システム", "倉庫管理システム"),
    ),
    Industry(
        "人材",
        "エンジニアとデザイナーの採用支援",
        ("転職", "リモートワーク", "キャリア"),
        ("求人サイト", "スカウトサービス"),
        ("応募者管理システム", "求人検索 API"),
    ),
    Industry(
        "IT・SaaS",
        "中小企業向けのクラウド会計サービス",
        ("DX", "インボイス制度", "業務効率化"),
        ("クラウド会計", "請求書サービス"),
        ("請求書発行システム", "会計 API"),
    ),
    Industry(
        "美容",
        "サロン向けの予約と顧客管理",
        ("スキンケア", "ヘアケア", "セルフケア"),
        ("サロン予約サイト", "会員アプリ"),
        ("予約管理システム", "会員管理システム"),
    ),
    Industry(
        "製造",
        "精密部品の製造",
        ("ものづくり", "品質管理", "技能継承"),
        ("部品カタログ", "見積もりフォーム"),
        ("生産管理システム", "見積もりシステム"),
    ),
    Industry(
        "飲食",
        "カフェとベーカリーの運営",
        ("季節のメニュー", "テイクアウト", "コーヒー"),
        ("モバイルオーダー", "オンラインショップ"),
        ("モバイルオーダー", "店舗 POS 連携"),
    ),
    Industry(
        "金融",
        "個人向けの資産運用アドバイス",
        ("資産形成", "新 NISA", "家計管理"),
        ("資産運用アプリ", "セミナー"),
        ("顧客管理システム", "資産管理アプリ"),
    ),
)
STEMS = (
    "みらい",
    "さくら",
    "ひかり",
    "あおば",
    "つばさ",
    "ことば",
    "ゆい",
    "青空",
    "北斗",
    "はなまる",
    "わかば",
    "そよかぜ",
    "大和",
    "東京",
    "横浜",
    "なにわ",
    "北海",
    "みなと",
    "Blue Ocean",
    "Acme",
    "Nexus",
    "Green Leaf",
)
SUFFIXES = ("", "ラボ", "ワークス", "ホールディングス", "パートナーズ", "ネット", "デザイン", "システムズ")
FORMS = ("株式会社{}", "{}株式会社", "合同会社{}", "有限会社{}", "{}株式会社", "株式会社{}")
# Listed and well-known companies are few; most clients are small businesses and sole proprietors.
TIERS = ("listed", "well_known", "other")
TIER_SHARE = (0.08, 0.22, 0.70)
SOLE_PROPRIETORS = ("佐藤", "山田", "中島", "松本", "石井", "森", "岡田", "藤田")


@dataclass(frozen=True)
class Client:
    client_id: str
    company_name: str
    tier: str
    industry: Industry


def demo_client(client_id: str, *, seed: int) -> Client:
    """The company behind ``client_id``: the same name, tier and industry every time it posts."""
    rng = np.random.default_rng([seed, int(client_id.lstrip("K") or 0)])
    industry = INDUSTRIES[int(rng.integers(len(INDUSTRIES)))]
    tier = TIERS[int(rng.choice(len(TIERS), p=TIER_SHARE))]
    if tier == "other" and rng.random() < 0.25:
        name = f"個人事業主 {SOLE_PROPRIETORS[int(rng.integers(len(SOLE_PROPRIETORS)))]}"
    else:
        stem = STEMS[int(rng.integers(len(STEMS)))]
        suffix = SUFFIXES[int(rng.integers(len(SUFFIXES)))]
        name = FORMS[int(rng.integers(len(FORMS)))].format(stem + suffix)
    return Client(client_id, name, tier, industry)


@dataclass(frozen=True)
class Task:
    title: str  # may use {topic} {product} {system} {industry} {n}
    does: tuple[str, ...]  # お願いしたいこと, bullet points
    skills: tuple[str, ...]


TASKS: dict[str, tuple[Task, ...]] = {
    "writer": (
        Task(
            "「{topic}」をテーマにした SEO 記事の執筆({n}本)",
            ("構成案の作成(キーワードはこちらで用意します)", "1本あたり 3,000〜5,000 字の執筆", "見出し・画像の提案"),
            ("SEO", "執筆", "構成案"),
        ),
        Task(
            "{industry}業界の経営者インタビュー記事の取材・執筆",
            ("オンラインでの取材(1時間程度)", "5,000 字前後の記事にまとめる", "先方確認後の修正"),
            ("取材", "執筆", "編集"),
        ),
        Task(
            "{product}の商品紹介文の作成({n}点)",
            ("商品ごとに 300 字程度の紹介文", "キャッチコピーの提案"),
            ("コピーライティング", "執筆"),
        ),
        Task(
            "{product}のヘルプ記事の英日翻訳",
            ("英語のヘルプ記事を自然な日本語に翻訳", "用語集に沿った表記の統一"),
            ("翻訳", "英語", "校正"),
        ),
        Task(
            "{topic}に関するメールマガジンの執筆(月{n}本)",
            ("毎月のテーマに沿ったメルマガ本文", "件名案を 3 つずつ"),
            ("コピーライティング", "メルマガ"),
        ),
    ),
    "designer": (
        Task(
            "{product}のロゴデザイン",
            ("ロゴ案を 3 案", "選んだ案のブラッシュアップ", "名刺・Web 用のデータ納品"),
            ("ロゴ", "Illustrator"),
        ),
        Task(
            "{product}のランディングページのデザイン",
            ("PC・スマートフォン両方のデザイン", "Figma での納品", "コーディング担当への引き継ぎ"),
            ("Figma", "UI/UX", "LP"),
        ),
        Task(
            "「{topic}」キャンペーンのバナー制作(月{n}点)",
            ("SNS 広告用バナー(3 サイズ)", "A/B テスト用の別案"),
            ("バナー", "Photoshop"),
        ),
        Task(
            "{system}の画面 UI 改善",
            ("現状画面の課題整理", "主要 5 画面の改善デザイン", "デザインシステムの更新"),
            ("UI/UX", "Figma"),
        ),
        Task(
            "{industry}向けパンフレットのデザイン(A4・{n}ページ)",
            ("原稿・写真はこちらで用意します", "入稿データの作成"),
            ("DTP", "InDesign", "Illustrator"),
        ),
    ),
    "business": (
        Task(
            "{industry}業界の営業リスト作成({n}0件)",
            ("指定条件での企業リストアップ", "会社名・所在地・問い合わせ先の入力"),
            ("リサーチ", "データ入力", "Excel"),
        ),
        Task(
            "「{topic}」に関する市場調査レポート",
            ("公開情報をもとにした競合 10 社の調査", "スライド 10 枚程度のまとめ"),
            ("リサーチ", "営業資料"),
        ),
        Task(
            "{product}の問い合わせ対応(チャット・メール)",
            ("平日 10〜18 時のうち週 {n} 時間程度", "マニュアルに沿った一次対応"),
            ("カスタマーサポート", "チャット対応"),
        ),
        Task("{system}へのデータ入力・整理", ("紙の台帳からの入力", "重複データの整理"), ("データ入力", "Excel")),
        Task(
            "{product}の営業資料の作成", ("既存資料のリライト", "パワーポイント 15 枚程度"), ("営業資料", "PowerPoint")
        ),
    ),
    "engineer": (
        Task(
            "{system}の API 開発",
            ("既存の仕様書に沿った REST API の実装", "テストコードの作成", "コードレビューへの対応"),
            ("Python", "FastAPI", "PostgreSQL"),
        ),
        Task(
            "{product}のフロントエンド改修",
            ("React コンポーネントの改修", "表示速度の改善", "アクセシビリティ対応"),
            ("React", "TypeScript"),
        ),
        Task(
            "{system}の AWS 移行支援",
            ("オンプレミス環境の調査", "移行計画の作成", "移行作業と切り替え"),
            ("AWS", "Terraform", "Linux"),
        ),
        Task("{system}の保守・運用(月{n}時間)", ("障害対応と原因調査", "小さな機能追加"), ("PHP", "Laravel", "MySQL")),
        Task(
            "{product}のデータ分析基盤の構築",
            ("ログの集計パイプライン", "ダッシュボードの作成"),
            ("Python", "SQL", "BigQuery"),
        ),
    ),
}
OPENINGS = (
    "{company}は、{business}を手がける会社です。",
    "{company}では、{business}を行っています。",
    "{business}を行う{company}です。",
)
WHY = (
    "事業の拡大に伴い、継続してお願いできる方を探しています。",
    "社内に専任の担当者がいないため、外部のプロの方にお願いしたいと考えています。",
    "初めての依頼ですが、丁寧に進めていただける方を歓迎します。",
    "{topic}への関心が高まっており、発信を強化したいと考えています。",
    "これまでの担当者が退職したため、引き継いでいただける方を募集します。",
)
PROCESS = (
    "やり取りはチャットが中心で、週 1 回 30 分程度のオンライン打ち合わせがあります。",
    "進め方はご相談のうえ決めます。まずは簡単な自己紹介と実績をお送りください。",
    "初回はテストとして小さな範囲からお願いし、問題なければ継続でお願いします。",
)
WELCOME = (
    "{industry}業界での経験",
    "同じような案件の実績",
    "平日の日中に連絡がとれること",
    "長期でのお付き合い",
)
POSTERS = 60
UNITS = {"writer": "item", "designer": "project", "business": "hour", "engineer": "hour"}


def compose_job(rng: np.random.Generator, client: Client, division: str, quantity: int) -> tuple[str, str, list[str]]:
    """A job's title, description (Markdown) and skills, from its division's tasks and its client's industry."""
    industry = client.industry
    task = TASKS[division][int(rng.integers(len(TASKS[division])))]
    words = {
        "company": client.company_name,
        "business": industry.business,
        "industry": industry.name,
        "topic": industry.topics[int(rng.integers(len(industry.topics)))],
        "product": industry.products[int(rng.integers(len(industry.products)))],
        "system": industry.systems[int(rng.integers(len(industry.systems)))],
        "n": quantity,
    }
    title = task.title.format(**words)
    welcome = list(rng.choice(WELCOME, size=2, replace=False))
    description = "\n".join(
        [
            "## 概要",
            "",
            OPENINGS[int(rng.integers(len(OPENINGS)))].format(**words)
            + WHY[int(rng.integers(len(WHY)))].format(**words),
            "",
            "## お願いしたいこと",
            "",
            *(f"- {line}" for line in task.does),
            "",
            "## 求めるスキル",
            "",
            *(f"- {skill}" for skill in task.skills),
            "",
            "**歓迎**: " + "、".join(w.format(**words) for w in welcome),
            "",
            "## 進め方",
            "",
            PROCESS[int(rng.integers(len(PROCESS)))],
        ]
    )
    skills = list(rng.choice(task.skills, size=int(rng.integers(1, len(task.skills) + 1)), replace=False))
    return title, description, [str(s) for s in skills]


def generate_jobs(
    path: Path, *, count: int = 120, seed: int = 1, now: datetime | None = None, clients: int = 200
) -> Path:
    """Write ``count`` jobs posted over the 20 days before ``now`` (a tenth within the last day, so some premium
    jobs are still in early access), to ``path`` as CSV."""
    rng = np.random.default_rng(seed)
    texts = np.random.default_rng([seed, 1])  # titles and descriptions: drawing them does not move the figures
    now = (now or datetime.now(UTC)).astimezone(UTC)
    # A few dozen clients post, some of them often (their past jobs give the order probability a history).
    posters = rng.choice(clients, size=min(POSTERS, clients), replace=False) + 1
    weights = 1.0 / np.arange(1, len(posters) + 1) ** 0.8
    rows = []
    for i in range(count):
        d = int(rng.choice(len(DIVISIONS), p=(0.42, 0.25, 0.20, 0.13)))
        division = DIVISIONS[d]
        client = demo_client(f"K{int(rng.choice(posters, p=weights / weights.sum())):06d}", seed=seed)
        unit = UNITS[division]
        base = {"item": 8_000, "project": DIVISION_PRICE[d], "hour": 1_500 if division == "business" else 5_000}[unit]
        unit_price = int(round(base * float(rng.lognormal(0, 0.35)), -2)) or 100
        quantity = {"item": int(rng.integers(3, 20)), "project": 1, "hour": int(rng.integers(20, 160))}[unit]
        recent = i % 10 == 0
        posted = now - timedelta(hours=float(rng.uniform(0.5, 20)) if recent else float(rng.uniform(24, 20 * 24)))
        closes = posted + timedelta(days=float(rng.uniform(7, 30)))
        probability = "" if rng.random() < 0.25 else f"{float(rng.beta(2, 3)):.2f}"
        title, description, skills = compose_job(texts, client, division, max(quantity // 10, 2))
        rows.append(
            {
                "job_id": f"JOB{i + 1:05d}",
                "client_id": client.client_id,
                "company_name": client.company_name,
                "company_tier": client.tier,
                "title": title,
                "description": description,
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
