"""Directory search at scale: the folded, n-gram search (procert.web.search) against the plain case-folded
substring scan it replaced, on the same documents in the same process, queries interleaved.

Documents are synthetic pros (seeded): a name, an id, a division and its labels, and profile texts composed from
phrases per division, in Japanese with some Latin words. Reported per size: the index's build time and memory,
and per query kind the median and p99 latency of both searches with their ratio (median of per-query ratios).
Writes bench/results-search.md (and .json).

    python bench/bench_search.py [--sizes 50000 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from procert.web.search import SearchIndex  # noqa: E402

FAMILY = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "松本",
    "井上",
]
GIVEN = ["さくら", "美咲", "太郎", "一郎", "ゆい", "健", "陽菜", "蓮", "葵", "大翔", "Emma", "Ken", "Mia", "Leo"]
PHRASES = {
    "writer ライター Writer": [
        "SEO記事の執筆",
        "取材とインタビュー",
        "英日翻訳",
        "書籍の編集",
        "メルマガ作成",
        "コピーライティング",
    ],
    "designer デザイナー Designer": [
        "ロゴデザイン",
        "バナー制作",
        "Webデザイナー歴10年",
        "Figma で UI 設計",
        "イラスト制作",
    ],
    "engineer エンジニア Engineer": [
        "Python / FastAPI",
        "TypeScript と React",
        "AWS の構築",
        "機械学習モデル",
        "Go の API",
    ],
    "business ビジネス・事務 Business": [
        "データ入力",
        "経理と請求書",
        "カスタマーサポート",
        "Excel で資料作成",
        "SNS 運用",
    ],
}
QUERIES = {
    "japanese-fuzzy": ["デザイン", "インタビュー", "コンピュータ"],
    "japanese-short": ["翻訳", "ロゴ", "経理"],
    "latin": ["python", "ｆｉｇｍａ", "react aws"],
    "id": ["W0012345"],
}


def documents(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    divisions = list(PHRASES)
    docs = []
    for i in range(n):
        division = rng.choice(divisions)
        phrases = " ".join(rng.sample(PHRASES[division], 3))
        docs.append(f"{rng.choice(FAMILY)} {rng.choice(GIVEN)} W{i:07d} {phrases} {division}")
    return docs


def baseline(folded: list[str], query: str) -> int:
    terms = query.casefold().split()
    return sum(1 for text in folded if all(term in text for term in terms))


def measure(n: int, repeats: int) -> dict:
    docs = documents(n)
    started = time.perf_counter()
    index = SearchIndex(docs)
    build = time.perf_counter() - started
    # What the index keeps: the folded text and the documents' offsets.
    peak = sys.getsizeof(index._joined) + index._starts.nbytes
    folded = [d.casefold() for d in docs]
    result: dict = {"documents": n, "build_seconds": build, "index_mb": peak / 2**20, "queries": {}}
    for kind, queries in QUERIES.items():
        ours, theirs, ratios, hits = [], [], [], 0
        for _ in range(repeats):
            for q in queries:
                t0 = time.perf_counter()
                scores = index.scores(q)
                t1 = time.perf_counter()
                baseline(folded, q)
                t2 = time.perf_counter()
                hits = int((scores > 0).sum()) if scores is not None else 0
                ours.append(t1 - t0)
                theirs.append(t2 - t1)
                ratios.append((t1 - t0) / (t2 - t1))
        ours.sort()
        theirs.sort()
        result["queries"][kind] = {
            "median_ms": statistics.median(ours) * 1000,
            "p99_ms": ours[min(len(ours) - 1, int(len(ours) * 0.99))] * 1000,
            "baseline_median_ms": statistics.median(theirs) * 1000,
            "ratio": statistics.median(ratios),
            "hits_last": hits,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = []
    for n in args.sizes:
        print(f"{n:,} documents …", flush=True)
        results.append(measure(n, args.repeats))
        print(json.dumps(results[-1], indent=1), flush=True)
    lines = [
        "# Directory search at scale",
        "",
        f"`python bench/bench_search.py --sizes {' '.join(map(str, args.sizes))} --repeats {args.repeats}` on "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}. "
        "Baseline: the plain case-folded substring scan the directory used before (every term in name and "
        "profile), run right after each query on the same documents. Ratio: the median of per-query ratios "
        "(below 1: faster than the baseline).",
        "",
        "| documents | index build (s) | index (MB) | queries | median (ms) | p99 (ms) | baseline median (ms) "
        "| ratio |",
        "|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in results:
        for kind, q in r["queries"].items():
            lines.append(
                f"| {r['documents']:,} | {r['build_seconds']:.1f} | {r['index_mb']:.0f} | {kind} | "
                f"{q['median_ms']:.1f} | {q['p99_ms']:.1f} | {q['baseline_median_ms']:.1f} | {q['ratio']:.2f} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    (HERE / "results-search.md").write_text(text, encoding="utf-8")
    (HERE / "results-search.json").write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
