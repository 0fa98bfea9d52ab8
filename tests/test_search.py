"""Search that finds Japanese, on a fixed set of pros: each query with the workers it must find, in order."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from procert.programs import load_program
from procert.web.directory import Directory, ProCard, UnknownDivision
from procert.web.search import _SHORT_TEXT, SearchIndex, fold

PROGRAM = load_program("crowdworks-pro")


def card(worker_id: str, name: str, division: str, profile: str, self_pr: str = "", rating: float = 5.0) -> ProCard:
    return ProCard(worker_id, name, division, date(2025, 1, 1), rating, 3, profile, None, self_pr)


CARDS = [
    card("W0000001", "佐藤 さくら", "designer", "ロゴデザインとバナー制作", rating=4.9),
    card("W0000002", "高橋 美咲", "designer", "Webデザイナーとして10年", rating=5.0),
    card("W0000003", "Ken Tanaka", "engineer", "Python / FastAPI backend", "ＴｙｐｅＳｃｒｉｐｔ も書けます"),
    card("W0000004", "鈴木 一郎", "writer", "英日翻訳とインタビュー記事", rating=4.8),
    card("W0000005", "山田 太郎", "writer", "コンピューターの解説記事", "ぱそこん教室の講師経験"),
    card("W0000006", "小林 ゆい", "business", "データ入力と経理の事務"),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("デザイン", ["W0000001", "W0000002"]),  # ロゴデザイン exactly first, then デザイナー by its bigrams
        ("デザイナー", ["W0000002", "W0000001"]),
        ("ロゴ", ["W0000001"]),
        ("翻訳", ["W0000004"]),
        ("ｐｙｔｈｏｎ", ["W0000003"]),  # full-width, folded by NFKC
        ("PYTHON fastapi", ["W0000003"]),  # every term, any case
        ("typescript", ["W0000003"]),  # the self-PR counts, written in full-width
        ("engineer", ["W0000003"]),  # the division's code
        ("エンジニア", ["W0000003"]),  # and its label
        ("ライター", ["W0000005", "W0000004"]),  # equally relevant: by rating
        ("パソコン", ["W0000005"]),  # hiragana in the text, katakana in the query
        ("コンピュータ", ["W0000005"]),  # the long-vowel mark tolerated
        ("W0000006", ["W0000006"]),  # an id
        ("w0000006", ["W0000006"]),
        ("デザイン 翻訳", []),  # every term must match
        ("宇宙飛行士", []),
        ("   ", ["W0000002", "W0000003", "W0000005", "W0000006", "W0000001", "W0000004"]),  # no query: all, by rating
    ],
)
def test_queries_find_the_expected_pros(query, expected):
    found = Directory(CARDS, PROGRAM).search(q=query, per_page=100)
    assert [c.worker_id for c in found.items] == expected
    assert found.total == len(expected)


def test_relevance_first_then_the_chosen_order():
    # Both designers hold デザ exactly: the chosen order (name) decides between equals.
    by_name = Directory(CARDS, PROGRAM).search(q="デザ", sort="name")
    assert [c.display_name for c in by_name.items] == sorted(["佐藤 さくら", "高橋 美咲"])


def test_folding_rules():
    assert fold("ＰｙＴｈｏｎ") == "python"
    assert fold("デザイナー") == "でざいな"
    assert fold("ｶﾀｶﾅ") == "かたかな"  # half-width katakana
    assert fold("キャッシュ") == fold("きやつしゆ")  # small kana as full-size
    assert fold("コンピューター") == fold("コンピュータ")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60))
def test_short_and_long_texts_fold_alike(text: str):
    """Short texts are folded with a translation table, long ones with NumPy: the same code-point map."""
    padding = "x" * _SHORT_TEXT
    assert fold(text + padding)[: -len(padding)] == fold(text)
    for sample in ("ァィゥェォッャュョヮヵヶ", "ヴーゼ〜～・ｶﾞﾊﾟ𠮷野家", "ＡＢＣＤＥ ΣΑΣ Straße"):
        assert fold(sample + padding)[: -len(padding)] == fold(sample)


def test_short_japanese_terms_match_exactly_and_unknown_divisions_are_refused():
    index = SearchIndex(["ロゴ制作", "ゴロ寝"])
    scores = index.scores("ロゴ")
    assert scores is not None and list(scores > 0) == [True, False]  # 2 characters: no fuzzy matching
    with pytest.raises(UnknownDivision, match="no division 'astronaut'"):
        Directory(CARDS, PROGRAM).search(division="astronaut")


def test_name_order_follows_the_readings_when_the_facts_give_them():
    cards = [
        ProCard("A", "中村 健", "engineer", date(2025, 1, 1), 5.0, 1, "", None, "", "なかむら けん"),
        ProCard("B", "伊藤 葵", "writer", date(2025, 1, 1), 5.0, 1, "", None, "", "イトウ アオイ"),  # katakana
        ProCard("C", "佐藤 蓮", "writer", date(2025, 1, 1), 5.0, 1, "", None, "", "さとう れん"),
        ProCard("D", "Emma Wilson", "writer", date(2025, 1, 1), 5.0, 1, "", None, "", ""),  # no reading: the name
    ]
    ordered = Directory(cards, PROGRAM).search(sort="name")
    assert [c.worker_id for c in ordered.items] == ["D", "B", "C", "A"]  # "emma…" < い < さ < な
    assert [c.worker_id for c in Directory(cards, PROGRAM).search(q="なかむら").items] == ["A"]  # readings search
