"""Highlighted snippets: the passage of an article's body that best shows why it matched.

Tantivy's SnippetGenerator re-tokenises and stems the whole stored body of every hit, a large share of a
search's time in profiles at 200k articles. Here one regex scan finds the words that may be forms of the query's terms
(a term's stem, less its last letter, as a word prefix: "happi" from "happy"), the index's own analyser
confirms each (cached per word), and the window holding the most distinct terms is shown.
"""
from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

from newssearch.indexer.schema import text_analyzer

MAX_MATCHES = 400  # a long body's first matches are plenty to choose a window from
LEAD_CHARS = 30  # context shown before the first highlighted word

_NEGATED = re.compile(r'(?:(?<=^)|(?<=[\s(]))-(?:\w+:)?(?:"[^"]*"|[^\s()]+)|\bNOT\s+(?:\w+:)?(?:"[^"]*"|[^\s()]+)')
_OTHER_FIELD = re.compile(r'\b(?!body:)\w+:(?:"[^"]*"|[^\s()]+)')  # title:, author:… match no body text
_WORD = re.compile(r"\w+")
_OPERATORS = {"AND", "OR", "NOT"}
_local = threading.local()
_stems: dict[str, str | None] = {}  # word as written -> its single stem (None: none, or several tokens)


def _analyse(word: str) -> str | None:
    found = _stems.get(word)
    if found is None and word not in _stems:
        analyzer = getattr(_local, "analyzer", None)
        if analyzer is None:
            analyzer = _local.analyzer = text_analyzer()
        tokens = analyzer.analyze(word)
        found = tokens[0] if len(tokens) == 1 else None
        if len(_stems) > 500_000:  # bounded: a long-running server sees every word of the archive
            _stems.clear()
        _stems[word] = found
    return found


@lru_cache(maxsize=4096)
def _pattern(prefixes: tuple[str, ...], blind: bool = False) -> re.Pattern:
    """Compiled once per set of prefixes: re's own cache holds 512 patterns, fewer than the distinct queries
    a search box sees again and again (bench/serve.py draws 13,000 of 20,000). Case-sensitive, for case-folded
    text (the prefixes are stems: folded); `blind` for a text whose folding changes its length."""
    # No leading \b: tested at every position it makes the scan ~2.5x slower than a pattern that opens
    # with its words (re then looks only where one starts); matches() drops those inside a word.
    return re.compile(r"(?:" + "|".join(map(re.escape, prefixes)) + r")\w*", re.IGNORECASE if blind else 0)


@dataclass(frozen=True)
class QueryTerms:
    """The body terms of a query, as stems, and a pattern for the words that may be forms of them."""

    stems: frozenset[str]
    prefixes: tuple[str, ...]  # the words that may be forms of them start so (none: no body terms)

    @classmethod
    def of(cls, text: str) -> "QueryTerms":
        """The positive body terms of the query text (negated clauses and other fields' terms left out)."""
        text = _OTHER_FIELD.sub(" ", _NEGATED.sub(" ", text)).replace("body:", " ")
        stems = {s for w in _WORD.findall(text) if w not in _OPERATORS and (s := _analyse(w))}
        prefixes = sorted({s[:-1] if len(s) > 3 else s for s in stems}, key=lambda p: (-len(p), p))
        return cls(frozenset(stems), tuple(prefixes))

    def matches(self, body: str) -> list[tuple[int, int, str]]:
        """(start, end, stem) of the words of `body` that are forms of the terms, the first MAX_MATCHES."""
        if not self.prefixes:
            return []
        matches: list[tuple[int, int, str]] = []
        folded = body.casefold()  # a case-blind pattern scans ~1.7x slower than an exact one on folded text
        scan = (_pattern(self.prefixes).finditer(folded) if len(folded) == len(body)
                else _pattern(self.prefixes, blind=True).finditer(body))
        for m in scan:
            start, end = m.span()
            if start and (body[start - 1].isalnum() or body[start - 1] == "_"):  # inside a word (\w)
                continue
            stem = _analyse(body[start:end])
            if stem in self.stems:
                matches.append((start, end, stem))
                if len(matches) >= MAX_MATCHES:
                    break
        return matches

    def snippet(self, body: str, chars: int) -> str:
        """HTML: about `chars` characters of `body` around its best matches, escaped, matches in <b>…</b>;
        "" when the body has none of the terms."""
        matches = self.matches(body)
        if not matches:
            return ""
        start, end = _best_window(matches, chars, len(body))
        start, end = _word_bounds(body, start, end)
        out = ["… "] if start > 0 else []
        pos = start
        for m_start, m_end, _ in matches:
            if m_start < start or m_end > end:
                continue
            out += [html.escape(body[pos:m_start]), "<b>", html.escape(body[m_start:m_end]), "</b>"]
            pos = m_end
        out.append(html.escape(body[pos:end]))
        if end < len(body):
            out.append(" …")
        return "".join(out)


def _best_window(matches: list[tuple[int, int, str]], chars: int, length: int) -> tuple[int, int]:
    """The `chars`-wide window, opening a little before a match, with the most distinct terms (then the most
    matches; the earliest on ties). One pass: the window's term counts are kept as it slides."""
    best, best_key = (0, 0), (-1, -1)
    counts: dict[str, int] = {}  # stem -> matches of it in matches[i..j]
    j = -1
    for i, (m_start, _, stem) in enumerate(matches):
        if i and j >= i - 1:  # match i-1 leaves the window
            gone = matches[i - 1][2]
            counts[gone] -= 1
            if not counts[gone]:
                del counts[gone]
        if j < i:
            j = i
            counts[stem] = counts.get(stem, 0) + 1
        start = max(0, m_start - LEAD_CHARS)
        end = min(length, start + chars)
        while j + 1 < len(matches) and matches[j + 1][1] <= end:
            j += 1
            counts[matches[j][2]] = counts.get(matches[j][2], 0) + 1
        key = (len(counts), j + 1 - i)
        if key > best_key:
            best, best_key = (start, end), key
    start, end = best
    if end - start < chars and start > 0:  # near the end of the body: show a full window
        start = max(0, end - chars)
    return start, end


def _word_bounds(body: str, start: int, end: int) -> tuple[int, int]:
    """The window shrunk to whole words."""
    if start > 0 and not body[start - 1].isspace():
        space = body.find(" ", start, end)
        start = space + 1 if space != -1 else start
    if end < len(body) and not body[end].isspace():
        space = body.rfind(" ", start, end)
        end = space if space > start else end
    return start, end
