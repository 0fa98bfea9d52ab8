"""Generate a realistic demo marketplace export in the data contract, fast enough for millions of workers.

Activity is skewed (a log-normal number of contracts per worker: many occasional workers, a few very busy
ones), divisions differ in size and pay, reviews are mostly high with some low, scouts are direct or mass,
and timestamps mix Japan time (+09:00), UTC (Z) and naive local time, as real exports do.
Workers are generated in chunks so memory stays flat whatever the size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from procert.facts.contract import RATING_ITEMS, TABLE_ORDER

DIVISIONS = ("writer", "designer", "business", "engineer")
DIVISION_SHARE = (0.42, 0.25, 0.20, 0.13)
# Typical contract value per division in yen (log-normal median).
DIVISION_PRICE = (18_000, 45_000, 35_000, 120_000)
FAMILY = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田")
GIVEN = ("さくら", "翔太", "陽菜", "蓮", "結衣", "大翔", "美咲", "悠真", "葵", "湊", "Emma", "Ken")
PROFILE_SAMPLES = (
    "Webライターとして5年、SEO記事と取材記事を中心に執筆しています。",
    "UI/UXデザイナー。Figmaでのワイヤーフレームからコーディングまで対応します。",
    "Python と TypeScript のフルスタックエンジニアです。業務システムの開発経験が豊富です。",
    "営業資料の作成、データ入力、リサーチなどバックオフィス業務をサポートします。",
    "Freelance translator (Japanese-English) with a background in finance.",
)
PR_SAMPLES = (
    "納期厳守と丁寧なコミュニケーションを心がけています。",
    "修正対応は無制限。まずはお気軽にご相談ください。",
    "平日日中にすぐ返信できます。長期のお取引を歓迎します。",
    "I reply within a few hours and keep you posted at every step.",
)
# Names with their readings (display_name_kana), and texts composed from parts (so that two profiles rarely read
# alike), by division.
FAMILY_NAMES = (
    ("佐藤", "さとう"),
    ("鈴木", "すずき"),
    ("高橋", "たかはし"),
    ("田中", "たなか"),
    ("伊藤", "いとう"),
    ("渡辺", "わたなべ"),
    ("山本", "やまもと"),
    ("中村", "なかむら"),
    ("小林", "こばやし"),
    ("加藤", "かとう"),
    ("吉田", "よしだ"),
    ("山田", "やまだ"),
    ("佐々木", "ささき"),
    ("山口", "やまぐち"),
    ("松本", "まつもと"),
    ("井上", "いのうえ"),
    ("木村", "きむら"),
    ("林", "はやし"),
    ("斎藤", "さいとう"),
    ("清水", "しみず"),
    ("山崎", "やまざき"),
    ("森", "もり"),
    ("池田", "いけだ"),
    ("橋本", "はしもと"),
    ("阿部", "あべ"),
    ("石川", "いしかわ"),
    ("山下", "やました"),
    ("中島", "なかじま"),
    ("石井", "いしい"),
    ("小川", "おがわ"),
    ("前田", "まえだ"),
    ("岡田", "おかだ"),
    ("長谷川", "はせがわ"),
    ("藤田", "ふじた"),
    ("後藤", "ごとう"),
    ("近藤", "こんどう"),
    ("村上", "むらかみ"),
    ("遠藤", "えんどう"),
    ("青木", "あおき"),
    ("坂本", "さかもと"),
    ("斉藤", "さいとう"),
    ("福田", "ふくだ"),
    ("太田", "おおた"),
    ("西村", "にしむら"),
    ("藤井", "ふじい"),
    ("金子", "かねこ"),
    ("岡本", "おかもと"),
    ("藤原", "ふじわら"),
    ("中野", "なかの"),
    ("三浦", "みうら"),
    ("原田", "はらだ"),
    ("中川", "なかがわ"),
    ("松田", "まつだ"),
    ("竹内", "たけうち"),
    ("小野", "おの"),
    ("田村", "たむら"),
    ("中山", "なかやま"),
    ("和田", "わだ"),
    ("石田", "いしだ"),
    ("森田", "もりた"),
    ("上田", "うえだ"),
    ("原", "はら"),
    ("柴田", "しばた"),
    ("酒井", "さかい"),
    ("工藤", "くどう"),
    ("横山", "よこやま"),
    ("宮崎", "みやざき"),
    ("宮本", "みやもと"),
    ("内田", "うちだ"),
    ("高木", "たかぎ"),
    ("安藤", "あんどう"),
    ("島田", "しまだ"),
    ("谷口", "たにぐち"),
    ("大野", "おおの"),
    ("丸山", "まるやま"),
    ("今井", "いまい"),
    ("高田", "たかだ"),
    ("藤本", "ふじもと"),
    ("武田", "たけだ"),
    ("村田", "むらた"),
    ("上野", "うえの"),
    ("杉山", "すぎやま"),
    ("増田", "ますだ"),
    ("小山", "こやま"),
    ("大塚", "おおつか"),
    ("平野", "ひらの"),
    ("菅原", "すがわら"),
    ("久保", "くぼ"),
    ("松井", "まつい"),
    ("千葉", "ちば"),
    ("岩崎", "いわさき"),
    ("桜井", "さくらい"),
    ("木下", "きのした"),
    ("野口", "のぐち"),
    ("松尾", "まつお"),
    ("菊地", "きくち"),
    ("野村", "のむら"),
    ("新井", "あらい"),
    ("渡部", "わたなべ"),
)
GIVEN_NAMES = (
    ("さくら", "さくら"),
    ("翔太", "しょうた"),
    ("陽菜", "ひな"),
    ("蓮", "れん"),
    ("結衣", "ゆい"),
    ("大翔", "ひろと"),
    ("美咲", "みさき"),
    ("悠真", "ゆうま"),
    ("葵", "あおい"),
    ("湊", "みなと"),
    ("陽翔", "はると"),
    ("凛", "りん"),
    ("樹", "いつき"),
    ("結菜", "ゆな"),
    ("颯太", "そうた"),
    ("芽依", "めい"),
    ("蒼", "あおい"),
    ("紬", "つむぎ"),
    ("大和", "やまと"),
    ("澪", "みお"),
    ("悠人", "ゆうと"),
    ("莉子", "りこ"),
    ("健太", "けんた"),
    ("彩花", "あやか"),
    ("拓海", "たくみ"),
    ("七海", "ななみ"),
    ("優斗", "ゆうと"),
    ("真央", "まお"),
    ("翼", "つばさ"),
    ("美月", "みづき"),
    ("健", "けん"),
    ("花子", "はなこ"),
    ("太郎", "たろう"),
    ("一郎", "いちろう"),
    ("直樹", "なおき"),
    ("裕子", "ゆうこ"),
    ("恵", "めぐみ"),
    ("誠", "まこと"),
    ("智子", "ともこ"),
    ("浩", "ひろし"),
    ("由美", "ゆみ"),
    ("修", "おさむ"),
    ("明美", "あけみ"),
    ("隆", "たかし"),
    ("京子", "きょうこ"),
    ("大輔", "だいすけ"),
    ("麻衣", "まい"),
    ("亮", "りょう"),
    ("愛", "あい"),
    ("涼介", "りょうすけ"),
    ("千尋", "ちひろ"),
    ("海斗", "かいと"),
    ("ひかり", "ひかり"),
    ("奈々", "なな"),
    ("舞", "まい"),
    ("瑞希", "みずき"),
    ("陸", "りく"),
    ("楓", "かえで"),
    ("遥", "はるか"),
    ("颯", "はやて"),
    ("心春", "こはる"),
    ("和也", "かずや"),
    ("里奈", "りな"),
    ("康介", "こうすけ"),
    ("沙織", "さおり"),
    ("雄一", "ゆういち"),
    ("真由美", "まゆみ"),
    ("拓也", "たくや"),
    ("瞳", "ひとみ"),
    ("俊介", "しゅんすけ"),
    ("綾", "あや"),
    ("智也", "ともや"),
    ("早紀", "さき"),
)
#: A few workers write their names in Latin letters (returnees, residents from abroad).
LATIN_NAMES = ("Emma Wilson", "Ken Tanaka", "Maria Santos", "Li Wei", "Nguyen Van An", "Aiko Smith", "Tom Becker")
PROFILE_PARTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "writer": (
        ("Webライター", "編集者", "コピーライター", "翻訳者", "ライター兼編集者"),
        ("SEO記事", "取材記事", "インタビュー記事", "メルマガ", "ブログ記事", "書籍の構成", "英日翻訳", "リライト"),
        ("医療・健康", "金融", "IT", "旅行", "教育", "不動産", "美容", "子育て"),
    ),
    "designer": (
        ("グラフィックデザイナー", "Webデザイナー", "UI/UXデザイナー", "イラストレーター", "動画クリエイター"),
        ("ロゴ", "バナー", "LP", "名刺", "チラシ", "パッケージ", "アプリのUI", "アニメーション"),
        ("Figma", "Illustrator", "Photoshop", "After Effects", "Canva"),
    ),
    "engineer": (
        (
            "Webエンジニア",
            "バックエンドエンジニア",
            "フロントエンドエンジニア",
            "インフラエンジニア",
            "データエンジニア",
        ),
        ("業務システム", "ECサイト", "スマホアプリ", "API", "データ分析基盤", "WordPressサイト", "機械学習モデル"),
        ("Python", "TypeScript", "React", "Go", "PHP", "AWS", "Docker", "Ruby on Rails"),
    ),
    "business": (
        ("事務スタッフ", "経理担当", "秘書", "カスタマーサポート担当", "営業アシスタント"),
        ("データ入力", "請求書の作成", "リサーチ", "資料作成", "SNS運用", "問い合わせ対応", "議事録"),
        ("Excel", "PowerPoint", "Googleスプレッドシート", "freee", "Salesforce"),
    ),
}
PR_PARTS = (
    (
        "納期厳守を心がけています。",
        "丁寧なコミュニケーションを大切にしています。",
        "修正は納得いただけるまで対応します。",
    ),
    (
        "平日日中はすぐに返信できます。",
        "土日も対応可能です。",
        "長期のお取引を歓迎します。",
        "急ぎのご依頼もご相談ください。",
    ),
    ("まずはお気軽にご相談ください。", "実績はポートフォリオでご覧いただけます。", "よろしくお願いいたします。"),
)


def _composed(
    words: np.random.Generator,
    division: np.ndarray,
    base_names: list[str],
    profile_kind: np.ndarray,
    pr_kind: np.ndarray,
) -> tuple[list[str], list[str | None], pa.Array, pa.Array, pa.Array]:
    """Names from about a hundred family and given names (a few in Latin letters), profiles composed per division
    (a role, years, three kinds of work, a field, tools) and self-PRs from phrases; blanks kept where the facts
    have them (a full-width space, spaces, nothing)."""
    n = len(base_names)
    family = words.integers(0, len(FAMILY_NAMES), n)
    given = words.integers(0, len(GIVEN_NAMES), n)
    latin = words.random(n) < 0.02
    names = [
        LATIN_NAMES[int(f) % len(LATIN_NAMES)] if lat else f"{FAMILY_NAMES[f][0]} {GIVEN_NAMES[g][0]}"
        for f, g, lat in zip(family, given, latin, strict=True)
    ]
    # Latin names need no reading; sorting falls back to the name.
    readings = [
        None if lat else f"{FAMILY_NAMES[f][1]} {GIVEN_NAMES[g][1]}"
        for f, g, lat in zip(family, given, latin, strict=True)
    ]
    blanks = ["\u3000", "   ", None]
    profiles: list[str | None] = []
    prs: list[str | None] = []
    skills: list[str | None] = []
    for i in range(n):
        roles, works, extras = PROFILE_PARTS[DIVISIONS[division[i]]]
        if profile_kind[i] == 0:
            chosen = words.choice(len(works), size=3, replace=False)
            years = int(words.integers(1, 16))
            profiles.append(
                f"{roles[int(words.integers(len(roles)))]}として{years}年。"
                f"{'、'.join(works[int(c)] for c in chosen)}を中心にお手伝いしています。"
                f"{extras[int(words.integers(len(extras)))]}が得意です。"
            )
        else:
            profiles.append(blanks[int(profile_kind[i]) - 1])
        if pr_kind[i] == 0:
            prs.append("".join(part[int(words.integers(len(part)))] for part in PR_PARTS))
        else:
            prs.append(blanks[int(pr_kind[i]) - 1])
        # A third list their skills (the export's ";"-separated column): two to four of the division's tools.
        if words.random() < 0.35:
            count = int(words.integers(2, 5))
            skills.append(
                ";".join(extras[int(c)] for c in words.choice(len(extras), size=min(count, len(extras)), replace=False))
            )
        else:
            skills.append(None)
    return names, readings, pa.array(profiles, pa.string()), pa.array(prs, pa.string()), pa.array(skills, pa.string())


JST = 9 * 3600
SECONDS_PER_DAY = 86_400
CHUNK_WORKERS = 50_000

Progress = Callable[[int, int], None]


@dataclass
class DemoSummary:
    directory: Path
    rows: dict[str, int]
    end: date


#: How a Parquet export holds a timestamp.
STAMP_TYPE = pa.timestamp("us", tz="UTC")


def _stamps(out: _Writer, rng: np.random.Generator, seconds: np.ndarray) -> pa.Array:
    """Timestamps for UTC epoch seconds as the export's format holds them: in CSV, ISO 8601 text (half in +09:00,
    30% in UTC with Z, 20% naive Japan time); in Parquet, UTC instants, as a warehouse writes a typed column.
    Both draw the same random numbers, so that the two formats hold the same facts."""
    style = rng.choice(3, size=len(seconds), p=[0.5, 0.3, 0.2]).astype(np.int8)
    if out.fmt == "parquet":
        return pa.array(seconds.astype("datetime64[s]")).cast(STAMP_TYPE)
    local = seconds + np.where(style == 1, 0, JST)
    text = pc.strftime(pa.array(local.astype("datetime64[s]")), format="%Y-%m-%dT%H:%M:%S")
    suffix = pa.DictionaryArray.from_arrays(pa.array(style), pa.array(["+09:00", "Z", ""])).cast(pa.string())
    return pc.binary_join_element_wise(text, suffix, "")


def _ids(prefix: str, start: int, count: int, width: int) -> pa.Array:
    numbers = pc.cast(pa.array(np.arange(start, start + count, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width, "0"), "")


class _Writer:
    """Appends chunks to one file per table, as CSV or Parquet."""

    def __init__(self, directory: Path, fmt: str) -> None:
        self.directory, self.fmt = directory, fmt
        self.stamp_type = STAMP_TYPE if fmt == "parquet" else pa.string()
        self.writers: dict[str, pq.ParquetWriter | pacsv.CSVWriter] = {}
        self.rows = dict.fromkeys(TABLE_ORDER, 0)

    def write(self, table: str, data: dict[str, pa.Array]) -> None:
        batch = pa.table(data)
        self.rows[table] += batch.num_rows
        writer = self.writers.get(table)
        if writer is None:
            path = self.directory / f"{table}.{self.fmt}"
            if self.fmt == "parquet":
                writer = pq.ParquetWriter(path, batch.schema, compression="zstd")
            else:
                writer = pacsv.CSVWriter(path, batch.schema, write_options=pacsv.WriteOptions(quoting_style="needed"))
            self.writers[table] = writer
        writer.write_table(batch)

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


def generate(
    directory: Path | str,
    *,
    workers: int,
    seed: int = 1,
    end: date | None = None,
    years: int = 3,
    fmt: str = "csv",
    progress: Progress | None = None,
) -> DemoSummary:
    """Write ``workers.<fmt>`` ... ``inquiries.<fmt>`` into ``directory`` covering ``years`` before ``end``."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if fmt not in ("csv", "parquet"):
        raise ValueError("format must be csv or parquet")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for table in TABLE_ORDER:
        for suffix in ("csv", "parquet"):
            (directory / f"{table}.{suffix}").unlink(missing_ok=True)
    end = end or datetime.now(UTC).date()
    end_s = int(datetime(end.year, end.month, end.day, tzinfo=UTC).timestamp()) - JST
    start_s = end_s - years * 365 * SECONDS_PER_DAY
    out = _Writer(directory, fmt)
    counters = {"contracts": 0, "reviews": 0, "payments": 0, "scouts": 0, "inquiries": 0}
    n_clients = max(workers // 2, 10)
    try:
        for chunk_start in range(0, workers, CHUNK_WORKERS):
            n = min(CHUNK_WORKERS, workers - chunk_start)
            rng = np.random.default_rng([seed, chunk_start])
            # Version 2 of the contract draws from a stream of its own: the version 1 facts stay as they were.
            extra = np.random.default_rng([seed, chunk_start, 2])
            # Names and texts from a stream of their own: the facts the metrics read do not move.
            words = np.random.default_rng([seed, chunk_start, 3])
            _chunk(rng, extra, out, counters, chunk_start, n, n_clients, start_s, end_s, words)
            if progress:
                progress(chunk_start + n, workers)
    finally:
        out.close()
    return DemoSummary(directory, dict(out.rows), end)


def _chunk(
    rng: np.random.Generator,
    extra: np.random.Generator,
    out: _Writer,
    counters: dict[str, int],
    first: int,
    n: int,
    n_clients: int,
    start_s: int,
    end_s: int,
    words: np.random.Generator | None = None,
) -> None:
    # ---- workers -------------------------------------------------------------------------------------
    worker_ids = _ids("W", first + 1, n, 7)
    division = rng.choice(len(DIVISIONS), size=n, p=DIVISION_SHARE)
    registered = rng.integers(start_s - 2 * 365 * SECONDS_PER_DAY, end_s - 30 * SECONDS_PER_DAY, size=n)
    status = rng.choice(3, size=n, p=[0.92, 0.03, 0.05])
    profile_kind = rng.choice(4, size=n, p=[0.86, 0.05, 0.03, 0.06])  # text, U+3000, spaces, empty
    pr_kind = rng.choice(4, size=n, p=[0.82, 0.04, 0.04, 0.10])

    def texts(kind: np.ndarray, samples: tuple[str, ...]) -> pa.Array:
        pick = rng.integers(0, len(samples), size=n)
        idx = np.where(kind == 0, pick, len(samples) + kind - 1)
        choices = pa.array([*samples, "\u3000", "   ", None])
        return pc.take(choices, pa.array(idx))

    names = [
        f"{FAMILY[a]} {GIVEN[b]}"
        for a, b in zip(rng.integers(0, len(FAMILY), n), rng.integers(0, len(GIVEN), n), strict=True)
    ]
    locale = rng.choice(2, size=n, p=[0.9, 0.1])
    # Most workers verified their identity; logins skewed towards the last days, a few never.
    verified = extra.random(n) < 0.85
    login_age = (extra.exponential(15, size=n) * SECONDS_PER_DAY).astype(np.int64)
    last_login = np.maximum(end_s - 60 - login_age, registered)
    never_logged_in = extra.random(n) < 0.03
    login_text = pc.if_else(pa.array(never_logged_in), pa.nulls(n, out.stamp_type), _stamps(out, extra, last_login))
    profiles, prs = texts(profile_kind, PROFILE_SAMPLES), texts(pr_kind, PR_SAMPLES)
    readings: list[str | None] = [None] * n
    skills = pa.nulls(n, pa.string())
    if words is not None:
        names, readings, profiles, prs, skills = _composed(words, division, names, profile_kind, pr_kind)
    out.write(
        "workers",
        {
            "worker_id": worker_ids,
            "display_name": pa.array(names),
            "division": pc.take(pa.array(DIVISIONS), pa.array(division)),
            "registered_at": _stamps(out, rng, registered),
            "profile_text": profiles,
            "self_pr_text": prs,
            "status": pc.take(pa.array(["active", "suspended", "withdrawn"]), pa.array(status)),
            "email": pc.binary_join_element_wise(pc.utf8_lower(worker_ids), "@example.jp", ""),
            "locale": pc.take(pa.array(["ja", "en"]), pa.array(locale)),
            "identity_verified": pa.array(verified),
            "last_login_at": login_text,
            "display_name_kana": pa.array(readings, pa.string()),
            "skills": skills,
        },
    )

    # ---- contracts: log-normal count per worker, mean about 20 -----------------------------------------
    per_worker = np.minimum(np.floor(rng.lognormal(2.3, 1.2, size=n)), 3000).astype(np.int64)
    reliability = rng.beta(30, 1.4, size=n)  # share of closed contracts delivered
    quality = rng.beta(14, 1.0, size=n)  # chance an item is rated 5
    owner = np.repeat(np.arange(n), per_worker)
    m = len(owner)
    begin = np.maximum(registered[owner], start_s)
    started = begin + (rng.random(m) * (end_s - begin)).astype(np.int64)
    started = np.minimum(started, end_s - 3600)
    closed = started + (rng.exponential(20, size=m) * SECONDS_PER_DAY).astype(np.int64) + 3600
    is_closed = closed < end_s
    delivered = is_closed & (rng.random(m) < reliability[owner])
    c_status = np.where(~is_closed, 0, np.where(delivered, 1, 2))
    kind = (rng.random(m) < 0.25).astype(np.int8)  # 1 = hourly
    price = np.array(DIVISION_PRICE)[division[owner]]
    amount = (np.round(rng.lognormal(0, 0.8, size=m) * price / 100) * 100).astype(np.int64)
    contract_ids = _ids("C", counters["contracts"] + 1, m, 9)
    counters["contracts"] += m
    clients = _ids("K", 1, n_clients, 6)
    client_idx = np.minimum(rng.zipf(1.6, size=m) - 1, n_clients - 1)
    closed_text = _stamps(out, rng, closed)
    closed_text = pc.if_else(pa.array(is_closed), closed_text, pa.nulls(m, out.stamp_type))
    contract_worker = pc.take(worker_ids, pa.array(owner))
    contract_client = pc.take(clients, pa.array(client_idx))
    out.write(
        "contracts",
        {
            "contract_id": contract_ids,
            "worker_id": contract_worker,
            "client_id": contract_client,
            "kind": pc.take(pa.array(["fixed", "hourly"]), pa.array(kind)),
            "status": pc.take(pa.array(["active", "delivered", "cancelled"]), pa.array(c_status)),
            "amount_jpy": pa.array(amount),
            "started_at": _stamps(out, rng, started),
            "closed_at": closed_text,
        },
    )

    # ---- reviews: most delivered contracts get one, a few days after delivery ---------------------------
    review_at = closed + (rng.exponential(3, size=m) * SECONDS_PER_DAY).astype(np.int64)
    reviewed = np.flatnonzero(delivered & (rng.random(m) < 0.85) & (review_at < end_s))
    r = len(reviewed)
    q = quality[owner[reviewed]]
    items: dict[str, pa.Array] = {}
    for item in RATING_ITEMS:
        top = rng.random(r) < q
        low = rng.choice([4, 4, 4, 3, 2, 1], size=r)
        items[item] = pa.array(np.where(top, 5, low).astype(np.int64))
    out.write(
        "reviews",
        {
            "review_id": _ids("R", counters["reviews"] + 1, r, 9),
            "contract_id": pc.take(contract_ids, pa.array(reviewed)),
            "worker_id": pc.take(contract_worker, pa.array(reviewed)),
            "client_id": pc.take(contract_client, pa.array(reviewed)),
            "created_at": _stamps(out, rng, review_at[reviewed]),
            **items,
        },
    )
    counters["reviews"] += r

    # ---- payments: delivered contracts are paid, some in two milestones; a few bonuses ------------------
    paid = np.flatnonzero(delivered)
    split = rng.random(len(paid)) < 0.3
    second = paid[split]
    pay_contract = np.concatenate([paid, second])
    first_amount = np.where(split, amount[paid] // 2, amount[paid])
    pay_amount = np.concatenate([first_amount, amount[second] - amount[second] // 2])
    pay_at = np.concatenate(
        [
            np.where(split, started[paid] + (closed[paid] - started[paid]) // 2, closed[paid]),
            closed[second],
        ]
    ) + (rng.random(len(pay_contract)) * 5 * SECONDS_PER_DAY).astype(np.int64)
    keep = pay_at < end_s
    pay_contract, pay_amount, pay_at = pay_contract[keep], pay_amount[keep], pay_at[keep]
    p = len(pay_contract)
    contract_ref = pc.take(contract_ids, pa.array(pay_contract))
    bonus = rng.random(p) < 0.02  # paid outside a contract (tips, bonuses): empty contract_id
    contract_ref = pc.if_else(pa.array(bonus), pa.nulls(p, pa.string()), contract_ref)
    out.write(
        "payments",
        {
            "payment_id": _ids("P", counters["payments"] + 1, p, 9),
            "worker_id": pc.take(contract_worker, pa.array(pay_contract)),
            "contract_id": contract_ref,
            "paid_at": _stamps(out, rng, pay_at),
            "amount_jpy": pa.array(pay_amount),
        },
    )
    counters["payments"] += p

    # ---- scouts: more for busy, well-rated workers; 40% are mass invitations -----------------------------
    rate = 0.8 * per_worker**0.8 * quality**6
    scouts_per = rng.poisson(rate)
    s_owner = np.repeat(np.arange(n), scouts_per)
    s = len(s_owner)
    s_begin = np.maximum(registered[s_owner], start_s)
    sent = s_begin + (rng.random(s) * (end_s - s_begin)).astype(np.int64)
    out.write(
        "scouts",
        {
            "scout_id": _ids("S", counters["scouts"] + 1, s, 9),
            "worker_id": pc.take(worker_ids, pa.array(s_owner)),
            "client_id": pc.take(clients, pa.array(np.minimum(rng.zipf(1.6, size=s) - 1, n_clients - 1))),
            "sent_at": _stamps(out, rng, sent),
            "kind": pc.take(pa.array(["direct", "mass"]), pa.array((rng.random(s) < 0.4).astype(np.int8))),
        },
    )
    counters["scouts"] += s

    # ---- inquiries: first messages from clients; reply delays log-normal per worker, some never ---------------
    asked = extra.poisson(0.3 * per_worker**0.7 + 0.2)
    i_owner = np.repeat(np.arange(n), asked)
    k = len(i_owner)
    i_begin = np.maximum(registered[i_owner], start_s)
    received = i_begin + (extra.random(k) * (end_s - i_begin)).astype(np.int64)
    typical_hours = extra.lognormal(1.0, 1.0, size=n)  # a worker's median reply delay, in hours
    delay = (extra.lognormal(0, 1.0, size=k) * typical_hours[i_owner] * 3600).astype(np.int64)
    replied = received + delay
    answered = (extra.random(k) >= 0.06) & (replied < end_s)
    replied_text = pc.if_else(pa.array(answered), _stamps(out, extra, replied), pa.nulls(k, out.stamp_type))
    out.write(
        "inquiries",
        {
            "inquiry_id": _ids("Q", counters["inquiries"] + 1, k, 9),
            "worker_id": pc.take(worker_ids, pa.array(i_owner)),
            "client_id": pc.take(clients, pa.array(np.minimum(extra.zipf(1.6, size=k) - 1, n_clients - 1))),
            "received_at": _stamps(out, extra, received),
            "replied_at": replied_text,
        },
    )
    counters["inquiries"] += k
