"""Search-as-you-type: complete the word being typed from the archive's own words, in context.

"oil pri" -> "oil prices", "oil production", … : the last word is a prefix walked in the term dictionary of the
unstemmed `words` field, counted only over articles that hold the words already typed, so completions are
ones that will find something. The headlines shown under the box are the best matches of the completed query.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import tantivy

from .parse import check_query_size

MAX_SUGGESTIONS = 20
# One letter matches a large slice of the dictionary; counting each term over the typed context would walk
# its postings, so a one-letter prefix is completed by plain document frequency.
MIN_PREFIX_FOR_CONTEXT = 2
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class Completion:
    text: str  # the whole query, completed
    count: int  # articles holding every word of it


@dataclass
class TitleSuggestion:
    id: str
    title: str
    url: str | None
    date: str | None


@dataclass
class Suggestions:
    query: str
    completions: list[Completion] = field(default_factory=list)
    titles: list[TitleSuggestion] = field(default_factory=list)
    took_ms: float = 0.0


def _being_typed(matches: list[re.Match]) -> bool:
    """Whether the last word runs to the end of the text (so it is still being typed)."""
    return bool(matches) and matches[-1].end() == len(matches[-1].string)


def split_typed(q: str) -> tuple[list[str], str]:
    """The words already typed and the prefix being typed ('' when the text ends with a space)."""
    matches = list(_WORD.finditer(q))
    words = [m.group().lower() for m in matches]
    if _being_typed(matches):
        return words[:-1], words[-1]
    return words, ""


def words_query(schema: tantivy.Schema, words: list[str]) -> tantivy.Query | None:
    """Articles holding every one of `words` (as written, case-blind)."""
    terms = [tantivy.Query.term_query(schema, "words", w) for w in dict.fromkeys(words)]
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else tantivy.Query.boolean_query([(tantivy.Occur.Must, t) for t in terms])


def complete(index: tantivy.Index, searcher: tantivy.Searcher, q: str, limit: int) -> list[Completion]:
    check_query_size(q)
    context, prefix = split_typed(q)
    if not prefix:
        return []
    ctx = words_query(index.schema, context) if len(prefix) >= MIN_PREFIX_FOR_CONTEXT else None
    found = searcher.terms_with_prefix("words", prefix, filter_query=ctx, limit=limit + len(context))
    head = " ".join(context)
    seen = set(context)
    return [Completion(text=f"{head} {term}".strip(), count=count)
            for term, count in found if count > 0 and term not in seen][:limit]


def expand_prefix(q: str, completions: list[Completion]) -> str:
    """The query text with the word being typed replaced by its completions: "oil pr" -> "oil (prices OR
    price OR …)", so results can follow each keystroke. Text ending in a space is left as it is."""
    matches = list(_WORD.finditer(q))
    if not _being_typed(matches):
        return q
    last = [c.text.rsplit(" ", 1)[-1] for c in completions] or [matches[-1].group()]
    return f"{q[:matches[-1].start()]}({' OR '.join(last)})"
