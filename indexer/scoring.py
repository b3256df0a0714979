"""How close an extracted article text is to the expected one: word n-gram precision, recall and F1.

The measure bench/extraction.py reports and tests/test_extraction.py asserts, kept in the package so both
use the same code without the tests importing the benchmarks.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

# CJK scripts are written without spaces: each character counts as a word there.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def ngram_prf(got: str, expected: str, n: int = 4) -> tuple[float, float, float]:
    """Word n-gram precision, recall, F1 of got against expected (multisets, so repeats count). An expected
    text shorter than n words (a one-word test page) is compared at its own length, not scored 0 for all."""
    want = words(expected)
    n = max(1, min(n, len(want)))

    def grams(w: list[str]) -> Counter:
        return Counter(zip(*(w[i:] for i in range(n))))
    g, e = grams(words(got)), grams(want)
    if not g or not e:
        return 0.0, 0.0, 0.0
    common = sum((g & e).values())
    p, r = common / sum(g.values()), common / sum(e.values())
    return p, r, (2 * p * r / (p + r) if common else 0.0)


def expected_text(page: Path) -> str:
    """The text of a Readability test page's `expected.html`, one line per block."""
    import lxml.html

    root = lxml.html.fromstring((page / "expected.html").read_text(encoding="utf-8"))
    for el in root.iter("p", "div", "br", "li", "h1", "h2", "h3", "h4", "tr", "blockquote", "pre"):
        el.tail = "\n" + (el.tail or "")
    return root.text_content()
