"""Typo tolerance: the archive's own words within a few edits of a word it does not hold.

"goverment" -> "government": the dictionary is the unstemmed `words` field (every word of every title and body,
with its document frequency), so a correction is always a word that finds something. Bounded as Meilisearch
bounds it: no typo in words under 5 letters, one edit from 5 letters, two from 9 (optimal string alignment:
a swap of two letters is one edit), and an edit that changes the first letter counts as two (people seldom
get the first letter wrong; Meilisearch's rule). Distances are computed by rapidfuzz over the words of a near
length and, for one edit, the same first letter only: a twentieth of the dictionary.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import tantivy
from rapidfuzz import process
from rapidfuzz.distance import OSA

ONE_TYPO_FROM = 5
TWO_TYPOS_FROM = 9
MAX_CORRECTIONS = 3  # a word stands for at most its 3 best corrections
MAX_WORD = 25  # the `words` field drops longer words


def max_typos(word: str) -> int:
    """How many edits a word of this length may carry (0 for short words, numbers and mixed tokens)."""
    if not word.isalpha():
        return 0
    return 2 if len(word) >= TWO_TYPOS_FROM else 1 if len(word) >= ONE_TYPO_FROM else 0


@dataclass(frozen=True)
class Correction:
    word: str  # a word of the archive, as written (lower case)
    distance: int  # edits from the typed word
    articles: int  # articles holding it


class Dictionary:
    """The archive's words by length and first letter, and by all but their first letter, read once per index
    state (a typo'd query is the rare case)."""

    def __init__(self, searcher: tantivy.Searcher):
        buckets: dict[tuple[int, str], tuple[list[str], list[int]]] = {}  # (length, first letter) -> words
        self._count: dict[str, int] = {}
        self._by_tail: dict[str, list[str]] = {}  # a word less its first letter -> the words
        for term, count in searcher.terms_with_prefix("words", ""):
            if count > 0 and term.isalpha():
                words, counts = buckets.setdefault((len(term), term[0]), ([], []))
                words.append(term)
                counts.append(count)
                self._count[term] = count
                self._by_tail.setdefault(term[1:], []).append(term)
        self._buckets = buckets

    def corrections(self, word: str) -> list[Correction]:
        """The closest archive words to `word` (fewest edits, then most articles), best first."""
        limit = max_typos(word)
        if not limit:
            return []
        found: list[Correction] = []
        for length in range(len(word) - limit, len(word) + limit + 1):
            words, counts = self._buckets.get((length, word[0]), ((), ()))
            for term, dist, i in process.extract(word, words, scorer=OSA.distance, score_cutoff=limit,
                                                 limit=None):
                if dist > 0:
                    found.append(Correction(term, int(dist), counts[i]))
        if limit >= 2:  # the first letter changed (two typos' worth): its only edit, so found by lookup
            other = {*self._by_tail.get(word[1:], ()), word[1:], *self._by_tail.get(word, ()), word[1] + word[0] + word[2:]}
            found += [Correction(t, 2, self._count[t]) for t in other if t in self._count and t[:1] != word[0]]
        if not found:
            return []
        best = min(c.distance for c in found)  # one edit away beats two: keep only the nearest
        return sorted((c for c in found if c.distance == best), key=lambda c: -c.articles)[:MAX_CORRECTIONS]


class Speller:
    """Typo corrections against the index as it is now; the dictionary is rebuilt when the index changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._dictionary: Dictionary | None = None

    def known(self, searcher: tantivy.Searcher, word: str) -> bool:
        return len(word) > MAX_WORD or searcher.doc_freq("words", word) > 0

    def corrections(self, searcher: tantivy.Searcher, word: str) -> list[Correction]:
        """Corrections of a word the archive does not hold ([] for a known word or one too short to correct)."""
        word = word.lower()
        if not max_typos(word) or self.known(searcher, word):
            return []
        key = (searcher.num_docs, searcher.num_segments)
        with self._lock:
            if self._dictionary is None or self._key != key:
                self._dictionary, self._key = Dictionary(searcher), key
            dictionary = self._dictionary
        return dictionary.corrections(word)
