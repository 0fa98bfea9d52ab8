"""Search that finds Japanese: text folded once (NFKC, case, katakana to hiragana, small kana, the long-vowel
mark), Latin words and short terms matched as substrings, longer Japanese terms by character bigrams, so that
デザイン finds デザイナー and ロゴデザイン, ｐｙｔｈｏｎ finds Python and ぱいそん finds パイソン.

:class:`SearchIndex` is built once per directory snapshot: every document folded at once, joined into one string.
A term (or each bigram of a long Japanese term) is found by one regular-expression scan of that string, in C, and
the hits are mapped to documents with NumPy: no pass of Python over every document, at build or at query time.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

#: Code points folded one to one: katakana to hiragana, small kana to full-size ones (after that shift).
_SMALL = "ぁぃぅぇぉっゃゅょゎゕゖ"
_FULL = "あいうえおつやゆよわかけ"
#: Marks that spelling varies on (コンピューター / コンピュータ): dropped from both sides.
_DROPPED = "ー〜～・"


def _code_map() -> np.ndarray:
    table = np.arange(0x10000, dtype=np.uint32)
    table[0x30A1:0x30F7] -= 0x60  # katakana ァ..ヶ to hiragana ぁ..ゖ
    for small, full in zip(_SMALL, _FULL, strict=True):
        table[table == ord(small)] = ord(full)
    return table


_MAP = _code_map()
_DROP = np.array([ord(c) for c in _DROPPED], dtype=np.uint32)
#: The same folding as a str.translate table, for short texts (one profile's), where NumPy's per-call cost
#: would be most of the time; identical output (tested).
_TRANSLATION: dict[int, int | None] = {
    **{code: int(_MAP[code]) for code in np.flatnonzero(np.arange(0x10000) != _MAP).tolist()},
    **{ord(c): None for c in _DROPPED},
}
#: Texts shorter than this are folded with :data:`_TRANSLATION`, longer ones (a whole directory) with NumPy.
_SHORT_TEXT = 20_000
#: A term with any of these is Japanese and matched by bigrams when long enough.
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
#: The share of a long Japanese term's bigrams a document must hold (3 of デザイン's でざ/ざい/いん: 2 do).
FUZZY_SHARE = 0.6
#: Terms up to this many characters must appear as they are.
EXACT_UP_TO = 3


def fold(text: str) -> str:
    """Text as search compares it: NFKC (full-width to half-width), case-folded, katakana as hiragana, small kana
    as full-size ones, long-vowel marks and middle dots dropped. Mapped as an array of code points (a whole
    directory's text at once costs about a second per million documents)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if len(folded) < _SHORT_TEXT:
        return folded.translate(_TRANSLATION)
    codes = np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32)
    basic = codes < 0x10000
    mapped = np.where(basic, _MAP[np.where(basic, codes, 0)], codes)
    kept = mapped[~np.isin(mapped, _DROP)]
    return kept.astype(np.uint32).tobytes().decode("utf-32-le")


def bigrams(term: str) -> set[str]:
    return {term[i : i + 2] for i in range(len(term) - 1)} or {term}


class SearchIndex:
    """The documents of one snapshot, folded and joined; :meth:`scores` answers a query."""

    def __init__(self, documents: Sequence[str]) -> None:
        self.size = len(documents)
        # Folded all at once (no separator survives folding changed), with each document's start, for scans.
        self._joined = fold("\x00".join(d.replace("\x00", " ") for d in documents))
        separators = [m.start() for m in re.finditer("\x00", self._joined)]
        self._starts = np.array([0] + [i + 1 for i in separators], dtype=np.int64) if documents else np.zeros(0)

    def _containing(self, term: str) -> np.ndarray:
        """Which documents hold ``term`` as a substring (one scan of the joined text, in C)."""
        hits = np.fromiter((m.start() for m in re.finditer(re.escape(term), self._joined)), dtype=np.int64)
        found = np.zeros(self.size, dtype=bool)
        if hits.size:
            found[np.searchsorted(self._starts, hits, side="right") - 1] = True
        return found

    def scores(self, query: str) -> np.ndarray | None:
        """A relevance per document (0: no match), or None for an empty query. Every term must match: exactly
        (1 point and a half) or, for Japanese terms of more than three characters, by a share of their bigrams
        (that share, in points)."""
        terms = fold(query).split()
        if not terms:
            return None
        total = np.zeros(self.size, dtype=np.float64)
        for term in terms:
            exact = self._containing(term)
            score = exact * 1.5
            if len(term) > EXACT_UP_TO and _JAPANESE.search(term):
                grams = bigrams(term)
                counts = np.zeros(self.size, dtype=np.int32)
                for gram in grams:
                    counts += self._containing(gram)
                share = counts / len(grams)
                fuzzy = counts >= math.ceil(FUZZY_SHARE * len(grams))
                score = np.where(exact, score, np.where(fuzzy, share, 0.0))
            if not score.any():
                return np.zeros(self.size, dtype=np.float64)
            total = np.where(score > 0, total + score, -np.inf)
        return np.where(np.isfinite(total), total, 0.0)
